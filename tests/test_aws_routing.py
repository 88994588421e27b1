"""Route tables: which table a subnet uses and which route wins (aws-routing-terraform.md §1)."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from vpclab.engine import Engine, Packet, codes
from vpclab.engine.routing import RouteLookup
from vpclab.errors import Origin
from vpclab.model import Host, ModelError, Network, SecurityGroup, SgRule, Subnet, Vpc
from vpclab.model.routing import (Peering, Route, RouteTable, TargetKind, TgwAttachment, TgwRoute, TransitGateway,
                                  target_kind)
from vpclab.report.explain import verdict_reason

PL = {"pl-s3": (ip_network("52.216.0.0/15"), ip_network("54.231.0.0/16"))}


def lookup(routes: list[Route], address: str) -> Route | None:
    ip = ip_address(address)
    return RouteLookup(RouteTable("rtb-1", "vpc", tuple(routes)), PL).lookup(int(ip), ip.version == 6)


def test_longest_prefix_wins_whatever_the_order():
    """§1.2: route selection is longest prefix match."""
    routes = [Route(ip_network("0.0.0.0/0"), "igw-1"), Route(ip_network("10.0.0.0/16"), "local"),
              Route(ip_network("10.1.0.0/16"), "pcx-1"), Route(ip_network("10.1.2.0/24"), "tgw-1")]
    assert lookup(routes, "10.1.2.3").target == "tgw-1"
    assert lookup(routes, "10.1.9.9").target == "pcx-1"
    assert lookup(routes, "10.0.0.9").target == "local"
    assert lookup(routes, "8.8.8.8").target == "igw-1"


def test_ipv4_and_ipv6_are_separate():
    """§1.2: 0.0.0.0/0 does not cover IPv6."""
    routes = [Route(ip_network("0.0.0.0/0"), "igw-1")]
    assert lookup(routes, "2001:db8::1") is None
    assert lookup(routes + [Route(ip_network("::/0"), "eigw-1")], "2001:db8::1").target == "eigw-1"


def test_a_blackhole_route_still_wins_its_match():
    """§1.4: a matching blackhole route drops; AWS does not fall back to a shorter prefix."""
    routes = [Route(ip_network("0.0.0.0/0"), "igw-1"), Route(ip_network("10.9.0.0/16"), "pcx-gone", "blackhole")]
    route = lookup(routes, "10.9.1.1")
    assert route.target == "pcx-gone" and route.blackhole


def test_ties_static_cidr_then_prefix_list_then_propagated():
    """§1.2 route priority: for the same prefix a static CIDR route beats a prefix-list route, which beats a
    propagated route."""
    same = ip_network("54.231.0.0/16")
    assert lookup([Route("pl-s3", "vpce-1"), Route(same, "nat-1")], "54.231.1.1").target == "nat-1"
    assert lookup([Route(same, "vgw-1", propagated=True), Route("pl-s3", "vpce-1")], "54.231.1.1").target == "vpce-1"
    assert lookup([Route(same, "vgw-1", propagated=True), Route(same, "tgw-1")], "54.231.1.1").target == "tgw-1"


def test_prefix_list_routes_cover_each_cidr_of_the_list():
    """§6: a gateway endpoint's route has the service's prefix list as destination."""
    routes = [Route(ip_network("0.0.0.0/0"), "nat-1"), Route("pl-s3", "vpce-1")]
    assert lookup(routes, "52.217.0.1").target == "vpce-1" and lookup(routes, "52.218.0.1").target == "nat-1"


@pytest.mark.parametrize("target, kind", [("local", TargetKind.LOCAL), ("igw-1", TargetKind.INTERNET_GATEWAY),
                                          ("eigw-1", TargetKind.EGRESS_ONLY_GATEWAY), ("vgw-1", TargetKind.VPN_GATEWAY),
                                          ("vpce-1", TargetKind.ENDPOINT), ("nat-1", TargetKind.NAT_GATEWAY),
                                          ("pcx-1", TargetKind.PEERING), ("tgw-1", TargetKind.TRANSIT_GATEWAY),
                                          ("eni-1", TargetKind.NETWORK_INTERFACE), ("i-1", TargetKind.INSTANCE)])
def test_targets_are_classified_by_id_prefix(target, kind):
    """§1.3: GatewayId is overloaded, so the kind comes from the id's prefix."""
    assert target_kind(target) is kind


