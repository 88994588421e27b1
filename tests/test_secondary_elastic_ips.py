"""An Elastic IP on a secondary private address (aws-routing-terraform.md §2 "Elastic IP: a property of an ENI private
IPv4 (one EIP per private IPv4)", "1:1 NAT at the IGW"): traffic from that address leaves with its own public IP,
traffic to that public IP arrives at that private address, and an address without one cannot use the IGW."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from ipaddress import ip_address

import pytest

from vpclab.engine import Engine, Packet, codes
from vpclab.load.snapshot import load_snapshot
from vpclab.model import Host
from vpclab.model.frozen import FrozenMap

from shareddata import shared


@pytest.fixture
def snapshot(tmp_path):
    """Batfish's test-public-subnet, its one ENI (10.0.0.91, public 18.216.80.133) given two secondary addresses,
    10.0.0.92 with the Elastic IP 3.3.3.92 and 10.0.0.93 with none."""
    folder = tmp_path / "snap"
    shutil.copytree(shared("aws-snapshots", "test-public-subnet"), folder)
    path = folder / "aws_configs" / "NetworkInterfaces.json"
    data = json.loads(path.read_text())
    eni = data["NetworkInterfaces"][0]
    eni["PrivateIpAddresses"] += [{"Association": {"IpOwnerId": "111111111111", "PublicIp": "3.3.3.92"},
                                   "Primary": False, "PrivateIpAddress": "10.0.0.92"},
                                  {"Primary": False, "PrivateIpAddress": "10.0.0.93"}]
    path.write_text(json.dumps(data))
    return load_snapshot(folder).network


def test_the_secondary_address_is_imported_with_its_elastic_ip(snapshot):
    host = snapshot.hosts["eni-00064850627e198ee"]
    assert [str(a) for a in host.secondary_ips] == ["10.0.0.92", "10.0.0.93"]
    assert {str(k): str(v) for k, v in host.public_map.items()} == {"10.0.0.91": "18.216.80.133",
                                                                   "10.0.0.92": "3.3.3.92"}


def ip(text: str) -> int:
    return int(ip_address(text))


def with_outsider(network):
    outsider = Host("outside", ip_address("203.0.113.9"), internet=True)
    return replace(network, hosts=FrozenMap({**network.hosts, "outside": outsider}))


def test_each_private_address_leaves_with_its_own_public_ip(snapshot):
    engine = Engine(with_outsider(snapshot))
    assert engine.router.seen(ip("10.0.0.92"), ip("203.0.113.9"), False)[0] == ip("3.3.3.92")
    assert engine.router.seen(ip("10.0.0.91"), ip("203.0.113.9"), False)[0] == ip("18.216.80.133")
    verdict = engine.evaluate(Packet.tcp("10.0.0.92", 40000, "203.0.113.9", 443), 0.0)
    assert verdict.allowed and verdict.receiver == "outside" and verdict.delivered.src == ip("3.3.3.92")


def test_the_elastic_ip_arrives_at_its_private_address(snapshot):
    route = Engine(with_outsider(snapshot)).router.route(ip("203.0.113.9"), ip("3.3.3.92"), False)
    assert route.drop_code is None and route.receiver == "eni-00064850627e198ee"
    assert route.new_dst == ip("10.0.0.92")


def test_a_secondary_address_without_a_public_ip_cannot_use_the_internet_gateway(snapshot):
    verdict = Engine(with_outsider(snapshot)).evaluate(Packet.tcp("10.0.0.93", 40000, "203.0.113.9", 443), 0.0)
    assert not verdict.allowed and verdict.code == codes.IGW_PRIVATE_IP_ASSOCIATION
