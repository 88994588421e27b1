"""Network ACLs and paths as AWS documents them (aws-semantics.md §3 and §4)."""

import pytest

from vpclab.engine import Engine, Packet, codes
from vpclab.model import Direction, ModelError, NaclEntry, NetworkAcl
from vpclab.sim import Simulator
from vpclab.report.explain import verdict_reason

from netbuild import build, entry

A, B = "198.18.1.10", "198.18.2.20"
OPEN = {"ingress": [{"proto": "-1", "cidr": "0.0.0.0/0"}]}


def with_nacls(nacls, a_nacl="default", b_nacl="default", extra_hosts=None):
    hosts = {"a": {"subnet": "a", "ip": A, "security_groups": ["sg-open"]},
             "b": {"subnet": "b", "ip": B, "security_groups": ["sg-open"]}}
    hosts.update(extra_hosts or {})
    return build(groups={"sg-open": OPEN},
                 subnets={"a": {"cidr": "198.18.1.0/24", "nacl": a_nacl}, "b": {"cidr": "198.18.2.0/24", "nacl": b_nacl}},
                 nacls=nacls, hosts=hosts)


def test_nacl_rules_are_evaluated_lowest_number_first_and_first_match_wins():
    """aws-semantics.md §3.1: 'We evaluate the rules in order, starting with the lowest numbered rule.'"""
    nacls = {"locked": {"ingress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": "0-65535", "cidr": "0.0.0.0/0"},
                                    {"rule": 90, "action": "deny", "proto": "tcp", "ports": 22, "cidr": "198.18.1.0/24"}],
                        "egress": [{"rule": 100, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}]}}
    engine = Engine(with_nacls(nacls, b_nacl="locked"))
    denied = engine.evaluate(Packet.tcp(A, 40000, B, 22), 0)
    assert not denied.allowed and denied.code == codes.SUBNET_ACL_RESTRICTION
    assert denied.trace[-1].rule.ref == "90"
    allowed = engine.evaluate(Packet.tcp(A, 40000, B, 23), 0)
    assert allowed.allowed and [s.rule.ref for s in allowed.trace if s.component == "nacl"][-1] == "100"


def test_nacl_star_rule_denies_what_no_numbered_entry_matches():
    """aws-semantics.md §3.1: the * rule denies a packet matching no numbered rule; shown as 32767 / 32768."""
    nacls = {"locked": {"ingress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0"}]}}
    verdict = Engine(with_nacls(nacls, b_nacl="locked")).evaluate(Packet.tcp(A, 40000, B, 23), 0)
    assert not verdict.allowed and verdict.trace[-1].rule.ref == "*"
    assert "rule *: deny" in verdict_reason(verdict)


@pytest.mark.parametrize("number", [0, 32767, 40000])
def test_nacl_rule_numbers_are_1_to_32766(number):
    """aws-semantics.md §3.1: 'Positive integer from 1 to 32766. The range 32767 to 65535 is reserved.'"""
    with pytest.raises(ModelError, match="1-32766"):
        NaclEntry.make(number, "allow", "tcp", "0.0.0.0/0", 22)


def test_nacl_duplicate_rule_numbers_are_refused():
    """aws-semantics.md §3.1: entries are numbered; a number is used once per direction."""
    acl = NetworkAcl.custom("x").with_entry(Direction.INGRESS, NaclEntry.make(100, "allow", "-1", "0.0.0.0/0"))
    with pytest.raises(ModelError, match="already has ingress rule 100"):
        acl.with_entry(Direction.INGRESS, NaclEntry.make(100, "deny", "tcp", "0.0.0.0/0", 22))
    acl.with_entry(Direction.EGRESS, NaclEntry.make(100, "deny", "tcp", "0.0.0.0/0", 22))  # other direction: fine


def test_nacl_protocol_minus_one_or_other_numbers_match_all_ports():
    """aws-semantics.md §3.1: '-1' or a number other than 6, 17, 1 allows traffic on all ports."""
    assert NaclEntry.make(100, "allow", "47", "0.0.0.0/0", ports="80").ports.is_all
    assert NaclEntry.make(100, "allow", "-1", "0.0.0.0/0").ports.is_all


