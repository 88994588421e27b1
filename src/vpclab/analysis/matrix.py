"""The reach matrix: every ordered pair of ENIs for one protocol and port, answered once per pair of equivalence
classes instead of once per pair of ENIs.

Two ENIs are equivalent when nothing on any path can tell them apart: the same subnet (so the same route table,
NACL and VPC), the same groups in the same order (so the same rules *and* the same membership in every group a rule
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
from vpclab.analysis.reach import ECHO_ID, ReachAnswer, Reacher, blocker_key, gate, reply_to
from vpclab.engine.engine import Engine
from vpclab.engine.packet import SYN, Packet
from vpclab.model.network import Host, Network
from vpclab.model.protocols import ICMP, ICMPV6, TCP, UDP
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
    vpc: str = ""  # the subnet's VPC (for reports: filter and label by VPC)


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
    # the groups in the ENI's own order: a blocker names them in that order ("sg g1, g3"), so an ENI listing
    # the same groups in another order is another class (else its cells would carry a member's wording)
    return (host.subnet, tuple(dict.fromkeys(host.security_groups)), host.public_ip is not None,
            host.ephemeral_ports, host.ipv6 is not None, inside)


def classes(network: Network, enis: list[str] | None = None) -> tuple[EniClass, ...]:
    """The equivalence classes of the network's ENIs (or of `enis`)."""
    cuts = splitters(network)
    hosts = [network.hosts[e] for e in enis] if enis is not None else network.vpc_hosts()
    found: dict[Signature, list[Host]] = {}
    for host in hosts:
        found.setdefault(signature(host, cuts.get(host.subnet or "", [])), []).append(host)
    def vpc(host: Host) -> str:
        subnet = network.subnets.get(host.subnet or "")
        return subnet.vpc if subnet is not None else ""

    return tuple(EniClass(i, members[0].subnet or "", tuple(sorted(set(members[0].security_groups))),
                          members[0].public_ip is not None, tuple(h.name for h in members), vpc(members[0]))
                 for i, members in enumerate(found.values()))


def cell_of(answer: ReachAnswer) -> Cell:
    return Cell(answer.reachable, tuple((b.code, b.hop.path, b.hop.step.component, b.hop.step.id,
                                         b.hop.step.direction or "") for b in answer.blockers))


@dataclass(slots=True)
class _Shape:
    """A representative answer's path: the gates to decide again for every class pair of the same shape (kind,
    where, direction), the route steps that decide alike for all of them, and the reply's source ports to check.
    `cell` is set when no gate is on the path (the route decides alone): the same answer for every pair."""

    forward: tuple[tuple[str, str, Direction | None, object], ...]  # (kind, where, direction, its text | fixed)
    ret: tuple[tuple[str, str, Direction | None, object], ...]
    sports: list[int]
    cell: Cell | None = None


def _shape(answer: ReachAnswer, src: str, sports: list[int]) -> _Shape:
    def items(hops, path):  # type: ignore[no-untyped-def]
        out = []
        for h in hops:
            step = h.step
            if step.component == "sg" and path == "forward":
                out.append(("sg", "src" if step.host == src else "dst", Direction(step.direction), step.direction))
            elif step.component == "nacl" and step.decision != "info":
                out.append(("nacl", step.facts["subnet"], Direction(step.direction), step.direction))
            elif step.decision == "deny" and step.component not in ("sg", "conntrack"):
                out.append(("fixed", step.component, None,
                            (blocker_key(path, step), (step.code, path, step.component, step.id, ""))))
        return tuple(out)
    shape = _Shape(items(answer.forward, "forward"), items(answer.ret, "return"), sports)
    if all(kind == "fixed" for kind, *_ in shape.forward + shape.ret):
        shape.cell = cell_of(answer)
    return shape


