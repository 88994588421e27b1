"""A proposal to replay: a `tighten` JSON output applied to today's network, or a second snapshot.

The JSON is checked field by field; every problem names the file, the JSON path and what is expected.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from vpclab.errors import InputError, Origin, Problem
from vpclab.model.errors import ModelError
from vpclab.model.frozen import FrozenMap
from vpclab.model.network import Network
from vpclab.model.policy import NetworkAcl, PrefixList
from vpclab.model.rules import NaclEntry, SgRule

_PROTOS = {"tcp", "udp", "icmp", "icmpv6", "-1"}


def _rule(item: Any, where: str, file: str, problems: list[Problem]) -> SgRule | None:
    origin = Origin(file, path=where)
    if not isinstance(item, dict):
        problems.append(Problem(where, "expected a rule object {proto, ports, peer}", origin))
        return None
    proto, ports, peer = item.get("proto"), item.get("ports", "all"), item.get("peer")
    if not isinstance(proto, str) or (proto not in _PROTOS and not proto.isdigit()):
        problems.append(Problem(f"{where}.proto", f"{proto!r} is not a protocol: expected tcp, udp, icmp, icmpv6, -1 "
                                "or a protocol number", origin))
        return None
    if not isinstance(peer, str) or not peer:
        problems.append(Problem(f"{where}.peer", f"{peer!r} is not a peer: expected a CIDR, sg-… or pl-…", origin))
        return None
    try:
        ipaddress.ip_network(peer, strict=False)
        kind = "cidr"
    except ValueError:
        kind = "prefix_list" if peer.startswith("pl-") else "sg"
    icmp = item.get("icmp")
    if icmp is None and proto in ("icmp", "icmpv6", "1", "58"):
        icmp = {"type": -1}
    try:
        return SgRule.make(proto, ports if proto in ("tcp", "udp", "6", "17") else None, icmp=icmp, **{kind: peer})
    except (ModelError, ValueError) as error:
        problems.append(Problem(where, str(error), origin))
        return None


def _entry(item: Any, where: str, file: str, problems: list[Problem]) -> NaclEntry | None:
    origin = Origin(file, path=where)
    if not isinstance(item, dict):
        problems.append(Problem(where, "expected an entry object {rule, action, proto, ports, cidr}", origin))
        return None
    proto = item.get("proto")
    try:
        ports = item.get("ports", "all") if proto in ("tcp", "udp", "6", "17") else None
        icmp = {"type": -1} if proto in ("icmp", "icmpv6", "1", "58") else None
        return NaclEntry.make(item.get("rule"), item.get("action", "allow"), proto, item.get("cidr"), ports, icmp)
    except (ModelError, ValueError) as error:
        problems.append(Problem(where, str(error), origin))
        return None


def apply_tighten(network: Network, data: Any, file: str) -> Network:
    """Today's network with each group's rule sets (and each NACL's entries) replaced by the proposal's."""
    problems: list[Problem] = []
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise InputError([Problem("$.groups", "expected a vpclab tighten --format json output: an object with a "
                                  "groups list", Origin(file, path="$"))])
    lists = dict(network.prefix_lists.items())
    for pl, cidrs in (data.get("prefix_lists") or {}).items():
        if pl not in lists:
            try:
                lists[pl] = PrefixList.make(pl, list(cidrs))
            except (ModelError, ValueError, TypeError) as error:
                problems.append(Problem(f"$.prefix_lists.{pl}", str(error), Origin(file, path=f"$.prefix_lists.{pl}")))
    groups = dict(network.security_groups.items())
    for i, group in enumerate(data["groups"]):
        where = f"$.groups[{i}]"
        gid = group.get("group") if isinstance(group, dict) else None
        if gid not in groups:
            problems.append(Problem(f"{where}.group", f"{gid!r} is not a security group of the snapshot (expected one "
                                    f"of {', '.join(sorted(groups)[:8])})", Origin(file, path=where)))
            continue
        sets = {}
        for direction in ("ingress", "egress"):
            items = group.get(direction)
            if not isinstance(items, list):
                problems.append(Problem(f"{where}.{direction}", "expected a list of rules", Origin(file, path=where)))
                items = []
            rules = [_rule(r, f"{where}.{direction}[{j}]", file, problems) for j, r in enumerate(items)]
            sets[direction] = tuple(dict.fromkeys(r for r in rules if r is not None))
        groups[gid] = replace(groups[gid], ingress=sets["ingress"], egress=sets["egress"])
    acls = dict(network.nacls.items())
    for i, plan in enumerate(data.get("nacls") or []):
        where = f"$.nacls[{i}]"
        nid = plan.get("nacl") if isinstance(plan, dict) else None
        if nid not in acls:
            problems.append(Problem(f"{where}.nacl", f"{nid!r} is not a network ACL of the snapshot",
                                    Origin(file, path=where)))
            continue
        entries = {}
        for direction in ("ingress", "egress"):
            got = [_entry(e, f"{where}.{direction}[{j}]", file, problems) for j, e in enumerate(plan.get(direction) or [])]
            entries[direction] = tuple(e for e in got if e is not None)
        try:
            acls[nid] = NetworkAcl(nid, entries["ingress"], entries["egress"], acls[nid].origin)
        except ModelError as error:
            problems.append(Problem(where, str(error), Origin(file, path=where)))
    if problems:
        raise InputError(problems)
    changed = replace(network, security_groups=FrozenMap(groups), nacls=FrozenMap(acls),
                      prefix_lists=FrozenMap(lists))
    try:
        changed.validate()
    except ModelError as error:
        raise InputError([Problem("$", str(error), Origin(file, path="$"))]) from None
    return changed


def load_proposal(network: Network, path: Path) -> tuple[str, Network]:
    """The proposal at `path`: a tighten JSON (kind `tighten`) or any snapshot (kind `snapshot`)."""
    if path.is_file() and path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise InputError([Problem("", f"cannot be read: {error}", Origin(str(path)))]) from None
        except json.JSONDecodeError as error:
            raise InputError([Problem("", f"is not JSON ({error.msg}): expected a tighten --format json output or a "
                                      "Terraform JSON document", Origin(str(path), error.lineno))]) from None
        if isinstance(data, dict) and "groups" in data and "format_version" not in data:
            return "tighten", apply_tighten(network, data, str(path))
    from vpclab.load.snapshot import load_snapshot

    return "snapshot", load_snapshot(path).network
