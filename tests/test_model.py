"""The model: canonical forms, validation with field paths, immutability and versioned changes."""

import dataclasses
from ipaddress import IPv4Address, ip_address, ip_network

import pytest

from vpclab.model import (ConntrackSettings, Direction, Host, IcmpMatch, ModelError, NaclEntry, Network, PortRange,
                          SecurityGroup, SgRule, Subnet, Vpc, parse_protocol)

from netbuild import build, rule


@pytest.mark.parametrize("text,number", [("tcp", 6), ("UDP", 17), ("icmp", 1), ("icmpv6", 58), ("-1", -1),
                                         ("all", -1), (-1, -1), ("47", 47), (132, 132), ("gre", 47)])
def test_protocols_take_aws_names_numbers_minus_one_and_all(text, number):
    """aws-semantics.md §1.1: IpProtocol is a name (tcp, udp, icmp, icmpv6) or a number; -1 = all."""
    assert parse_protocol(text) == number


@pytest.mark.parametrize("bad", ["tcpp", 256, -2, "", True, None])
def test_unknown_protocols_are_refused_with_what_is_expected(bad):
    with pytest.raises(ModelError, match="expected"):
        parse_protocol(bad)


@pytest.mark.parametrize("text,first,last", [(22, 22, 22), ("20-21", 20, 21), ("all", 0, 65535), (-1, 0, 65535)])
def test_port_ranges_parse(text, first, last):
    assert PortRange.parse(text) == PortRange(first, last)


@pytest.mark.parametrize("bad", [70000, "70000", "30-20", "http", "1-70000", -5])
def test_bad_ports_are_refused(bad):
    with pytest.raises(ModelError):
        PortRange.parse(bad)


def test_icmp_names_are_accepted():
    assert IcmpMatch.parse({"type": "echo-request"}) == IcmpMatch(8, -1)
    assert IcmpMatch.parse({"type": "echo-request"}, 58) == IcmpMatch(128, -1)
    with pytest.raises(ModelError, match="out of range"):
        IcmpMatch.parse({"type": 300})


def test_bad_cidr_is_refused():
    with pytest.raises(ModelError, match="not a valid CIDR"):
        SgRule.make("tcp", 22, cidr="10.0.0.300/8")


def test_conntrack_settings_report_every_problem():
    with pytest.raises(ModelError) as error:
        ConntrackSettings(tcp_established=10, udp=100, max_entries=0)
    assert [p.field for p in error.value.problems] == ["tcp_established", "udp", "max_entries"]


def test_network_validation_reports_every_problem_with_its_field():
    with pytest.raises(ModelError) as error:
        build(groups={"sg-a": {"ingress": [{"proto": "tcp", "ports": 22, "sg": "sg-nope"},
                                           {"proto": "tcp", "ports": 22, "prefix_list": "pl-nope"}]}},
              subnets={"a": {"cidr": "198.18.1.0/24", "nacl": "missing"}, "z": {"cidr": "10.0.0.0/24"}},
              hosts={"h": {"subnet": "a", "ip": "198.18.9.9", "security_groups": ["sg-a", "sg-x"]},
                     "r": {"subnet": "a", "ip": "198.18.1.1", "security_groups": ["sg-a"]},
                     "s": {"subnet": "nowhere", "ip": "198.18.1.20", "security_groups": ["sg-a"]}})
    fields = [p.field for p in error.value.problems]
    assert fields == ["subnets.a.nacl", "subnets.z.cidr", "hosts.h.ip", "hosts.h.security_groups", "hosts.r.ip",
                      "hosts.s.subnet", "security_groups.sg-a.ingress[1].sg", "security_groups.sg-a.ingress[2].prefix_list"]
    assert "reserved by AWS" in str(error.value)


def test_a_public_ip_inside_any_vpc_cidr_is_refused():
    """A public IP must lie outside every VPC's CIDRs, secondary ones and other VPCs' included (edges checked)."""
    vpcs = [Vpc(ip_network("10.0.0.0/16"), id="vpc-a", secondary_cidrs=(ip_network("100.64.0.0/16"),)),
            Vpc(ip_network("172.16.0.0/16"), id="vpc-b")]
    publics = {"other-vpc": "172.16.255.255", "secondary": "100.64.0.0", "after": "100.65.0.0",
               "before": "172.15.255.255"}
    hosts = [Host(name, ip_address(f"10.0.1.{10 + i}"), "a", ("sg-a",), IPv4Address(public))
             for i, (name, public) in enumerate(publics.items())]
    with pytest.raises(ModelError) as error:
        Network.build(vpcs, [Subnet("a", ip_network("10.0.1.0/24"), vpc="vpc-a")], hosts, [SecurityGroup.new("sg-a")])
    assert [p.field for p in error.value.problems] == ["hosts.other-vpc.public_ip", "hosts.secondary.public_ip"]


def test_an_internet_host_inside_a_vpc_cidr_is_refused_for_either_family():
    """An internet host stands outside every VPC: neither its IPv4 nor its IPv6 address may lie in a VPC's CIDRs."""
    vpc = Vpc(ip_network("10.0.0.0/16"), ip_network("2001:db8::/56"), id="vpc-a")
    outside = [Host("v4", ip_address("10.0.9.9"), internet=True),
               Host("v6", ip_address("203.0.113.9"), ipv6=ip_address("2001:db8:0:9::9"), internet=True),
               Host("fine", ip_address("203.0.113.10"), ipv6=ip_address("2001:db8:ffff::10"), internet=True)]
    with pytest.raises(ModelError) as error:
        Network.build(vpc, [], outside)
    assert [p.field for p in error.value.problems] == ["hosts.v4.ip", "hosts.v6.ipv6"]
    assert "2001:db8::/56" in str(error.value.problems[1])


def test_models_are_immutable_and_hashable_and_changes_make_new_versions():
    """DESIGN.md: models are immutable and hashable; changes produce new versions."""
    net = build(groups={"sg-a": {}}, hosts={"h": {"subnet": "a", "ip": "198.18.1.10", "security_groups": ["sg-a"]}})
    changed = net.authorize("sg-a", Direction.INGRESS, rule({"proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0"}))
    assert changed != net and hash(changed) != hash(net)
    assert net.security_groups["sg-a"].ingress == ()
    assert {net: 1}[build(groups={"sg-a": {}}, hosts={"h": {"subnet": "a", "ip": "198.18.1.10",
                                                            "security_groups": ["sg-a"]}})] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.vpcs = None  # type: ignore[misc]
    again = changed.add_nacl_entry("default", Direction.INGRESS, NaclEntry.make(50, "deny", "tcp", "0.0.0.0/0", 22))
    assert [e.number for e in again.nacls["default"].ingress] == [50, 100]
    assert [e.number for e in changed.nacls["default"].ingress] == [100]
    with pytest.raises(ModelError, match="unknown network ACL"):
        net.associate_nacl("a", "nope")


def test_frozen_maps_equal_in_another_order_hash_alike():
    """Python's contract (a == b implies hash(a) == hash(b)): importers list objects in their source's order."""
    from vpclab.model.frozen import FrozenMap

    a, b = FrozenMap({"x": 1, "y": 2}), FrozenMap({"y": 2, "x": 1})
    assert a == b and hash(a) == hash(b) and list(a) == ["x", "y"]
