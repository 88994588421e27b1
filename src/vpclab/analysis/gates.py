"""An aggregated flow row judged by the engine at the ENI that logged it: its security groups and its subnet's NACL.

A flow log's ACCEPT/REJECT is the ENI's own filters' answer (aws-semantics.md §5.5), so a row is judged at that ENI:
the security group gate in the row's direction (a reply passes when the request it answers is admitted, since the
connection is tracked — unless the flow is untracked, then the reply needs a rule, §2.2) and, when the peer is
outside the ENI's subnet, the subnet's NACL (stateless, §3.3). Every decision is the engine's (`Engine.sg_gate`,
`Engine.nacl_gate`, the per-gate form of `Engine.decide`); nothing here matches a rule.
"""

from __future__ import annotations

import bisect
from typing import Any, NamedTuple

from vpclab.analysis import generalise
from vpclab.analysis.flowrows import FlowRow
from vpclab.engine.decision import GateDecision
from vpclab.engine.engine import Engine
from vpclab.engine.packet import ACK, SYN, Packet
from vpclab.model.network import Network
from vpclab.model.protocols import ICMP, ICMPV6, TCP, UDP
from vpclab.model.rules import Direction

INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS

Profile = tuple[tuple[str, ...], str | None]
"""An ENI's security groups and subnet: all a decision at it depends on besides the packet."""


MEMO_SIZE = 1 << 20
"""Entries a RowJudge cache holds before it starts again (memory stays bounded on any input)."""


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= MEMO_SIZE:
        cache.clear()
    cache[key] = value


class GateVerdict(NamedTuple):
    """One config's answer for a row over one client-port span: allowed, how the SG admitted it, what refused it (a
    named tuple: replay makes one per row and configuration, millions at scale)."""

    allowed: bool
    ports: tuple[int, int] | None  # the client ports this answer holds for (None: the row has no client port)
    sg: str  # rule | tracked | untracked | refused | no-request | none (no security group on the ENI)
    blockers: tuple[GateDecision, ...]
    admitting: GateDecision | None  # the SG gate that admitted the request (its rule), when there is one
    untracked: bool


def is_request(row: FlowRow) -> bool:
    """True when the row's packets open the connection (or the initiator is unknown: judged as if they did)."""
    if row.initiator == "local":
        return row.direction == "egress"
    if row.initiator == "peer":
        return row.direction == "ingress"
    return True


def _port(text: str, client: int) -> int:
    if text == "ephemeral":
        return client
    return int(text) if text.lstrip("-").isdigit() and not text.startswith("-") else 0


def _packet(row: FlowRow, client: int, request: bool) -> Packet:
    """The row's packet as it crosses the ENI (local → peer on egress, peer → local on ingress)."""
    local, peer = generalise.parse(row.local_addr or ""), generalise.parse(row.peer_addr or "")
    lp, pp = _port(row.local_port, client), _port(row.peer_port, client)
    src, dst, sport, dport = (local, peer, lp, pp) if row.direction == "egress" else (peer, local, pp, lp)
    proto = row.protocol if row.protocol is not None else 0
    v6 = local.version == 6
    if proto == TCP:
        return Packet(int(src), int(dst), TCP, sport, dport, SYN if request else SYN | ACK, v6=v6)
    if proto == UDP:
        return Packet(int(src), int(dst), UDP, sport, dport, v6=v6)
    if proto in (ICMP, ICMPV6):  # logs hold no ICMP type: an echo request / its reply (docs/assumptions.md T4)
        echo = (8, 0) if proto == ICMP else (128, 129)
        return Packet(int(src), int(dst), proto, icmp_type=echo[0] if request else echo[1], v6=v6)
    return Packet(int(src), int(dst), proto, v6=v6)


def _reverse(p: Packet) -> Packet:
    """The request a reply answers: addresses and ports swapped, SYN / echo request."""
    if p.proto in (ICMP, ICMPV6):
        return p._replace(src=p.dst, dst=p.src, icmp_type=8 if p.proto == ICMP else 128)
    return p._replace(src=p.dst, dst=p.src, sport=p.dport, dport=p.sport, flags=SYN if p.proto == TCP else 0)


