"""Amazon DNS, IMDS and Time Sync answer in the simulator, unfiltered, on their ports only (issue 9, S2).

aws-semantics.md §0.11, §3.3 and §4.2: neither security groups nor NACLs filter traffic to or from these services.
Which ports they answer (DNS TCP/UDP 53, IMDS TCP 80, Time Sync UDP 123) is docs/assumptions.md S2.
"""

from __future__ import annotations

import pytest

from netbuild import build
from vpclab.engine import codes
from vpclab.engine.paths import SERVICES
from vpclab.lab.differences import exposures
from vpclab.lab.loader import parse_lab
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend
from vpclab.sim import Simulator

A, A6 = "198.18.1.10", "2600:1f18:ab00:1::10"
VPC_DNS = "198.18.0.2"

#: every filter closed: no egress or ingress rule, a NACL that denies everything both ways
CLOSED = build(groups={"sg-closed": {"egress": []}}, ipv6_cidr="2600:1f18:ab00::/56",
               subnets={"a": {"cidr": "198.18.1.0/24", "ipv6_cidr": "2600:1f18:ab00:1::/64", "nacl": "deny-all"}},
               nacls={"deny-all": {}},
               hosts={"a": {"subnet": "a", "ip": A, "ipv6": A6, "security_groups": ["sg-closed"]}})

ANSWERED = [(address, proto, port) for s in SERVICES for address in s.addresses
            for proto, ports in (("tcp", s.tcp), ("udp", s.udp)) for port in sorted(ports)]
ANSWERED += [(VPC_DNS, "tcp", 53), (VPC_DNS, "udp", 53)]


def outcome(sim: Simulator, address: str, proto: str, port: int) -> str:
    if proto == "tcp":
        return sim.connect("a", address, port)[1].outcome
    return sim.udp("a", address, port, b"query").outcome


@pytest.mark.parametrize(("address", "proto", "port"), ANSWERED)
def test_a_service_answers_on_its_ports_through_closed_filters(address, proto, port):
    """aws-semantics.md §0.11, §3.3, §4.2: no SG or NACL filters DNS (VPC+2 too), IMDS or Time Sync, so a connect
    is established and a datagram delivered and answered, with every group and NACL closed."""
    sim = Simulator(CLOSED)
    assert outcome(sim, address, proto, port) == ("established" if proto == "tcp" else "delivered")
    assert all(r.verdict.code == codes.NOT_FILTERED_SERVICE for r in sim.records)
    assert len({r.sender for r in sim.records} - {"a"}) == 1  # the service answered
    if proto == "udp":
        answer = sim.hosts["a"].udp_inbox[-1]
        assert str(answer.packet.src_ip) == address and answer.packet.sport == port and answer.data == b"query"


@pytest.mark.parametrize(("address", "proto", "port", "expected"), [
    ("169.254.169.253", "tcp", 80, "refused"), ("169.254.169.253", "udp", 123, "dropped"),
    ("169.254.169.254", "tcp", 53, "refused"), ("fd00:ec2::254", "udp", 80, "dropped"),
    ("169.254.169.123", "tcp", 123, "refused"), ("169.254.169.123", "udp", 53, "dropped"),
    (VPC_DNS, "tcp", 80, "refused"), (VPC_DNS, "udp", 123, "dropped")])
def test_other_ports_of_a_service_are_refused_or_unanswered(address, proto, port, expected):
    """aws-semantics.md §4.2 (unfiltered, so the service itself decides): a TCP port it does not serve answers with
    a RST (`refused`), a UDP port it does not serve gets nothing (`dropped`, saying why)."""
    sim = Simulator(CLOSED)
    if proto == "udp":
        exchange = sim.udp("a", address, port, b"query")
        assert exchange.outcome == expected and "does not answer UDP port" in exchange.detail
    else:
        assert outcome(sim, address, proto, port) == expected


def test_data_on_a_connection_to_imds_is_delivered_both_ways_and_closes():
    """aws-semantics.md §4.2: IMDS traffic is not filtered either way; the service's socket takes the request and
    can answer on the same connection."""
    sim = Simulator(CLOSED)
    conn, exchange = sim.connect("a", "169.254.169.254", 80)
    assert exchange.outcome == "established"
    assert sim.send(conn, b"GET /latest/meta-data/").outcome == "delivered"
    assert conn.server is not None and conn.server.received == [b"GET /latest/meta-data/"]
    assert sim.send(conn, b"ami-id", "server").outcome == "delivered"
    assert conn.client.received == [b"ami-id"]
    sim.close(conn)
    assert not sim.hosts["a"].sockets


LAB = """\
lab: amazon-services
title: Amazon DNS, IMDS and Time Sync through closed filters
vpc: {cidr: 198.18.0.0/16}
subnets:
  a: {cidr: 198.18.1.0/24, nacl: deny-all}
nacls:
  deny-all: {}
security_groups:
  sg-closed: {egress: []}
hosts:
  a: {subnet: a, ip: 198.18.1.10, security_groups: [sg-closed]}
steps:
  - udp: {from: a, to: 198.18.0.2, port: 53, data: q, expect: delivered}
  - connect: {from: a, to: 169.254.169.253, port: 53, expect: established}
  - connect: {from: a, to: 169.254.169.254, port: 80, expect: established}
  - udp: {from: a, to: 169.254.169.123, port: 123, data: t, expect: delivered}
  - connect: {from: a, to: 169.254.169.254, port: 443, expect: refused}
  - connect: {from: a, to: 198.18.2.30, port: 53, expect: blocked}
"""


def test_lab_steps_to_amazon_services_meet_the_documented_outcomes():
    """aws-semantics.md §0.11 and §3.3: a lab's steps to DNS (VPC+2 and 169.254.169.253), IMDS and Time Sync
    succeed with every filter closed, while an ordinary address stays blocked; the kernel backend, which has no such
    services, is listed as differing (K4) on exactly those steps."""
    lab = parse_lab(LAB)
    result = run_lab(lab, SimBackend())
    assert [s.outcome for s in result.steps] == ["delivered", "established", "established", "delivered", "refused",
                                                 "blocked"]
    assert result.ok
    assert {index for index, ids in exposures(lab).items() if "K4" in ids} == {1, 2, 3, 4, 5}
