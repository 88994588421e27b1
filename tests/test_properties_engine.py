"""Property tests for Engine.evaluate: first-packet verdicts, monotonicity of SG rules, NACL order through the
engine, and the tracked/untracked classification of new flows (conntrack entries).

Every expectation is computed by the small reference below, written from aws-semantics.md directly on the model
objects (SgRule, NaclEntry, Host), not from the engine's compiled structures.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import NamedTuple

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from vpclab.engine.engine import Engine
from vpclab.engine.packet import ACK, FIN, PSH, RST, SYN, Packet
from vpclab.model import (
    CidrPeer, Direction, GroupPeer, Host, NaclEntry, Network, NetworkAcl, PrefixList, PrefixListPeer,
    SecurityGroup, SgRule, Subnet, Vpc,
)
from vpclab.report.explain import entry_text, step_reason, verdict_reason

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS
WORLD = {4: IPv4Network("0.0.0.0/0"), 6: IPv6Network("::/0")}

VPC = Vpc(IPv4Network("10.0.0.0/16"), IPv6Network("2600:1f18:ab00::/56"))
SUBNETS = [Subnet("s1", IPv4Network("10.0.1.0/24"), IPv6Network("2600:1f18:ab00:1::/64")),
           Subnet("s2", IPv4Network("10.0.2.0/24"), IPv6Network("2600:1f18:ab00:2::/64"))]
ADDRESSES = {"a": ("s1", "10.0.1.10", "2600:1f18:ab00:1::10"),
             "b": ("s2", "10.0.2.20", "2600:1f18:ab00:2::20"),
             "c": ("s1", "10.0.1.30", "2600:1f18:ab00:1::30")}
GROUPS = ("ga", "gb", "gc", "gs")
GROUP_CHOICES = {"a": ("ga", "gs"), "b": ("gb", "gs"), "c": ("gc", "gs")}


# ---- the independent reference -----------------------------------------------------------------------

class Flow(NamedTuple):
    """What a filter needs to know about a packet, independent of the engine's Packet."""

    version: int
    proto: int
    src: int
    dst: int
    sport: int = 0
    dport: int = 0
    icmp_type: int = 0
    icmp_code: int = 0
    pure_syn: bool = False

    @classmethod
    def of(cls, p: Packet) -> "Flow":
        return cls(6 if p.v6 else 4, p.proto, p.src, p.dst, p.sport, p.dport, p.icmp_type, p.icmp_code,
                   p.proto == 6 and bool(p.flags & SYN) and not p.flags & (ACK | RST))

    def reversed(self) -> "Flow":
        return self._replace(src=self.dst, dst=self.src, sport=self.dport, dport=self.sport)


def _contains(cidr: IPv4Network | IPv6Network, version: int, addr: int) -> bool:
    return cidr.version == version and int(cidr.network_address) <= addr <= int(cidr.broadcast_address)


def rule_admits(network: Network, rule: SgRule, f: Flow, peer: int) -> bool:
    """aws-semantics.md §1.1: -1 or a protocol other than tcp/udp/icmp/icmpv6 ⇒ all ports; ICMP type/code
    with -1 wildcards; §1.4: a group reference matches members' private IPs (IPv4 and IPv6)."""
    if rule.protocol not in (-1, f.proto):
        return False
    if rule.protocol in (6, 17) and not rule.ports.first <= f.dport <= rule.ports.last:
        return False
    if rule.protocol in (1, 58):
        t, c = rule.icmp.type, rule.icmp.code
        if not ((t == -1 or t == f.icmp_type) and (c == -1 or c == f.icmp_code)):
            return False
    if isinstance(rule.peer, CidrPeer):
        return _contains(rule.peer.cidr, f.version, peer)
    if isinstance(rule.peer, PrefixListPeer):
        return any(_contains(c, f.version, peer) for c in network.prefix_lists[rule.peer.prefix_list].cidrs)
    assert isinstance(rule.peer, GroupPeer)
    members = [h for h in network.hosts.values() if not h.internet and rule.peer.group in h.security_groups]
    return any((a.version, int(a)) == (f.version, peer) for h in members for a in (h.ip, h.ipv6) if a is not None)


