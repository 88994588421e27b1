"""The semantics core: a packet's verdict through security groups, NACLs, routes and connection tracking.

`Engine.evaluate(packet, now)` walks the path (sender SG egress → sender subnet NACL egress → route/IGW →
receiver subnet NACL ingress → receiver SG ingress), updates each ENI's conntrack table, and returns a
Verdict. Time is always passed in; nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from vpclab.engine import codes
from vpclab.engine.config import EngineConfig
from vpclab.engine.conntrack import TCP_REOPENABLE, ConntrackTable, Entry, packet_key
from vpclab.engine.matcher import lowest_bit
from vpclab.engine.nacl import NaclPolicy
from vpclab.engine.packet import ACK, FIN, RST, SYN, Packet
from vpclab.engine.paths import Router
from vpclab.engine.sg import SgPolicy, compile_policy, what_text
from vpclab.engine.verdict import Step, Verdict
from vpclab.model.network import Host, Network
from vpclab.model.protocols import ICMP, ICMP_QUERY_REPLY, ICMPV6, TCP, UDP, icmp_type_name
from vpclab.model.rules import Direction, star_text

INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS
_TCP_CHANGES = SYN | FIN | RST  # flags that move a TCP entry's state
_FIRST, _RESPONSE = 1, 2  # how a packet is untracked: as a flow's first packet, or as the response of one
_REPLY_TYPES = {ICMP: frozenset(ICMP_QUERY_REPLY.values()), ICMPV6: frozenset({129})}


class Eni:
    """Runtime state of one VPC host's interface: its compiled policies and its conntrack table."""

    __slots__ = ("host", "name", "table", "ingress", "egress")

    def __init__(self, host: Host, table: ConntrackTable, ingress: SgPolicy, egress: SgPolicy) -> None:
        self.host = host
        self.name = host.name
        self.table = table
        self.ingress = ingress
        self.egress = egress