def matrix(network: Network, proto: int, port: int | None, enis: list[str] | None = None,
           reacher: Reacher | None = None) -> Matrix:
    """Every ordered pair of the network's ENIs (or of `enis`) on `proto`/`port`, one answer per class pair.

    One full reach answers a representative pair per path shape (the two subnets, their splitting CIDRs, public
    IPs, whether the ENIs have groups, the initiator's ephemeral range); every other class pair of that shape has
    the same route steps and is decided gate by gate with the engine's own gate calls, cached per (gate, peer
    class, port). A group gate that admits the `internet` stand-in — an address only 0.0.0.0/0 holds — admits
    every peer, so it is decided once per group set."""
    reacher = reacher or Reacher(network)
    engine = reacher.engine
    found = classes(network, enis)
    cuts = splitters(network)
    hosts = network.hosts
    rep = [hosts[c.members[0]] for c in found]
    kinds: dict[tuple[object, ...], int] = {}
    shape_key = [kinds.setdefault((c.subnet, signature(h, cuts.get(c.subnet, []))[5], h.public_ip is not None,
                                   bool(h.security_groups), h.ephemeral_ports), len(kinds))
                 for c, h in zip(found, rep)]
    labels: dict[tuple[object, ...], str] = {}
    shapes: dict[tuple[object, ...], _Shape] = {}
    gates: dict[tuple[object, ...], tuple[bool, int | None, str]] = {}
    world: dict[tuple[object, ...], bool] = {}
    sg_cache: dict[tuple[object, ...], bool] = {}
    policies: dict[tuple[object, ...], object] = {}
    ips = {h.name: int(h.ip) for h in network.vpc_hosts()}
    match = Engine.sg_rule_mask  # the SG gate's rule decision, as Engine.decide makes it
    stand_in = int(reacher.internet(False))
    cells: dict[tuple[int, int], Cell] = {}
    asked = 0
    tcp_udp = proto in (TCP, UDP)
    egress = Direction.EGRESS
    for ci in found:
        i = ci.index
        key_i = shape_key[i]
        for cj in found:
            j = cj.index
            same = ci is cj
            if same:
                if len(ci.members) < 2:
                    continue
                a, b = hosts[ci.members[0]], hosts[ci.members[1]]
            else:
                a, b = rep[i], rep[j]
            key = (key_i, shape_key[j], same)
            shape = shapes.get(key)
            if shape is None:
                q = reacher.question(Endpoint(a.name, a.name), Endpoint(b.name, b.name), proto, port)
                answer = reacher.ask(q, fixes=False)
                asked += 1
                sports = (reacher.segment_starts(proto, a.ephemeral_ports, reacher.path_subnets(q)) if tcp_udp
                          else [0])
                shapes[key] = _shape(answer, a.name, sports)
                cells[(i, j)] = cell_of(answer)
                continue
            if shape.cell is not None:
                cells[(i, j)] = shape.cell
                continue
            v6 = a.ip.version == 6
            src, dst = (ips[a.name], ips[b.name])
            merged: dict[tuple[object, ...], tuple[str, str, str, str, str]] | None = None
            for n, sport in enumerate(shape.sports):
                p = r = None
                for forward, items in ((True, shape.forward), (False, shape.ret)):
                    if n and forward:
                        continue  # the forward gates do not look at the source port
                    path = "forward" if forward else "return"
                    for kind, where, direction, extra in items:
                        if kind == "fixed":
                            if merged is None:
                                merged = {}
                            merged.setdefault(extra[0], extra[1])  # type: ignore[index]
                            continue
                        if kind == "sg":
                            host, peer = (a, j) if where == "src" else (b, i)
                            pkey = (host.security_groups, direction)
                            policy = policies.get(pkey)
                            if policy is None:
                                policy = policies[pkey] = engine.sg_policy(host.name, direction)  # type: ignore
                                p = p or _packet(proto, src, dst, sport, port, v6)
                                probe = p._replace(dst=stand_in) if direction is egress else p._replace(src=stand_in)
                                world[pkey] = not v6 and bool(match(policy, direction, probe))
                            if world[pkey]:
                                continue
                            gkey: tuple[object, ...] = (pkey, peer)
                            decided = sg_cache.get(gkey)
                            if decided is None:
                                p = p or _packet(proto, src, dst, sport, port, v6)
                                decided = sg_cache[gkey] = bool(match(policy, direction, p))
                            if not decided:
                                if merged is None:
                                    merged = {}
                                label = policy.label
                                merged.setdefault(("sg", label, where, direction),
                                                  ("ENI_SG_RULES_MISMATCH", path, "sg", label, extra))
                            continue
                        peer = j if (direction is egress) == forward else i
                        dport = port if forward else sport
                        gkey = (where, direction, peer, dport, forward)
                        found_gate = gates.get(gkey)
                        if found_gate is None:
                            p = p or _packet(proto, src, dst, sport, port, v6)
                            if not forward and r is None:
                                r = reply_to(p)
                            g = gate(engine, "nacl", where, direction, p if forward else r)
                            found_gate = gates[gkey] = (g.allowed, g.rule.number if g.rule is not None else None, g.id)
                        if not found_gate[0]:
                            if merged is None:
                                merged = {}
                            merged.setdefault((path, "nacl", found_gate[2], direction, found_gate[1]),
                                              ("SUBNET_ACL_RESTRICTION", path, "nacl", found_gate[2], extra))
            blockers = tuple(merged.values()) if merged else ()
            cells[(i, j)] = Cell(not blockers, blockers) if blockers else REACHABLE
    return Matrix(proto, port, found, cells, asked, {m: c.index for c in found for m in c.members})


REACHABLE = Cell(True, ())


def _packet(proto: int, src: int, dst: int, sport: int, port: int | None, v6: bool) -> Packet:
    """The first packet of the flow between two ENIs, as `reach.first_packet` builds it."""
    if proto == TCP:
        return Packet(src, dst, TCP, sport, port or 0, SYN, v6=v6)
    if proto == UDP:
        return Packet(src, dst, UDP, sport, port or 0, v6=v6)
    if proto in (ICMP, ICMPV6):
        return Packet(src, dst, ICMPV6 if v6 else ICMP, icmp_type=128 if v6 else 8, ident=ECHO_ID, seq=1, v6=v6)
    return Packet(src, dst, proto, v6=v6)


def pairwise(network: Network, proto: int, port: int | None, enis: list[str] | None = None,
             reacher: Reacher | None = None) -> dict[tuple[str, str], Cell]:
    """The same answers asked pair by pair (the reference the matrix is tested and measured against)."""
    reacher = reacher or Reacher(network)
    names = enis if enis is not None else [h.name for h in network.vpc_hosts()]
    out = {}
    for a in names:
        for b in names:
            if a != b:
                question = reacher.question(Endpoint(a, a), Endpoint(b, b), proto, port)
                out[(a, b)] = cell_of(reacher.ask(question, fixes=False))
    return out