def host_rules(network: Network, host: str, direction: Direction) -> list[SgRule]:
    """aws-semantics.md §1.2: the rules of all the ENI's groups are aggregated."""
    return [r for g in network.hosts[host].security_groups for r in network.security_groups[g].rules(direction)]


def remote(f: Flow, direction: Direction) -> int:
    return f.src if direction is INGRESS else f.dst


def sg_admits(network: Network, host: str, direction: Direction, f: Flow) -> bool:
    return any(rule_admits(network, r, f, remote(f, direction)) for r in host_rules(network, host, direction))


def untracked_as_first_packet(network: Network, host: str, direction: Direction, f: Flow) -> bool:
    """aws-semantics.md §2.2: a TCP/UDP flow is untracked when a rule admitting it has peer 0.0.0.0/0 (::/0)
    and the opposite direction has a 0.0.0.0/0 (::/0) rule of that protocol or -1 for all ports 0-65535."""
    if f.proto not in (6, 17):
        return False  # ICMP (and every other protocol) is always tracked
    world = WORLD[f.version]
    admitted_by_world = any(isinstance(r.peer, CidrPeer) and r.peer.cidr == world
                            and rule_admits(network, r, f, remote(f, direction))
                            for r in host_rules(network, host, direction))
    other_all_ports = any(isinstance(r.peer, CidrPeer) and r.peer.cidr == world
                          and (r.protocol == -1 or (r.protocol == f.proto and r.ports.first == 0
                                                    and r.ports.last == 65535))
                          for r in host_rules(network, host, direction.opposite))
    return admitted_by_world and other_all_ports


def untracked_either_way(network: Network, host: str, direction: Direction, f: Flow) -> bool:
    """The engine's documented reading (docs/assumptions.md U2): a packet without state is untracked if it would
    be the first packet of an untracked flow, *or* the response of an untracked flow opened the other way
    (§2.2: "The response traffic for an untracked flow is allowed based on the ... rule that permits the
    response traffic") — except a pure TCP SYN, which always opens a flow and is never a response (see
    test_untracked_tcp_syn_is_classified_as_a_first_packet). For UDP the two readings cannot be told apart."""
    if untracked_as_first_packet(network, host, direction, f):
        return True
    return not f.pure_syn and untracked_as_first_packet(network, host, direction.opposite, f.reversed())


def opens_entry(p: Packet) -> bool:
    """Which first packets can open a conntrack entry: a pure SYN for TCP (no ACK, no RST), any UDP datagram,
    ICMP queries (echo/timestamp/info/address-mask requests, ICMPv6 echo request; errors are not 'related',
    aws-semantics.md §0.13), and any packet of another protocol (§2.1: tracked by address and protocol)."""
    if p.proto == 6:
        return bool(p.flags & SYN) and not p.flags & (ACK | RST)
    if p.proto == 1:
        return p.icmp_type in (8, 13, 15, 17)
    if p.proto == 58:
        return p.icmp_type == 128
    return True


# ---- strategies ----------------------------------------------------------------------------------------

V4_PEERS = ["0.0.0.0/0", "10.0.1.10/32", "10.0.2.20/32", "10.0.1.0/24", "10.0.2.0/24", "10.0.0.0/16", "0.0.0.0/1",
            "128.0.0.0/1", "192.0.2.0/24"]
V6_PEERS = ["::/0", "2600:1f18:ab00:1::10/128", "2600:1f18:ab00:2::20/128", "2600:1f18:ab00:1::/64",
            "2600:1f18:ab00:2::/64", "2600:1f18:ab00::/56", "::/1", "2001:db8::/32"]
