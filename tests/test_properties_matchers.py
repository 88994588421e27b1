"""Property tests for the compiled matchers (security groups and network ACLs).

Three layers are compared on random rule sets and random packets:

* `RuleIndex` (compiled bitmasks) against `LinearIndex` (the plain scan), built from the same `MatchItem`s;
* `compile_policy(..., linear=False)` against `compile_policy(..., linear=True)`;
* both against `sg_rule_admits` / `nacl_entry_matches` below, an independent reading of the AWS rule
  semantics written directly on the `SgRule` / `NaclEntry` model objects, so that a bug shared by the two
  engine matchers (e.g. in `MatchItem`, `port_span` or `match_items`) is still caught.
"""

from __future__ import annotations

import bisect
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import NamedTuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vpclab.engine.matcher import LinearIndex, MatchItem, RuleIndex
from vpclab.engine.nacl import NaclPolicy
from vpclab.engine.sg import compile_policy, match_items
from vpclab.model import (
    Action, CidrPeer, Direction, GroupPeer, Host, NaclEntry, Network, NetworkAcl, PrefixList, PrefixListPeer,
    SecurityGroup, SgRule, Subnet, Vpc,
)
from vpclab.model.protocols import ALL_ICMP, ALL_PORTS

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROBES = 25  # packets checked per generated rule set: 1 to 2 * PROBES (variable, so that failures shrink)

MAX4, MAX6 = 2**32 - 1, 2**128 - 1
VPC4 = IPv4Network("10.0.0.0/16")
VPC6 = IPv6Network("2600:1f18:ab00::/56")
PROTO_NAMES = ["tcp", "udp", "icmp", "icmpv6", "-1", "47"]
PACKET_PROTOS = [6, 17, 1, 58, 47, 50, 0, 132]
GROUPS = ("t1", "t2", "g1", "g2")


# ---- the independent reference (AWS semantics, read from the model objects) -------------------------

class Probe(NamedTuple):
    """A packet as a filter sees it: family, protocol, the peer address, destination port, ICMP type/code."""

    version: int
    proto: int
    addr: int
    dport: int = 0
    icmp_type: int = 0
    icmp_code: int = 0

    def key(self) -> int:
        """The port-dimension value the engine looks up (destination port, or ICMP type << 8 | code)."""
        if self.proto in (6, 17):
            return self.dport
        if self.proto in (1, 58):
            return self.icmp_type << 8 | self.icmp_code
        return 0


def _contains(cidr: IPv4Network | IPv6Network, version: int, addr: int) -> bool:
    return cidr.version == version and int(cidr.network_address) <= addr <= int(cidr.broadcast_address)


def _ports_and_types(protocol: int, ports, icmp, p: Probe, icmpv6_v4_all: bool = False) -> bool:
    """aws-semantics.md §1.1/§3.1: -1 or a protocol other than tcp/udp/icmp/icmpv6 matches all ports whatever
    range is stored; tcp/udp match the port range; icmp/icmpv6 match type and code with -1 as a wildcard."""
    if protocol in (6, 17):
        return ports.first <= p.dport <= ports.last
    if protocol in (1, 58):
        if icmpv6_v4_all:
            return True
        return (icmp.type == -1 or icmp.type == p.icmp_type) and (icmp.code == -1 or icmp.code == p.icmp_code)
    return True


def _protocol_ok(protocol: int, p: Probe) -> bool:
    return protocol == -1 or protocol == p.proto


def peer_addresses(network: Network, group: str) -> set[tuple[int, int]]:
    """aws-semantics.md §1.4: a group reference matches the *private* IPs of the ENIs carrying the group."""
    found = set()
    for host in network.hosts.values():
        if host.internet or group not in host.security_groups:
            continue
        found.add((host.ip.version, int(host.ip)))
        if host.ipv6 is not None:
            found.add((6, int(host.ipv6)))
    return found


def sg_rule_admits(network: Network, rule: SgRule, p: Probe) -> bool:
    """One SG rule against a packet (aws-semantics.md §1.1, §1.2, §1.4)."""
    if not _protocol_ok(rule.protocol, p) or not _ports_and_types(rule.protocol, rule.ports, rule.icmp, p):
        return False
    peer = rule.peer
    if isinstance(peer, CidrPeer):
        return _contains(peer.cidr, p.version, p.addr)
    if isinstance(peer, PrefixListPeer):
        return any(_contains(c, p.version, p.addr) for c in network.prefix_lists[peer.prefix_list].cidrs)
    assert isinstance(peer, GroupPeer)
    return (p.version, p.addr) in peer_addresses(network, peer.group)


