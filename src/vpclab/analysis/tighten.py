"""`vpclab tighten`: least-privilege security group rules (and the NACL entries they need) from ACCEPTed flows.

The first seed article's method on real traffic: a group needs an egress rule only for connections its ENIs
initiated, and an ingress rule only for connections initiated toward them (replies pass by connection tracking,
aws-semantics.md §2.1). Per group, the union over the ENIs that carry it (an ENI with several groups gives each
need to the group whose rule admits it today, by the engine). Peers become a group reference where they are
exactly a group's members, a user-given prefix list where they fall in one, else CIDRs generalised under the rule
quota (§1.6). Then the diff against today's rules and the stateless NACL entries both directions need (§3.4).
Every choice is a field of TightenOptions and a T-rule in docs/assumptions.md.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from vpclab.analysis import generalise
from vpclab.analysis.flowrows import NACL_NEEDS, SG_NEEDS, FlowRow, Usage, needs, register_profiles, usage
from vpclab.analysis.gates import RowJudge
from vpclab.flows.pipeline import FlowRun
from vpclab.model.network import Host, Network
from vpclab.model.protocols import ALL_ICMP, ALL_PORTS, PortRange, has_ports
from vpclab.model.rules import Action, CidrPeer, Direction, GroupPeer, NaclEntry, PrefixListPeer, SgRule

INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS
OUTSIDE_EPHEMERAL = PortRange(1024, 65535)


@dataclass(frozen=True)
class UserPrefixList:
    """A prefix list the user names (`--prefix-list pl-…=CIDR,…[:WEIGHT]`): its CIDRs and its weight in the quota."""

    id: str
    cidrs: tuple[generalise.Net, ...]
    weight: int

    @classmethod
    def parse(cls, text: str) -> "UserPrefixList":
        """`pl-123=52.94.0.0/22,52.95.0.0/16` or `pl-123:1=…` (weight 1, as AWS counts the S3 list)."""
        name, sep, cidrs = text.partition("=")
        if not sep or not name.strip() or not cidrs.strip():
            raise ValueError(f"{text!r}: expected PL-ID[:WEIGHT]=CIDR[,CIDR…]")
        ident, _, weight = name.strip().partition(":")
        nets = tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs.split(",") if c.strip())
        if len({n.version for n in nets}) > 1:
            raise ValueError(f"{ident}: a prefix list holds one address family")
        return cls(ident, nets, int(weight) if weight else len(nets))


@dataclass(frozen=True)
class TightenOptions:
    """The stated limits of the generalisation (docs/assumptions.md T1–T10)."""

    max_rules: int = 60  # per group, direction and family (aws-semantics.md §1.6)
    min_prefix_v4: int = 16  # generalise IPv4 peers no wider than this
    min_prefix_v6: int = 48
    prefix_lists: tuple[UserPrefixList, ...] = ()
    group_min_members: int = 2  # a group reference needs at least this many members, all seen
    unknown: str = "propose"  # propose | skip: connections whose initiator is unknown
    outside_ephemeral: PortRange = OUTSIDE_EPHEMERAL  # clients outside the snapshot (NAT GW, ELB, Lambda: §3.4)
    nacl_max_entries: int = 20  # per NACL, direction and family, the `*` deny included (§3.6)
    nacl_first: int = 100
    nacl_step: int = 10


@dataclass
class Evidence:
    """What observed traffic backs a rule: connections, bytes, last seen, distinct peers."""

    flows: int = 0
    bytes: int = 0
    last_seen: int | None = None
    peers: int = 0
    unknown_initiator: bool = False

    def add(self, flows: int, nbytes: int, last_seen: int | None, unknown: bool) -> None:
        self.flows += flows
        self.bytes += nbytes
        if last_seen is not None and (self.last_seen is None or last_seen > self.last_seen):
            self.last_seen = int(last_seen)
        self.unknown_initiator |= unknown

    def absorb(self, other: "Evidence") -> None:
        """Add another evidence into this one (in place)."""
        self.add(other.flows, other.bytes, other.last_seen, other.unknown_initiator)
        self.peers += other.peers

    def merged(self, other: "Evidence") -> "Evidence":
        last = max((t for t in (self.last_seen, other.last_seen) if t is not None), default=None)
        return Evidence(self.flows + other.flows, self.bytes + other.bytes, last, self.peers + other.peers,
                        self.unknown_initiator or other.unknown_initiator)


@dataclass
class Proposed:
    """One rule (of a group, or a NACL entry): the model rule and its evidence."""

    direction: Direction
    rule: SgRule | NaclEntry
    evidence: Evidence = field(default_factory=Evidence)
    why: str = ""


@dataclass
class GroupPlan:
    """One group's proposal: the whole rule set per direction and the diff against today's."""

    group: str
    enis: list[str]
    enis_without_records: list[str]
    ingress: list[Proposed]
    egress: list[Proposed]
    add: list[Proposed]
    remove: list[Proposed]
    keep: list[Proposed]
    prefix: dict[str, int | None]  # "egress v4" -> the prefix length peers were generalised to (None: exact)
    warnings: list[str]


@dataclass
class NaclPlan:
    """The entries one NACL needs for the logged traffic crossing its subnets' boundary (stateless, both ways)."""

    nacl: str
    subnets: list[str]
    ingress: list[Proposed]
    egress: list[Proposed]
    warnings: list[str]
    today: dict[str, list[int]] = field(default_factory=dict)  # direction -> the numbers of its entries today

    def numbers_today(self, direction: Direction) -> list[int]:
        return self.today.get(str(direction), [])