PORT_POOL = [0, 22, 80, 1023, 1024, 5000, 32768, 40000, 60999, 65535]
ALL_PORT_FORMS = ["all", "-1", "0-65535"]
NEAR_ALL = ["1-65535", "0-65534", "1024-65535", "0-1023", "32768-60999"]
# Weighted towards permissive rules (world peers, all ports), so that packets are often admitted and flows
# often qualify as untracked; narrow rules, near-all ranges and non-world peers keep the edges covered.
rule_ports = st.one_of(
    st.sampled_from(ALL_PORT_FORMS), st.sampled_from(ALL_PORT_FORMS), st.sampled_from(NEAR_ALL),
    st.sampled_from(PORT_POOL), st.sampled_from(PORT_POOL),
    st.tuples(st.integers(0, 65535), st.integers(0, 65535)).map(lambda t: f"{min(t)}-{max(t)}"),
)
icmp_choices = st.one_of(st.none(), st.sampled_from([{"type": 8}, {"type": 8, "code": 0}, {"type": 0},
                                                     {"type": 128}, {"type": 129}, {"type": 3, "code": 4},
                                                     {"type": 13}, {"type": 1}, {"type": -1}]))
world_peers = st.sampled_from([{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}])
peer_choices = st.one_of(
    world_peers, world_peers, world_peers,
    st.sampled_from(V4_PEERS).map(lambda c: {"cidr": c}),
    st.sampled_from(V6_PEERS).map(lambda c: {"cidr": c}),
    st.sampled_from(GROUPS).map(lambda g: {"sg": g}),
    st.sampled_from(["pl4", "pl6"]).map(lambda p: {"prefix_list": p}),
)


ports = st.one_of(st.sampled_from(PORT_POOL), st.sampled_from(PORT_POOL), st.integers(0, 65535))
TCP_FLAGS = {"S": SYN, "SA": SYN | ACK, "A": ACK, "PA": PSH | ACK, "FA": FIN | ACK, "R": RST, "RA": RST | ACK}
PROTO_NAMES = ["tcp", "tcp", "udp", "udp", "-1", "-1", "icmp", "icmpv6", "47"]
HINT_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 47: "47"}


@st.composite
def first_packets(draw: st.DrawFn, any_kind: bool = False, a_to_b_only: bool = False,
                  kinds: tuple[str, ...] = ("tcp", "tcp", "udp", "udp", "icmp", "gre")) -> Packet:
    """A new flow's first packet between a (subnet s1) and b (subnet s2). With `any_kind`, also TCP segments
    other than SYN and ICMP types other than echo request (which cannot open an entry)."""
    src, dst = draw(st.sampled_from([("a", "b")] if a_to_b_only else [("a", "b"), ("b", "a")]))
    version = draw(st.sampled_from([4, 6]))
    s, d = (ADDRESSES[src][1], ADDRESSES[dst][1]) if version == 4 else (ADDRESSES[src][2], ADDRESSES[dst][2])
    kind = draw(st.sampled_from(kinds))
    if kind == "tcp":
        flags = draw(st.sampled_from(list(TCP_FLAGS))) if any_kind else "S"
        return Packet.tcp(s, draw(ports), d, draw(ports), TCP_FLAGS[flags])
    if kind == "udp":
        return Packet.udp(s, draw(ports), d, draw(ports))
    if kind == "icmp":
        echo = 8 if version == 4 else 128
        types = ([8, 0, 3, 11, 13] if version == 4 else [128, 129, 1, 3]) if any_kind else [echo]
        return Packet.icmp(s, d, draw(st.sampled_from(types)), draw(st.sampled_from([0, 4])),
                           ident=draw(st.integers(0, 65535)), seq=1)
    return Packet.other(s, d, 47)


def _around(port: int) -> list[str]:
    """Ranges that just contain, or just miss, a port."""
    forms = [str(port), f"{port}-65535", f"0-{port}"]
    if port > 0:
        forms += [f"0-{port - 1}", f"{port - 1}-{port}"]
    if port < 65535:
        forms += [f"{port + 1}-65535", f"{port}-{port + 1}"]
    return forms