def test_nacl_ipv4_and_ipv6_rules_are_independent():
    """aws-semantics.md §3.1: 'none of the rules for the IPv4 traffic apply to the IPv6 traffic'."""
    acl = NetworkAcl.custom("x").with_entry(Direction.INGRESS, NaclEntry.make(100, "allow", "-1", "0.0.0.0/0"))
    from vpclab.engine.nacl import NaclPolicy
    policy = NaclPolicy(acl, Direction.INGRESS)
    assert policy.decide(4, 6, int.from_bytes(bytes([198, 18, 1, 10]), "big"), 22) == 0
    assert policy.decide(6, 6, 1, 22) == -1


def test_default_nacl_allows_all_and_a_new_custom_nacl_denies_all():
    """aws-semantics.md §3.2: default NACL allows all; a created NACL blocks all until rules are added."""
    assert Engine(with_nacls({})).evaluate(Packet.tcp(A, 40000, B, 22), 0).allowed
    blocked = Engine(with_nacls({"fresh": {}}, b_nacl="fresh")).evaluate(Packet.tcp(A, 40000, B, 22), 0)
    assert not blocked.allowed and blocked.where == "subnet b ingress"


def test_a_subnet_without_an_explicit_association_uses_the_default_nacl():
    """aws-semantics.md §3.2: a subnet not explicitly associated is associated with the default NACL."""
    net = with_nacls({})
    assert net.subnets["a"].nacl == "default" and net.nacls["default"].ingress[0].number == 100


def test_nacl_is_not_evaluated_within_a_subnet():
    """aws-semantics.md §3.3: rules are evaluated when traffic enters and leaves the subnet, not within it."""
    net = with_nacls({"fresh": {}}, a_nacl="fresh",
                     extra_hosts={"c": {"subnet": "a", "ip": "198.18.1.11", "security_groups": ["sg-open"]}})
    sim = Simulator(net)
    sim.listen("c", "tcp", 22)
    conn, ex = sim.connect("a", "198.18.1.11", 22)
    assert ex.outcome == "established"
    assert any(s.code == codes.NACL_NOT_EVALUATED for s in ex.packets[0].verdict.trace)
    assert sim.connect("a", "b", 22)[1].outcome == "blocked"  # leaving the subnet: denied


def test_nacl_is_stateless_and_replies_need_ephemeral_port_rules():
    """aws-semantics.md §3.4: responses need their own rules for the client's ephemeral ports."""
    nacls = {"app": {"ingress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": 22, "cidr": "198.18.1.0/24"}],
                     "egress": [{"rule": 100, "action": "allow", "proto": "tcp", "ports": 22, "cidr": "198.18.1.0/24"}]}}
    net = with_nacls(nacls, b_nacl="app")
    sim = Simulator(net)
    sim.listen("b", "tcp", 22)
    ex = sim.connect("a", "b", 22)[1]
    assert ex.outcome == "blocked"
    assert ex.packets[1].verdict.where == "subnet b egress"  # the SYN-ACK to port 32768
    fixed = net.add_nacl_entry("app", Direction.EGRESS, entry(
        {"rule": 110, "action": "allow", "proto": "tcp", "ports": "32768-60999", "cidr": "198.18.1.0/24"}))
    sim.apply(fixed)
    assert sim.connect("a", "b", 22)[1].outcome == "established"


def test_a_nacl_change_breaks_existing_connections():
    """aws-semantics.md §2.4: 'Adding a network ACL that blocks traffic in either direction breaks existing connections.'"""
    net = with_nacls({"fresh": {}})
    sim = Simulator(net)
    sim.listen("b", "tcp", 22)
    conn, _ = sim.connect("a", "b", 22)
    assert sim.send(conn, b"one").outcome == "delivered"
    sim.apply(net.associate_nacl("b", "fresh"))
    assert sim.send(conn, b"two").outcome == "dropped"