class RowJudge:
    """Judges rows on one network with one engine; caches what depends only on (ENI, protocol)."""

    def __init__(self, network: Network, engine: Engine | None = None) -> None:
        self.network = network
        self.engine = engine or Engine(network)
        self._breaks: dict[tuple[str, int], tuple[int, ...]] = {}
        self._profiles: dict[str, Profile] = {}
        self._memo: dict[tuple[object, ...], GateVerdict] = {}
        self._bounds: dict[tuple[object, ...], tuple[int, ...]] = {}
        self._inside: dict[tuple[str, str], bool] = {}
        self._addresses: dict[str, tuple[int, int]] = {}  # peer text -> (family, integer value)
        self._class_maps: dict[tuple[object, ...], tuple[tuple[int, ...], list[tuple[int, ...]]]] = {}

    def _profile(self, eni: str) -> Profile:
        """What a decision at this ENI depends on besides the packet: its groups and its subnet."""
        found = self._profiles.get(eni)
        if found is None:
            host = self.network.hosts[eni]
            found = self._profiles[eni] = (host.security_groups, host.subnet)
        return found

    def knows(self, eni: str) -> bool:
        host = self.network.hosts.get(eni)
        return host is not None and not host.internet

    def same_subnet(self, eni: str, address: str) -> bool:
        """True when `address` is inside the ENI's subnet: no NACL is evaluated (aws-semantics.md §3.3)."""
        return self._in_subnet(self.network.hosts[eni].subnet, address)

    def _in_subnet(self, name: str | None, address: str) -> bool:
        if name is None:
            return False
        key = (name, address)
        found = self._inside.get(key)
        if found is None:
            subnet = self.network.subnets[name]
            ip = generalise.parse(address)
            cidr = subnet.cidr if ip.version == 4 else subnet.ipv6_cidr
            found = cidr is not None and ip in cidr
            _remember(self._inside, key, found)
        return found

    def address(self, text: str) -> tuple[int, int]:
        """An address's family and integer value (parsed once per address)."""
        found = self._addresses.get(text)
        if found is None:
            ip = generalise.parse(text)
            found = (ip.version, int(ip))
            _remember(self._addresses, text, found)
        return found

    def sg_interval(self, eni: str, direction: Direction, version: int, value: int, proto: int) -> int:
        """Which of the engine's compiled address intervals of the ENI's groups in `direction` an address falls in:
        addresses of one interval get the same rule decision for any port (Engine.sg_address_bounds)."""
        return bisect.bisect_right(self._sg_bounds(eni, direction, version, proto), value)

    def _sg_bounds(self, eni: str, direction: Direction, version: int, proto: int) -> tuple[int, ...]:
        key = (self._profile(eni)[0], direction, version, proto)
        bounds = self._bounds.get(key)
        if bounds is None:
            bounds = self._bounds[key] = self.engine.sg_address_bounds(eni, direction, version, proto)
        return bounds

    def _class_map(self, row: FlowRow, profile: Profile, version: int) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
        """The union of the address bounds `_peer_class` depends on (the ENI's groups both ways, its subnet's NACL in
        the row's direction) and each union interval's class, so a peer's class takes one bisect."""
        proto = row.protocol or 0
        key = (profile, row.direction, version, proto)
        found = self._class_maps.get(key)
        if found is None:
            lists = [self._sg_bounds(row.eni, d, version, proto) for d in (INGRESS, EGRESS)]
            subnet = profile[1]
            if subnet is not None:
                direction = EGRESS if row.direction == "egress" else INGRESS
                nkey = (subnet, direction, version, proto)
                bounds = self._bounds.get(nkey)
                if bounds is None:
                    bounds = self._bounds[nkey] = self.engine.nacl_address_bounds(subnet, direction, version, proto)
                lists.append(bounds)
            union = tuple(sorted({b for bounds in lists for b in bounds}))
            # below the first bound every list's index is 0; from union[i - 1] up to union[i], that of union[i - 1]
            classes = [(version, *(0 for _ in lists))]
            classes += [(version, *(bisect.bisect_right(bounds, b) for bounds in lists)) for b in union]
            found = self._class_maps[key] = (union, classes)
        return found

    def _peer_class(self, row: FlowRow, profile: Profile) -> tuple[int, ...]:
        """The peer's intervals for the ENI's groups both ways and its subnet's NACL in the row's direction: peers of
        one class get the same decisions at every gate `_judge` asks (Engine.nacl_address_bounds for the NACL)."""
        version, value = self.address(row.peer_addr or "")
        union, classes = self._class_map(row, profile, version)
        return classes[bisect.bisect_right(union, value)]

    def breakpoints(self, eni: str, protocol: int) -> tuple[int, ...]:
        """Ports where a decision on this ENI can change: every port bound of its groups' rules and its NACL's
        entries (both directions), so one judgement per span between them holds for every port in it."""
        key = (eni, protocol)
        found = self._breaks.get(key)
        if found is None:
            host = self.network.hosts[eni]
            bounds: set[int] = set()
            rules = [r for g in host.security_groups if g in self.network.security_groups
                     for d in Direction for r in self.network.security_groups[g].rules(d)]
            entries = []
            if host.subnet is not None:
                acl = self.network.nacls[self.network.subnets[host.subnet].nacl]
                entries = [e for d in Direction for e in acl.entries(d)]
            for item in (*rules, *entries):
                bounds.add(item.ports.first)
                bounds.add(item.ports.last + 1)
            found = self._breaks[key] = tuple(sorted(bounds))
        return found

    def spans(self, row: FlowRow, extra: tuple[int, ...] = ()) -> list[tuple[int, int]] | list[None]:
        """The client-port spans of a row with an `ephemeral` side, cut where a decision can change."""
        if "ephemeral" not in (row.local_port, row.peer_port) or row.client_min is None or row.client_max is None:
            return [None]
        lo, hi = int(row.client_min), int(row.client_max)
        if lo == hi:  # one client port (nearly every row): no cut can fall inside
            return [(lo, hi)]
        cuts = sorted({b for b in (*self.breakpoints(row.eni, row.protocol or 0), *extra) if lo < b <= hi})
        out, start = [], lo
        for cut in cuts:
            out.append((start, cut - 1))
            start = cut
        out.append((start, hi))
        return out

    def judge(self, row: FlowRow, span: tuple[int, int] | None) -> GateVerdict:
        """The row's verdict for client ports `span` (its first port stands for all of them).

        Remembered per (ENI profile, direction, protocol, ports, the peer's address class, request or reply, the
        span between this network's breakpoints, peer inside the subnet): the same question at another ENI of the
        same groups and subnet, or from another peer of the same class, has the same answer (the verdict's gate
        decisions then carry the first packet asked)."""
        client = span[0] if span is not None else 0
        request = is_request(row)
        where = bisect.bisect_right(self.breakpoints(row.eni, row.protocol or 0), client) if span is not None else -1
        profile = self._profile(row.eni)
        key = (profile, row.direction, row.protocol, row.local_port if row.local_port != "ephemeral" else None,
               self._peer_class(row, profile), row.peer_port if row.peer_port != "ephemeral" else None, request,
               where, self._in_subnet(profile[1], row.peer_addr or ""))
        known = self._memo.get(key)
        if known is not None:
            if known.ports == span:
                return known
            return GateVerdict(known.allowed, span, known.sg, known.blockers, known.admitting, known.untracked)
        verdict = self._judge(row, span, client, request)
        _remember(self._memo, key, verdict)
        return verdict

    def _judge(self, row: FlowRow, span: tuple[int, int] | None, client: int, request: bool) -> GateVerdict:
        p = _packet(row, client, request)
        direction = EGRESS if row.direction == "egress" else INGRESS
        engine = self.engine
        blockers: list[GateDecision] = []
        how, admitting, untracked = "none", None, False
        if request:
            gate = engine.sg_gate(row.eni, direction, p)  # None: an ENI AWS gives no group has no SG gate
            if gate is not None:
                how, admitting, untracked = ("untracked" if gate.untracked else "rule"), gate, gate.untracked
                if not gate.allowed:
                    how, admitting = "refused", None
                    blockers.append(gate)
        else:
            asked = engine.sg_gate(row.eni, direction.opposite, _reverse(p))
            if asked is not None:
                untracked = asked.untracked
                if not asked.allowed:
                    how = "no-request"
                    blockers.append(asked)
                elif asked.untracked:  # judged by the rules on every packet (§2.2)
                    gate = engine.sg_gate(row.eni, direction, p)
                    how, admitting = "untracked", asked
                    if gate is not None and not gate.allowed:
                        blockers.append(gate)
                else:
                    how, admitting = "tracked", asked
        host = self.network.hosts[row.eni]
        if host.subnet is not None and not self.same_subnet(row.eni, row.peer_addr or ""):
            nacl = engine.nacl_gate(host.subnet, direction, p)
            if not nacl.allowed:
                blockers.append(nacl)
        return GateVerdict(not blockers, span, how, tuple(blockers), admitting, untracked)

    def judge_all(self, row: FlowRow, extra: tuple[int, ...] = ()) -> list[GateVerdict]:
        """One verdict per client-port span of the row (one for a row without an ephemeral side)."""
        return [self.judge(row, s) for s in self.spans(row, extra)]