@st.composite
def rules(draw: st.DrawFn, hint: Packet | None = None) -> SgRule:
    """A random rule, biased (with `hint`) towards the protocol, ports and ICMP type of the packet under test,
    so that packets are often admitted and flows often qualify as untracked."""
    protos = PROTO_NAMES + ([HINT_NAMES[hint.proto]] * 4 if hint is not None else [])
    proto = draw(st.sampled_from(protos))
    peer = draw(peer_choices)
    if hint is not None and "cidr" in peer and peer["cidr"] in ("0.0.0.0/0", "::/0") and draw(st.booleans()):
        peer = {"cidr": str(WORLD[6 if hint.v6 else 4])}  # the packet's family more often
    if proto == "icmpv6" and "cidr" in peer and ":" not in peer["cidr"]:
        peer = {"cidr": draw(st.sampled_from(V6_PEERS))}  # SgRule.make refuses icmpv6 to an IPv4 CIDR
    ports = icmp = None
    if proto in ("tcp", "udp"):
        hinted = _around(hint.dport) + _around(hint.sport) if hint is not None and hint.proto in (6, 17) else []
        ports = draw(st.one_of(rule_ports, st.sampled_from(hinted))) if hinted else draw(rule_ports)
    elif proto in ("icmp", "icmpv6"):
        hinted_icmp = ([{"type": hint.icmp_type}, {"type": hint.icmp_type, "code": hint.icmp_code},
                        {"type": hint.icmp_type, "code": hint.icmp_code ^ 1}]
                       if hint is not None and hint.proto in (1, 58) else [])
        icmp = draw(st.one_of(icmp_choices, st.sampled_from(hinted_icmp))) if hinted_icmp else draw(icmp_choices)
    return SgRule.make(proto, ports, icmp=icmp, **peer)


OPEN_EGRESS = (SgRule.make("-1", cidr="0.0.0.0/0"), SgRule.make("-1", cidr="::/0"))


@st.composite
def networks(draw: st.DrawFn, hint: Packet | None = None) -> Network:
    rule_lists = st.lists(rules(hint), max_size=4)
    groups = []
    for g in GROUPS:
        egress = tuple(draw(rule_lists))
        if draw(st.booleans()):  # as AWS creates a group: egress all traffic to the world
            egress = tuple(r for r in OPEN_EGRESS if r not in egress) + egress
        ingress = tuple(draw(rule_lists))
        if hint is not None and hint.proto in (6, 17) and draw(st.integers(0, 2)) == 0:
            # an all-ports world rule, one half of what makes a flow untracked (§2.2)
            wide = SgRule.make(draw(st.sampled_from([HINT_NAMES[hint.proto], "-1"])), "all",
                               cidr=str(WORLD[6 if hint.v6 else 4]))
            ingress = ingress if wide in ingress else ingress + (wide,)
        groups.append(SecurityGroup(g, ingress, egress))
    hosts = []
    for name, (subnet, ip4, ip6) in ADDRESSES.items():
        member_of = draw(st.lists(st.sampled_from(GROUP_CHOICES[name]), min_size=1, max_size=2, unique=True))
        hosts.append(Host(name, IPv4Address(ip4), subnet, tuple(member_of), ipv6=IPv6Address(ip6)))
    pl4 = draw(st.lists(st.sampled_from(["10.0.0.0/16", "0.0.0.0/0", "10.0.1.0/24", "10.0.2.0/25", "192.0.2.0/24"]),
                        min_size=1, max_size=2, unique=True))
    pl6 = draw(st.lists(st.sampled_from(["2600:1f18:ab00::/56", "::/0", "2600:1f18:ab00:2::/64", "2001:db8::/32"]),
                        min_size=1, max_size=2, unique=True))
    return Network.build(VPC, SUBNETS, hosts, groups,
                         prefix_lists=[PrefixList.make("pl4", pl4), PrefixList.make("pl6", pl6)])


@st.composite
def scenarios(draw: st.DrawFn, any_kind: bool = False) -> tuple[Network, Packet]:
    """A packet, then a network whose rules are biased towards it."""
    p = draw(first_packets(any_kind))
    return draw(networks(p)), p


def host_of(network: Network, address: int) -> str:
    return next(h.name for h in network.hosts.values() if address in (int(h.ip), int(h.ipv6 or 0)))