class Engine:
    """Verdicts for packets on one network, with per-ENI connection tracking that persists across changes."""

    def __init__(self, network: Network, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self._tables: dict[str, ConntrackTable] = {}
        self._untracked_seen: dict[tuple[int, ...], str] = {}
        self.network = network
        self.update(network)

    # ---- configuration -------------------------------------------------------------------------------

    def update(self, network: Network) -> None:
        """Switch to a new network version. Tracked entries stay; untracked flows meet the new rules."""
        self.network = network
        self.router = Router(network)
        policies: dict[tuple[str, ...], tuple[SgPolicy, SgPolicy]] = {}
        enis: dict[str, Eni] = {}
        for host in network.vpc_hosts():
            pair = policies.get(host.security_groups)
            if pair is None:
                pair = policies[host.security_groups] = (
                    compile_policy(network, host.security_groups, INGRESS),
                    compile_policy(network, host.security_groups, EGRESS))
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

    def conntrack(self, host: str) -> ConntrackTable:
        """The conntrack table of a VPC host's ENI."""
        return self._tables[host]

    def tables(self) -> Iterable[ConntrackTable]:
        return self._tables.values()

    # ---- evaluation ----------------------------------------------------------------------------------

    def evaluate(self, p: Packet, now: float, explain: bool = True) -> Verdict:
        """The verdict on packet `p` sent at time `now`; updates conntrack state along the path."""
        route = self.router.route(p.src, p.dst, p.v6)
        if route.drop_code is not None:
            steps = (Step("route", "vpc-router", "deny", route.drop_code, route.drop_reason),) if explain else ()
            return Verdict(False, route.drop_code, steps, where="route", reason_text=route.drop_reason)
        trace: list[Step] | None = [] if explain else None
        if route.service is not None:
            if trace is not None:
                trace.append(Step("route", "vpc-router", "allow", codes.NOT_FILTERED_SERVICE,
                                  f"{route.service}: security groups and network ACLs do not filter it"))
            return Verdict(True, codes.NOT_FILTERED_SERVICE, tuple(trace or ()), p, route.delivered_to)
        code = codes.ROUTE_LOCAL
        if route.sender is not None:
            eni = self._enis[route.sender]
            code = self._sg(eni, EGRESS, eni.egress, p, now, trace)
            if code is None:
                return self._dropped(trace, f"{eni.name} egress")
        if route.nacl_out is not None:
            if not self._nacl(self._nacl_out[route.nacl_out], route.nacl_out, p, p.dst, trace):
                return self._dropped(trace, f"subnet {route.nacl_out} egress", codes.SUBNET_ACL_RESTRICTION)
        elif route.same_subnet is not None and trace is not None:
            trace.append(Step("nacl", self.network.subnets[route.same_subnet].nacl, "info", codes.NACL_NOT_EVALUATED,
                              f"same subnet {route.same_subnet}: network ACLs are not evaluated within a subnet"))
        q = p
        if route.igw:
            if route.new_src is not None or route.new_dst is not None:
                q = p._replace(src=route.new_src if route.new_src is not None else p.src,
                               dst=route.new_dst if route.new_dst is not None else p.dst)
            if trace is not None:
                trace.append(self._igw_step(p, q))
        if route.nacl_in is not None:
            if not self._nacl(self._nacl_in[route.nacl_in], route.nacl_in, q, q.src, trace):
                return self._dropped(trace, f"subnet {route.nacl_in} ingress", codes.SUBNET_ACL_RESTRICTION)
        if route.receiver is not None:
            eni = self._enis[route.receiver]
            code = self._sg(eni, INGRESS, eni.ingress, q, now, trace)
            if code is None:
                return self._dropped(trace, f"{eni.name} ingress")
        return Verdict(True, code, tuple(trace) if trace is not None else (), q, route.delivered_to)

    def _dropped(self, trace: list[Step] | None, where: str, code: str | None = None) -> Verdict:
        if trace:
            return Verdict(False, trace[-1].code, tuple(trace), where=where)
        return Verdict(False, code or self._last_drop, (), where=where)

    # ---- security group gate with connection tracking ------------------------------------------------

    def _sg(self, eni: Eni, direction: Direction, policy: SgPolicy, p: Packet, now: float,
            trace: list[Step] | None) -> str | None:
        """Pass `p` through one ENI's security groups; returns the allowing code, or None if dropped."""
        table = eni.table
        key = packet_key(p)
        entry = table._entries.get(key)
        if entry is not None and trace is None and entry.state == "ESTABLISHED" and not p.flags & _TCP_CHANGES \
                and now - entry.last_seen < entry.timeout:
            # fast path: a segment of an established TCP connection only restarts the idle timer
            entry.last_seen = now
            entry.packets += 1
            entry.timeout = table.settings.tcp_established
            return codes.CONNTRACK_MATCH
        expired: Entry | None = None
        if entry is not None:
            if table.is_expired(entry, now):
                table.remove(entry)
                table.expired += 1
                expired, entry = entry, None
            elif p.proto == TCP and p.flags & SYN and not p.flags & ACK and entry.state in TCP_REOPENABLE \
                    and key == entry.orig:
                table.remove(entry)  # a new SYN on a closed flow starts over, as in Linux
                entry = None
        if entry is not None:
            table.refresh(entry, p, key == entry.orig, now)
            if trace is not None:
                trace.append(Step("conntrack", f"eni-{eni.name}", "allow", codes.CONNTRACK_MATCH,
                                  f"tracked connection {entry.describe()} (opened by {entry.opened_by})",
                                  eni.name, str(direction), entry=entry.describe()))
            return codes.CONNTRACK_MATCH

        proto = p.proto
        peer = p.src if direction is INGRESS else p.dst
        port = p.dport if (proto == TCP or proto == UDP) else (
            p.icmp_type << 8 | p.icmp_code if (proto == ICMP or proto == ICMPV6) else 0)
        version = 6 if p.v6 else 4
        mask = policy.index.match(version, proto, peer, port)
        if not mask:
            if expired is not None:
                self._last_drop = codes.CONNTRACK_EXPIRED
            elif (proto == TCP or proto == UDP) and key in self._untracked_seen:
                self._last_drop = codes.UNTRACKED_FLOW_RULE_REMOVED
            else:
                self._last_drop = codes.ENI_SG_RULES_MISMATCH
            if trace is not None:
                trace.append(self._sg_miss(eni, direction, policy, p, expired, now))
            return None

        untracked = (proto == TCP or proto == UDP) and self.config.untracked_flows \
            and self._untracked(eni, direction, policy, mask, p, version)
        if untracked:
            if trace is not None:
                compiled = policy.rules[lowest_bit(mask & policy.world_mask or mask)]
                why = ("untracked flow: a 0.0.0.0/0 rule admits it and the other direction allows 0.0.0.0/0 on "
                       "all ports" if untracked == _FIRST else
                       "the response of an untracked flow opened the other way (a 0.0.0.0/0 rule there admits "
                       "its reverse, and this direction allows 0.0.0.0/0 on all ports)")
                trace.append(Step("sg", compiled.group, "allow", codes.SG_RULE_MATCH_UNTRACKED,
                                  f"{compiled.text()}; {why}, so every packet is judged by the rules",
                                  eni.name, str(direction), rule=compiled.ref))
            memory = self._untracked_seen
            if key not in memory:
                if len(memory) >= self.config.untracked_memory:
                    for old in list(memory)[: len(memory) // 2]:
                        del memory[old]
                memory[key] = str(policy.rules[lowest_bit(mask)])
            return codes.SG_RULE_MATCH_UNTRACKED

        compiled = policy.rules[lowest_bit(mask)]
        if table.settings.max_entries is not None and table.full(now):
            table.exceeded += 1
            self._last_drop = codes.CONNTRACK_TABLE_FULL
            if trace is not None:
                trace.append(Step("conntrack", f"eni-{eni.name}", "deny", codes.CONNTRACK_TABLE_FULL,
                                  f"{compiled.text()} admits it, but the connection tracking table is full "
                                  f"({table.count} of {table.settings.max_entries} entries): new flows are dropped",
                                  eni.name, str(direction), rule=compiled.ref))
            return None
        opened = table.open(p, now, compiled, str(direction))
        if opened is None:
            if trace is not None:
                trace.append(Step("sg", compiled.group, "allow", codes.SG_RULE_MATCH_STATELESS,
                                  f"{compiled.text()}; this packet cannot open a tracked connection "
                                  f"({self._why_stateless(p)}), so it passes on the rule alone",
                                  eni.name, str(direction), rule=compiled.ref))
            return codes.SG_RULE_MATCH_STATELESS
        if trace is not None:
            trace.append(Step("sg", compiled.group, "allow", codes.SG_RULE_MATCH,
                              f"{compiled.text()}; tracked as {opened.describe()}",
                              eni.name, str(direction), rule=compiled.ref, entry=opened.describe()))
        return codes.SG_RULE_MATCH

    def _untracked(self, eni: Eni, direction: Direction, policy: SgPolicy, mask: int, p: Packet,
                   version: int) -> int:
        """AWS: a TCP/UDP flow is untracked when a 0.0.0.0/0 (::/0) rule admits it and the other direction
        has a 0.0.0.0/0 (::/0) rule for all ports. A packet is judged as the flow's first packet (a rule in
        its own direction admits it: _FIRST) or as its response (a rule in the other direction admits its
        reverse: _RESPONSE); 0 when the flow is tracked."""
        pair = (version, p.proto)
        other = eni.egress if direction is INGRESS else eni.ingress
        if mask & policy.world_mask and pair in other.all_ports_world:
            return _FIRST
        if pair in policy.all_ports_world and not (p.proto == TCP and p.flags & SYN and not p.flags & ACK):
            # a pure SYN always opens a flow, so it is never the response of one opened the other way
            peer = p.src if direction is INGRESS else p.dst
            return _RESPONSE if other.index.match(version, p.proto, peer, p.sport) & other.world_mask else 0
        return 0

    @staticmethod
    def _why_stateless(p: Packet) -> str:
        if p.proto == TCP:
            return "only a SYN opens a TCP entry; this is a mid-stream segment with no entry"
        if p.proto in (ICMP, ICMPV6):
            return f"ICMP {icmp_type_name(p.proto, p.icmp_type)} is not a query type, and errors are not related"
        return "it is not a flow's first packet"

    def _sg_miss(self, eni: Eni, direction: Direction, policy: SgPolicy, p: Packet, expired: Entry | None,
                 now: float) -> Step:
        icmp_name = icmp_type_name(p.proto, p.icmp_type) if p.proto in (ICMP, ICMPV6) else ""
        peer = str(p.src_ip if direction is INGRESS else p.dst_ip)
        reason = policy.describe_miss(p.proto, what_text(p.proto, p.dport, icmp_name), peer)
        code = codes.ENI_SG_RULES_MISMATCH
        memory = self._untracked_seen.get(packet_key(p))
        if expired is not None:
            code = codes.CONNTRACK_EXPIRED
            reason += (f", and its tracked connection ({expired.flow()}) expired after "
                       f"{round(now - expired.last_seen, 3):g} s idle (timeout {expired.timeout:g} s)")
        elif memory is not None and p.proto in (TCP, UDP):
            code = codes.UNTRACKED_FLOW_RULE_REMOVED
            reason += (f"; this flow was untracked (admitted by {memory}), so it has no tracked connection "
                       "and is cut as soon as its rule goes")
        elif p.proto in (ICMP, ICMPV6) and p.icmp_type in _REPLY_TYPES[p.proto]:
            ids = eni.table.echo_ids_towards(p.dst, p.src, p.proto)
            live = [i for i in ids if (e := eni.table.get((p.dst, p.src, p.proto, i, 8 if p.proto == ICMP else 128)))
                    and not eni.table.is_expired(e, now)]
            reason += (f", and no tracked echo request with identifier {p.ident} from {p.dst_ip} to {p.src_ip}"
                       + (f" (tracked requests carry identifier {', '.join(map(str, live))}: a reply must carry "
                          "its request's identifier)" if live else ""))
        elif p.proto == TCP and not (p.flags & SYN and not p.flags & ACK):
            reason += ", and no tracked connection (only a SYN may open one)"
        else:
            reason += " and no tracked connection"
        return Step("sg", policy.label, "deny", code, reason, eni.name, str(direction))

    # ---- network ACL gate ----------------------------------------------------------------------------

    def _nacl(self, policy: NaclPolicy, subnet: str, p: Packet, peer: int, trace: list[Step] | None) -> bool:
        proto = p.proto
        port = p.dport if (proto == TCP or proto == UDP) else (
            p.icmp_type << 8 | p.icmp_code if (proto == ICMP or proto == ICMPV6) else 0)
        position = policy.decide(6 if p.v6 else 4, proto, peer, port)
        allowed = position >= 0 and policy.allow[position]
        if not allowed:
            self._last_drop = codes.SUBNET_ACL_RESTRICTION
        if trace is not None:
            if position >= 0:
                entry = policy.entries[position]
                text, ref = entry.text(policy.direction), str(entry.number)
            else:
                text, ref = star_text(policy.direction, 6 if p.v6 else 4) + " (no numbered entry matched)", "*"
            trace.append(Step("nacl", policy.id, "allow" if allowed else "deny",
                              codes.NACL_RULE_MATCH if allowed else codes.SUBNET_ACL_RESTRICTION,
                              f"subnet {subnet}: {text}", None, str(policy.direction), rule=ref))
        return allowed

    @staticmethod
    def _igw_step(p: Packet, q: Packet) -> Step:
        changes = []
        if q.src != p.src:
            changes.append(f"source {p.src_ip} → {q.src_ip}")
        if q.dst != p.dst:
            changes.append(f"destination {p.dst_ip} → {q.dst_ip}")
        detail = ", ".join(changes) if changes else "no translation (IPv6)"
        return Step("route", "igw", "info", codes.ROUTE_IGW, f"internet gateway: {detail}")

    _last_drop: str = codes.ENI_SG_RULES_MISMATCH