@dataclass
class TightenResult:
    """Everything `tighten` found: group plans, NACL plans, and the counts that say what was (not) used."""

    snapshot: str
    groups: list[GroupPlan]
    nacls: list[NaclPlan]
    prefix_lists: dict[str, list[str]]
    summary: dict[str, Any]


# ---- the needs, attributed to groups --------------------------------------------------------------------------

def _credit(peers: dict[str, Evidence], peer: str, flows: int, nbytes: int, last_seen: int | None,
            unknown: bool) -> None:
    """Add a need's traffic to its peer's evidence (one peer counted once; a new peer's evidence made whole at once,
    as this runs once per need and peer)."""
    found = peers.get(peer)
    if found is None:
        peers[peer] = Evidence(flows, nbytes, None if last_seen is None else int(last_seen), 1, unknown)
    else:
        found.add(flows, nbytes, last_seen, unknown)


def _request_row(host: Host, direction: str, protocol: int, port: str, peer: str) -> FlowRow:
    """A need's opening packet as a flow row (for the engine's gate decision on today's rules)."""
    v6 = generalise.parse(peer).version == 6
    local = str(host.ipv6 if v6 and host.ipv6 is not None else host.ip)
    egress = direction == "egress"
    return FlowRow(host.name, direction, protocol, local, "ephemeral" if egress else port, peer,
                   port if egress else "ephemeral", "ACCEPT", "local" if egress else "peer", "", 0, 0, 0, 0,
                   None, None, 1024, 1024)


def _port_range(protocol: int, port: str) -> PortRange:
    if has_ports(protocol) and port.isdigit():
        return PortRange(int(port), int(port))
    return ALL_PORTS