def reply_to(p: Packet) -> Packet:
    """The peer's answer: SYN-ACK, a UDP datagram back, the echo reply with the request's identifier, GRE back."""
    q = p._replace(src=p.dst, dst=p.src, sport=p.dport, dport=p.sport)
    if p.proto == 6:
        return q._replace(flags=SYN | ACK)
    if p.proto in (1, 58):
        return q._replace(icmp_type=0 if p.proto == 1 else 129, icmp_code=0)
    return q


# ---- first-packet verdicts ----------------------------------------------------------------------------

@SETTINGS
@given(case=scenarios(any_kind=True))
def test_first_packet_verdict_is_sender_egress_and_receiver_ingress(case: tuple[Network, Packet]) -> None:
    """With no state, a packet between two subnets with the default NACL is allowed iff some rule of the
    sender's groups admits it outbound and some rule of the receiver's groups admits it inbound
    (aws-semantics.md §1.2 union of rules, §0.12 path order, §3.2 default NACL allows all)."""
    network, p = case
    f = Flow.of(p)
    sender, receiver = host_of(network, p.src), host_of(network, p.dst)
    expected = sg_admits(network, sender, EGRESS, f) and sg_admits(network, receiver, INGRESS, f)
    verdict = Engine(network).evaluate(p, now=0.0)
    assert verdict.allowed == expected, (p.describe(), verdict_reason(verdict), [step_reason(s) for s in verdict.trace])


# ---- property 2: adding a rule never denies more -------------------------------------------------------

@SETTINGS
@given(case=scenarios(), data=st.data(), group=st.sampled_from(GROUPS), direction=st.sampled_from(list(Direction)))
def test_adding_sg_rule_never_turns_allowed_into_denied(case: tuple[Network, Packet], data: st.DataObject,
                                                        group: str, direction: Direction) -> None:
    """Security groups are allow-only and unioned (aws-semantics.md §1.2): after authorizing one more rule in
    any group, a new flow's first packet (TCP SYN, UDP, ICMP echo request, GRE) that was allowed on a fresh
    engine is still allowed, and so is the peer's reply to it (state or, for untracked flows, rules, §2.2)."""
    network, p = case
    extra = data.draw(rules(p), label="extra rule")
    assume(extra not in network.security_groups[group].rules(direction))
    wider = network.authorize(group, direction, extra)
    before, after = Engine(network), Engine(wider)
    v_before, v_after = before.evaluate(p, now=0.0), after.evaluate(p, now=0.0)
    event(f"allowed before: {v_before.allowed}, after: {v_after.allowed}")
    if v_before.allowed:
        assert v_after.allowed, (p.describe(), extra.text(direction), group, verdict_reason(v_after))
        reply = reply_to(p)
        r_before, r_after = before.evaluate(reply, now=1.0), after.evaluate(reply, now=1.0)
        if r_before.allowed:
            assert r_after.allowed, (p.describe(), extra.text(direction), group, verdict_reason(r_after))


# ---- property 3 through the engine: NACL first match and the * deny ----------------------------------

@st.composite
def nacl_entry_lists(draw: st.DrawFn, hint: Packet) -> list[NaclEntry]:
    """Up to 6 numbered entries, biased towards the packet under test (its protocol, family, ports, ICMP type)
    so that several entries often match it and their order decides."""
    numbers = draw(st.lists(st.integers(1, 32766), max_size=6, unique=True))
    entries = []
    hint_proto = {6: "6", 17: "17", 1: "1", 58: "58", 47: "47"}[hint.proto]
    world = str(WORLD[6 if hint.v6 else 4])
    for n in numbers:
        proto = draw(st.sampled_from(["6", "17", "1", "58", "-1", "47", hint_proto, hint_proto, hint_proto]))
        v6 = proto != "1" and (hint.v6 if draw(st.integers(0, 3)) else draw(st.booleans()))
        cidr = draw(st.sampled_from([world, world, *(V6_PEERS if v6 else V4_PEERS)]))
        if v6 != (":" in cidr):
            cidr = str(WORLD[6 if v6 else 4])  # NaclEntry refuses icmp (1) with an IPv6 CIDR, as AWS does
        ports = icmp = None
        if proto in ("6", "17"):
            ports = draw(st.one_of(rule_ports, st.sampled_from(_around(hint.dport))))
        elif proto in ("1", "58"):
            icmp = draw(st.one_of(icmp_choices, st.sampled_from([{"type": hint.icmp_type},
                                                                 {"type": hint.icmp_type, "code": hint.icmp_code}])))
        entries.append(NaclEntry.make(n, draw(st.sampled_from(["allow", "deny"])), proto, cidr, ports, icmp))
    if draw(st.booleans()):  # an allow-all entry somewhere, like the default NACL's rule 100
        n = draw(st.integers(1, 32766).filter(lambda x: x not in numbers))
        entries.append(NaclEntry.make(n, "allow", "-1", world))
    return entries


