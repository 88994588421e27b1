"""The kernel backend's plan and renderers for a lab on a snapshot (pure: no namespace is created here).

Only the hosts the steps use are built; a NAT gateway the built subnets route to becomes a namespace, reached by
policy routes that follow the subnet's own route table (aws-routing-terraform.md §1.2 longest prefix, §3 NAT);
every pair of built endpoints the engine's routes drop is dropped in the router (§1.4 blackhole, §4 peering
is not transitive)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_network

import pytest

from vpclab.engine import Engine
from vpclab.errors import BackendUnavailable
from vpclab.kernel import topology
from vpclab.kernel.backend import refuse_unbuildable
from vpclab.kernel.plan import Plan
from vpclab.kernel.render import nat_ruleset, route_drops, router_ruleset
from vpclab.lab.catalog import load
from vpclab.lab.on_snapshot import hosts_used
from vpclab.load.snapshot import load_snapshot
from vpclab.model import Host, Network, Subnet, Vpc, parse_ip
from vpclab.model.frozen import FrozenMap

from netbuild import group
from shareddata import shared

NAT_LAB = """\
lab: nat
title: through the NAT gateway
snapshot: {snapshot}
hosts:
  app: {{name: test1}}
  outside: {{internet: true, ip: 203.0.113.10}}
steps:
  - listen: {{host: outside, port: 443}}
  - connect: {{from: app, to: outside, port: 443, expect: established}}
  - connect: {{from: outside, to: 3.135.127.225, port: 22, expect: blocked}}
"""


def nat_lab(tmp_path):
    path = tmp_path / "nat.yaml"
    path.write_text(NAT_LAB.format(snapshot=shared("aws-snapshots", "test-nat-gateway")))
    return load(str(path))


def test_only_the_hosts_the_steps_use_are_built_and_the_nat_gateway_they_route_through(tmp_path):
    lab = nat_lab(tmp_path)
    used = hosts_used(lab.network, (s.spec for s in lab.steps))
    # 3.135.127.225 is the NAT gateway's Elastic IP: its ENI (no groups) is built as the NAT namespace, not a host
    assert used == {"app", "outside", "eni-017aaec115610308a"}
    plan = Plan.make(lab.network, "vl000000", used)
    assert set(plan.hosts) == {"app", "outside"} and set(plan.enis) == {"app"}
    assert set(plan.nats) == {"nat-07ab4846da51f4612"}
    # the app's subnet and the NAT gateway's subnet; the third subnet (no built host) is not built
    assert set(plan.bridges) == {"subnet-06f469bcee42e408e", "subnet-0428892a357fa1f94"}
    assert len(lab.network.vpc_hosts()) == 4  # the model keeps every ENI


def test_the_app_subnet_routes_to_the_nat_namespace_by_its_own_route_table(tmp_path):
    lab = nat_lab(tmp_path)
    plan = Plan.make(lab.network, "vl000000", {"app", "outside"})
    lines = topology.commands(lab.network, plan).stages[-1][plan.router]
    app_bridge, nat_bridge = plan.bridges["subnet-06f469bcee42e408e"], plan.bridges["subnet-0428892a357fa1f94"]
    number = 100 + list(plan.bridges).index("subnet-06f469bcee42e408e")
    # rtb-02fe228b42de92a7c: 10.1.0.0/16 local (stays in the main table), 0.0.0.0/0 → the NAT gateway
    assert f"route replace throw 10.1.0.0/16 table {number}" in lines
    assert f"route replace 0.0.0.0/0 via 10.1.250.210 dev {nat_bridge} table {number}" in lines
    assert f"rule add iif {app_bridge} lookup {number} pref {number}" in lines
    assert not any(f"iif {nat_bridge}" in line for line in lines)  # the public subnet uses the main table
    # the Elastic IP is routed to the IGW's bounce namespace (a hairpin comes back translated; proxy ARP outside)
    assert f"route add 3.135.127.225/32 via {Plan.IGW_ADDRESS} dev {Plan.IGW_LINK}" in lines


def test_the_igw_translates_the_nat_gateways_elastic_ip_and_the_nat_namespace_only_answers_its_flows(tmp_path):
    lab = nat_lab(tmp_path)
    plan = Plan.make(lab.network, "vl000000", {"app", "outside"})
    rules = [c["add"]["rule"] for c in router_ruleset(Engine(lab.network), plan)["nftables"]
             if "rule" in c.get("add", {})]
    comments = [r.get("comment", "") for r in rules]
    assert "igw to nat-07ab4846da51f4612" in comments and "igw from nat-07ab4846da51f4612" in comments
    assert "igw to eni-017aaec115610308a" not in comments  # the NAT's ENI is the gateway, not a host
    nat = nat_ruleset("10.1.250.210")["nftables"]
    chains = {c["add"]["chain"]["name"]: c["add"]["chain"] for c in nat if "chain" in c.get("add", {})}
    assert chains["in"]["policy"] == "drop" and chains["fwd"]["policy"] == "drop"
    assert any("snat" in e for c in nat if "rule" in c.get("add", {}) for e in c["add"]["rule"]["expr"])


def test_pairs_the_route_tables_drop_are_dropped_in_the_router():
    network = load_snapshot(shared("aws-snapshots", "test-vpc-peering")).network
    a, c, hub = "eni-0024c0af5aa1387e5", "eni-06347554b65539ff3", "eni-0f0708220e812876c"
    outside = Host("outside", parse_ip("203.0.113.10"), internet=True)
    network = replace(network, hosts=FrozenMap({**network.hosts, "outside": outside}))
    plan = Plan.make(network, "vl000000", {a, c, hub, "outside"})
    drops = {(src, dst): label for _, src, dst, label in route_drops(Engine(network), plan)}
    # §4 peering is not transitive: VPC A (192.168.0.0/16 local) has no host 192.168.2.229, which is in VPC C
    assert drops[("192.168.1.106", "192.168.2.229")].startswith("route: NO_HOST_AT_DESTINATION")
    # §1.4 VPC A's 0.0.0.0/0 → igw is a blackhole route, cited where it was read
    assert drops[("192.168.1.106", "203.0.113.10")].startswith("route: BLACKHOLE_ROUTE @ ")
    # both peerings are active with routes both ways: the hub and each spoke reach each other
    for spoke in ("192.168.1.106", "192.168.2.229"):
        assert (spoke, "10.10.10.157") not in drops and ("10.10.10.157", spoke) not in drops


def test_overlapping_subnets_are_refused_before_anything_is_built():
    vpcs = [Vpc(ip_network("10.0.0.0/16"), id="vpc-a"), Vpc(ip_network("10.0.0.0/16"), id="vpc-b")]
    subnets = [Subnet("sa", ip_network("10.0.1.0/24"), vpc="vpc-a"), Subnet("sb", ip_network("10.0.1.0/24"),
                                                                           vpc="vpc-b")]
    hosts = [Host("x", parse_ip("10.0.1.10"), subnet="sa", security_groups=("sg",)),
             Host("y", parse_ip("10.0.1.20"), subnet="sb", security_groups=("sg",))]
    network = Network.build(vpcs, subnets, hosts, [group("sg")])
    with pytest.raises(BackendUnavailable, match="subnets sa and sb overlap"):
        refuse_unbuildable(network, Plan.make(network, "vl000000"))
    refuse_unbuildable(network, Plan.make(network, "vl000000", {"x"}))  # one side only: fine