class _Collector:
    """Needs gathered per group (and per NACL), today's admitting rules credited with their traffic."""

    def __init__(self, network: Network, judge: RowJudge, options: TightenOptions) -> None:
        self.network = network
        self.judge = judge
        self.options = options
        # group -> direction -> (protocol, port) -> peer -> evidence
        self.needs: dict[str, dict[Direction, dict[tuple[int, str], dict[str, Evidence]]]] = defaultdict(
            lambda: {INGRESS: defaultdict(dict), EGRESS: defaultdict(dict)})
        self.today: dict[tuple[str, Direction, SgRule], Evidence] = defaultdict(Evidence)
        self.logged: dict[str, int] = defaultdict(int)  # ENI -> needs
        self.refused_today = 0
        self.skipped_unknown = 0
        # nacl -> direction -> (protocol, PortRange, why) -> peer -> evidence
        self.nacl_wanted: dict[str, dict[Direction, dict[tuple[int, PortRange, str], dict[str, Evidence]]]] = \
            defaultdict(lambda: {INGRESS: defaultdict(dict), EGRESS: defaultdict(dict)})
        self.nacl_subnets: dict[str, set[str]] = defaultdict(set)
        self.by_address = {str(a): h for h in network.vpc_hosts() for a in h.private_addresses}
        self.replies_unseen = 0
        self.count = 0
        self._admitted: dict[tuple[object, ...], Any] = {}  # (groups, direction, proto, port, interval) -> (owner, its credit) or None
        self._inside: dict[tuple[str, str], bool] = {}  # (subnet, peer) -> the peer is in that subnet
        self._ranges: dict[tuple[int, str], PortRange] = {}  # (protocol, port) -> the server's port range

    def _interval(self, host: Host, direction: Direction, protocol: int, peer: str) -> tuple[int, int]:
        """The peer's address interval in the host's compiled SG policy (peers in one are judged alike)."""
        version, value = self.judge.address(peer)
        return version, self.judge.sg_interval(host.name, direction, version, value, protocol)

    def add(self, host: Host, need: str, protocol: int, port: str, peer: str, unknown: bool, flows: int,
            nbytes: int, last_seen: int | None) -> None:
        """One SG_NEEDS row: `host` stands for every ENI with the same groups."""
        self.count += 1
        if unknown and self.options.unknown == "skip":
            self.skipped_unknown += 1
            return
        direction = EGRESS if need == "egress" else INGRESS
        owner = host.security_groups[0] if host.security_groups else None
        if host.security_groups:
            key = (host.security_groups, need, protocol, port, *self._interval(host, direction, protocol, peer))
            admitted = self._admitted.get(key, False)
            if admitted is False:  # the opening packet's gate depends on the groups and the address interval
                gate = self.judge.judge(_request_row(host, need, protocol, port, peer), (1024, 1024)).admitting
                ref = gate.rule if gate is not None else None
                admitted = self._admitted[key] = (ref.owner, self.today[(ref.owner, direction, ref.rule)]) \
                    if ref is not None and isinstance(ref.rule, SgRule) else None
            if admitted is not None:
                owner, credit = admitted
                credit.add(flows, nbytes, last_seen, unknown)
            else:
                self.refused_today += 1
        if owner is not None:
            _credit(self.needs[owner][direction][(protocol, port)], peer, flows, nbytes, last_seen, unknown)

    def _server_range(self, protocol: int, port: str) -> PortRange:
        found = self._ranges.get((protocol, port))
        if found is None:
            found = self._ranges[(protocol, port)] = _port_range(protocol, port)
        return found

    def add_nacl(self, host: Host, need: str, protocol: int, port: str, peer: str, unknown: bool, flows: int,
                 nbytes: int, last_seen: int | None, client_min: int | None, client_max: int | None,
                 replies: int) -> None:
        """One NACL_NEEDS row: `host` stands for every ENI with the same subnet and ephemeral ports. What it asks
        of the subnet's NACL: the request entry and, where the logs show the answer accepted, the reply entry for
        the client's ephemeral ports (both stateless, §3.1, §3.4); none inside the subnet (§3.3)."""
        if unknown and self.options.unknown == "skip":
            return
        subnet = host.subnet or ""
        inside = self._inside.get((subnet, peer))
        if inside is None:
            inside = self._inside[(subnet, peer)] = self.judge.same_subnet(host.name, peer)
            if not inside:
                self.nacl_subnets[self.network.subnets[subnet].nacl].add(subnet)
        if inside:
            return
        nacl = self.network.subnets[subnet].nacl
        there = EGRESS if need == "egress" else INGRESS
        if has_ports(protocol):
            server = self._server_range(protocol, port)
            client_host = host if there is EGRESS else self.by_address.get(peer)
            base = client_host.ephemeral_ports if client_host is not None else self.options.outside_ephemeral
            back = base
            if (client_min is not None and client_min < base.first) or (client_max is not None
                                                                          and client_max > base.last):
                back = _client_range(client_host, (client_min, client_max), self.options)
        else:
            server = back = ALL_PORTS
        wanted = self.nacl_wanted[nacl]
        _credit(wanted[there][(protocol, server, "request")], peer, flows, nbytes, last_seen, unknown)
        if replies:
            _credit(wanted[there.opposite][(protocol, back, "reply")], peer, flows, nbytes, last_seen, unknown)
        else:  # the logs show no accepted answer: opening one is no tightening
            self.replies_unseen += 1