def two_subnets(route_tables=()) -> Network:
    vpc = Vpc(ip_network("10.0.0.0/16"), id="vpc-1")
    subnets = [Subnet("a", ip_network("10.0.1.0/24"), vpc="vpc-1"), Subnet("b", ip_network("10.0.2.0/24"), vpc="vpc-1")]
    return Network.build(vpc, subnets, route_tables=route_tables)


def test_a_subnet_without_an_explicit_association_uses_the_main_table():
    """§1.1: every subnet has exactly one route table: its explicit association, else the VPC's main table."""
    local = (Route(ip_network("10.0.0.0/16"), "local"),)
    main = RouteTable("rtb-main", "vpc-1", local, main=True)
    custom = RouteTable("rtb-pub", "vpc-1", local + (Route(ip_network("0.0.0.0/0"), "igw-1"),), subnets=("b",))
    net = two_subnets([main, custom])
    assert net.route_table_of("a").id == "rtb-main" and net.route_table_of("b").id == "rtb-pub"
    assert not net.routes_to_internet("a") and net.routes_to_internet("b")


def test_aws_adds_a_main_table_with_the_local_routes():
    """§1.1-1.2: the main table is created with the VPC and every table has a local route per VPC CIDR."""
    net = two_subnets()
    table = net.route_table_of("a")
    assert table.main and [str(r) for r in table.routes] == ["10.0.0.0/16 → local"]


def test_a_subnet_has_one_route_table_and_a_vpc_one_main_table():
    """§1.1: one subnet ↔ one table; the main table is unique per VPC."""
    local = (Route(ip_network("10.0.0.0/16"), "local"),)
    with pytest.raises(ModelError) as error:
        two_subnets([RouteTable("rtb-1", "vpc-1", local, main=True, subnets=("a",)),
                     RouteTable("rtb-2", "vpc-1", local, main=True, subnets=("a",))])
    messages = " ".join(p.message for p in error.value.problems)
    assert "already has main route table rtb-1" in messages and "already associated with route table rtb-1" in messages


# ---- the engine routes through the tables ---------------------------------------------------------------

OPEN = SecurityGroup("sg-open", (SgRule.make("-1", cidr="0.0.0.0/0"),), (SgRule.make("-1", cidr="0.0.0.0/0"),))


def peered(state: str = "active", back_route: bool = True, blackhole_origin: Origin | None = None) -> Network:
    """vpc-a 10.0.0.0/16 and vpc-b 10.1.0.0/16 peered by pcx-1; each routes the other's CIDR to it."""
    a = Vpc(ip_network("10.0.0.0/16"), id="vpc-a")
    b = Vpc(ip_network("10.1.0.0/16"), id="vpc-b")
    subnets = [Subnet("sa", ip_network("10.0.1.0/24"), vpc="vpc-a"),
               Subnet("sb", ip_network("10.1.1.0/24"), vpc="vpc-b")]
    hosts = [Host("ha", ip_address("10.0.1.10"), "sa", ("sg-open",)),
             Host("hb", ip_address("10.1.1.10"), "sb", ("sg-open",))]
    table_a = RouteTable("rtb-a", "vpc-a", (Route(ip_network("10.0.0.0/16"), "local"),
                                            Route(ip_network("10.1.0.0/16"), "pcx-1"),
                                            Route(ip_network("10.9.0.0/16"), "pcx-old", "blackhole",
                                                  origin=blackhole_origin),
                                            Route(ip_network("172.16.0.0/12"), "vgw-1"),
                                            Route(ip_network("192.168.0.0/16"), "nat-1")), main=True)
    routes_b = (Route(ip_network("10.1.0.0/16"), "local"),) + ((Route(ip_network("10.0.0.0/16"), "pcx-1"),)
                                                                 if back_route else ())
    table_b = RouteTable("rtb-b", "vpc-b", routes_b, main=True)
    return Network.build([a, b], subnets, hosts, [OPEN], route_tables=[table_a, table_b],
                         peerings=[Peering("pcx-1", "vpc-a", "vpc-b", state)])