def nacl_entry_matches(entry: NaclEntry, p: Probe) -> bool:
    """One NACL entry against a packet (aws-semantics.md §3.1): IPv4 entries never match IPv6 traffic; protocol
    58 with an IPv4 CIDR matches all ICMP types and codes."""
    if not _protocol_ok(entry.protocol, p) or not _contains(entry.cidr, p.version, p.addr):
        return False
    return _ports_and_types(entry.protocol, entry.ports, entry.icmp, p,
                            icmpv6_v4_all=entry.protocol == 58 and entry.cidr.version == 4)


def nacl_reference(entries: list[NaclEntry], p: Probe) -> int | None:
    """The number of the deciding entry: lowest number first, first match wins; None for the `*` deny."""
    for entry in sorted(entries, key=lambda e: e.number):
        if nacl_entry_matches(entry, p):
            return entry.number
    return None


# ---- strategies ----------------------------------------------------------------------------------------

def _net4(addr: int, prefix: int) -> IPv4Network:
    return IPv4Network((addr, prefix), strict=False)


def _net6(addr: int, prefix: int) -> IPv6Network:
    return IPv6Network((addr, prefix), strict=False)  # ip_network() would read a small int as IPv4


cidrs_v4 = st.one_of(
    st.builds(_net4, st.integers(0, MAX4), st.integers(0, 32)),                                    # anywhere
    st.builds(_net4, st.integers(int(VPC4.network_address), int(VPC4.broadcast_address)),
              st.integers(14, 32)),                                                             # near the hosts
    st.just(IPv4Network("0.0.0.0/0")),
    st.builds(_net4, st.sampled_from([0, MAX4]), st.integers(1, 32)),                             # the edges
)
cidrs_v6 = st.one_of(
    st.builds(_net6, st.integers(0, MAX6), st.integers(0, 128)),
    st.builds(_net6, st.integers(int(VPC6.network_address), int(VPC6.broadcast_address)),
              st.integers(54, 128)),
    st.just(IPv6Network("::/0")),
    st.builds(_net6, st.sampled_from([0, MAX6]), st.integers(1, 128)),
)
port_ranges = st.one_of(
    st.just("all"), st.just(-1), st.integers(0, 65535),
    st.tuples(st.integers(0, 65535), st.integers(0, 65535)).map(lambda t: f"{min(t)}-{max(t)}"),
    st.sampled_from(["0-65535", "0-0", "65535-65535", "1024-65535", "0-1023"]),
)
icmp_matches = st.one_of(
    st.none(), st.just("all"),
    st.builds(lambda t, c: {"type": t, "code": c}, st.sampled_from([0, 3, 8, 11, 128, 129, 255]),
              st.one_of(st.just(-1), st.integers(0, 255))),
    st.builds(lambda t: {"type": t}, st.integers(0, 255)),
    st.just({"type": -1, "code": -1}),
)


@st.composite
def sg_rules(draw: st.DrawFn, prefix_lists: tuple[str, ...] = ("pl4", "pl6")) -> SgRule:
    """A random SG rule built through SgRule.make, as a user would write it."""
    proto = draw(st.sampled_from(PROTO_NAMES))
    kind = draw(st.sampled_from(["cidr4", "cidr6", "cidr4", "cidr6", "pl", "sg"]))
    if proto == "icmpv6" and kind == "cidr4":
        kind = "cidr6"  # SgRule.make refuses icmpv6 with an IPv4 peer, as AWS does
    peer: dict[str, object]
    if kind == "cidr4":
        peer = {"cidr": str(draw(cidrs_v4))}
    elif kind == "cidr6":
        peer = {"cidr": str(draw(cidrs_v6))}
    elif kind == "pl":
        peer = {"prefix_list": draw(st.sampled_from(prefix_lists))}
    else:
        peer = {"sg": draw(st.sampled_from(GROUPS))}
    ports = None
    icmp = None
    if proto in ("tcp", "udp"):
        ports = draw(port_ranges)
    elif proto in ("icmp", "icmpv6"):
        icmp = draw(icmp_matches)
    else:
        ports = draw(st.one_of(st.none(), port_ranges))  # AWS: ignored for -1 and other protocols
    return SgRule.make(proto, ports, icmp=icmp, **peer)