# ---- a group's rules from its needs -------------------------------------------------------------------------

def _members(network: Network) -> dict[str, tuple[str, set[str]]]:
    """Each group's VPC and its members' primary private IPs (what a reference would be checked against)."""
    out: dict[str, tuple[str, set[str]]] = {}
    vpcs: dict[str, set[str]] = defaultdict(set)
    for host in network.vpc_hosts():
        vpc = network.subnets[host.subnet].vpc if host.subnet in network.subnets else ""
        for group in dict.fromkeys(host.security_groups):
            vpcs[group].add(vpc)
            out.setdefault(group, ("", set()))[1].add(str(host.ip))
    return {g: (next(iter(vpcs[g])), ips) for g, (_, ips) in out.items() if len(vpcs[g]) == 1}


def _merge_ports(keys: dict[tuple[int, str], dict[str, Evidence]]) -> dict[tuple[int, PortRange], dict[str, Evidence]]:
    """Contiguous ports of one protocol with the same peers become one range (20, 21 → 20-21)."""
    out: dict[tuple[int, PortRange], dict[str, Evidence]] = {}
    by_proto: dict[int, list[tuple[PortRange, dict[str, Evidence]]]] = defaultdict(list)
    for (protocol, port), peers in keys.items():
        by_proto[protocol].append((_port_range(protocol, port), peers))
    for protocol, items in by_proto.items():
        items.sort(key=lambda item: (item[0].first, item[0].last))
        merged: list[tuple[PortRange, dict[str, Evidence]]] = []
        for ports, peers in items:
            if merged:
                last_ports, last_peers = merged[-1]
                if last_ports == ports or (ports.first == last_ports.last + 1 and set(peers) == set(last_peers)):
                    combined = dict(last_peers)
                    for p, e in peers.items():
                        combined[p] = combined[p].merged(e) if p in combined else e
                    merged[-1] = (PortRange(last_ports.first, ports.last), combined)
                    continue
            merged.append((ports, dict(peers)))
        for ports, peers in merged:
            out[(protocol, ports)] = peers
    return out


def _rule(protocol: int, ports: PortRange, peer: CidrPeer | GroupPeer | PrefixListPeer) -> SgRule:
    if has_ports(protocol):
        return SgRule(protocol, peer, ports)
    return SgRule(protocol, peer, ALL_PORTS, ALL_ICMP)


def _plan_direction(direction: Direction, keys: dict[tuple[int, str], dict[str, Evidence]], vpc: str,
                    members: dict[str, tuple[str, set[str]]], options: TightenOptions,
                    warnings: list[str], prefixes: dict[str, int | None], group: str) -> list[Proposed]:
    """The rule set of one direction: references, prefix lists, then CIDRs fitted to the quota per family."""
    rules: list[Proposed] = []
    cidr_keys: dict[int, dict[object, list[generalise.Net]]] = {4: {}, 6: {}}
    evidence: dict[object, dict[str, Evidence]] = {}
    used = {4: 0, 6: 0}
    candidates = sorted(((g, ips) for g, (v, ips) in members.items() if v == vpc
                         and len(ips) >= options.group_min_members), key=lambda item: (-len(item[1]), item[0]))
    for (protocol, ports), seen in sorted(_merge_ports(keys).items(), key=lambda kv: (kv[0][0], kv[0][1].first)):
        left = dict(seen)
        for group_id, ips in candidates:
            if left.keys() >= ips:
                ev = Evidence()
                for ip in ips:
                    ev = ev.merged(left.pop(ip))
                rules.append(Proposed(direction, _rule(protocol, ports, GroupPeer(group_id)), ev,
                                      f"peers are exactly the {len(ips)} members of {group_id}"))
                used[4] += 1
        for plist in options.prefix_lists:
            inside = [ip for ip in left if any(generalise.parse(ip) in n for n in plist.cidrs)]
            if inside:
                ev = Evidence()
                for ip in inside:
                    ev = ev.merged(left.pop(ip))
                rules.append(Proposed(direction, _rule(protocol, ports, PrefixListPeer(plist.id)), ev,
                                      f"{len(inside)} peer(s) in {plist.id}"))
                used[plist.cidrs[0].version if plist.cidrs else 4] += plist.weight
        for ip, ev in left.items():
            version = generalise.parse(ip).version
            cidr_keys[version].setdefault((protocol, ports), []).append(generalise.host_net(ip))
        evidence[(protocol, ports)] = left
    for version, keyed in cidr_keys.items():
        if not keyed:
            continue
        budget = max(0, options.max_rules - used[version])
        floor = options.min_prefix_v4 if version == 4 else options.min_prefix_v6
        fitted, prefix = generalise.fit(keyed, budget, floor)
        prefixes[f"{direction} v{version}"] = prefix
        total = sum(len(v) for v in fitted.values()) + used[version]
        if total > options.max_rules:
            warnings.append(f"{group} {direction} IPv{version}: {total} rules exceed the quota of "
                            f"{options.max_rules} even with peers generalised to /{floor} "
                            f"(raise --max-rules or lower the prefix floor)")
        for key, nets in fitted.items():
            protocol, ports = key  # type: ignore[misc]
            for net, ev in _attribute(nets, evidence[key]):
                why = "the one peer seen" if ev.peers == 1 else f"{ev.peers} peers generalised to /{net.prefixlen}"
                rules.append(Proposed(direction, _rule(protocol, ports, CidrPeer(net)), ev, why))
    return sorted(rules, key=lambda p: _sort_key(p.rule))


