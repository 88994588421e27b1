"""Routes to a network interface or an instance (aws-routing-terraform.md §1.3 "ENI / instance (NAT instance,
appliance): to that ENI; appliance needs src/dst check off", §7 "Source/destination check")."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from vpclab.engine import Engine, Packet, codes
from vpclab.model import Host, Network, Subnet, Vpc
from vpclab.model.routing import Route, RouteTable
from vpclab.report.explain import verdict_reason

from netbuild import group

OPEN = group("sg-open", [{"proto": "-1", "cidr": "0.0.0.0/0"}])
APP = group("sg-app")  # no ingress, AWS's default egress: the app's flows are tracked
SSH_ONLY = group("sg-fw", [{"proto": "tcp", "ports": 22, "cidr": "10.0.0.0/16"}])


def network(check: bool = False, target: str = "eni-fw", fw_groups: tuple[str, ...] = ("sg-open",)) -> Network:
    """app 10.0.1.10 routes 0.0.0.0/0 to a firewall ENI 10.0.2.5 (instance i-fw) in another subnet."""
    vpc = Vpc(ip_network("10.0.0.0/16"), id="vpc")
    subnets = [Subnet("app", ip_network("10.0.1.0/24"), vpc="vpc"), Subnet("fw", ip_network("10.0.2.0/24"), vpc="vpc")]
    hosts = [Host("app", ip_address("10.0.1.10"), "app", ("sg-app",)),
             Host("eni-fw", ip_address("10.0.2.5"), "fw", fw_groups, instance="i-fw", source_dest_check=check)]
    tables = [RouteTable("rtb-app", "vpc", (Route(ip_network("10.0.0.0/16"), "local"),
                                             Route(ip_network("0.0.0.0/0"), target)), subnets=("app",)),
              RouteTable("rtb-main", "vpc", (Route(ip_network("10.0.0.0/16"), "local"),), main=True)]
    return Network.build(vpc, subnets, hosts, [APP, OPEN, SSH_ONLY], route_tables=tables)


def test_a_route_to_an_eni_reaches_it_through_its_groups_and_leaves_the_snapshot_through_it():
    verdict = Engine(network()).evaluate(Packet.tcp("10.0.1.10", 40000, "203.0.113.7", 443), 0.0)
    assert verdict.allowed and verdict.receiver is None  # what the appliance does next is beyond the snapshot
    components = [(s.component, s.id) for s in verdict.trace]
    assert ("sg", "sg-app") in components and ("route", "eni-fw") in components and ("sg", "sg-open") in components
    assert components.count(("nacl", "default")) == 2  # leaving app's subnet, entering the firewall's


def test_the_appliances_own_groups_judge_what_is_routed_to_it():
    verdict = Engine(network(fw_groups=("sg-fw",))).evaluate(Packet.tcp("10.0.1.10", 40000, "203.0.113.7", 443), 0)
    assert not verdict.allowed and verdict.code == codes.ENI_SG_RULES_MISMATCH and "eni-fw ingress" in verdict.where


def test_an_appliance_with_its_source_destination_check_on_drops_what_is_not_addressed_to_it():
    verdict = Engine(network(check=True)).evaluate(Packet.tcp("10.0.1.10", 40000, "203.0.113.7", 443), 0.0)
    assert not verdict.allowed and verdict.code == codes.SOURCE_DEST_CHECK
    assert "source/destination check on" in verdict_reason(verdict)


def test_a_route_to_an_instance_uses_its_eni():
    verdict = Engine(network(target="i-fw")).evaluate(Packet.tcp("10.0.1.10", 40000, "203.0.113.7", 443), 0.0)
    assert verdict.allowed and any(s.component == "sg" and s.host == "eni-fw" for s in verdict.trace)


def test_a_route_to_an_eni_the_snapshot_lacks_is_said_not_guessed():
    verdict = Engine(network(target="eni-gone")).evaluate(Packet.tcp("10.0.1.10", 40000, "203.0.113.7", 443), 0.0)
    assert not verdict.allowed and verdict.code == codes.ROUTE_TARGET_MISSING
    assert "eni-gone, which the snapshot does not hold" in verdict_reason(verdict)
