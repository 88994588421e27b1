"""The reach matrix: every ordered pair of ENIs for one protocol and port, answered once per pair of equivalence
classes instead of once per pair of ENIs.

Two ENIs are equivalent when nothing on any path can tell them apart: the same subnet (so the same route table,
NACL and VPC), the same set of groups (so the same rules *and* the same membership in every group a rule
references), the same address role (a public IP or not), the same ephemeral port range, and the same answer to
every CIDR that could split their subnet (a rule, prefix list, NACL entry or route narrower than the subnet that
holds one but not the other). Then swapping one for the other changes no gate's decision, so the answer for a
class pair is the answer for any of its member pairs — tests/test_reach_properties.py checks it against pairwise
reach on random networks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from vpclab.analysis.endpoints import Endpoint
from vpclab.analysis.reach import ReachAnswer, Reacher
from vpclab.model.network import Host, Network
from vpclab.model.rules import CidrPeer, Direction

Signature = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class EniClass:
    """ENIs that behave alike on every path; `members[0]` answers for the class."""

    index: int
    subnet: str
    groups: tuple[str, ...]
    public: bool
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cell:
    """The answer for one ordered class pair: reachable or not, and what blocks (code, path, component, id)."""

    reachable: bool
    blockers: tuple[tuple[str, str, str, str], ...]


@dataclass(frozen=True, slots=True)
class Matrix:
    """Every ordered ENI pair's answer, held per class pair."""

    proto: int
    port: int | None
    classes: tuple[EniClass, ...]
    cells: dict[tuple[int, int], Cell]
    questions: int  # how many reach questions were asked
    class_of: dict[str, int]

    def cell(self, src: str, dst: str) -> Cell:
        """The answer for one ordered pair of distinct ENIs."""
        return self.cells[(self.class_of[src], self.class_of[dst])]

    def pairs(self) -> Iterator[tuple[str, str, Cell]]:
        """Every ordered pair of distinct ENIs with its answer, class by class."""
        for (i, j), cell in self.cells.items():
            for a in self.classes[i].members:
                for b in self.classes[j].members:
                    if a != b:
                        yield a, b, cell

    @property
    def eni_count(self) -> int:
        return sum(len(c.members) for c in self.classes)


def splitters(network: Network) -> dict[str, list[tuple[int, int, int]]]:
    """Per subnet, the address blocks (version, first, last) narrower than the subnet that overlap it: every CIDR a
    rule, prefix list, NACL entry or route names."""
    blocks: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
    for sg in network.security_groups.values():
        for d in Direction:
            for rule in sg.rules(d):
                if isinstance(rule.peer, CidrPeer):
                    blocks.add(rule.peer.cidr)
    for pl in network.prefix_lists.values():
        blocks.update(pl.cidrs)
    for acl in network.nacls.values():
        for d in Direction:
            blocks.update(e.cidr for e in acl.entries(d))
    for table in network.route_tables.values():
        blocks.update(r.destination for r in table.routes if not isinstance(r.destination, str))
    result: dict[str, list[tuple[int, int, int]]] = {}
    spans = [(b.version, int(b.network_address), int(b.broadcast_address), b.prefixlen) for b in blocks]
    for name, subnet in network.subnets.items():
        nets = [subnet.cidr] + ([subnet.ipv6_cidr] if getattr(subnet, "ipv6_cidr", None) is not None else [])
        inside = []
        for net in nets:
            lo, hi = int(net.network_address), int(net.broadcast_address)
            inside += [(v, a, b) for v, a, b, length in spans
                       if v == net.version and length > net.prefixlen and a <= hi and b >= lo]
        result[name] = inside
    return result


def signature(host: Host, cuts: list[tuple[int, int, int]]) -> Signature:
    """What a path can see of an ENI (see the module docstring)."""
    addresses = [(a.version, int(a)) for a in (host.ip, host.ipv6) if a is not None]
    inside = frozenset(i for i, (v, a, b) in enumerate(cuts) for version, x in addresses if v == version
                       and a <= x <= b)
    return (host.subnet, frozenset(host.security_groups), host.public_ip is not None, host.ephemeral_ports,
            host.ipv6 is not None, inside)


def classes(network: Network, enis: list[str] | None = None) -> tuple[EniClass, ...]:
    """The equivalence classes of the network's ENIs (or of `enis`)."""
    cuts = splitters(network)
    hosts = [network.hosts[e] for e in enis] if enis is not None else network.vpc_hosts()
    found: dict[Signature, list[Host]] = {}
    for host in hosts:
        found.setdefault(signature(host, cuts.get(host.subnet or "", [])), []).append(host)
    return tuple(EniClass(i, members[0].subnet or "", tuple(sorted(set(members[0].security_groups))),
                          members[0].public_ip is not None, tuple(h.name for h in members))
                 for i, members in enumerate(found.values()))


def cell_of(answer: ReachAnswer) -> Cell:
    return Cell(answer.reachable, tuple((b.code, b.hop.path, b.hop.step.component, b.hop.step.id)
                                        for b in answer.blockers))


def matrix(network: Network, proto: int, port: int | None, enis: list[str] | None = None,
           reacher: Reacher | None = None) -> Matrix:
    """Every ordered pair of the network's ENIs (or of `enis`) on `proto`/`port`, one question per class pair."""
    reacher = reacher or Reacher(network)
    found = classes(network, enis)
    cells: dict[tuple[int, int], Cell] = {}
    asked = 0
    for ci in found:
        for cj in found:
            if ci is cj:
                if len(ci.members) < 2:
                    continue
                src, dst = ci.members[0], ci.members[1]
            else:
                src, dst = ci.members[0], cj.members[0]
            answer = reacher.ask(reacher.question(Endpoint(src, src), Endpoint(dst, dst), proto, port))
            asked += 1
            cells[(ci.index, cj.index)] = cell_of(answer)
    return Matrix(proto, port, found, cells, asked, {m: c.index for c in found for m in c.members})


def pairwise(network: Network, proto: int, port: int | None, enis: list[str] | None = None,
             reacher: Reacher | None = None) -> dict[tuple[str, str], Cell]:
    """The same answers asked pair by pair (the reference the matrix is tested and measured against)."""
    reacher = reacher or Reacher(network)
    names = enis if enis is not None else [h.name for h in network.vpc_hosts()]
    out = {}
    for a in names:
        for b in names:
            if a != b:
                out[(a, b)] = cell_of(reacher.ask(reacher.question(Endpoint(a, a), Endpoint(b, b), proto, port)))
    return out
