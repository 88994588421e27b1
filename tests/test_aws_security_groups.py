"""Security group behaviour as AWS documents it; each test cites its section of aws-semantics.md."""

import pytest

from vpclab.engine import Engine, Packet, codes
from vpclab.model import Direction, ModelError, SecurityGroup, SgRule
from vpclab.model.addresses import parse_cidr
from vpclab.sim import Simulator
from vpclab.report.explain import verdict_reason

from netbuild import build

A, B = "198.18.1.10", "198.18.2.20"


def two_hosts(b_ingress, b_egress=None, a_groups=("sg-a",), extra_groups=None, a_egress=None):
    groups = {"sg-a": {"egress": a_egress}, "sg-b": {"ingress": b_ingress, "egress": b_egress}}
    groups.update(extra_groups or {})
    return build(groups=groups,
                 hosts={"a": {"subnet": "a", "ip": A, "security_groups": list(a_groups)},
                        "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"]}})


def syn(dport=4321, src=A, dst=B, sport=40000):
    return Packet.tcp(src, sport, dst, dport, "S")


def test_sg_is_allow_only_and_a_packet_no_rule_admits_is_dropped():
    """aws-semantics.md §1.2: 'You can specify allow rules, but not deny rules.'"""
    verdict = Engine(two_hosts([{"proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0"}])).evaluate(syn(4321), 0)
    assert not verdict.allowed and verdict.code == codes.ENI_SG_RULES_MISMATCH
    assert verdict.where == "b ingress"