@st.composite
def nacl_scenarios(draw: st.DrawFn) -> tuple[list[NaclEntry], list[NaclEntry], list[Packet]]:
    packets = draw(st.lists(first_packets(any_kind=True, a_to_b_only=True), min_size=1, max_size=4))
    return draw(nacl_entry_lists(packets[0])), draw(nacl_entry_lists(packets[0])), packets


def nacl_allows(entries: tuple[NaclEntry, ...], f: Flow, peer: int) -> bool:
    """aws-semantics.md §3.1: lowest number first, first match wins, else the `*` deny; IPv4 and IPv6 entries
    are independent."""
    for e in sorted(entries, key=lambda e: e.number):
        if e.protocol not in (-1, f.proto) or not _contains(e.cidr, f.version, peer):
            continue
        if e.protocol in (6, 17) and not e.ports.first <= f.dport <= e.ports.last:
            continue
        if e.protocol in (1, 58) and not (e.protocol == 58 and e.cidr.version == 4):
            t, c = e.icmp.type, e.icmp.code
            if not ((t == -1 or t == f.icmp_type) and (c == -1 or c == f.icmp_code)):
                continue
        return e.action.value == "allow"
    return False


@SETTINGS
@given(case=nacl_scenarios())
def test_engine_nacl_first_match_and_star_deny(case: tuple[list[NaclEntry], list[NaclEntry], list[Packet]]) -> None:
    """With security groups open both ways, a packet from subnet s1 to s2 is allowed iff s1's NACL egress and
    s2's NACL ingress both decide `allow` by their lowest-numbered matching entry, a packet matching no entry
    being denied by the `*` rule (aws-semantics.md §3.1). Several packets go through one engine, so remembered
    decisions are exercised too: NACLs are stateless (§0.10), each verdict depends on that packet alone."""
    out_entries, in_entries, packets = case
    everything = tuple(SgRule.make("-1", cidr=c) for c in ("0.0.0.0/0", "::/0"))
    open_sg = SecurityGroup("gopen", everything, everything)
    hosts = [Host(n, IPv4Address(ip4), s, ("gopen",), ipv6=IPv6Address(ip6))
             for n, (s, ip4, ip6) in ADDRESSES.items()]
    out_acl = NetworkAcl("acl-out", ingress=(), egress=tuple(out_entries))
    in_acl = NetworkAcl("acl-in", ingress=tuple(in_entries), egress=())
    subnets = [Subnet(s.name, s.cidr, s.ipv6_cidr, nacl) for s, nacl in zip(SUBNETS, ("acl-out", "acl-in"))]
    network = Network.build(VPC, subnets, hosts, [open_sg], [out_acl, in_acl])
    engine = Engine(network)
    for i, p in enumerate(packets):
        f = Flow.of(p)
        expected = nacl_allows(out_acl.egress, f, f.dst) and nacl_allows(in_acl.ingress, f, f.src)
        event(f"allowed: {expected}")
        verdict = engine.evaluate(p, now=float(i), explain=bool(i % 2))
        assert verdict.allowed == expected, (p.describe(), verdict_reason(verdict))


# ---- property 4: tracked / untracked classification of new flows ---------------------------------------