@pytest.mark.parametrize("address", ["198.18.0.2", "169.254.169.253", "169.254.169.254", "169.254.169.123"])
def test_amazon_dns_imds_and_time_sync_are_never_filtered(address):
    """aws-semantics.md §3.3 and §4.2: SGs and NACLs do not filter DNS (VPC+2), IMDS, Time Sync."""
    net = build(groups={"sg-closed": {"egress": []}}, subnets={"a": {"cidr": "198.18.1.0/24", "nacl": "fresh"}},
                nacls={"fresh": {}}, hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-closed"]}})
    verdict = Engine(net).evaluate(Packet.udp(A, 40000, address, 53), 0)
    assert verdict.allowed and verdict.code == codes.NOT_FILTERED_SERVICE


def internet_net(public=True, public_ip="198.51.100.10"):
    host = {"subnet": "a", "ip": A, "security_groups": ["sg-web"]}
    if public_ip:
        host["public_ip"] = public_ip
    return build(subnets={"a": {"cidr": "198.18.1.0/24", "public": public}},
                 groups={"sg-web": {"ingress": [{"proto": "tcp", "ports": 443, "cidr": "192.0.2.0/24"}]}},
                 hosts={"web": host, "client": {"internet": True, "ip": "192.0.2.7"}})


def test_internet_gateway_translates_the_public_ip_and_filters_see_the_private_address():
    """aws-semantics.md §4.2: the IGW translates the destination into the instance's private IPv4 address."""
    sim = Simulator(internet_net())
    sim.listen("web", "tcp", 443)
    conn, ex = sim.connect("client", "198.51.100.10", 443)
    assert ex.outcome == "established"
    syn = ex.packets[0].verdict
    assert syn.delivered.dst_ip.exploded == A
    assert [s.component for s in syn.trace] == ["route", "nacl", "sg"]
    synack = ex.packets[1]
    assert synack.packet.src_ip.exploded == A and synack.verdict.delivered.src_ip.exploded == "198.51.100.10"
    assert sim.connect("client", A, 443)[1].outcome == "blocked"  # private addresses are not reachable


def test_a_private_subnet_has_no_route_to_the_internet():
    """aws-semantics.md §4.2: a subnet is public only with a route to an internet gateway."""
    verdict = Engine(internet_net(public=False)).evaluate(Packet.tcp(A, 40000, "192.0.2.7", 443), 0)
    assert not verdict.allowed and verdict.code == codes.NO_ROUTE_TO_DESTINATION


def test_an_instance_without_a_public_ip_cannot_use_the_internet_gateway():
    """aws-semantics.md §4.2: the IGW performs 1:1 translation of public IPv4 addresses only."""
    verdict = Engine(internet_net(public_ip=None)).evaluate(Packet.tcp(A, 40000, "192.0.2.7", 443), 0)
    assert not verdict.allowed and verdict.code == codes.IGW_PRIVATE_IP_ASSOCIATION


def test_path_between_subnets_is_sg_egress_nacl_egress_nacl_ingress_sg_ingress():
    """aws-semantics.md §0.12 and §4.2: the order of filters between two subnets, and again for the reply."""
    net = build(groups={"sg-vpc": {"ingress": [{"proto": "-1", "cidr": "198.18.0.0/16"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-vpc"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-vpc"]}})
    sim = Simulator(net)
    sim.listen("b", "tcp", 22)
    ex = sim.connect("a", "b", 22)[1]
    order = [(s.component, s.host or s.id, s.direction) for s in ex.packets[0].verdict.trace]
    assert order == [("sg", "a", "egress"), ("nacl", "default", "egress"), ("nacl", "default", "ingress"),
                     ("sg", "b", "ingress")]
    reply = [(s.component, s.direction) for s in ex.packets[1].verdict.trace]
    assert reply == [("conntrack", "egress"), ("nacl", "egress"), ("nacl", "ingress"), ("conntrack", "ingress")]