def _attribute(nets: list[generalise.Net], seen: dict[str, Evidence]) -> list[tuple[generalise.Net, Evidence]]:
    """Each fitted net with the summed evidence of the peers it holds (`peers`: how many)."""
    found = generalise.locate(nets)
    summed: list[Evidence | None] = [None] * len(found.nets)
    for ip, e in seen.items():
        i = found.position(generalise.parse(ip))
        if i >= 0:
            total = summed[i]
            if total is None:
                summed[i] = Evidence(e.flows, e.bytes, e.last_seen, e.peers, e.unknown_initiator)
            else:
                total.absorb(e)
    by_net = {net: ev for net, ev in zip(found.nets, summed) if ev is not None}
    return [(net, by_net[net]) for net in nets if net in by_net]


def _sort_key(rule: SgRule | NaclEntry) -> tuple[Any, ...]:
    if isinstance(rule, NaclEntry):
        return (rule.number,)
    peer = rule.peer
    kind = 0 if isinstance(peer, CidrPeer) else 1 if isinstance(peer, GroupPeer) else 2
    net = peer.cidr if isinstance(peer, CidrPeer) else None
    return (rule.protocol, rule.ports.first, rule.ports.last, kind,
            (net.version, int(net.network_address), net.prefixlen) if net is not None else (0, 0, 0), str(peer))


def _group_plan(group: str, collector: _Collector, members: dict[str, tuple[str, set[str]]],
                options: TightenOptions) -> GroupPlan:
    network = collector.network
    carriers = [h for h in network.vpc_hosts() if group in h.security_groups]
    enis = sorted(h.name for h in carriers if h.name in collector.logged)
    quiet = sorted(h.name for h in carriers if h.name not in collector.logged)
    vpc = network.subnets[carriers[0].subnet].vpc if carriers and carriers[0].subnet in network.subnets else ""
    warnings: list[str] = []
    if quiet:
        warnings.append(f"{group} is also carried by {len(quiet)} ENI(s) with no accepted flow in the logs "
                        f"({', '.join(quiet[:5])}{' …' if len(quiet) > 5 else ''}): the proposal drops what they "
                        "need unless the logs cover them")
    prefixes: dict[str, int | None] = {}
    wanted = collector.needs.get(group, {INGRESS: {}, EGRESS: {}})
    plan = {d: _plan_direction(d, wanted[d], vpc, members, options, warnings, prefixes, group) for d in Direction}
    sg = network.security_groups[group]
    add, keep, remove = [], [], []
    for direction in Direction:
        today = {rule: rule for rule in sg.rules(direction)}  # equal rules; today's carries its origin
        proposed = {p.rule for p in plan[direction]}
        for p in plan[direction]:
            if p.rule in today:
                keep.append(Proposed(p.direction, today[p.rule], p.evidence, p.why))  # type: ignore[index]
            else:
                add.append(p)
        for rule in sg.rules(direction):
            if rule not in proposed:
                ev = collector.today.get((group, direction, rule), Evidence())
                why = "admitted nothing in the logs" if not ev.flows else "its traffic is covered by the proposed rules"
                remove.append(Proposed(direction, rule, ev, why))
    return GroupPlan(group, enis, quiet, plan[INGRESS], plan[EGRESS], add, remove, keep, prefixes, warnings)