def check_conntrack(network: Network, p: Packet, untracked) -> None:
    f = Flow.of(p)
    sender, receiver = host_of(network, p.src), host_of(network, p.dst)
    out_ok = sg_admits(network, sender, EGRESS, f)
    in_ok = out_ok and sg_admits(network, receiver, INGRESS, f)
    engine = Engine(network)
    verdict = engine.evaluate(p, now=0.0)
    assert verdict.allowed == in_ok
    for host, direction, admitted in ((sender, EGRESS, out_ok), (receiver, INGRESS, in_ok)):
        is_untracked = untracked(network, host, direction, f)
        expected = admitted and opens_entry(p) and not is_untracked
        event(f"{direction}: " + ("not admitted" if not admitted else "untracked" if is_untracked
                                  else "tracked, opens entry" if expected else "tracked, cannot open"))
        if admitted and untracked_as_first_packet(network, host, direction, f) != is_untracked:
            event(f"{direction}: untracked only as the response of a reverse flow")
        entries = engine.conntrack(host).entries()
        assert len(entries) == int(expected), (
            f"{host} {direction}", p.describe(), [r.text(direction) for r in host_rules(network, host, direction)],
            [r.text(direction.opposite) for r in host_rules(network, host, direction.opposite)],
            [entry_text(e.snapshot()) for e in entries], [step_reason(s) for s in verdict.trace])
        if expected:
            assert entries[0].orig[:3] == (p.src, p.dst, p.proto)


@SETTINGS
@given(case=scenarios(any_kind=True))
def test_new_flow_conntrack_entry_iff_tracked(case: tuple[Network, Packet]) -> None:
    """After a new flow's first packet is admitted out of the sender's ENI (and into the receiver's), each ENI
    holds a conntrack entry iff that flow is tracked there and the packet can open one (aws-semantics.md §2.2:
    TCP/UDP untracked with a 0.0.0.0/0 (::/0) admitting rule and an all-ports 0.0.0.0/0 (::/0) rule the other
    way; ICMP always tracked; §2.1 other protocols tracked by address and protocol; only a pure SYN opens a TCP
    entry). Untracked is judged as the engine documents it: as a first packet, or as the response of an
    untracked flow opened the other way (`untracked_either_way`)."""
    check_conntrack(*case, untracked_either_way)


def test_untracked_tcp_syn_is_classified_as_a_first_packet() -> None:
    """aws-semantics.md §2.2, literally: a flow is untracked only if the *opposite* direction has a
    0.0.0.0/0 rule for all ports 0-65535. A pure SYN is always a flow's first packet, never a response, so
    with ingress 'tcp 0-65535 from 0.0.0.0/0' and egress only 'tcp 80 to 0.0.0.0/0' an inbound SYN from port
    80 is tracked: the receiving ENI must hold a conntrack entry, and the connection must survive the removal
    of the egress rule (§2.4: tracked connections are not interrupted). Regression test: the engine left this
    SYN untracked (as the "response" of an outbound flow) until commit 8c274b2."""
    egress80 = SgRule.make("tcp", 80, cidr="0.0.0.0/0")
    gb = SecurityGroup("gb", ingress=(SgRule.make("tcp", "0-65535", cidr="0.0.0.0/0"),), egress=(egress80,))
    network = Network.build(Vpc(IPv4Network("10.0.0.0/16")),
                            [Subnet("s1", IPv4Network("10.0.1.0/24")), Subnet("s2", IPv4Network("10.0.2.0/24"))],
                            [Host("a", IPv4Address("10.0.1.10"), "s1", ("ga",)),
                             Host("b", IPv4Address("10.0.2.20"), "s2", ("gb",))],
                            [SecurityGroup.new("ga"), gb])
    engine = Engine(network)
    syn = Packet.tcp("10.0.1.10", 80, "10.0.2.20", 5000, "S")
    assert engine.evaluate(syn, now=0.0).allowed
    assert len(engine.conntrack("b").entries()) == 1  # was 0 entries (SG_RULE_MATCH_UNTRACKED) before 8c274b2
    engine.update(network.revoke("gb", EGRESS, egress80))
    assert engine.evaluate(Packet.tcp("10.0.2.20", 5000, "10.0.1.10", 80, "SA"), now=1.0).allowed