def test_rules_of_all_groups_on_an_eni_are_aggregated():
    """aws-semantics.md §1.2: rules from each security group are aggregated to form a single set."""
    net = build(groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0"}]},
                        "sg-c": {"ingress": [{"proto": "tcp", "ports": 4321, "cidr": "198.18.1.0/24"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b", "sg-c"]}})
    engine = Engine(net)
    assert engine.evaluate(syn(22), 0).allowed
    verdict = engine.evaluate(syn(4321, sport=40001), 0)
    assert verdict.allowed and verdict.trace[-1].id == "sg-c"


def test_new_security_group_has_no_ingress_and_allows_all_egress():
    """aws-semantics.md §1.3: a new group starts with only an outbound rule allowing all traffic."""
    group = SecurityGroup.new("sg-x")
    assert group.ingress == ()
    assert group.egress == (SgRule.make("-1", cidr="0.0.0.0/0"),)
    assert len(SecurityGroup.new("sg-y", ipv6=True).egress) == 2


def test_group_with_no_egress_rules_allows_no_outbound_traffic():
    """aws-semantics.md §1.2: 'If your security group has no outbound rules, no outbound traffic is allowed.'"""
    net = two_hosts([{"proto": "-1", "cidr": "0.0.0.0/0"}], a_egress=[])
    verdict = Engine(net).evaluate(syn(), 0)
    assert not verdict.allowed and verdict.where == "a egress"


def test_sender_egress_and_receiver_ingress_are_two_independent_gates():
    """aws-semantics.md §0.12 and §4.2: source SG egress, then destination SG ingress; both must allow."""
    only_egress = Engine(two_hosts([])).evaluate(syn(), 0)
    assert not only_egress.allowed and only_egress.where == "b ingress"
    assert [s.component for s in only_egress.trace] == ["sg", "nacl", "nacl", "sg"]
    only_ingress = Engine(two_hosts([{"proto": "tcp", "ports": 4321, "cidr": A + "/32"}], a_egress=[])).evaluate(syn(), 0)
    assert not only_ingress.allowed and only_ingress.where == "a egress"


def test_protocol_minus_one_means_all_protocols_and_all_ports():
    """aws-semantics.md §1.1: '-1' specifies all protocols; all ports regardless of the range."""
    engine = Engine(two_hosts([{"proto": "-1", "cidr": "198.18.1.0/24"}]))
    assert engine.evaluate(syn(1), 0).allowed
    assert engine.evaluate(Packet.udp(A, 5000, B, 65535), 0).allowed
    assert engine.evaluate(Packet.icmp(A, B, "echo-request", ident=3), 0).allowed
    assert engine.evaluate(Packet.other(A, B, 47), 0).allowed


def test_protocol_number_other_than_tcp_udp_icmp_allows_all_ports():
    """aws-semantics.md §1.1: a protocol number other than tcp/udp/icmp/icmpv6 allows all ports."""
    gre = SgRule.make(47, "80", cidr="198.18.1.0/24")
    assert gre.ports.is_all
    engine = Engine(two_hosts([{"proto": "gre", "cidr": "198.18.1.0/24"}]))
    assert engine.evaluate(Packet.other(A, B, 47), 0).allowed
    assert not engine.evaluate(Packet.other(A, B, 50), 0).allowed


def test_tcp_and_udp_rules_need_a_port_range():
    """aws-semantics.md §1.1: 'For tcp, udp, and icmp, you must specify a port range.'"""
    with pytest.raises(ModelError, match="need ports"):
        SgRule.make("tcp", cidr="0.0.0.0/0")


def test_icmp_rule_matches_type_and_code_with_minus_one_as_all():
    """aws-semantics.md §1.1: for ICMP FromPort is the type, ToPort the code, -1 = all."""
    engine = Engine(two_hosts([{"proto": "icmp", "icmp": {"type": 8, "code": -1}, "cidr": "198.18.1.0/24"}]))
    assert engine.evaluate(Packet.icmp(A, B, 8, code=0, ident=1), 0).allowed
    assert not engine.evaluate(Packet.icmp(A, B, 13, ident=2), 0).allowed
    exact = Engine(two_hosts([{"proto": "icmp", "icmp": {"type": 3, "code": 4}, "cidr": "198.18.1.0/24"}]))
    assert exact.evaluate(Packet.icmp(A, B, 3, code=4), 0).allowed
    assert not exact.evaluate(Packet.icmp(A, B, 3, code=3), 0).allowed


def test_icmp_type_minus_one_requires_code_minus_one():
    """aws-semantics.md §1.1: 'If the start port is -1 (all ICMP types), then the end port must be -1.'"""
    with pytest.raises(ModelError, match="requires code -1"):
        SgRule.make("icmp", cidr="0.0.0.0/0", icmp={"type": -1, "code": 0})


def test_cidrs_are_canonicalised_as_aws_does():
    """aws-semantics.md §1.1: 100.68.0.18/18 is canonicalised to 100.68.0.0/18."""
    assert str(parse_cidr("100.68.0.18/18")) == "100.68.0.0/18"
    assert SgRule.make("tcp", 22, cidr="100.68.0.18/18") == SgRule.make("tcp", 22, cidr="100.68.0.0/18")


def test_a_rule_has_exactly_one_peer():
    """aws-semantics.md §1.1: 'You must specify exactly one of the following sources.'"""
    with pytest.raises(ModelError, match="exactly one peer"):
        SgRule.make("tcp", 22, cidr="0.0.0.0/0", sg="sg-a")
    with pytest.raises(ModelError, match="exactly one peer"):
        SgRule.make("tcp", 22)


def test_authorizing_a_duplicate_rule_is_refused():
    """aws-semantics.md §1.1: adding the non-canonical form of an existing rule is a duplicate-rule error."""
    group = SecurityGroup("sg-x", (SgRule.make("tcp", 22, cidr="10.0.0.0/8"),))
    with pytest.raises(ModelError, match="Duplicate"):
        group.authorize(Direction.INGRESS, SgRule.make("tcp", 22, cidr="10.1.2.3/8", description="again"))


def test_revoke_must_match_an_existing_rule_exactly():
    """aws-semantics.md §1.2: revoking a rule that does not match returns InvalidPermission.NotFound."""
    group = SecurityGroup("sg-x", (SgRule.make("tcp", 22, cidr="10.0.0.0/8"),))
    with pytest.raises(ModelError, match="NotFound"):
        group.revoke(Direction.INGRESS, SgRule.make("tcp", 23, cidr="10.0.0.0/8"))
    assert group.revoke(Direction.INGRESS, SgRule.make("tcp", 22, cidr="10.0.0.0/8")).ingress == ()


def test_group_reference_matches_private_ips_of_enis_carrying_the_group():
    """aws-semantics.md §1.4: instances of the referenced group, by their private IP addresses."""
    net = build(groups={"sg-a": {}, "sg-c": {}, "sg-b": {"ingress": [{"proto": "tcp", "ports": 22, "sg": "sg-a"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"]},
                       "c": {"subnet": "a", "ip": "198.18.1.11", "security_groups": ["sg-c"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"]}})
    engine = Engine(net)
    assert engine.evaluate(syn(22), 0).allowed
    assert not engine.evaluate(syn(22, src="198.18.1.11"), 0).allowed
    engine.update(net.set_security_groups("c", ["sg-c", "sg-a"]))  # membership changes what the reference matches
    assert engine.evaluate(syn(22, src="198.18.1.11", sport=40009), 1).allowed


def test_group_reference_never_matches_a_public_ip():
    """aws-semantics.md §1.4 and §4.2: references match private IPs only, never public IPv4 or EIPs."""
    net = build(subnets={"pub": {"cidr": "198.18.1.0/24", "public": True}},
                groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "tcp", "ports": 22, "sg": "sg-a"}]}},
                hosts={"a": {"subnet": "pub", "ip": A, "public_ip": "198.51.100.1", "security_groups": ["sg-a"]},
                       "b": {"subnet": "pub", "ip": "198.18.1.20", "public_ip": "198.51.100.2",
                             "security_groups": ["sg-b"]}})
    engine = Engine(net)
    assert engine.evaluate(syn(22, dst="198.18.1.20"), 0).allowed  # private address: matches
    hairpin = engine.evaluate(syn(22, dst="198.51.100.2", sport=40001), 0)  # through the IGW: source is public
    assert not hairpin.allowed and hairpin.where == "b ingress"
    assert "198.51.100.1" in verdict_reason(hairpin)


def test_prefix_list_peer_matches_its_cidrs():
    """aws-semantics.md §1.1: PrefixListIds as a rule's source or destination."""
    net = build(groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "tcp", "ports": 22, "prefix_list": "pl-admins"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"]},
                       "c": {"subnet": "a", "ip": "198.18.1.99", "security_groups": ["sg-a"]}},
                prefix_lists={"pl-admins": ["198.18.1.10/32", "192.0.2.0/24"]})
    engine = Engine(net)
    assert engine.evaluate(syn(22), 0).allowed
    assert not engine.evaluate(syn(22, src="198.18.1.99"), 0).allowed


def test_icmpv6_rules_match_ipv6_packets_only():
    """aws-semantics.md §1.1: icmpv6 rules; type 128 code 0 is the IPv6 echo request."""
    net = build(subnets={"a": {"cidr": "198.18.1.0/24", "ipv6_cidr": "2001:db8:0:1::/64"},
                         "b": {"cidr": "198.18.2.0/24", "ipv6_cidr": "2001:db8:0:2::/64"}},
                groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "icmpv6", "icmp": {"type": 128, "code": 0},
                                                         "cidr": "2001:db8::/56"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "ipv6": "2001:db8:0:1::10", "security_groups": ["sg-a"]},
                       "b": {"subnet": "b", "ip": B, "ipv6": "2001:db8:0:2::20", "security_groups": ["sg-b"]}},
                ipv6_cidr="2001:db8::/56")
    sim = Simulator(net)
    assert sim.ping("a", "2001:db8:0:2::20", ident=5).outcome == "reply"
    assert sim.ping("a", "b", ident=6).outcome == "no-reply"  # IPv4 echo: no IPv4 ICMP rule
