"""What an audit reads: the snapshot's model, plus the facts the model does not keep — each group's name and whether
it is its VPC's default group, and rules naming a group the snapshot no longer holds (deleted or stale).

The model refuses a rule that names an unknown group (its members are unknown), so `vpclab import` stops there; the
audit instead reports each such rule as a finding and audits the rest without it (the rule admits no one today).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpclab.errors import InputError, Origin, Problem
from vpclab.load.assemble import map_group_rules
from vpclab.load.snapshot import Snapshot, kind_of
from vpclab.model.network import Network

#: the name AWS reserves for a VPC's default group (aws-semantics.md §1.3); a lab's default group is `default` too
DEFAULT_NAME = "default"


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """What the document says about a group beyond its rules: its name, and whether it is the VPC's default."""

    name: str = ""
    default: bool = False
    used_by: tuple[str, ...] = ()  # Terraform resources that name it (an instance left out, a Lambda function, …)


@dataclass(frozen=True, slots=True)
class MissingReference:
    """A rule of `group` naming `missing`, a group the snapshot does not hold (deleted, or of a deleted peering)."""

    group: str
    direction: str
    index: int  # the rule's position in the document's list, from 0
    missing: str
    rule: dict[str, Any]
    origin: Origin | None


@dataclass
class AuditInput:
    """A snapshot ready to audit: the model, its warnings, group names and the references to missing groups."""

    snapshot: Snapshot
    groups: dict[str, GroupInfo] = field(default_factory=dict)
    missing: list[MissingReference] = field(default_factory=list)

    @property
    def network(self) -> Network:
        return self.snapshot.network

    @property
    def path(self) -> str:
        return self.snapshot.path


def read_input(path: str | Path) -> AuditInput:
    """Read a snapshot for auditing; raises InputError (every problem located) when it cannot be used, including
    one that holds no ENI, group or NACL at all (nothing to audit)."""
    from vpclab.load.assemble import assemble_document

    source = Path(path)
    kind = kind_of(source)
    if kind == "lab":
        from vpclab.lab.catalog import load

        lab = load(str(source))
        groups = {gid: GroupInfo(gid, gid == DEFAULT_NAME) for gid in lab.network.security_groups}
        return _checked(AuditInput(Snapshot(str(source), "lab", lab.network, list(lab.warnings)), groups))
    if kind == "aws-describe":
        from vpclab.load.aws import read_aws_folder

        document: Any = read_aws_folder(source)
    else:
        from vpclab.load.terraform import read_terraform

        document = read_terraform(source)
        kind = document.kind
    data, missing, kept = _without_missing_references(document.data, document.locate)
    locate = _shifted(document.locate, kept)
    try:
        network, assembler = assemble_document(data, locate)
    except InputError as error:
        raise InputError(list(document.warnings) + error.problems) from None
    groups = {gid: GroupInfo(str(g.get("name") or ""), bool(g.get("default")), tuple(g.get("used_by") or ()))
              for gid, g in (data.get("security_groups") or {}).items() if isinstance(g, dict)}
    snapshot = Snapshot(str(source), kind, network, list(document.warnings) + assembler.warnings, assembler.added)
    return _checked(AuditInput(snapshot, groups, missing))


def _checked(found: AuditInput) -> AuditInput:
    network = found.network
    written_nacls = len(network.nacls) - found.snapshot.added_defaults.get("default_nacls", 0)
    if not network.vpc_hosts() and not network.security_groups and written_nacls <= 0:
        raise InputError([Problem("", "the snapshot holds no ENI, security group or network ACL: nothing to audit "
                                      "(expected describe outputs such as SecurityGroups.json, NetworkInterfaces.json)",
                                  Origin(found.path))])
    return found


Kept = dict[tuple[str, str], list[int]]


def _shifted(locate: Any, kept: Kept) -> Any:
    """`locate` for the data with rules left out: a kept rule's new position is mapped to its position in the file."""
    if not kept:
        return locate

    def located(path: tuple[Any, ...]) -> Origin | None:
        if len(path) >= 4 and path[0] == "security_groups" and (path[1], path[2]) in kept \
                and isinstance(path[3], int):
            positions = kept[(path[1], path[2])]
            if 0 <= path[3] < len(positions):
                path = (*path[:3], positions[path[3]], *path[4:])
        return locate(path)
    return located


def _without_missing_references(data: dict[str, Any], locate: Any
                                ) -> tuple[dict[str, Any], list[MissingReference], Kept]:
    """`data` without the rules that name a group absent from it (same-account ids; another account's groups are
    resolved or left out by the assembler itself), those rules, and the file positions of the rules kept."""
    missing: list[MissingReference] = []
    positions: Kept = {}

    def drop_missing(gid: str, direction: str, index: int, rule: Any, groups: Any) -> Any:
        where = positions.setdefault((gid, direction), [])
        peer = rule.get("sg") if isinstance(rule, dict) else None
        if isinstance(peer, str) and "/" not in peer and peer not in groups:
            missing.append(MissingReference(gid, direction, index, peer, rule,
                                            locate(("security_groups", gid, direction, index))))
            return None
        where.append(index)
        return rule

    kept = map_group_rules(data, drop_missing)
    if not missing:
        return data, [], {}
    return dict(kept), missing, positions
