"""Reach: can X open a connection to Y on protocol P and port N, and if not, what blocks it — on both paths.

Every decision comes from the engine. The forward path is `Engine.decide` of the flow's first packet (every gate
with its deciding rule, all of them even after a denial). The return path is `Engine.decide` of the reply (SYN-ACK,
UDP datagram back, echo reply) as the responder sends it, with each security group gate judged *by state*: an ENI
whose forward gate admitted the flow holds a tracked entry for it, so its reply passes whatever the rules say —
unless the flow is untracked (aws-semantics.md §2.2), when the reply is judged by the rules like every packet.
NACLs and routes are stateless: judged both ways. A NAT gateway's translation is the engine's own `NatTable`.
This is `Engine.evaluate`'s definition (route ∧ NACLs ∧ (tracked ∨ rule)) unrolled over the two packets that
decide whether a connection opens; tests/test_reach_properties.py checks it against the simulator.

Replies go to the initiator's ephemeral port, which the initiator picks from its range (Linux 32768-60999 by
default, the host's `ephemeral_ports`). Rules and NACL entries only decide on destination ports, so the answer
is the same between two consecutive boundaries of the entries and rules on the path: the path is checked at the
first port of each such segment, and it is reachable only if every port of the range works (docs/assumptions.md R3).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from typing import TYPE_CHECKING

from vpclab.analysis.endpoints import Endpoint, internet_address
from vpclab.engine import codes
from vpclab.engine.decision import Decision, GateDecision
from vpclab.engine.engine import Engine
from vpclab.engine.nat import NAT_PROTOCOLS, NatTable
from vpclab.engine.packet import ACK, SYN, Packet
from vpclab.engine.paths import Route
from vpclab.engine.verdict import RuleRef, Step
from vpclab.errors import InputError, Problem
from vpclab.model.addresses import IPAddress
from vpclab.model.frozen import FrozenMap
from vpclab.model.network import Host, Network
from vpclab.model.protocols import ICMP, ICMP_QUERY_REPLY, ICMPV6, ICMPV6_QUERY_REPLY, TCP, UDP, PortRange
from vpclab.model.rules import Direction

if TYPE_CHECKING:
    from vpclab.analysis.fix import Change

INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS
#: Reachability Analyzer's own explanation codes among the engine's (aws-semantics.md §7.1)
RA_CODES = frozenset({codes.ENI_SG_RULES_MISMATCH, codes.SUBNET_ACL_RESTRICTION, codes.NO_ROUTE_TO_DESTINATION,
                      codes.IGW_PRIVATE_IP_ASSOCIATION})
#: vpclab's code for a path that leaves the snapshot (VPN, endpoint, a VPC it does not hold): reachable so far
LEAVES_SNAPSHOT = "PATH_LEAVES_SNAPSHOT"
#: vpclab's code for a route that exists but does not lead to the destination (an IGW route to another VPC's
#: private address: the packet leaves for the internet, where no one holds that address)
MISROUTED = "ROUTE_MISSES_DESTINATION"
#: the identifier of reach's echo request (any works: replies are matched to their request's identifier)
ECHO_ID = 1


@dataclass(frozen=True, slots=True)
class Hop:
    """One component on a path with its decision, as the engine's explanation data (`Step`); `path` is
    `forward` or `return`."""

    path: str
    step: Step

    @property
    def blocking(self) -> bool:
        return self.step.decision == "deny"


@dataclass(frozen=True, slots=True)
class Fix:
    """The smallest change that lets one blocker pass: in words, and as an AWS CLI command ("" when none fits)."""

    text: str
    cli: str = ""
    change: "Change | None" = None  # the same change as model data (tests apply it and ask again)


@dataclass(frozen=True, slots=True)
class Blocker:
    """A blocking component: its hop, the code (Reachability Analyzer's where one fits) and its fix."""

    hop: Hop
    code: str
    fix: Fix | None

    @property
    def ra(self) -> bool:
        """True when `code` is one of Reachability Analyzer's."""
        return self.code in RA_CODES


@dataclass(frozen=True, slots=True)
class Side:
    """One end as answered: its ENI (None outside the VPCs) and the address the packets use."""

    token: str
    eni: str | None
    address: IPAddress
    internet: bool = False


@dataclass(frozen=True, slots=True)
class ReachAnswer:
    """The answer for one pair of ENIs (or an ENI and an outside address) on one protocol and port."""

    src: Side
    dst: Side
    proto: int
    port: int | None
    reachable: bool
    forward: tuple[Hop, ...]
    ret: tuple[Hop, ...]
    blockers: tuple[Blocker, ...]
    sport: int | None  # the initiator's source port the hops show
    ports_checked: tuple[int, ...] = ()
    blocked_ports: tuple[tuple[int, int], ...] = ()  # source-port ranges whose replies are dropped
    notes: tuple[str, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(b.code for b in self.blockers)


@dataclass(frozen=True, slots=True)
class Question:
    """A resolved question: addresses and ENIs of both ends, protocol and destination port."""

    src: Side
    dst: Side
    proto: int
    port: int | None
    v6: bool


def outside_addresses(network: Network, endpoints: list[Endpoint], v6: bool = False) -> set[IPAddress]:
    """The outside addresses a set of endpoints needs as internet hosts (the `internet` stand-in included)."""
    found: set[IPAddress] = set()
    for e in endpoints:
        if e.outside:
            found.add(e.address if e.address is not None else internet_address(network, v6))
    return found


def with_outside(network: Network, addresses: set[IPAddress]) -> Network:
    """`network` with an internet host at each outside address it lacks (the engine routes replies to hosts only)."""
    have = {h.ip for h in network.hosts.values() if h.internet}
    missing = sorted((a for a in addresses if a not in have), key=lambda a: (a.version, int(a)))
    if not missing:
        return network
    hosts = dict(network.hosts)
    for address in missing:
        name = f"outside-{address}"
        hosts[name] = Host(name, address, internet=True)
    return replace(network, hosts=FrozenMap(hosts))


class Reacher:
    """Reach questions on one network: one engine, compiled once, asked many times (reach, matrix, audit)."""

    def __init__(self, network: Network, outside: set[IPAddress] | None = None, engine: Engine | None = None) -> None:
        self.network = with_outside(network, outside or set())
        self.engine = engine if engine is not None and self.network is network else Engine(self.network)
        self._outside = {h.ip: h for h in self.network.hosts.values() if h.internet}
        self._stand_in: dict[bool, IPAddress] = {}
        self._segments: dict[tuple[object, ...], list[int]] = {}

    def internet(self, v6: bool = False) -> IPAddress:
        """The address `internet` stands for in this network (endpoints.internet_address, computed once)."""
        if v6 not in self._stand_in:
            self._stand_in[v6] = internet_address(self.network, v6)
        return self._stand_in[v6]

    # ---- questions ---------------------------------------------------------------------------------------

    def question(self, src: Endpoint, dst: Endpoint, proto: int, port: int | None) -> Question:
        """Addresses for both ends: an ENI sends from its primary private address (or the private address it was
        named by); a destination ENI is reached at the address it was named by, else its public IP from outside
        and its private IP from inside; `internet` is the stand-in address."""
        if src.outside and dst.outside:
            raise InputError([Problem("--to", "both ends are outside the snapshot's VPCs: expected at least one "
                                              "instance, ENI, Name tag or VPC address")])
        given = [e.address for e in (src, dst) if e.address is not None]
        v6 = any(a.version == 6 for a in given)
        if given and len({a.version for a in given}) > 1:
            raise InputError([Problem("--to", f"{given[0]} and {given[1]} are not of the same IP family")])
        q = Question(self._side(src, v6, True, dst.outside), self._side(dst, v6, False, src.outside), proto, port, v6)
        for side in (q.src, q.dst):
            if side.eni is None and side.address not in self._outside:
                raise ValueError(f"this Reacher has no outside host at {side.address}: build it with outside=")
        return q

    def _side(self, e: Endpoint, v6: bool, source: bool, other_outside: bool) -> Side:
        if e.outside:
            address = e.address if e.address is not None else self.internet(v6)
            return Side(e.token, None, address, e.internet)
        host = self.network.hosts[e.eni or ""]
        if e.address is not None and (not source or e.address in host.private_addresses):
            return Side(e.token, host.name, e.address)
        if v6:
            if host.ipv6 is None:
                raise InputError([Problem("--from" if source else "--to", f"{host.name} has no IPv6 address")])
            return Side(e.token, host.name, host.ipv6)
        if not source and other_outside and host.public_ip is not None:
            return Side(e.token, host.name, host.public_ip)
        return Side(e.token, host.name, host.ip)

    def reach(self, src: Endpoint, dst: Endpoint, proto: int, port: int | None, sport: int | None = None
              ) -> ReachAnswer:
        """The answer for one pair; `sport` checks one source port instead of the initiator's whole range."""
        return self.ask(self.question(src, dst, proto, port), sport)

    def ask(self, q: Question, sport: int | None = None, fixes: bool = True) -> ReachAnswer:
        """The answer to a resolved question (over the initiator's ephemeral range unless `sport` is given);
        `fixes=False` skips working out the fixes (the matrix only needs the verdict and the blockers)."""
        if sport is not None or q.proto not in (TCP, UDP):
            return self._once(q, sport if q.proto in (TCP, UDP) else None, fixes)
        initiator = self._initiator(q)
        candidates = self.segment_starts(q.proto, initiator.ephemeral_ports, self.path_subnets(q))
        answers = [self._once(q, s, fixes) for s in candidates]
        if len(answers) == 1:
            return replace(answers[0], ports_checked=tuple(candidates))
        last = initiator.ephemeral_ports.last
        blocked = []
        for i, (s, a) in enumerate(zip(candidates, answers)):
            if not a.reachable:
                end = candidates[i + 1] - 1 if i + 1 < len(candidates) else last
                if blocked and blocked[-1][1] == s - 1:
                    blocked[-1] = (blocked[-1][0], end)
                else:
                    blocked.append((s, end))
        chosen = next((a for a in answers if not a.reachable), answers[0])
        merged: dict[tuple[object, ...], Blocker] = {}
        for a in answers:
            for b in a.blockers:
                merged.setdefault(blocker_key(b.hop.path, b.hop.step), b)
        notes = chosen.notes
        if blocked and any(a.reachable for a in answers):
            notes += (f"replies to source ports {_ranges(blocked)} are dropped; other ports of the initiator's "
                      f"ephemeral range {initiator.ephemeral_ports} work",)
        return replace(chosen, reachable=all(a.reachable for a in answers), blockers=tuple(merged.values()),
                       ports_checked=tuple(candidates), blocked_ports=tuple(blocked), notes=notes)

    def _initiator(self, q: Question) -> Host:
        if q.src.eni is not None:
            return self.network.hosts[q.src.eni]
        return self._outside[q.src.address]

    def path_subnets(self, q: Question) -> frozenset[str]:
        """The subnets whose NACLs judge the replies: those the forward route crosses, and a NAT gateway's."""
        route = self.engine.router.route(int(q.src.address), int(q.dst.address), q.v6)
        subnets = {s for s in (route.nacl_out, route.nacl_in) if s is not None}
        if route.nat is not None:
            subnets.add(self.network.nat_gateways[route.nat].subnet)
        return frozenset(subnets)

    def segment_starts(self, proto: int, ports: PortRange, subnets: frozenset[str]) -> list[int]:
        """The first port of each segment of `ports` over which every NACL entry of `subnets` decides a reply alike.

        Only NACLs can tell two source ports apart: a reply's security group gate passes by its tracked entry, or,
        for an untracked flow, by the all-ports 0.0.0.0/0 rule that made it untracked (aws-semantics.md §2.2)."""
        key = (proto, ports, subnets)
        found = self._segments.get(key)
        if found is None:
            cuts = {ports.first}
            network = self.network
            for name in subnets:
                acl = network.nacls[network.subnets[name].nacl]
                for d in Direction:
                    for e in acl.entries(d):
                        if e.protocol == proto:
                            for b in (e.ports.first, e.ports.last + 1):
                                if ports.first < b <= ports.last:
                                    cuts.add(b)
            found = self._segments[key] = sorted(cuts)
        return found

    # ---- one source port -----------------------------------------------------------------------------

    def _once(self, q: Question, sport: int | None, with_fixes: bool = True) -> ReachAnswer:
        engine = self.engine
        if sport is None and q.proto in (TCP, UDP):
            sport = self._initiator(q).ephemeral_ports.first
        p = first_packet(q, sport or 0)
        fwd = engine.decide(p)
        forward = [Hop("forward", s) for s in self._gate_steps(fwd, None)]
        ret: list[Hop] = []
        notes: list[str] = []
        route = fwd.route
        if route.drop_code is not None:
            forward.append(Hop("forward", _route_step(route, p)))
            notes.append("the route decides before the gates behind it: after fixing it, ask again for those")
        elif route.service is not None:
            forward.append(Hop("forward", Step("route", "vpc-router", "allow", codes.NOT_FILTERED_SERVICE, packet=p,
                                               facts={"service": route.service})))
            service = engine.router.services.get(p.dst)
            answers = (service.tcp if q.proto == TCP else service.udp if q.proto == UDP else frozenset()) \
                if service is not None else frozenset()
            if service is not None and q.proto in (TCP, UDP) and q.port not in answers:
                listed = [f"{name} {', '.join(map(str, sorted(ports)))}" for name, ports in
                          (("tcp", service.tcp), ("udp", service.udp)) if ports]
                notes.append(f"no filter stops it, but {route.service} answers only {'; '.join(listed)}: nothing "
                             f"answers {'tcp' if q.proto == TCP else 'udp'}/{q.port}")
        elif not self._leads_to(q, route):
            forward.append(Hop("forward", self._misroute_step(q, route, p)))
        elif route.nat is not None and p.proto not in NAT_PROTOCOLS:
            # Engine.decide judges a NAT path's gates only; evaluate drops other protocols at the gateway (§3)
            nat = self.network.nat_gateways[route.nat]
            forward.append(Hop("forward", Step("route", nat.id, "deny", codes.NAT_PROTOCOL, packet=p,
                                               origin=nat.origin)))
        elif route.nat is not None:
            forward.insert(_after_egress(forward), Hop("forward", _route_info(route, p)))
            ret = self._nat_return(q, fwd, p, notes)
        else:
            forward.insert(_after_egress(forward), Hop("forward", _route_info(route, p)))
            if route.via is not None and route.delivered_to is None:
                notes.append(f"the path leaves the snapshot at {route.via}: reachable as far as the snapshot shows; "
                             "the return path is not modelled")
            elif fwd.delivered is not None:
                ret = self._return(reply_to(fwd.delivered), fwd, notes)
        hops = tuple(forward) + tuple(ret)
        blockers = tuple(Blocker(h, _code(h.step), None) for h in hops if h.blocking)
        from vpclab.analysis.fix import fixes  # fixes need the answer's context; imported here to keep one direction

        if with_fixes:
            blockers = fixes(self, q, blockers)
        return ReachAnswer(q.src, q.dst, q.proto, q.port, not blockers, tuple(forward), tuple(ret), blockers,
                           sport if q.proto in (TCP, UDP) else None, notes=tuple(notes))

    def _leads_to(self, q: Question, route: Route) -> bool:
        """Whether the route delivers to the asked destination (or leaves the snapshot through a gateway, where
        nothing more can be said): an IGW route to a private address of another VPC delivers to no one."""
        if route.via is not None and route.delivered_to is None:
            return True
        if q.dst.eni is not None:
            return route.delivered_to == q.dst.eni
        outsider = self._outside.get(q.dst.address)
        return outsider is not None and route.delivered_to == outsider.name

    def _misroute_step(self, q: Question, route: Route, p: Packet) -> Step:
        subnet = self.network.hosts[q.src.eni].subnet if q.src.eni is not None else ""
        facts = {"subnet": subnet or "", "address": str(q.dst.address), "delivered": route.delivered_to or ""}
        if route.table_route is not None:
            facts |= {"destination": str(route.table_route.destination), "target": route.table_route.target}
        return Step("route", "vpc-router", "deny", MISROUTED, packet=p, facts=facts, origin=route.origin)

    def _gate_steps(self, d: Decision, forward: Decision | None) -> list[Step]:
        """Steps for a decision's gates; with `forward` (this is a reply), security groups are judged by state."""
        steps = []
        for g in d.gates:
            if g.component == "nacl":
                steps.append(_nacl_step(g))
                continue
            opened = _opening_gate(forward, g) if forward is not None else None
            if opened is not None and not (opened.untracked and not _always_tracked(forward.route, g.where)):
                steps.append(Step("conntrack", _eni_id(g.where), "allow", codes.CONNTRACK_MATCH, g.where,
                                  str(g.direction), packet=g.packet, facts={"opened_by": opened.rule,
                                                                            "opened_at": str(opened.direction)}))
            else:
                steps.append(self._sg_step(g, reply=forward is not None))
        return steps

    def _sg_step(self, g: GateDecision, reply: bool) -> Step:
        if g.allowed:
            code = codes.SG_RULE_MATCH_UNTRACKED if g.untracked else codes.SG_RULE_MATCH
            facts = {"untracked": "response" if reply else "first"} if g.untracked or reply else {}
            return Step("sg", g.id, "allow", code, g.where, str(g.direction), g.rule, packet=g.packet, facts=facts)
        policy = self.engine.sg_policy(g.where, g.direction)
        return Step("sg", g.id, "deny", codes.ENI_SG_RULES_MISMATCH, g.where, str(g.direction), packet=g.packet,
                    facts={"groups": policy.groups}, origin=policy.origin)

    def _return(self, r: Packet, fwd: Decision, notes: list[str]) -> list[Hop]:
        back = self.engine.decide(r)
        hops = [Hop("return", s) for s in self._gate_steps(back, fwd)]
        route = back.route
        if route.drop_code is not None:
            hops.append(Hop("return", _route_step(route, r)))
        elif route.nat is not None and route.nat_inbound:
            notes.append("the reply reaches a NAT gateway's address that answers no flow of this question")
        else:
            hops.insert(_after_egress(hops), Hop("return", _route_info(route, r)))
        return hops

    def _nat_return(self, q: Question, fwd: Decision, p: Packet, notes: list[str]) -> list[Hop]:
        """The reply through the NAT gateway (aws-routing-terraform.md §3): to its Elastic IP, the gateway subnet's
        NACL in, translated back by the gateway's table, then the NACLs between the gateway's subnet and the
        instance's, then the instance's group (a flow through a NAT gateway is always tracked)."""
        route = fwd.route
        network, engine = self.network, self.engine
        nat = network.nat_gateways[route.nat or ""]
        table = NatTable(int(nat.private_ip))
        out = table.outbound(p, 0.0)
        hairpin = route.receiver is not None  # to a public IP of the VPC, out through the IGW and back in
        if route.igw and route.new_src is not None:
            out = out._replace(src=route.new_src, dst=route.new_dst if hairpin and route.new_dst is not None
                               else out.dst)
        elif route.via is not None:
            notes.append(f"the path leaves the snapshot at {route.via} after {nat.id}: the return path is not "
                         "modelled")
            return []
        if not hairpin and out.dst not in {int(a) for a in self._outside}:
            return []
        r0 = reply_to(out)
        back = engine.decide(r0)
        if back.route.drop_code is not None:
            return [Hop("return", _route_step(back.route, r0))]
        own = self._gate_steps(replace(back, gates=back.gates[:-1]), fwd) if hairpin else []
        hops = [Hop("return", step) for step in own]  # the VPC host's group (by state) and subnet NACL out
        hops.append(Hop("return", Step("route", "igw", "info", codes.ROUTE_IGW, packet=r0,
                                       facts={"translated": back.gates[-1].packet if back.gates else r0})))
        hops.append(Hop("return", _nacl_step(back.gates[-1])))
        arrived = back.gates[-1].packet if back.gates else r0._replace(dst=int(nat.private_ip))
        r = table.inbound(arrived, 0.0)
        if r is None:  # cannot happen for the reply of the flow just translated; kept as the engine's code
            hops.append(Hop("return", Step("route", nat.id, "deny", codes.NAT_NO_MAPPING, packet=arrived)))
            return hops
        hops.append(Hop("return", Step("route", nat.id, "info", codes.NAT_TRANSLATION, packet=arrived,
                                       origin=nat.origin, facts={"translated": r})))
        inside = network.hosts[q.src.eni or ""]
        if inside.subnet != nat.subnet:
            for subnet, direction in ((nat.subnet, EGRESS), (inside.subnet or "", INGRESS)):
                hops.append(Hop("return", _nacl_step(engine.nacl_gate(subnet, direction, r))))
        sender = next((g for g in fwd.gates if g.component == "sg" and g.where == inside.name), None)
        if sender is not None:
            hops.append(Hop("return", Step("conntrack", _eni_id(inside.name), "allow", codes.CONNTRACK_MATCH,
                                           inside.name, str(INGRESS), packet=r,
                                           facts={"opened_by": sender.rule, "opened_at": str(EGRESS)})))
        return hops


# ---- packets ---------------------------------------------------------------------------------------------


def first_packet(q: Question, sport: int) -> Packet:
    """The flow's first packet: a TCP SYN, a UDP datagram, an ICMP echo request, or a packet of protocol P."""
    src, dst = q.src.address, q.dst.address
    if q.proto == TCP:
        return Packet.tcp(src, sport, dst, q.port or 0, "S")
    if q.proto == UDP:
        return Packet.udp(src, sport, dst, q.port or 0)
    if q.proto in (ICMP, ICMPV6):
        return Packet.icmp(src, dst, 128 if q.v6 else 8, 0, ident=ECHO_ID, seq=1)
    return Packet.other(src, dst, q.proto)


def reply_to(p: Packet) -> Packet:
    """The responder's answer to `p` as delivered: SYN-ACK, a datagram back, the echo reply (same identifier)."""
    q = p._replace(src=p.dst, dst=p.src, sport=p.dport, dport=p.sport)
    if p.proto == TCP:
        return q._replace(flags=SYN | ACK)
    if p.proto == ICMP:
        return q._replace(icmp_type=ICMP_QUERY_REPLY.get(p.icmp_type, 0), icmp_code=0)
    if p.proto == ICMPV6:
        return q._replace(icmp_type=ICMPV6_QUERY_REPLY.get(p.icmp_type, 129), icmp_code=0)
    return q


# ---- steps -------------------------------------------------------------------------------------------------


def _nacl_step(g: GateDecision) -> Step:
    return Step("nacl", g.id, "allow" if g.allowed else "deny",
                codes.NACL_RULE_MATCH if g.allowed else codes.SUBNET_ACL_RESTRICTION, None, str(g.direction), g.rule,
                packet=g.packet, facts={"subnet": g.where})


def _route_step(route: Route, p: Packet) -> Step:
    return Step("route", "vpc-router", "deny", route.drop_code or "", packet=p, facts=route.facts,
                origin=route.origin)


def _route_info(route: Route, p: Packet) -> Step:
    """The route a packet took, as an info step citing the route table entry."""
    if route.same_subnet is not None:
        return Step("nacl", "-", "info", codes.NACL_NOT_EVALUATED, packet=p, facts={"subnet": route.same_subnet})
    if route.nat is not None:
        delivered = "the internet" if route.igw else ""
        if route.receiver is not None:
            delivered = f"{route.receiver}'s public IP, out through the internet gateway and back in"
        return Step("route", route.nat, "info", codes.ROUTE_VIA, packet=p, origin=route.origin,
                    facts={"target": route.nat, "delivered": delivered})
    if route.igw:
        q = p._replace(src=route.new_src if route.new_src is not None else p.src,
                       dst=route.new_dst if route.new_dst is not None else p.dst)
        return Step("route", "igw", "info", codes.ROUTE_IGW, packet=p, origin=route.origin, facts={"translated": q})
    if route.via is not None:
        return Step("route", route.via, "info", codes.ROUTE_VIA, packet=p, origin=route.origin,
                    facts={"target": route.via, "delivered": route.delivered_to or ""})
    facts = {}
    if route.table_route is not None:
        facts = {"destination": str(route.table_route.destination), "target": route.table_route.target}
    return Step("route", "local", "info", codes.ROUTE_LOCAL, packet=p, origin=route.origin, facts=facts)


def _after_egress(hops: list[Hop]) -> int:
    """Where the route step goes: after the sender's group and subnet egress, before the receiver's side."""
    index = 0
    for i, h in enumerate(hops):
        if h.step.direction == str(EGRESS):
            index = i + 1
    return index


def _opening_gate(forward: Decision, g: GateDecision) -> GateDecision | None:
    """The forward gate whose conntrack entry would admit the reply gate `g`: the same ENI, other direction."""
    for f in forward.gates:
        if f.component == "sg" and f.where == g.where and f.direction is not g.direction:
            return f
    return None


def _always_tracked(route: Route, host: str | None = None) -> bool:
    """Flows through a NAT gateway or an egress-only gateway are always tracked (aws-semantics.md §2.3) on `host`."""
    if route.nat is not None and route.receiver is not None:  # a NAT hairpin: only its sender is always tracked
        return host == route.sender
    return route.nat is not None or route.tracked_only


def _eni_id(host: str) -> str:
    """The conntrack table's id: the ENI id itself (snapshots), `eni-<host>` for a lab host (as the engine says)."""
    return host if host.startswith("eni-") else f"eni-{host}"


def _code(step: Step) -> str:
    return step.code


def blocker_key(path: str, s: Step) -> tuple[object, ...]:
    """What makes two blockers the same one (across the source-port segments of an answer)."""
    number = s.rule.number if isinstance(s.rule, RuleRef) else None
    return (path, s.component, s.id, s.host, s.direction, s.code, number)


def sg_allows(engine: Engine, host: str, direction: Direction, p: Packet) -> bool:
    """Whether an ENI's groups admit `p` by rule: the SG gate's decision, from the engine's compiled matcher."""
    return bool(Engine.sg_rule_mask(engine.sg_policy(host, direction), direction, p))


def gate(engine: Engine, component: str, where: str, direction: Direction, p: Packet) -> GateDecision:
    """One gate's rule decision, the same call `Engine.decide` makes for it (the matrix asks gate by gate)."""
    if component == "sg":
        decided = engine.sg_gate(where, direction, p)
        assert decided is not None, f"{where} has no security group gate"
        return decided
    return engine.nacl_gate(where, direction, p)


def _ranges(spans: list[tuple[int, int]]) -> str:
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


@dataclass(frozen=True, slots=True)
class Protocol:
    """A reach question's protocol and port, checked: tcp/udp need a port, icmp and others take none."""

    number: int
    port: int | None = field(default=None)


def parse_question(proto: str | None, port: int | None) -> Protocol:
    """`--proto`/`--port` → a Protocol; raises InputError for a port without a protocol, a tcp/udp question
    without a port, a port on ICMP, or an unknown protocol (docs/assumptions.md R2)."""
    from vpclab.model.errors import ModelError
    from vpclab.model.protocols import parse_protocol

    if proto is None:
        if port is not None:
            raise InputError([Problem("--port", f"port {port} without a protocol: expected --proto tcp or "
                                                "--proto udp with it")])
        raise InputError([Problem("--proto", "missing: expected tcp, udp, icmp or a protocol number 0-255")])
    try:
        number = parse_protocol(proto)
    except ModelError as error:
        raise InputError([Problem("--proto", "; ".join(p.message for p in error.problems) or str(error))]) from None
    if number == -1:
        raise InputError([Problem("--proto", "all (-1) is not one connection: expected tcp, udp, icmp or a "
                                             "protocol number 0-255")])
    if number in (TCP, UDP):
        if port is None:
            raise InputError([Problem("--port", f"missing: --proto {proto} needs a destination port 0-65535")])
        if not 0 <= port <= 65535:
            raise InputError([Problem("--port", f"{port} is out of range: expected 0-65535")])
        return Protocol(number, port)
    if port is not None:
        raise InputError([Problem("--port", f"--proto {proto} has no ports: leave --port out")])
    return Protocol(number)


# ---- entry points ------------------------------------------------------------------------------------------


def reach(network: Network, src: str | Endpoint, dst: str | Endpoint, proto: int, port: int | None,
          reacher: Reacher | None = None) -> ReachAnswer:
    """One answer: `src` and `dst` are endpoints or tokens naming one ENI (or an outside address) each."""
    from vpclab.analysis.endpoints import resolve

    ends = []
    for value, name in ((src, "from"), (dst, "to")):
        found = resolve(network, value, name) if isinstance(value, str) else [value]
        if len(found) > 1:
            raise InputError([Problem(f"--{name}", f"{value} has {len(found)} ENIs: use reach_all, or name one of "
                                                   + ", ".join(str(e.eni) for e in found))])
        ends.append(found[0])
    if reacher is None:
        reacher = Reacher(network, outside_addresses(network, ends, any(e.address is not None
                                                                         and e.address.version == 6 for e in ends)))
    return reacher.reach(ends[0], ends[1], proto, port)


def reach_all(network: Network, src: str, dst: str, proto: int, port: int | None) -> list[ReachAnswer]:
    """Every answer `--from src --to dst` asks for: one per (source ENI, destination ENI) when an instance has
    several; refuses (InputError) the same endpoint at both ends."""
    from vpclab.analysis.endpoints import resolve

    sources, targets = resolve(network, src, "from"), resolve(network, dst, "to")
    pairs = [(s, t) for s in sources for t in targets
             if not (s.eni is not None and s.eni == t.eni) and not (s.outside and t.outside and s.address == t.address)]
    if not pairs or src.strip() == dst.strip():
        raise InputError([Problem("--to", f"{dst} is the same endpoint as --from {src}: expected two different ends")])
    v6 = any(e.address is not None and e.address.version == 6 for e in sources + targets)
    reacher = Reacher(network, outside_addresses(network, sources + targets, v6))
    return [reacher.reach(s, t, proto, port) for s, t in pairs]