HOST_SLOTS = [  # (name, subnet, IPv4, IPv6)
    ("h1", "s1", "10.0.1.10", "2600:1f18:ab00:1::10"),
    ("h2", "s1", "10.0.1.11", "2600:1f18:ab00:1::11"),
    ("h3", "s2", "10.0.2.20", "2600:1f18:ab00:2::20"),
    ("h4", "s2", "10.0.2.255", "2600:1f18:ab00:2::ffff"),
]


@st.composite
def sg_networks(draw: st.DrawFn) -> tuple[Network, tuple[str, ...], Direction]:
    """A network with random groups t1/t2 under test, group members for references and two prefix lists."""
    direction = draw(st.sampled_from(list(Direction)))
    groups = []
    for gid in GROUPS:
        rules = tuple(draw(st.lists(sg_rules(), max_size=8 if gid.startswith("t") else 0)))
        groups.append(SecurityGroup(gid, ingress=rules if direction is Direction.INGRESS else (),
                                    egress=rules if direction is Direction.EGRESS else ()))
    hosts = []
    for name, subnet, ip4, ip6 in HOST_SLOTS:
        if not draw(st.booleans()):
            continue
        member_of = draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=3, unique=True))
        hosts.append(Host(name, IPv4Address(ip4), subnet, tuple(member_of),
                          ipv6=IPv6Address(ip6) if draw(st.booleans()) else None))
    pls = [PrefixList("pl4", tuple(draw(st.lists(cidrs_v4, min_size=1, max_size=3)))),
           PrefixList("pl6", tuple(draw(st.lists(cidrs_v6, min_size=1, max_size=3))))]
    subnets = [Subnet("s1", IPv4Network("10.0.1.0/24"), IPv6Network("2600:1f18:ab00:1::/64")),
               Subnet("s2", IPv4Network("10.0.2.0/23"), IPv6Network("2600:1f18:ab00:2::/64"))]
    network = Network.build(Vpc(VPC4, VPC6), subnets, hosts, groups, prefix_lists=pls)
    under_test = tuple(draw(st.sampled_from([("t1",), ("t2",), ("t1", "t2"), ("t2", "t1")])))
    return network, under_test, direction


def _boundaries(cidr: IPv4Network | IPv6Network) -> list[int]:
    top = MAX4 if cidr.version == 4 else MAX6
    lo, hi = int(cidr.network_address), int(cidr.broadcast_address)
    return [max(0, lo - 1), lo, min(top, lo + 1), max(0, hi - 1), hi, min(top, hi + 1)]


def _near(values: list[int], top: int) -> list[int]:
    return sorted({x for v in values for x in (v - 1, v, v + 1) if 0 <= x <= top})


class Anchor(NamedTuple):
    """The edges of one rule, so that probes land on them: protocol (None for any), addresses per family,
    ports, ICMP types and codes (each edge with its neighbours just inside and just outside)."""

    proto: int | None
    addrs: dict[int, list[int]]
    ports: list[int]
    types: list[int]
    codes: list[int]


def anchor(protocol: int, cidrs: list[IPv4Network | IPv6Network], extra_addrs: list[tuple[int, int]],
           ports, icmp) -> Anchor:
    addrs: dict[int, set[int]] = {4: set(), 6: set()}
    for cidr in cidrs:
        addrs[cidr.version].update(_boundaries(cidr))
    for version, a in extra_addrs:
        addrs[version].update(_near([a], MAX4 if version == 4 else MAX6))
    # the exact value twice (inside), its neighbours once (just outside); for a wildcard, the extremes
    types = [icmp.type, *_near([icmp.type], 255)] if icmp.type >= 0 else [0, 8, 128, 255]
    codes = [icmp.code, *_near([icmp.code], 255)] if icmp.code >= 0 else [0, 255]
    return Anchor(None if protocol == -1 else protocol, {v: sorted(s) for v, s in addrs.items()},
                  _near([ports.first, ports.last], 65535), types, codes)


def sg_anchors(network: Network, rules: list[SgRule]) -> list[Anchor]:
    hosts = [(a.version, int(a)) for h in network.hosts.values() for a in h.addresses]
    anchors = []
    for r in rules:
        if isinstance(r.peer, CidrPeer):
            cidrs, extra = [r.peer.cidr], []
        elif isinstance(r.peer, PrefixListPeer):
            cidrs, extra = list(network.prefix_lists[r.peer.prefix_list].cidrs), []
        else:
            cidrs, extra = [], hosts  # members and non-members alike
        anchors.append(anchor(r.protocol, cidrs, extra, r.ports, r.icmp))
    return anchors


