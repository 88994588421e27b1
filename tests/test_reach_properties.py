"""Reach against the simulator, and the matrix against pairwise reach, on random lab networks (hypothesis).

One engine, two callers: `vpclab reach` unrolls the forward packet and its reply over `Engine.decide` with security
groups judged by state; the simulator runs a real TCP handshake (or ping) through `Engine.evaluate` with conntrack
on a virtual clock. For every random network, pair and source port they must agree: reachable exactly when the
connect is established (the ping answered). Networks have two subnets (each public or not, each with the default or
a random NACL), three groups with random rules (CIDRs, group references, all-ports world rules that make flows
untracked), hosts with and without public IPs, and an internet host.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from netbuild import build
from vpclab.analysis.endpoints import Endpoint
from vpclab.analysis.matrix import matrix, pairwise
from vpclab.analysis.reach import Reacher
from vpclab.model.network import Network
from vpclab.model.protocols import ICMP, TCP
from vpclab.sim.simulator import Simulator

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OUT = "out"
OUT_IP = "203.0.113.10"
PORT_FORMS = ["22", "all", "0-65535", "1024-65535", "32768-60999", "49152-65535", "32768-40000", "40001-65535",
              "0-1023", "21-23", "80"]
CIDRS = ["0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0", "10.0.0.0/16", "10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24", "10.0.1.10/32", "203.0.113.0/24", "0.0.0.0/1"]
EPHEMERAL = ["32768-60999", "49152-65535", "1024-65535"]


@st.composite
def sg_rules(draw: st.DrawFn) -> dict:
    proto = draw(st.sampled_from(["tcp", "tcp", "tcp", "-1", "icmp", "udp"]))
    peer = draw(st.one_of(st.sampled_from(CIDRS).map(lambda c: {"cidr": c}),
                          st.sampled_from(["g1", "g2", "g3"]).map(lambda g: {"sg": g})))
    rule = {"proto": proto, **peer}
    if proto in ("tcp", "udp"):
        rule["ports"] = draw(st.sampled_from(PORT_FORMS))
    if proto == "icmp":
        rule["icmp"] = draw(st.sampled_from([{"type": 8}, {"type": 0}, {"type": -1}]))
    return rule


def _rule_key(rule: dict) -> tuple:
    """Rules AWS would call duplicates ("all" and "0-65535" are the same ports) share a key."""
    ports = rule.get("ports")
    return (rule["proto"], "all" if ports in ("all", "0-65535") else ports, str(rule.get("icmp")), rule.get("cidr"),
            rule.get("sg"))


rule_lists = st.lists(sg_rules(), min_size=1, max_size=3, unique_by=_rule_key)


@st.composite
def nacl_entries(draw: st.DrawFn) -> list[dict]:
    numbers = draw(st.lists(st.integers(1, 200), min_size=1, max_size=4, unique=True))
    entries = []
    for number in numbers:
        proto = draw(st.sampled_from(["tcp", "tcp", "-1", "icmp"]))
        entry = {"rule": number, "action": draw(st.sampled_from(["allow", "allow", "allow", "deny"])), "proto": proto,
                 "cidr": draw(st.sampled_from(CIDRS))}
        if proto == "tcp":
            entry["ports"] = draw(st.sampled_from(PORT_FORMS))
        if proto == "icmp":
            entry["icmp"] = draw(st.sampled_from([{"type": 8}, {"type": 0}, {"type": -1}]))
        entries.append(entry)
    return entries


@st.composite
def lab_networks(draw: st.DrawFn) -> Network:
    groups = {}
    for g in ("g1", "g2", "g3"):
        spec: dict = {"ingress": draw(rule_lists)}
        if draw(st.booleans()):
            spec["egress"] = draw(rule_lists)
        groups[g] = spec
    subnets = {"a": {"cidr": "10.0.1.0/24", "public": draw(st.booleans())},
               "b": {"cidr": "10.0.2.0/24", "public": draw(st.booleans())}}
    nacls = {}
    for name in ("a", "b"):
        if draw(st.booleans()):
            nacls[f"n{name}"] = {"ingress": draw(nacl_entries()), "egress": draw(nacl_entries())}
            subnets[name]["nacl"] = f"n{name}"
    hosts: dict = {}
    for name, subnet, ip in (("h1", "a", "10.0.1.10"), ("h2", "b", "10.0.2.20"), ("h3", "a", "10.0.1.30")):
        hosts[name] = {"subnet": subnet, "ip": ip,
                       "security_groups": draw(st.lists(st.sampled_from(["g1", "g2", "g3"]), min_size=1, max_size=2,
                                                        unique=True)),
                       "ephemeral_ports": draw(st.sampled_from(EPHEMERAL))}
        if draw(st.booleans()):
            hosts[name]["public_ip"] = f"198.51.100.{ip.rsplit('.', 1)[1]}"
    hosts[OUT] = {"internet": True, "ip": OUT_IP}
    return build(groups, hosts, subnets=subnets, nacls=nacls, vpc="10.0.0.0/16")


def endpoint(network: Network, name: str) -> Endpoint:
    host = network.hosts[name]
    return Endpoint(name, address=host.ip) if host.internet else Endpoint(name, name)


def sim_target(network: Network, src: str, dst: str) -> str:
    """Where the simulator connects to: a VPC host by name from inside, its public IP from the internet."""
    host = network.hosts[dst]
    if host.internet:
        return str(host.ip)
    if network.hosts[src].internet:
        return str(host.public_ip)
    return dst


pairs = st.sampled_from([("h1", "h2"), ("h2", "h1"), ("h1", "h3"), ("h3", "h2"), (OUT, "h1"), (OUT, "h2"),
                         ("h1", OUT), ("h2", OUT)])


@SETTINGS
@given(network=lab_networks(), pair=pairs, port=st.sampled_from([22, 80, 443]), data=st.data())
def test_reach_is_established_exactly_when_a_simulated_connect_is(network: Network, pair: tuple[str, str], port: int,
                                                                  data: st.DataObject) -> None:
    src, dst = pair
    if network.hosts[src].internet and network.hosts[dst].public_ip is None:
        return  # nothing to connect to from outside (covered on snapshots: NO_ROUTE_TO_DESTINATION)
    initiator = network.hosts[src].ephemeral_ports
    sport = data.draw(st.sampled_from([initiator.first, initiator.last, 40000, 40001, 50000]).filter(
        lambda p: initiator.first <= p <= initiator.last), label="sport")
    reacher = Reacher(network)
    answer = reacher.reach(endpoint(network, src), endpoint(network, dst), TCP, port, sport=sport)
    sim = Simulator(network)
    sim.listen(dst, "tcp", port)
    _, exchange = sim.connect(src, sim_target(network, src, dst), port, sport=sport)
    assert answer.reachable == (exchange.outcome == "established"), (answer.codes, exchange.outcome)
    event(f"reachable={answer.reachable}")
    event("blocked by " + ",".join(sorted({f"{b.hop.path} {b.code}" for b in answer.blockers})))
    if answer.blockers and all(b.hop.path == "return" for b in answer.blockers):
        event("the return path alone decides")
    if not answer.reachable:
        assert answer.blockers, "an unreachable answer names what blocks it"
    # over the whole ephemeral range: reachable means every source port works, so this one does too
    whole = reacher.reach(endpoint(network, src), endpoint(network, dst), TCP, port)
    if whole.reachable:
        assert exchange.outcome == "established"
    if any(a <= sport <= b for a, b in whole.blocked_ports):
        assert exchange.outcome == "blocked"


@SETTINGS
@given(network=lab_networks(), pair=pairs)
def test_reach_icmp_echo_is_reachable_exactly_when_the_ping_is_answered(network: Network,
                                                                       pair: tuple[str, str]) -> None:
    src, dst = pair
    if network.hosts[src].internet and network.hosts[dst].public_ip is None:
        return
    answer = Reacher(network).reach(endpoint(network, src), endpoint(network, dst), ICMP, None)
    sim = Simulator(network)
    exchange = sim.ping(src, sim_target(network, src, dst), ident=1)
    assert answer.reachable == (exchange.outcome == "reply"), (answer.codes, exchange.outcome)
    event(f"reachable={answer.reachable}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=lab_networks(), port=st.sampled_from([22, 80, 443]), proto=st.sampled_from([TCP, TCP, ICMP]))
def test_matrix_equals_pairwise_reach(network: Network, port: int, proto: int) -> None:
    """Equivalence classes are sound: each class pair's answer is every member pair's answer."""
    p = port if proto == TCP else None
    reacher = Reacher(network)
    m = matrix(network, proto, p, reacher=reacher)
    expected = pairwise(network, proto, p, reacher=reacher)
    assert {(a, b): cell for a, b, cell in m.pairs()} == expected
    assert m.questions <= len(expected)


def test_matrix_separates_enis_a_narrow_cidr_tells_apart() -> None:
    """Same subnet, same groups, but a /32 rule admits one of them only: they must not share a class."""
    network = build({"g1": {"ingress": [{"proto": "tcp", "ports": 22, "cidr": "10.0.1.10/32"}]}},
                    {"h1": {"subnet": "a", "ip": "10.0.1.10", "security_groups": ["g1"]},
                     "h3": {"subnet": "a", "ip": "10.0.1.30", "security_groups": ["g1"]},
                     "h2": {"subnet": "b", "ip": "10.0.2.20", "security_groups": ["g1"]}},
                    subnets={"a": {"cidr": "10.0.1.0/24"}, "b": {"cidr": "10.0.2.0/24"}}, vpc="10.0.0.0/16")
    m = matrix(network, TCP, 22)
    assert m.class_of["h1"] != m.class_of["h3"]
    assert m.cell("h1", "h2").reachable and not m.cell("h3", "h2").reachable


def test_matrix_keeps_apart_enis_listing_the_same_groups_in_another_order() -> None:
    """A blocker names an ENI's groups in its own order ("sg g1, g3"): ENIs with the same groups in another order
    get their own class, so every cell says what pairwise reach says (a case hypothesis found)."""
    outside_only = {"ingress": [{"proto": "tcp", "ports": 22, "cidr": "203.0.113.0/24"}]}
    network = build({"g1": outside_only, "g3": outside_only},
                    {"h1": {"subnet": "a", "ip": "10.0.1.10", "security_groups": ["g1", "g3"]},
                     "h2": {"subnet": "a", "ip": "10.0.1.20", "security_groups": ["g3", "g1"]},
                     "h3": {"subnet": "b", "ip": "10.0.2.30", "security_groups": ["g1", "g3"]}},
                    subnets={"a": {"cidr": "10.0.1.0/24"}, "b": {"cidr": "10.0.2.0/24"}}, vpc="10.0.0.0/16")
    m = matrix(network, TCP, 80)
    assert {(a, b): cell for a, b, cell in m.pairs()} == pairwise(network, TCP, 80)
    assert m.class_of["h1"] != m.class_of["h2"]
    assert "g3, g1" in str(m.cell("h3", "h2").blockers) and "g1, g3" in str(m.cell("h2", "h1").blockers)


def test_matrix_merges_enis_nothing_tells_apart() -> None:
    network = build({"g1": {"ingress": [{"proto": "tcp", "ports": 22, "sg": "g1"}]}},
                    {f"h{i}": {"subnet": "a", "ip": f"10.0.1.{10 + i}", "security_groups": ["g1"]} for i in range(5)},
                    subnets={"a": {"cidr": "10.0.1.0/24"}}, vpc="10.0.0.0/16")
    m = matrix(network, TCP, 22)
    assert len(m.classes) == 1 and m.questions == 1
    assert sum(1 for _ in m.pairs()) == 20 and all(cell.reachable for _, _, cell in m.pairs())


@SETTINGS
@given(network=lab_networks(), pair=pairs, port=st.sampled_from([22, 443]))
def test_applying_every_fix_opens_the_path(network: Network, pair: tuple[str, str], port: int) -> None:
    """The fixes are enough: when every blocker is a rule or entry (no route to add), applying all of them to the
    model makes the same question reachable — over the initiator's whole ephemeral range."""
    src, dst = pair
    reacher = Reacher(network)
    answer = reacher.reach(endpoint(network, src), endpoint(network, dst), TCP, port)
    if answer.reachable or any(b.fix is None or b.fix.change is None for b in answer.blockers):
        return
    event(f"{len(answer.blockers)} fixes")
    fixed = network
    for b in answer.blockers:
        assert b.fix is not None and b.fix.change is not None and b.fix.cli.startswith("aws ec2 ")
        fixed = b.fix.change.apply(fixed)
    again = Reacher(fixed).reach(endpoint(fixed, src), endpoint(fixed, dst), TCP, port)
    assert again.reachable, [(b.hop.path, b.code, b.fix) for b in again.blockers]