# ---- NACL entries ---------------------------------------------------------------------------------------------

def _client_range(host: Host | None, observed: tuple[int | None, int | None], options: TightenOptions) -> PortRange:
    """The return traffic's port range: the client's ephemeral ports (a snapshot host's own, else the outside
    default), widened to hold every client port the logs show."""
    base = host.ephemeral_ports if host is not None else options.outside_ephemeral
    lo, hi = observed
    first = min(base.first, lo) if lo is not None else base.first
    last = max(base.last, hi) if hi is not None else base.last
    return PortRange(first, last)


def _nacl_plans(collector: _Collector, options: TightenOptions) -> list[NaclPlan]:
    """Per NACL its proposed entries, numbered from `nacl_first` by `nacl_step` per direction, and the numbers of
    its entries today (what the command scripts replace or delete)."""
    wanted, subnets = collector.nacl_wanted, collector.nacl_subnets
    plans = []
    for nacl in sorted(wanted):
        warnings: list[str] = []
        entries: dict[Direction, list[Proposed]] = {INGRESS: [], EGRESS: []}
        for direction in Direction:
            number = options.nacl_first  # numbers are per direction (§3.1)
            for version in (4, 6):
                keyed: dict[object, list[generalise.Net]] = {}
                for key, peers in wanted[nacl][direction].items():
                    nets = [generalise.host_net(ip) for ip in peers if generalise.parse(ip).version == version]
                    if nets:
                        keyed[key] = nets
                if not keyed:
                    continue
                budget = options.nacl_max_entries - 1
                floor = options.min_prefix_v4 if version == 4 else options.min_prefix_v6
                fitted, _prefix = generalise.fit(keyed, budget, floor)
                if sum(len(v) for v in fitted.values()) > budget:
                    warnings.append(f"{nacl} {direction} IPv{version}: more than {budget} entries even with peers "
                                    f"generalised to /{floor} (the quota is {options.nacl_max_entries} with the * "
                                    "rule)")
                items = []
                for key, nets in fitted.items():
                    protocol, ports, why = key  # type: ignore[misc]
                    for net, ev in _attribute(nets, wanted[nacl][direction][key]):
                        items.append((protocol, ports, net, why, ev))
                items.sort(key=lambda i: (i[3] != "request", i[0], i[1].first, int(i[2].network_address)))
                for protocol, ports, net, why, ev in items:
                    entry = NaclEntry(number, Action.ALLOW, protocol, net, ports if has_ports(protocol) else ALL_PORTS)
                    reason = "requests" if why == "request" else (
                        "replies (the client's ephemeral ports)" if has_ports(protocol) else "replies")
                    entries[direction].append(Proposed(direction, entry, ev, reason))
                    number += options.nacl_step
        acl = collector.network.nacls.get(nacl)
        today = {str(d): sorted(e.number for e in acl.entries(d)) for d in Direction} if acl is not None else {}
        plans.append(NaclPlan(nacl, sorted(subnets[nacl]), entries[INGRESS], entries[EGRESS], warnings, today))
    return plans


# ---- the whole run --------------------------------------------------------------------------------------------

def _record_counts(used: list[Usage]) -> dict[str, int]:
    """Records the proposal cannot use: REJECTed, direction unknown, initiator unknown (counted, never dropped)."""
    out = {"records": 0, "rejected_records": 0, "direction_unknown_records": 0, "initiator_unknown_records": 0}
    for u in used:
        out["records"] += u.records
        if u.action != "ACCEPT":
            out["rejected_records"] += u.records
        elif u.direction not in ("ingress", "egress"):
            out["direction_unknown_records"] += u.records
        elif u.initiator == "unknown":
            out["initiator_unknown_records"] += u.records
    return out


def _unknown_enis(used: list[Usage], network: Network) -> dict[str, int]:
    """The ENIs of the logs the snapshot does not hold, with their records (their traffic cannot be used)."""
    out: dict[str, int] = defaultdict(int)
    for u in used:
        if u.eni not in network.hosts or network.hosts[u.eni].internet:
            out[u.eni] += u.records
    return dict(sorted(out.items()))