def test_an_active_peering_carries_traffic_both_ways_when_both_sides_route():
    """§4: each owner routes the peer CIDR to the pcx; NACLs of both subnets apply."""
    engine = Engine(peered())
    syn = engine.evaluate(Packet.tcp("10.0.1.10", 40000, "10.1.1.10", 22), 0.0)
    assert syn.allowed and syn.receiver == "hb"
    assert [s.component for s in syn.trace] == ["sg", "nacl", "route", "nacl", "sg"]
    assert engine.evaluate(Packet.tcp("10.1.1.10", 22, "10.0.1.10", 40000, "SA"), 0.1).allowed


def test_without_a_route_back_the_reply_has_no_route():
    """§4: routes on both sides; no unicast RPF, the responder's own table decides the reply."""
    engine = Engine(peered(back_route=False))
    assert engine.evaluate(Packet.tcp("10.0.1.10", 40000, "10.1.1.10", 22), 0.0).allowed
    reply = engine.evaluate(Packet.tcp("10.1.1.10", 22, "10.0.1.10", 40000, "SA"), 0.1)
    assert not reply.allowed and reply.code == codes.NO_ROUTE_TO_DESTINATION
    assert "no route to 10.0.1.10" in verdict_reason(reply)


def test_a_peering_that_is_not_active_carries_nothing():
    """§4: traffic flows only when the connection is active."""
    engine = Engine(peered(state="pending-acceptance"))
    verdict = engine.evaluate(Packet.tcp("10.0.1.10", 40000, "10.1.1.10", 22), 0.0)
    assert not verdict.allowed and verdict.code == codes.PEERING_NOT_ACTIVE


def test_a_blackhole_route_drops_and_cites_the_route():
    """§1.4: a matching blackhole route drops; the answer points at the route to change."""
    origin = Origin("RouteTables.json", path="$.RouteTables[0].Routes[2]")
    verdict = Engine(peered(blackhole_origin=origin)).evaluate(Packet.tcp("10.0.1.10", 40000, "10.9.0.5", 22), 0.0)
    assert not verdict.allowed and verdict.code == codes.BLACKHOLE_ROUTE
    assert verdict.trace[-1].source == "RouteTables.json: $.RouteTables[0].Routes[2]"
    assert "blackhole" in verdict_reason(verdict)


def test_a_vpn_gateway_route_leaves_the_modelled_network():
    """§1.3: a virtual private gateway takes traffic to VPN/Direct Connect, outside the snapshot."""
    verdict = Engine(peered()).evaluate(Packet.tcp("10.0.1.10", 40000, "172.16.0.5", 22), 0.0)
    assert verdict.allowed and verdict.receiver is None
    assert any(s.code == codes.ROUTE_VIA and s.id == "vgw-1" for s in verdict.trace)


def test_a_target_not_modelled_yet_is_said_not_guessed():
    """A NAT gateway route is not modelled yet (assumptions P13): the verdict says so instead of guessing."""
    verdict = Engine(peered()).evaluate(Packet.tcp("10.0.1.10", 40000, "192.168.1.1", 22), 0.0)
    assert not verdict.allowed and verdict.code == codes.ROUTE_TARGET_NOT_MODELLED
    assert "does not model yet" in verdict_reason(verdict)