@st.composite
def untracked_boundary_cases(draw: st.DrawFn) -> tuple[Network, Packet]:
    """One ENI (a as sender or b as receiver) whose single group holds a few rules right at the edges of the
    untracked rule: world vs narrow vs other-family peers, prefix lists holding 0.0.0.0/0, the packet's protocol
    vs -1 vs the other of tcp/udp, all ports vs near-all ranges vs ranges just around the packet's ports. The
    other host is open both ways."""
    p = draw(first_packets(kinds=("tcp", "udp")))
    version = 6 if p.v6 else 4
    name = draw(st.sampled_from(["src", "dst"]))
    me = host_of_address(p.src if name == "src" else p.dst)
    peer_ip = Flow.of(p).dst if name == "src" else Flow.of(p).src
    own, other_proto = HINT_NAMES[p.proto], "udp" if p.proto == 6 else "tcp"
    peer_cidr = str(IPv6Network((peer_ip, 128)) if p.v6 else IPv4Network((peer_ip, 32)))
    peers = st.sampled_from([{"cidr": str(WORLD[version])}, {"cidr": str(WORLD[version])},
                             {"cidr": str(WORLD[10 - version])}, {"cidr": peer_cidr},
                             {"cidr": "0.0.0.0/1" if version == 4 else "::/1"}, {"prefix_list": "plworld"}])

    def one_rule(own_ports: int) -> SgRule:
        proto = draw(st.sampled_from([own, own, "-1", other_proto]))
        ports = draw(st.sampled_from(["all", "0-65535", "1-65535", "0-65534", *_around(own_ports)]))
        return SgRule.make(proto, None if proto == "-1" else ports, **draw(peers))

    # the ports a rule must cover: the destination port when it admits the packet in its own direction, the
    # source port when (in the other direction) it would admit the reverse
    this_way = tuple({one_rule(p.dport) for _ in range(draw(st.integers(1, 2)))})
    other_way = tuple({one_rule(p.sport) for _ in range(draw(st.integers(0, 2)))})
    ingress, egress = (other_way, this_way) if name == "src" else (this_way, other_way)
    everything = tuple(SgRule.make("-1", cidr=c) for c in ("0.0.0.0/0", "::/0"))
    groups = [SecurityGroup("gx", ingress, egress), SecurityGroup("gopen", everything, everything)]
    hosts = [Host(n, IPv4Address(ip4), s, ("gx",) if n == me else ("gopen",), ipv6=IPv6Address(ip6))
             for n, (s, ip4, ip6) in ADDRESSES.items()]
    plworld = PrefixList.make("plworld", [str(WORLD[version])])
    return Network.build(VPC, SUBNETS, hosts, groups, prefix_lists=[plworld]), p


def host_of_address(address: int) -> str:
    return next(n for n, (_, ip4, ip6) in ADDRESSES.items()
                if address in (int(IPv4Address(ip4)), int(IPv6Address(ip6))))


@settings(SETTINGS, max_examples=500)
@given(case=untracked_boundary_cases())
def test_untracked_classification_at_the_rule_edges(case: tuple[Network, Packet]) -> None:
    """The same property as test_new_flow_conntrack_entry_iff_tracked, on rule sets built right at the edges of
    aws-semantics.md §2.2: only a peer of exactly 0.0.0.0/0 (::/0) counts (not 0.0.0.0/1, not the other family,
    not a prefix list holding 0.0.0.0/0: the open questions of §2.2, read as docs/assumptions.md U1 does), and
    only 0-65535 counts as all ports (not 1-65535 or 0-65534); the rule may be of the packet's protocol or -1."""
    network, p = case
    f = Flow.of(p)
    for host, direction in ((host_of(network, p.src), EGRESS), (host_of(network, p.dst), INGRESS)):
        first = untracked_as_first_packet(network, host, direction, f)
        either = untracked_either_way(network, host, direction, f)
        event(f"{direction}: " + ("untracked as a first packet" if first else
                                  "untracked as a response only" if either else "tracked"))
    check_conntrack(network, p, untracked_either_way)
