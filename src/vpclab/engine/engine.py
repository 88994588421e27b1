"""The semantics core: a packet's verdict through security groups, NACLs, routes and connection tracking.

`Engine.evaluate(packet, now)` walks the path (sender SG egress → sender subnet NACL egress → route/IGW →
receiver subnet NACL ingress → receiver SG ingress), updates each ENI's conntrack table, and returns a
Verdict. `Engine.decide(packet)` says what the rules alone say on that path and `Engine.tracked(packet, now)`
what the conntrack tables hold for it, both without changing any state (for reach and flow replay).
Time is always passed in; nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from vpclab.engine import codes
from vpclab.engine.config import EngineConfig
from vpclab.engine.conntrack import ConntrackTable, Entry, packet_key
from vpclab.engine.decision import Decision, GateDecision, TrackedLookup
from vpclab.engine.matcher import Span, lowest_bit
from vpclab.engine.nacl import NaclPolicy
from vpclab.engine.nat import NAT_PROTOCOLS, NatTable
from vpclab.engine.packet import ACK, FIN, RST, SYN, Packet
from vpclab.engine.paths import Route, Router
from vpclab.engine.sg import PeerCache, SgPolicy, UntrackedMatch, compile_policy, untracked_matches
from vpclab.engine.verdict import RuleRef, Step, Verdict
from vpclab.gc_pause import collector_paused
from vpclab.model.network import Host, Network
from vpclab.model.protocols import ICMP, ICMP_QUERY_REPLY, ICMPV6, TCP, UDP
from vpclab.model.rules import Direction

INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS
_TCP_CHANGES = SYN | FIN | RST  # flags that move a TCP entry's state
_REPLY_TYPES = {ICMP: frozenset(ICMP_QUERY_REPLY.values()), ICMPV6: frozenset({129})}
#: the codes with which a security group gate lets a packet through
ALLOWING = frozenset({codes.CONNTRACK_MATCH, codes.SG_RULE_MATCH, codes.SG_RULE_MATCH_UNTRACKED,
                      codes.SG_RULE_MATCH_STATELESS})
_TRACKED = codes.CONNTRACK_MATCH  # the common case, tested by identity first in the hot path


class Eni:
    """Runtime state of one VPC host's interface: compiled policies, untracked-flow spans, conntrack table."""

    __slots__ = ("host", "name", "table", "ingress", "egress", "untracked")

    def __init__(self, host: Host, table: ConntrackTable, ingress: SgPolicy, egress: SgPolicy) -> None:
        self.host = host
        self.name = host.name
        self.table = table
        self.ingress = ingress
        self.egress = egress
        self.untracked: dict[tuple[Direction, int, int], dict[str, tuple[Span, ...]]] = {}
        for match in untracked_matches(ingress, egress):
            self.untracked.setdefault((match.direction, match.version, match.proto), {})[match.role] = match.ports

    def policy(self, direction: Direction) -> SgPolicy:
        return self.ingress if direction is INGRESS else self.egress

    def untracked_role(self, direction: Direction, p: Packet) -> str | None:
        """`first` or `response` when `p` belongs to an untracked flow (AWS's rule, see sg.UntrackedMatch)."""
        roles = self.untracked.get((direction, 6 if p.v6 else 4, p.proto))
        if roles is None:
            return None
        first = roles.get("first")
        if first is not None and _within(p.dport, first):
            return "first"
        response = roles.get("response")
        if response is not None and not (p.proto == TCP and p.flags & SYN and not p.flags & ACK) \
                and _within(p.sport, response):
            return "response"
        return None


#: a resolved path: the route, the sender's ENI, the NACL policies leaving and entering, the receiver's ENI
_Path = tuple[Route, "Eni | None", "NaclPolicy | None", "NaclPolicy | None", "Eni | None"]