def tighten(network: Network, run: FlowRun, options: TightenOptions | None = None, snapshot: str = "") -> TightenResult:
    """The proposal for every group carried by an ENI the logs show, and the NACL entries its traffic needs."""
    options = options or TightenOptions()
    judge = RowJudge(network)
    collector = _Collector(network, judge, options)
    groups_of: dict[tuple[str, ...], str] = {}
    places: dict[tuple[object, ...], str] = {}
    stands_for: dict[str, Host] = {}
    triples: list[tuple[str, str, str | None]] = []
    for host in network.vpc_hosts():
        gkey = groups_of.setdefault(host.security_groups, f"g{len(groups_of)}")
        nkey = places.setdefault((host.subnet, host.ephemeral_ports), f"n{len(places)}") \
            if host.subnet is not None else None
        stands_for.setdefault(gkey, host)
        if nkey is not None:
            stands_for.setdefault(nkey, host)
        triples.append((host.name, gkey, nkey))
    register_profiles(run, triples)
    for chunk in needs(run, SG_NEEDS):
        for gkey, need, proto, port, peer, unknown, flows, nbytes, last in chunk:
            collector.add(stands_for[gkey], need, int(proto), str(port), peer, bool(unknown), int(flows or 0),
                          int(nbytes or 0), last)
    for chunk in needs(run, NACL_NEEDS):
        for nkey, need, proto, port, peer, unknown, flows, nbytes, last, cmin, cmax, replies in chunk:
            collector.add_nacl(stands_for[nkey], need, int(proto), str(port), peer, bool(unknown), int(flows or 0),
                               int(nbytes or 0), last, cmin, cmax, int(replies or 0))
    records = usage(run)
    profiled = {eni for eni, _g, _n in triples}
    for eni in sorted({u.eni for u in records if u.usable and u.eni in profiled}):
        collector.logged[eni] += 1
    members = _members(network)
    touched = sorted({g for e in collector.logged for g in network.hosts[e].security_groups
                      if g in network.security_groups})
    groups = [_group_plan(g, collector, members, options) for g in touched]
    nacls = _nacl_plans(collector, options)
    used = {p.rule.peer.prefix_list for g in groups for p in g.ingress + g.egress
            if isinstance(p.rule.peer, PrefixListPeer)}
    prefix_lists = {pl.id: [str(c) for c in pl.cidrs] for pl in options.prefix_lists if pl.id in used}
    counts = _record_counts(records)
    summary = {
        "engine": run.engine.name, **counts, "malformed_lines": run.summary.malformed,
        "unreadable_files": run.summary.unreadable, "needs": collector.count,
        "enis_in_logs": run.summary.eni_count, "enis_tightened": len(collector.logged),
        "enis_not_in_snapshot": _unknown_enis(records, network),
        "groups": len(groups),
        "rules_today": sum(len(network.security_groups[g.group].rules(d)) for g in groups for d in Direction),
        "rules_proposed": sum(len(g.ingress) + len(g.egress) for g in groups),
        "add": sum(len(g.add) for g in groups), "remove": sum(len(g.remove) for g in groups),
        "keep": sum(len(g.keep) for g in groups),
        "accepted_but_refused_by_model": collector.refused_today,
        "initiator_unknown_skipped": collector.skipped_unknown,
        "nacl_entries": sum(len(n.ingress) + len(n.egress) for n in nacls),
        "nacl_replies_not_seen_accepted": collector.replies_unseen,
        "options": {"max_rules": options.max_rules, "min_prefix_v4": options.min_prefix_v4,
                    "min_prefix_v6": options.min_prefix_v6, "group_min_members": options.group_min_members,
                    "unknown": options.unknown, "outside_ephemeral": str(options.outside_ephemeral),
                    "nacl_max_entries": options.nacl_max_entries},
        "time_range": list(run.summary.time_range),
    }
    return TightenResult(snapshot, groups, nacls, prefix_lists, summary)


__all__ = ["GroupPlan", "NaclPlan", "Proposed", "TightenOptions", "TightenResult", "UserPrefixList", "tighten"]