def global_anchor(network: Network, cidrs: list[IPv4Network | IPv6Network]) -> Anchor:
    """Every interesting value of the rule set at once, and the extremes of each dimension."""
    hosts = [(a.version, int(a)) for h in network.hosts.values() for a in h.addresses]
    base = anchor(-1, cidrs, hosts + [(4, 0), (4, MAX4), (6, 0), (6, MAX6)], ALL_PORTS, ALL_ICMP)
    return base._replace(ports=[0, 1, 1023, 1024, 65534, 65535])


# A probe is drawn as a seed of static strategies (building strategies per example is slow), then placed on
# the edges of one rule (or of the whole rule set): ("pool", i) picks pool[i % len(pool)], ("raw", n) uses n.
def _choice(raw: st.SearchStrategy[int]) -> st.SearchStrategy[tuple[str, int]]:
    return st.one_of(st.tuples(st.just("pool"), st.integers(0, 2**16)), st.tuples(st.just("pool"), st.integers(0, 5)),
                     st.tuples(st.just("raw"), raw))


ProbeSeed = tuple[int | None, int, tuple[str, int], int, tuple[str, int], tuple[str, int], tuple[str, int]]
probe_seeds: st.SearchStrategy[ProbeSeed] = st.tuples(
    st.one_of(st.none(), st.integers(0, 63)), st.sampled_from([4, 6]), _choice(st.integers(0, MAX6)),
    st.sampled_from(PACKET_PROTOS), _choice(st.integers(0, 65535)), _choice(st.integers(0, 255)),
    _choice(st.integers(0, 255)))
probe_lists = st.lists(probe_seeds, min_size=1, max_size=2 * PROBES)


def _pick(choice: tuple[str, int], pool: list[int], top: int) -> int:
    kind, n = choice
    return pool[n % len(pool)] if kind == "pool" and pool else n % (top + 1)


def make_probe(seed: ProbeSeed, anchors: list[Anchor], whole: Anchor) -> Probe:
    which, version, addr, proto, port, itype, icode = seed
    a = anchors[which % len(anchors)] if which is not None and anchors else whole
    if not a.addrs[version] and a.addrs[10 - version]:
        version = 10 - version  # the rule's peer is of the other family
    if a.proto is not None and which is not None:
        proto = a.proto
    return Probe(version, proto, _pick(addr, a.addrs[version], MAX4 if version == 4 else MAX6),
                 _pick(port, a.ports, 65535), _pick(itype, a.types, 255), _pick(icode, a.codes, 255))


def _sg_cidrs(network: Network, rules: list[SgRule]) -> list[IPv4Network | IPv6Network]:
    cidrs = [r.peer.cidr for r in rules if isinstance(r.peer, CidrPeer)]
    for pl in network.prefix_lists.values():
        cidrs.extend(pl.cidrs)
    return cidrs


# ---- property 1a: RuleIndex == LinearIndex on arbitrary match items ------------------------------------

SPAN_EDGES4 = [0, 1, 2, 7, 8, 15, 16, 31, 32, 63, MAX4 - 1, MAX4]
SPAN_EDGES6 = [0, 1, 2, 7, 8, 255, 2**64, MAX6 - 1, MAX6]
KEY_EDGES = [0, 1, 0x7FF, 0x800, 0x8FF, 0x900, 0xFFFE, 0xFFFF]
small_or_edge4 = st.one_of(st.sampled_from(SPAN_EDGES4), st.integers(0, 66), st.integers(0, MAX4))
small_or_edge6 = st.one_of(st.sampled_from(SPAN_EDGES6), st.integers(0, 66), st.integers(0, MAX6))
keys = st.one_of(st.sampled_from(KEY_EDGES), st.integers(0, 0xFFFF))
span_lists4 = st.lists(st.tuples(small_or_edge4, small_or_edge4).map(lambda t: (min(t), max(t))), max_size=3)
span_lists6 = st.lists(st.tuples(small_or_edge6, small_or_edge6).map(lambda t: (min(t), max(t))), max_size=2)
item_seeds = st.lists(st.tuples(st.sampled_from([-1, 1, 6, 17, 58, 47]), span_lists4, span_lists6, keys, keys),
                      max_size=12)
raw_probes = st.lists(st.one_of(st.tuples(st.just(4), small_or_edge4, st.sampled_from(PACKET_PROTOS), keys),
                                st.tuples(st.just(6), small_or_edge6, st.sampled_from(PACKET_PROTOS), keys)),
                      min_size=1, max_size=2 * PROBES)


