"""A lab on a real configuration (DESIGN.md: `snapshot: PATH` instead of `vpc/subnets/...`).

The snapshot gives the network; the lab's `hosts:` give short names to the ENIs the steps use (by ENI id, Name
tag or address) and may add hosts on the internet. Every other ENI stays, still a member of its groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path as FilePath

from vpclab.errors import InputError, Problem
from vpclab.lab import schema
from vpclab.load.checker import Checker
from vpclab.load.problems import Path
from vpclab.model import Host, ModelError, Network, parse_ip
from vpclab.model.frozen import FrozenMap


def snapshot_path(lab_file: str, given: str) -> FilePath:
    """The snapshot's path: as given when absolute, else relative to the lab file's folder."""
    path = FilePath(given)
    if path.is_absolute() or lab_file.startswith("builtin:") or lab_file.startswith("<"):
        return path
    return FilePath(lab_file).parent / path


def network_on_snapshot(checker: Checker, spec: schema.SnapshotLabSpec, lab_file: str) -> tuple[Network | None,
                                                                                                list[Problem]]:
    """The snapshot's network with the lab's host names, and the snapshot's warnings; None after problems."""
    from vpclab.load.snapshot import load_snapshot

    try:
        snapshot = load_snapshot(snapshot_path(lab_file, spec.snapshot))
    except InputError as error:
        checker.fail(("snapshot",), f"cannot use the snapshot: {error.problems[0] if error.problems else error}"
                     + (f" (and {len(error.problems) - 1} more problems: run vpclab import on it)"
                        if len(error.problems) > 1 else ""))
        return None, []
    network = snapshot.network
    hosts = dict(network.hosts)
    for name, entry in spec.hosts.items():
        path: Path = ("hosts", name)
        if entry.internet:
            added = _internet_host(checker, path, name, entry)
            if added is None:
                checker.failed.setdefault("hosts", set()).add(name)
            else:
                hosts[name] = added
            continue
        eni = _find_eni(checker, path, network, entry)
        if eni is None:
            checker.failed.setdefault("hosts", set()).add(name)  # steps using it are not reported again
        else:
            hosts.pop(eni)
            hosts[name] = replace(network.hosts[eni], name=name, label=network.hosts[eni].label or eni)
    try:
        renamed = replace(network, hosts=FrozenMap(hosts))
        renamed.validate()
    except ModelError as error:
        for problem in error.problems:
            checker.fail(("hosts",), str(problem))
        return None, snapshot.warnings
    return renamed, snapshot.warnings


def _internet_host(checker: Checker, path: Path, name: str, entry: schema.SnapshotHostSpec) -> Host | None:
    if entry.ip is None:
        checker.fail(path + ("ip",), "an internet host needs ip: expected an address such as 203.0.113.10")
        return None
    try:
        return Host(name, parse_ip(entry.ip), internet=True, origin=checker.locate(path))
    except ModelError as error:
        checker.fail(path + ("ip",), str(error))
        return None


def _find_eni(checker: Checker, path: Path, network: Network, entry: schema.SnapshotHostSpec) -> str | None:
    """The one ENI an entry names (`eni:` id, `name:` Name tag of the ENI or its instance, or `address:`)."""
    given = [k for k in ("eni", "name", "address") if getattr(entry, k) is not None]
    if len(given) != 1:
        checker.fail(path, "expected exactly one of eni (an ENI id), name (a Name tag) or address, or internet: true")
        return None
    key = given[0]
    value = getattr(entry, key)
    enis = network.vpc_hosts()
    if key == "eni":
        found = [h.name for h in enis if h.name == value]
    elif key == "name":
        found = [h.name for h in enis if h.label == value]
    else:
        try:
            address = parse_ip(value)
        except ModelError as error:
            checker.fail(path + (key,), str(error))
            return None
        found = [h.name for h in enis if address in h.addresses]
    if len(found) == 1:
        return found[0]
    candidates = ", ".join(sorted(f"{h.name} ({h.label or 'no Name tag'}, {h.ip})" for h in enis)[:20])
    checker.fail(path + (key,), (f"{value!r} names {len(found)} ENIs ({', '.join(found)}): expected one"
                                 if found else f"no ENI of the snapshot has {key} {value!r}: expected one of "
                                               f"{candidates}"))
    return None


def hosts_used(network: Network, specs: Iterable[object]) -> frozenset[str]:
    """The hosts a lab's steps use: named by `from`, `to` or `host`, or holding an address a step sends to
    (`ADDRESS` or `NAME@ipv6`). A backend that builds hosts one by one (the kernel) builds only these."""
    used: set[str] = set()
    for spec in specs:
        for field in ("src", "to", "host", "side"):
            value = getattr(spec, field, None)
            if not isinstance(value, str):
                continue
            name = value.split("@", 1)[0]
            if name in network.hosts:
                used.add(name)
                continue
            try:
                address = parse_ip(value)
            except ModelError:
                continue
            used.update(h.name for h in network.hosts.values() if address in h.addresses)
    return frozenset(used)