class Engine:
    """Verdicts for packets on one network, with per-ENI connection tracking that persists across changes."""

    def __init__(self, network: Network, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self._tables: dict[str, ConntrackTable] = {}
        self._untracked_seen: dict[tuple[int, ...], RuleRef] = {}
        self._nat_tables: dict[str, NatTable] = {}
        self.network = network
        self.update(network)

    # ---- configuration -------------------------------------------------------------------------------

    @collector_paused()
    def update(self, network: Network) -> None:
        """Switch to a new network version. Tracked entries stay; untracked flows meet the new rules."""
        self.network = network
        self.router = Router(network)
        policies: dict[tuple[str, ...], tuple[SgPolicy, SgPolicy]] = {}
        cache = PeerCache(network)
        enis: dict[str, Eni] = {}
        for host in network.vpc_hosts():
            if not host.security_groups:  # an ENI AWS gives no group (NAT gateway, GWLB): no SG gate, no tracking
                continue
            pair = policies.get(host.security_groups)
            if pair is None:
                pair = policies[host.security_groups] = (
                    compile_policy(network, host.security_groups, INGRESS, cache=cache),
                    compile_policy(network, host.security_groups, EGRESS, cache=cache))
            table = self._tables.get(host.name)
            if table is None:
                table = self._tables[host.name] = ConntrackTable(host.name, host.conntrack, self.config)
            table.settings = host.conntrack
            enis[host.name] = Eni(host, table, *pair)
        for gone in set(self._tables) - set(enis):
            del self._tables[gone]
        self._enis = enis
        acls: dict[str, tuple[NaclPolicy, NaclPolicy]] = {}
        for acl in network.nacls.values():
            acls[acl.id] = (NaclPolicy(acl, INGRESS), NaclPolicy(acl, EGRESS))
        self._nacl_in = {name: acls[s.nacl][0] for name, s in network.subnets.items()}
        self._nacl_out = {name: acls[s.nacl][1] for name, s in network.subnets.items()}
        self._paths: dict[tuple[int, int, bool], _Path] = {}

    def _path(self, p: Packet) -> _Path:
        """The route between `p`'s addresses with its ENIs and NACL policies resolved (cached per address pair,
        so a packet of a known pair costs one lookup)."""
        key = (p.src, p.dst, p.v6)
        path = self._paths.get(key)
        if path is None:
            route = self.router.route(p.src, p.dst, p.v6)
            path = self._paths[key] = (
                route,
                self._enis.get(route.sender) if route.sender is not None else None,
                self._nacl_out[route.nacl_out] if route.nacl_out is not None else None,
                self._nacl_in[route.nacl_in] if route.nacl_in is not None else None,
                self._enis.get(route.receiver) if route.receiver is not None else None)
        return path

    # ---- published facts (renderers and backends format these; they never re-derive them) -------------

    def conntrack(self, host: str) -> ConntrackTable:
        """The conntrack table of a VPC host's ENI."""
        return self._tables[host]

    def tables(self) -> Iterable[ConntrackTable]:
        return self._tables.values()

    def sg_policy(self, host: str, direction: Direction) -> SgPolicy:
        """A VPC host's compiled security groups in one direction (rules, peers as address blocks)."""
        return self._enis[host].policy(direction)

    def untracked(self, host: str) -> tuple[UntrackedMatch, ...]:
        """Which of a VPC host's flows are untracked, as port spans per direction and role."""
        eni = self._enis[host]
        return untracked_matches(eni.ingress, eni.egress)

    def nacl_policy(self, subnet: str, direction: Direction) -> NaclPolicy:
        """The compiled NACL a subnet applies in one direction."""
        return (self._nacl_in if direction is INGRESS else self._nacl_out)[subnet]

    # ---- stateless questions ---------------------------------------------------------------------------

    def decide(self, p: Packet) -> Decision:
        """What the rules alone say about `p` on its path: every gate, each with its deciding rule.

        Nothing changes (no conntrack entry is opened or refreshed). Every gate is evaluated, even after one
        denies, so a caller sees all blockers at once.
        """
        route = self.router.route(p.src, p.dst, p.v6)
        if route.drop_code is not None or route.service is not None:
            return Decision(p, route, (), None if route.drop_code else p)
        gates: list[GateDecision] = []
        if route.sender in self._enis:
            gates.append(self._sg_gate(self._enis[route.sender], EGRESS, p))
        if route.nat is not None and route.nat_inbound:  # a reply to a NAT gateway: its translation is state
            if route.nacl_out is not None:  # from a VPC host through the IGW (hairpin): its subnet's NACL out
                gates.append(self._nacl_gate(route.nacl_out, EGRESS, p))
            subnet = self.network.nat_gateways[route.nat].subnet
            return Decision(p, route, (*gates, self._nacl_gate(subnet, INGRESS, _translated(p, route))), None)
        if route.nat is not None:  # through a NAT gateway: its subnet's NACL in (unless the same subnet) and out
            subnet = self.network.nat_gateways[route.nat].subnet
            gates += [self._nacl_gate(s, d, p) for s, d, _ in self._crossings(route.nacl_out or "", subnet, p)]
            gates.append(self._nacl_gate(subnet, EGRESS, p))
            if route.receiver is None:
                return Decision(p, route, tuple(gates), None)
            q = _translated(p, route)  # hairpin: back in through the IGW to a public IP of the VPC
            if route.nacl_in is not None:
                gates.append(self._nacl_gate(route.nacl_in, INGRESS, q))
            if route.receiver in self._enis:
                gates.append(self._sg_gate(self._enis[route.receiver], INGRESS, q))
            return Decision(p, route, tuple(gates), q)
        if route.nacl_out is not None:
            gates.append(self._nacl_gate(route.nacl_out, EGRESS, p))
        q = _translated(p, route)
        if route.nacl_in is not None:
            gates.append(self._nacl_gate(route.nacl_in, INGRESS, q))
        if route.receiver in self._enis:
            gates.append(self._sg_gate(self._enis[route.receiver], INGRESS, q))
        return Decision(p, route, tuple(gates), q)

    def tracked(self, p: Packet, now: float) -> tuple[TrackedLookup, ...]:
        """What each ENI on `p`'s path tracks for it at `now`: the live entry that would admit it, or None.

        Read-only: expired entries are reported as absent but not removed."""
        route = self.router.route(p.src, p.dst, p.v6)
        if route.drop_code is not None or route.service is not None:
            return ()
        lookups = []
        if route.sender in self._tables:
            entry = self._tables[route.sender].live(p, now)
            lookups.append(TrackedLookup(route.sender, EGRESS, entry.snapshot(now) if entry else None))
        if route.receiver in self._tables:
            entry = self._tables[route.receiver].live(_translated(p, route), now)
            lookups.append(TrackedLookup(route.receiver, INGRESS, entry.snapshot(now) if entry else None))
        return tuple(lookups)

    def sg_gate(self, host: str, direction: Direction, p: Packet) -> GateDecision | None:
        """One ENI's security-group rule decision on `p`, the one `decide` makes at that gate; None for an ENI AWS
        gives no group (it has no SG gate). For callers that ask gate by gate (the reach matrix, flow replay)."""
        eni = self._enis.get(host)
        return self._sg_gate(eni, direction, p) if eni is not None else None

    def sg_address_bounds(self, host: str, direction: Direction, version: int, proto: int) -> tuple[int, ...]:
        """Where an ENI's security-group decision in `direction` can change along the peer's address (the starts of
        its compiled policy's address intervals): peers in one interval are judged alike for any port."""
        eni = self._enis.get(host)
        return eni.policy(direction).index.address_bounds(version, proto) if eni is not None else (0,)

    def nacl_address_bounds(self, subnet: str, direction: Direction, version: int, proto: int) -> tuple[int, ...]:
        """Where a subnet's NACL decision in `direction` can change along the peer's address (the starts of its
        compiled entries' address intervals): peers in one interval meet the same entry for any port."""
        return self.nacl_policy(subnet, direction).index.address_bounds(version, proto)

    def nacl_gate(self, subnet: str, direction: Direction, p: Packet) -> GateDecision:
        """One subnet's NACL decision on `p` in `direction`, the one `decide` makes at that gate."""
        return self._nacl_gate(subnet, direction, p)

    @staticmethod
    def sg_rule_mask(policy: SgPolicy, direction: Direction, p: Packet) -> int:
        """The mask of a compiled SG policy's rules that admit `p` (bit i: `policy.rules[i]`); 0 when none does."""
        return Engine._sg_match(policy, direction, p)

    def _sg_gate(self, eni: Eni, direction: Direction, p: Packet) -> GateDecision:
        policy = eni.policy(direction)
        mask = self._sg_match(policy, direction, p)
        role = eni.untracked_role(direction, p) if mask and (p.proto == TCP or p.proto == UDP) \
            and self.config.untracked_flows else None
        rule = self._admitting(policy, mask, role) if mask else None
        return GateDecision("sg", policy.label, direction, eni.name, bool(mask), rule, role is not None, p)

    def _nacl_gate(self, subnet: str, direction: Direction, p: Packet) -> GateDecision:
        policy = self.nacl_policy(subnet, direction)
        position = self._nacl_position(policy, p, p.src if direction is INGRESS else p.dst)
        allowed = position >= 0 and policy.allow[position]
        return GateDecision("nacl", policy.id, direction, subnet, allowed, policy.ref(position), False, p)

    # ---- evaluation ----------------------------------------------------------------------------------

    def evaluate(self, p: Packet, now: float, explain: bool = True) -> Verdict:
        """The verdict on packet `p` sent at time `now`; updates conntrack state along the path."""
        route, sender, nacl_out, nacl_in, receiver = self._paths.get((p.src, p.dst, p.v6)) or self._path(p)
        if route.drop_code is not None:
            steps = (Step("route", "vpc-router", "deny", route.drop_code, packet=p, facts=route.facts,
                          origin=route.origin),) if explain else ()
            return Verdict(False, route.drop_code, steps, where="route", facts=route.facts)
        trace: list[Step] | None = [] if explain else None
        if route.nat is not None:
            return self._via_nat(route, p, now, trace)
        if route.service is not None:
            if trace is not None:
                trace.append(Step("route", "vpc-router", "allow", codes.NOT_FILTERED_SERVICE, packet=p,
                                  facts={"service": route.service}))
            return Verdict(True, codes.NOT_FILTERED_SERVICE, tuple(trace or ()), p, route.delivered_to)
        code = codes.ROUTE_LOCAL
        if sender is not None:
            code = self._sg(sender, EGRESS, sender.egress, p, now, trace, not route.tracked_only)
            if code is not _TRACKED and code not in ALLOWING:
                return _dropped(trace, code, f"{sender.name} egress")
        if nacl_out is not None:
            refused = self._nacl(nacl_out, route.nacl_out, p, p.dst, trace)
            if refused is not None:
                return _dropped(trace, codes.SUBNET_ACL_RESTRICTION, f"subnet {route.nacl_out} egress", refused)
        elif route.same_subnet is not None and trace is not None:
            acl = self.network.nacls[self.network.subnets[route.same_subnet].nacl]
            trace.append(Step("nacl", acl.id, "info", codes.NACL_NOT_EVALUATED, packet=p,
                              facts={"subnet": route.same_subnet}, origin=acl.origin))
        q = p
        if route.igw:
            q = _translated(p, route)
            if trace is not None:
                trace.append(Step("route", "igw", "info", codes.ROUTE_IGW, packet=p, facts={"translated": q}))
        if route.via is not None and trace is not None:
            trace.append(Step("route", route.via, "info", codes.ROUTE_VIA, packet=p, origin=route.origin,
                              facts={"target": route.via, "delivered": route.delivered_to or ""}))
        if nacl_in is not None:
            refused = self._nacl(nacl_in, route.nacl_in, q, q.src, trace)
            if refused is not None:
                return _dropped(trace, codes.SUBNET_ACL_RESTRICTION, f"subnet {route.nacl_in} ingress", refused)
        if receiver is not None:
            if route.tracked_only and route.sender is None and receiver.table.live(q, now) is None:
                # §2: the internet cannot start a connection through an egress-only gateway
                if trace is not None:
                    trace.append(Step("route", "eigw", "deny", codes.EIGW_INBOUND, packet=q))
                return _dropped(trace, codes.EIGW_INBOUND, "route")
            code = self._sg(receiver, INGRESS, receiver.ingress, q, now, trace)
            if code is not _TRACKED and code not in ALLOWING:
                return _dropped(trace, code, f"{receiver.name} ingress")
        return Verdict(True, code, tuple(trace) if trace is not None else (), q, route.delivered_to)

    # ---- NAT gateways ------------------------------------------------------------------------------------

    def _via_nat(self, route: Route, p: Packet, now: float, trace: list[Step] | None) -> Verdict:
        """A path through a NAT gateway (aws-routing-terraform.md §3): the gateway has no security group; the
        NACLs of its subnet apply on the way in and out; replies are translated back only for flows started
        inside; flows through it are always tracked on the instance (aws-semantics.md §2.3)."""
        nat = self.network.nat_gateways[route.nat or ""]
        table = self._nat_tables.setdefault(nat.id, NatTable(int(nat.private_ip)))
        if p.proto not in NAT_PROTOCOLS:
            if trace is not None:
                trace.append(Step("route", nat.id, "deny", codes.NAT_PROTOCOL, packet=p, origin=nat.origin))
            return _dropped(trace, codes.NAT_PROTOCOL, nat.id)
        if route.nat_inbound:
            return self._nat_inbound(route, nat.subnet, table, p, now, trace)
        code = codes.ROUTE_LOCAL
        sender = self._enis.get(route.sender or "")
        if sender is not None:
            code = self._sg(sender, EGRESS, sender.egress, p, now, trace, untracked_ok=False)
            if code is not _TRACKED and code not in ALLOWING:
                return _dropped(trace, code, f"{sender.name} egress")
        for subnet, direction, packet in self._crossings(route.nacl_out or "", nat.subnet, p):
            refused = self._nacl(self._nacl_policy(subnet, direction), subnet, packet,
                                 packet.dst if direction is EGRESS else packet.src, trace)
            if refused is not None:
                return _dropped(trace, codes.SUBNET_ACL_RESTRICTION, f"subnet {subnet} {direction}", refused)
        q = table.outbound(p, now)
        if trace is not None:
            trace.append(Step("route", nat.id, "info", codes.NAT_TRANSLATION, packet=p, origin=nat.origin,
                              facts={"translated": q}))
        refused = self._nacl(self._nacl_out[nat.subnet], nat.subnet, q, q.dst, trace)
        if refused is not None:
            return _dropped(trace, codes.SUBNET_ACL_RESTRICTION, f"subnet {nat.subnet} egress", refused)
        if route.igw and route.new_src is not None:
            r = q._replace(src=route.new_src, dst=route.new_dst if route.new_dst is not None else q.dst)
            if trace is not None:
                trace.append(Step("route", "igw", "info", codes.ROUTE_IGW, packet=q, facts={"translated": r}))
            q = r
        elif route.via is not None and trace is not None:
            trace.append(Step("route", route.via, "info", codes.ROUTE_VIA, packet=q, origin=route.origin,
                              facts={"target": route.via, "delivered": ""}))
        if route.receiver is not None:  # hairpin: the IGW delivers to a public IP of the VPC
            if route.nacl_in is not None:
                refused = self._nacl(self._nacl_in[route.nacl_in], route.nacl_in, q, q.src, trace)
                if refused is not None:
                    return _dropped(trace, codes.SUBNET_ACL_RESTRICTION, f"subnet {route.nacl_in} ingress", refused)
            receiver = self._enis.get(route.receiver)
            if receiver is not None:
                code = self._sg(receiver, INGRESS, receiver.ingress, q, now, trace)
                if code is not _TRACKED and code not in ALLOWING:
                    return _dropped(trace, code, f"{receiver.name} ingress")
        return Verdict(True, code, tuple(trace) if trace is not None else (), q, route.delivered_to)

    def _nat_inbound(self, route: Route, nat_subnet: str, table: NatTable, p: Packet, now: float,
                     trace: list[Step] | None) -> Verdict:
        """A packet to a NAT gateway's Elastic IP: through the IGW to the gateway, translated back to the inside
        host of a live flow (else dropped: no unsolicited inbound), then that host's subnet and group. From a VPC
        host (a hairpin reply), its group and subnet's NACL out come first, and the IGW gives it its public IP."""
        sender = self._enis.get(route.sender or "")
        if sender is not None:
            code = self._sg(sender, EGRESS, sender.egress, p, now, trace)
            if code is not _TRACKED and code not in ALLOWING:
                return _dropped(trace, code, f"{sender.name} egress")
        if route.nacl_out is not None:
            refused = self._nacl(self._nacl_out[route.nacl_out], route.nacl_out, p, p.dst, trace)
            if refused is not None:
                return _dropped(trace, codes.SUBNET_ACL_RESTRICTION, f"subnet {route.nacl_out} egress", refused)
        q = _translated(p, route)
        if trace is not None:
            trace.append(Step("route", "igw", "info", codes.ROUTE_IGW, packet=p, facts={"translated": q}))
        refused = self._nacl(self._nacl_in[nat_subnet], nat_subnet, q, q.src, trace)
        if refused is not None:
            return _dropped(trace, codes.SUBNET_ACL_RESTRICTION, f"subnet {nat_subnet} ingress", refused)
        r = table.inbound(q, now)
        if r is None:
            if trace is not None:
                trace.append(Step("route", route.nat or "", "deny", codes.NAT_NO_MAPPING, packet=q))
            return _dropped(trace, codes.NAT_NO_MAPPING, route.nat or "")
        if trace is not None:
            trace.append(Step("route", route.nat or "", "info", codes.NAT_TRANSLATION, packet=q,
                              facts={"translated": r}))
        receiver = self.router.by_vpc[self.network.subnets[nat_subnet].vpc].get(r.dst)
        if receiver is None:
            return _dropped(trace, codes.NO_HOST_AT_DESTINATION, "route")
        for subnet, direction, packet in self._crossings(nat_subnet, receiver.subnet or "", r):
            refused = self._nacl(self._nacl_policy(subnet, direction), subnet, packet,
                                 packet.dst if direction is EGRESS else packet.src, trace)
            if refused is not None:
                return _dropped(trace, codes.SUBNET_ACL_RESTRICTION, f"subnet {subnet} {direction}", refused)
        code = codes.ROUTE_LOCAL
        eni = self._enis.get(receiver.name)
        if eni is not None:
            code = self._sg(eni, INGRESS, eni.ingress, r, now, trace, untracked_ok=False)
            if code is not _TRACKED and code not in ALLOWING:
                return _dropped(trace, code, f"{eni.name} ingress")
        return Verdict(True, code, tuple(trace) if trace is not None else (), r, receiver.name)

    @staticmethod
    def _crossings(src: str, dst: str, p: Packet) -> list[tuple[str, Direction, Packet]]:
        """The NACL gates between two subnets: none within one subnet, else leaving `src` and entering `dst`."""
        return [] if src == dst else [(src, EGRESS, p), (dst, INGRESS, p)]

    def _nacl_policy(self, subnet: str, direction: Direction) -> NaclPolicy:
        return self._nacl_in[subnet] if direction is INGRESS else self._nacl_out[subnet]

    # ---- security group gate: rule decision, then connection tracking --------------------------------

    @staticmethod
    def _sg_match(policy: SgPolicy, direction: Direction, p: Packet) -> int:
        """The mask of `policy`'s rules that admit `p` (pure: the rule decision alone)."""
        proto = p.proto
        peer = p.src if direction is INGRESS else p.dst
        port = p.dport if (proto == TCP or proto == UDP) else (
            p.icmp_type << 8 | p.icmp_code if (proto == ICMP or proto == ICMPV6) else 0)
        return policy.index.match(6 if p.v6 else 4, proto, peer, port)

    @staticmethod
    def _admitting(policy: SgPolicy, mask: int, role: str | None) -> RuleRef:
        """The rule to cite for an admitted packet: the first match, or the first 0.0.0.0/0 match when the
        flow is untracked because of it."""
        if role == "first" and mask & policy.world_mask:
            mask &= policy.world_mask
        return policy.rules[lowest_bit(mask)]

    def _sg(self, eni: Eni, direction: Direction, policy: SgPolicy, p: Packet, now: float,
            trace: list[Step] | None, untracked_ok: bool = True) -> str:
        """Pass `p` through one ENI's security groups; returns an allowing code (ALLOWING) or the drop code."""
        table = eni.table
        key = packet_key(p)
        entry = table.lookup(key)
        if entry is not None and trace is None and entry.state == "ESTABLISHED" and not p.flags & _TCP_CHANGES \
                and now - entry.last_seen < entry.timeout:
            # fast path: a segment of an established TCP connection only restarts the idle timer
            entry.last_seen = now
            entry.packets += 1
            entry.timeout = table.settings.tcp_established
            return _TRACKED
        expired: Entry | None = None
        if entry is not None:
            entry, expired = table.claim(key, p, now)
        if entry is not None:
            table.refresh(entry, p, key == entry.orig, now)
            if trace is not None:
                trace.append(Step("conntrack", f"eni-{eni.name}", "allow", codes.CONNTRACK_MATCH, eni.name,
                                  str(direction), flow=entry.snapshot(), packet=p))
            return codes.CONNTRACK_MATCH

        mask = self._sg_match(policy, direction, p)
        if not mask:
            return self._sg_miss(eni, direction, policy, p, key, expired, now, trace)
        proto = p.proto
        role = eni.untracked_role(direction, p) if (proto == TCP or proto == UDP) and self.config.untracked_flows \
            and untracked_ok else None
        rule = self._admitting(policy, mask, role)
        if role is not None:
            memory = self._untracked_seen
            if key not in memory:
                if len(memory) >= self.config.untracked_memory:
                    for old in list(memory)[: len(memory) // 2]:
                        del memory[old]
                memory[key] = rule
            if trace is not None:
                trace.append(Step("sg", rule.owner, "allow", codes.SG_RULE_MATCH_UNTRACKED, eni.name, str(direction),
                                  rule, packet=p, facts={"untracked": role}))
            return codes.SG_RULE_MATCH_UNTRACKED
        if table.settings.max_entries is not None and table.full(now):
            table.exceeded += 1
            if trace is not None:
                trace.append(Step("conntrack", f"eni-{eni.name}", "deny", codes.CONNTRACK_TABLE_FULL, eni.name,
                                  str(direction), rule, packet=p,
                                  facts={"count": table.count, "max_entries": table.settings.max_entries}))
            return codes.CONNTRACK_TABLE_FULL
        opened = table.open(p, now, rule, str(direction))
        if opened is None:
            if trace is not None:
                trace.append(Step("sg", rule.owner, "allow", codes.SG_RULE_MATCH_STATELESS, eni.name, str(direction),
                                  rule, packet=p))
            return codes.SG_RULE_MATCH_STATELESS
        if trace is not None:
            trace.append(Step("sg", rule.owner, "allow", codes.SG_RULE_MATCH, eni.name, str(direction), rule,
                              opened.snapshot(), packet=p))
        return codes.SG_RULE_MATCH

    def _sg_miss(self, eni: Eni, direction: Direction, policy: SgPolicy, p: Packet, key: tuple[int, ...],
                 expired: Entry | None, now: float, trace: list[Step] | None) -> str:
        """No rule admits `p` and no tracked entry does: the drop code, and the step that explains it."""
        admitted_by = self._untracked_seen.get(key) if p.proto in (TCP, UDP) else None
        if expired is not None:
            code = codes.CONNTRACK_EXPIRED
        elif admitted_by is not None:
            code = codes.UNTRACKED_FLOW_RULE_REMOVED
        else:
            code = codes.ENI_SG_RULES_MISMATCH
        if trace is not None:
            facts: dict[str, object] = {"groups": policy.groups}
            if admitted_by is not None and expired is None:
                facts["admitted_by"] = admitted_by
            if expired is None and p.proto in (ICMP, ICMPV6) and p.icmp_type in _REPLY_TYPES[p.proto]:
                facts["tracked_echo_ids"] = self._live_echo_ids(eni.table, p, now)
            trace.append(Step("sg", policy.label, "deny", code, eni.name, str(direction), packet=p,
                              flow=expired.snapshot(now) if expired is not None else None, facts=facts,
                              origin=policy.origin))
        return code

    @staticmethod
    def _live_echo_ids(table: ConntrackTable, p: Packet, now: float) -> list[int]:
        """Identifiers of live echo requests tracked between a reply's two addresses (to explain a mismatch)."""
        request = 8 if p.proto == ICMP else 128
        return [i for i in table.echo_ids_towards(p.dst, p.src, p.proto)
                if (e := table.lookup((p.dst, p.src, p.proto, i, request))) is not None
                and not table.is_expired(e, now)]

    # ---- network ACL gate ----------------------------------------------------------------------------

    @staticmethod
    def _nacl_position(policy: NaclPolicy, p: Packet, peer: int) -> int:
        proto = p.proto
        port = p.dport if (proto == TCP or proto == UDP) else (
            p.icmp_type << 8 | p.icmp_code if (proto == ICMP or proto == ICMPV6) else 0)
        return policy.decide(6 if p.v6 else 4, proto, peer, port)

    @staticmethod
    def _nacl(policy: NaclPolicy, subnet: str, p: Packet, peer: int, trace: list[Step] | None) -> RuleRef | None:
        """Pass `p` through a subnet's NACL; None when allowed, else the entry that denied it."""
        proto = p.proto
        port = p.dport if (proto == TCP or proto == UDP) else (
            p.icmp_type << 8 | p.icmp_code if (proto == ICMP or proto == ICMPV6) else 0)
        position = policy.decide(6 if p.v6 else 4, proto, peer, port)
        allowed = position >= 0 and policy.allow[position]
        if trace is not None:
            trace.append(Step("nacl", policy.id, "allow" if allowed else "deny",
                              codes.NACL_RULE_MATCH if allowed else codes.SUBNET_ACL_RESTRICTION, None,
                              str(policy.direction), policy.ref(position), packet=p, facts={"subnet": subnet}))
        return None if allowed else policy.ref(position)


def _dropped(trace: list[Step] | None, code: str, where: str, rule: RuleRef | None = None) -> Verdict:
    return Verdict(False, code, tuple(trace) if trace else (), where=where, rule=rule)


def _translated(p: Packet, route: Route) -> Packet:
    """The packet after the internet gateway's 1:1 translation on this route (itself when none applies)."""
    if route.new_src is None and route.new_dst is None:
        return p
    return p._replace(src=route.new_src if route.new_src is not None else p.src,
                      dst=route.new_dst if route.new_dst is not None else p.dst)


def _within(port: int, spans: tuple[Span, ...]) -> bool:
    for lo, hi in spans:
        if lo <= port <= hi:
            return True
    return False