@SETTINGS
@given(seeds=item_seeds, packets=raw_probes)
def test_rule_index_equals_linear_scan_on_random_items(seeds: list, packets: list[tuple[int, int, int, int]]) -> None:
    """The compiled bitmask index returns exactly the mask of the plain scan (aws-semantics.md §1.2: every
    rule is evaluated; §3.1: the lowest set bit is the first match), for overlapping, adjacent and edge spans."""
    items = [MatchItem(bit, proto, tuple(v4), tuple(v6), min(a, b), max(a, b))
             for bit, (proto, v4, v6, a, b) in enumerate(seeds)]
    compiled, linear = RuleIndex(items), LinearIndex(items)
    for version, addr, proto, key in packets:
        assert compiled.match(version, proto, addr, key) == linear.match(version, proto, addr, key), \
            (version, proto, addr, key)


@SETTINGS
@given(seeds=item_seeds, packets=raw_probes)
def test_address_bounds_hold_the_match_constant_inside_each_interval(seeds: list,
                                                                    packets: list[tuple[int, int, int, int]]) -> None:
    """`address_bounds` (what tighten memoises its gate decisions on) is a published fact of the index: two addresses
    in one interval get the same mask for every port key, in the compiled index and in the plain scan's bounds."""
    items = [MatchItem(bit, proto, tuple(v4), tuple(v6), min(a, b), max(a, b))
             for bit, (proto, v4, v6, a, b) in enumerate(seeds)]
    compiled, linear = RuleIndex(items), LinearIndex(items)
    for version, addr, proto, key in packets:
        for index in (compiled, linear):
            bounds = index.address_bounds(version, proto)
            start = bounds[bisect.bisect_right(bounds, addr) - 1]
            assert bounds[0] == 0 and start <= addr
            assert linear.match(version, proto, start, key) == linear.match(version, proto, addr, key), \
                (version, proto, addr, key, start)


# ---- property 1b: compiled SG policy == linear SG policy == the AWS reference -------------------------

@SETTINGS
@given(case=sg_networks(), seeds=probe_lists)
def test_sg_compiled_matcher_equals_linear_and_aws_reference(case: tuple[Network, tuple[str, ...], Direction],
                                                             seeds: list[ProbeSeed]) -> None:
    """For random SG rule lists (tcp/udp/icmp/icmpv6/-1/47, port ranges, ICMP type/code with -1, IPv4/IPv6
    CIDRs of any length, prefix lists, group references) the compiled policy, the linear policy, a RuleIndex
    and a LinearIndex built from the same MatchItems, and an independent reading of the AWS semantics all give
    the same set of matching rules (aws-semantics.md §1.1 rule model, §1.2 evaluation: the union of all rules
    of all groups, §1.4 group references match members' private IPs)."""
    network, groups, direction = case
    compiled = compile_policy(network, groups, direction)
    linear = compile_policy(network, groups, direction, linear=True)
    rules = [r for g in groups for r in network.security_groups[g].rules(direction)]
    assert [c.rule for c in compiled.rules] == rules  # bit i is the i-th rule, groups in order
    items = match_items(compiled.rules, compiled.peers)
    by_items, by_scan = RuleIndex(items), LinearIndex(items)

    anchors, whole = sg_anchors(network, rules), global_anchor(network, _sg_cidrs(network, rules))
    for seed in seeds:
        p = make_probe(seed, anchors, whole)
        expected = sum(1 << i for i, rule in enumerate(rules) if sg_rule_admits(network, rule, p))
        args = (p.version, p.proto, p.addr, p.key())
        got = compiled.index.match(*args)
        assert got == expected, (p, [str(r.text(direction)) for r in rules], bin(got), bin(expected))
        assert linear.index.match(*args) == expected
        assert by_items.match(*args) == expected
        assert by_scan.match(*args) == expected


@SETTINGS
@given(case=sg_networks())
def test_sg_world_facts_match_aws_reading(case: tuple[Network, tuple[str, ...], Direction]) -> None:
    """The two facts the untracked rule needs (aws-semantics.md §2.2): `world_mask` marks exactly the rules
    whose peer is 0.0.0.0/0 or ::/0 (not a prefix list or group, whatever it covers), and `all_world`
    holds (family, tcp/udp) exactly when a world rule of that protocol or -1 covers ports 0-65535."""
    network, groups, direction = case
    policy = compile_policy(network, groups, direction)
    rules = [c.rule for c in policy.rules]
    world = [isinstance(r.peer, CidrPeer) and r.peer.cidr.prefixlen == 0 for r in rules]
    assert policy.world_mask == sum(1 << i for i, w in enumerate(world) if w)
    expected = set()
    for rule, is_world in zip(rules, world):
        if not is_world:
            continue
        for proto in (6, 17):
            if rule.protocol == -1 or (rule.protocol == proto and (rule.ports.first, rule.ports.last) == (0, 65535)):
                expected.add((rule.peer.cidr.version, proto))
    assert set(policy.all_world) == expected