def test_overlapping_vpcs_keep_their_own_addresses():
    """§4 (overlaps are allowed between VPCs that are not peered): the same private IP in two VPCs."""
    a = Vpc(ip_network("10.0.0.0/16"), id="vpc-a")
    b = Vpc(ip_network("10.0.0.0/16"), id="vpc-b")
    subnets = [Subnet("sa", ip_network("10.0.1.0/24"), vpc="vpc-a"),
               Subnet("sb", ip_network("10.0.1.0/24"), vpc="vpc-b"),
               Subnet("sa2", ip_network("10.0.2.0/24"), vpc="vpc-a")]
    hosts = [Host("ha", ip_address("10.0.1.10"), "sa", ("sg-open",)),
             Host("hb", ip_address("10.0.1.10"), "sb", ("sg-open",)),
             Host("ha2", ip_address("10.0.2.10"), "sa2", ("sg-open",))]
    net = Network.build([a, b], subnets, hosts, [OPEN])
    verdict = Engine(net).evaluate(Packet.tcp("10.0.2.10", 40000, "10.0.1.10", 22), 0.0)
    assert verdict.allowed and verdict.receiver == "ha"  # the host of its own VPC, through vpc-a's local route


def tgw_network(zone_b: str = "z1", blackhole: bool = False, attach_b: bool = True) -> Network:
    """vpc-a and vpc-b attached to tgw-1; the default TGW table has both VPCs' CIDRs propagated."""
    a = Vpc(ip_network("10.0.0.0/16"), id="vpc-a")
    b = Vpc(ip_network("10.1.0.0/16"), id="vpc-b")
    subnets = [Subnet("sa", ip_network("10.0.1.0/24"), vpc="vpc-a", zone="z1"),
               Subnet("sb", ip_network("10.1.1.0/24"), vpc="vpc-b", zone=zone_b)]
    hosts = [Host("ha", ip_address("10.0.1.10"), "sa", ("sg-open",)),
             Host("hb", ip_address("10.1.1.10"), "sb", ("sg-open",))]
    tables = [RouteTable("rtb-a", "vpc-a", (Route(ip_network("10.0.0.0/16"), "local"),
                                            Route(ip_network("10.0.0.0/8"), "tgw-1")), main=True),
              RouteTable("rtb-b", "vpc-b", (Route(ip_network("10.1.0.0/16"), "local"),
                                            Route(ip_network("10.0.0.0/8"), "tgw-1")), main=True)]
    attachments = (TgwAttachment("att-a", "vpc", "vpc-a", ("sa",), "tgw-rtb"),) + (
        (TgwAttachment("att-b", "vpc", "vpc-b", ("sb",), "tgw-rtb"),) if attach_b else ())
    routes = (TgwRoute(ip_network("10.0.0.0/16"), "att-a", propagated=True),
              TgwRoute(ip_network("10.1.0.0/16"), None if blackhole else "att-b",
                       "blackhole" if blackhole else "active", propagated=not blackhole))
    tgw = TransitGateway("tgw-1", attachments, (("tgw-rtb", routes),))
    return Network.build([a, b], subnets, hosts, [OPEN], route_tables=tables, transit_gateways=[tgw])


def test_a_transit_gateway_routes_between_attached_vpcs_by_its_associated_table():
    """§5.1: traffic arriving from an attachment is looked up in the table it is associated with."""
    engine = Engine(tgw_network())
    syn = engine.evaluate(Packet.tcp("10.0.1.10", 40000, "10.1.1.10", 22), 0.0)
    assert syn.allowed and syn.receiver == "hb" and any(s.id == "tgw-1" for s in syn.trace)
    assert engine.evaluate(Packet.tcp("10.1.1.10", 22, "10.0.1.10", 40000, "SA"), 0.1).allowed