# ---- property 3: NACL first match, the * deny, order independence, families ---------------------------

@st.composite
def nacl_entries(draw: st.DrawFn, number: int) -> NaclEntry:
    proto = draw(st.sampled_from(["6", "17", "1", "58", "-1", "47"]))
    v6 = draw(st.booleans()) and proto != "1"  # NaclEntry refuses icmp (1) with an IPv6 CIDR
    cidr = str(draw(cidrs_v6 if v6 else cidrs_v4))
    ports = icmp = None
    if proto in ("6", "17"):
        ports = draw(port_ranges)
    elif proto in ("1", "58"):
        icmp = draw(icmp_matches)
    else:
        ports = draw(st.one_of(st.none(), port_ranges))
    return NaclEntry.make(number, draw(st.sampled_from(["allow", "deny"])), proto, cidr, ports, icmp)


@st.composite
def nacl_cases(draw: st.DrawFn) -> tuple[list[NaclEntry], list[NaclEntry]]:
    numbers = draw(st.lists(st.one_of(st.integers(1, 32766), st.sampled_from([1, 2, 100, 101, 32765, 32766])),
                            max_size=12, unique=True))
    entries = [draw(nacl_entries(n)) for n in numbers]
    return entries, draw(st.permutations(entries))


@SETTINGS
@given(case=nacl_cases(), direction=st.sampled_from(list(Direction)), seeds=probe_lists)
def test_nacl_decides_by_lowest_numbered_match_else_star_deny(case: tuple[list[NaclEntry], list[NaclEntry]],
                                                            direction: Direction, seeds: list[ProbeSeed]) -> None:
    """NaclPolicy.decide returns the lowest-numbered matching entry and -1 (the `*` deny) when none matches;
    the result does not depend on the order the entries were given in; IPv4 entries never decide IPv6 packets
    and IPv6 entries never decide IPv4 packets (aws-semantics.md §3.1)."""
    entries, shuffled = case
    acl = NetworkAcl("acl-x", ingress=tuple(entries), egress=tuple(entries))
    acl_shuffled = NetworkAcl("acl-y", ingress=tuple(shuffled), egress=tuple(shuffled))
    assert [e.number for e in acl.entries(direction)] == sorted(e.number for e in entries)
    policies = [NaclPolicy(acl, direction), NaclPolicy(acl, direction, linear=True),
                NaclPolicy(acl_shuffled, direction), NaclPolicy(acl_shuffled, direction, linear=True)]
    v4_only = NaclPolicy(NetworkAcl("acl-4", tuple(e for e in entries if e.cidr.version == 4),
                                    tuple(e for e in entries if e.cidr.version == 4)), direction)

    empty = Network.build(Vpc(VPC4, VPC6))
    anchors = [anchor(e.protocol, [e.cidr], [], e.ports, e.icmp) for e in entries]
    whole = global_anchor(empty, [e.cidr for e in entries])
    for seed in seeds:
        p = make_probe(seed, anchors, whole)
        expected = nacl_reference(entries, p)
        args = (p.version, p.proto, p.addr, p.key())
        for policy in policies:
            position = policy.decide(*args)
            got = None if position < 0 else policy.entries[position].number
            assert got == expected, (p, [e.text(direction) for e in policy.entries], got, expected)
            if position >= 0:
                decided = policy.entries[position]
                assert decided.cidr.version == p.version
                assert policy.allow[position] == (decided.action is Action.ALLOW)
        if p.version == 6:
            assert v4_only.decide(*args) == -1


def test_nacl_empty_acl_denies_everything() -> None:
    """A custom NACL with no entries: every packet falls to the `*` deny (aws-semantics.md §3.1, §3.2)."""
    for direction in Direction:
        policy = NaclPolicy(NetworkAcl.custom("acl-new"), direction)
        assert policy.decide(4, 6, 0, 80) == -1
        assert policy.decide(6, 58, MAX6, 128 << 8) == -1