def test_a_subnet_in_a_zone_without_an_attachment_subnet_cannot_use_the_tgw():
    """§5.2: an attachment names one subnet per zone; a subnet in another zone cannot use the TGW route."""
    engine = Engine(tgw_network(zone_b="z2"))
    assert engine.evaluate(Packet.tcp("10.0.1.10", 40000, "10.1.1.10", 22), 0.0).allowed  # sa is in z1, like att-a
    reply = engine.evaluate(Packet.tcp("10.1.1.10", 22, "10.0.1.10", 40000, "SA"), 0.1)
    assert reply.allowed  # att-b's own subnet sb is in z2, so sb itself is fine
    net = tgw_network()
    moved = Network.build(list(net.vpcs.values()), [*net.subnets.values(),
                          Subnet("sa2", ip_network("10.0.2.0/24"), vpc="vpc-a", zone="z9")],
                          [*net.hosts.values(), Host("ha2", ip_address("10.0.2.10"), "sa2", ("sg-open",))], [OPEN],
                          route_tables=net.route_tables.values(), transit_gateways=net.transit_gateways.values())
    verdict = Engine(moved).evaluate(Packet.tcp("10.0.2.10", 40000, "10.1.1.10", 22), 0.0)
    assert not verdict.allowed and verdict.code == codes.TGW_NO_ATTACHMENT and "zone z9" in verdict_reason(verdict)


def test_tgw_blackhole_and_missing_attachment():
    """§5.1: static blackhole routes are first-class; a VPC needs an attachment to use the TGW."""
    verdict = Engine(tgw_network(blackhole=True)).evaluate(Packet.tcp("10.0.1.10", 40000, "10.1.1.10", 22), 0.0)
    assert not verdict.allowed and verdict.code == codes.BLACKHOLE_ROUTE
    reply = Engine(tgw_network(attach_b=False)).evaluate(Packet.tcp("10.1.1.10", 22, "10.0.1.10", 40000, "SA"), 0.0)
    assert not reply.allowed and reply.code == codes.TGW_NO_ATTACHMENT


def eigw_network() -> Network:
    """A dual-stack private subnet: ::/0 → an egress-only internet gateway, no IPv4 default route."""
    vpc = Vpc(ip_network("10.0.0.0/16"), ip_network("2600:1f18:ab00::/56"), id="vpc-1")
    subnets = [Subnet("s", ip_network("10.0.1.0/24"), ip_network("2600:1f18:ab00:1::/64"), vpc="vpc-1")]
    hosts = [Host("app", ip_address("10.0.1.10"), "s", ("sg-open",), ipv6=ip_address("2600:1f18:ab00:1::10")),
             Host("mirror", ip_address("2001:db8::10"), internet=True)]
    table = RouteTable("rtb-1", "vpc-1", (Route(ip_network("10.0.0.0/16"), "local"),
                                          Route(ip_network("2600:1f18:ab00::/56"), "local"),
                                          Route(ip_network("::/0"), "eigw-1")), main=True)
    open6 = SecurityGroup("sg-open", (SgRule.make("-1", cidr="::/0"),), (SgRule.make("-1", cidr="::/0"),))
    return Network.build(vpc, subnets, hosts, [open6], route_tables=[table])


def test_an_egress_only_gateway_lets_ipv6_out_and_replies_in_but_no_connection_in():
    """§2: an egress-only internet gateway is IPv6 only and outbound-only: replies return, the internet cannot
    initiate; IPv6 addresses are not translated."""
    engine = Engine(eigw_network())
    out = engine.evaluate(Packet.tcp("2600:1f18:ab00:1::10", 40000, "2001:db8::10", 443), 0.0)
    assert out.allowed and out.receiver == "mirror" and out.delivered.src == int(ip_address("2600:1f18:ab00:1::10"))
    reply = engine.evaluate(Packet.tcp("2001:db8::10", 443, "2600:1f18:ab00:1::10", 40000, "SA"), 0.05)
    assert reply.allowed and reply.code == codes.CONNTRACK_MATCH  # tracked although ::/0 rules both ways (§2.3)
    inbound = engine.evaluate(Packet.tcp("2001:db8::10", 50000, "2600:1f18:ab00:1::10", 22), 0.1)
    assert not inbound.allowed and inbound.code == codes.EIGW_INBOUND
    ipv4 = engine.evaluate(Packet.tcp("10.0.1.10", 40000, "198.51.100.7", 443), 0.2)
    assert not ipv4.allowed and ipv4.code == codes.NO_ROUTE_TO_DESTINATION  # ::/0 covers no IPv4 (§1.2)
