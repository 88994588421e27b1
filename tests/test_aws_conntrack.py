"""Security group connection tracking as AWS documents it (aws-semantics.md §2), driven through the simulator."""

import pytest

from vpclab.engine import Engine, Packet, codes
from vpclab.model import ConntrackSettings, Direction, ModelError
from vpclab.sim import Simulator

from netbuild import build, rule

A, B = "198.18.1.10", "198.18.2.20"

# AWS's worked example (§2.2): inbound TCP 22 from 203.0.113.1/32, TCP 80 from 0.0.0.0/0 and ::/0,
# ICMP all from 0.0.0.0/0; outbound all to 0.0.0.0/0 and ::/0.
WORKED_INGRESS = [{"proto": "tcp", "ports": 22, "cidr": "203.0.113.1/32"},
                  {"proto": "tcp", "ports": 80, "cidr": "0.0.0.0/0"},
                  {"proto": "icmp", "icmp": {"type": -1}, "cidr": "0.0.0.0/0"}]


def worked_example(**server):
    return build(subnets={"pub": {"cidr": "198.18.1.0/24", "public": True}},
                 groups={"sg-web": {"ingress": WORKED_INGRESS}},
                 hosts={"web": {"subnet": "pub", "ip": A, "public_ip": "198.51.100.10",
                                "security_groups": ["sg-web"], **server},
                        "admin": {"internet": True, "ip": "203.0.113.1"},
                        "anyone": {"internet": True, "ip": "192.0.2.77"}})


def test_response_traffic_is_allowed_regardless_of_rules_in_the_other_direction():
    """aws-semantics.md §2.1: responses to inbound traffic flow out regardless of outbound rules, and vice versa."""
    net = build(groups={"sg-a": {"egress": [{"proto": "tcp", "ports": 4321, "cidr": "198.18.2.0/24"}]},
                        "sg-b": {"ingress": [{"proto": "tcp", "ports": 4321, "cidr": "198.18.1.0/24"}], "egress": []}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"]}})
    sim = Simulator(net)
    sim.listen("b", "tcp", 4321)
    conn, ex = sim.connect("a", "b", 4321)
    assert ex.outcome == "established"
    synack = ex.packets[1]
    assert [s.code for s in synack.verdict.trace if s.component == "conntrack"] == [codes.CONNTRACK_MATCH] * 2
    assert sim.send(conn, b"hello", side="server").outcome == "delivered"


def test_tcp_22_from_a_single_address_is_tracked_and_survives_revocation():
    """aws-semantics.md §2.2 worked example (TCP 22 is tracked) and §2.4 (tracked flows are not interrupted)."""
    net = worked_example()
    sim = Simulator(net)
    sim.listen("web", "tcp", 22)
    conn, ex = sim.connect("admin", "198.51.100.10", 22)
    assert ex.outcome == "established"
    assert ex.packets[0].verdict.trace[-1].code == codes.SG_RULE_MATCH  # a tracked entry was opened
    sim.apply(net.revoke("sg-web", Direction.INGRESS, rule(WORKED_INGRESS[0])))
    assert sim.send(conn, b"ls").outcome == "delivered"


def test_tcp_80_open_to_the_world_is_untracked_and_cut_at_once_when_its_rule_goes():
    """aws-semantics.md §2.2 worked example (TCP 80 not tracked) and §2.4 (untracked flow immediately interrupted)."""
    net = worked_example()
    sim = Simulator(net)
    sim.listen("web", "tcp", 80)
    conn, ex = sim.connect("anyone", "198.51.100.10", 80)
    assert ex.outcome == "established"
    assert ex.packets[0].verdict.trace[-1].code == codes.SG_RULE_MATCH_UNTRACKED
    assert sim.conntrack("web") == []
    assert sim.send(conn, b"GET /").outcome == "delivered"
    sim.apply(net.revoke("sg-web", Direction.INGRESS, rule(WORKED_INGRESS[1])))
    cut = sim.send(conn, b"GET /again")
    assert cut.outcome == "dropped"
    assert cut.packets[0].verdict.code == codes.UNTRACKED_FLOW_RULE_REMOVED
    assert sim.send(conn, b"late response", side="server").outcome == "delivered"  # outbound all still allows it


def test_icmp_is_always_tracked():
    """aws-semantics.md §2.2: 'ICMP traffic is always tracked.'"""
    sim = Simulator(worked_example(icmp_echo_ignore=True))
    sim.icmp("anyone", "198.51.100.10", "echo-request", ident=4)
    entries = sim.conntrack("web")
    assert len(entries) == 1 and entries[0].proto == 1


def test_removing_the_outbound_world_rule_makes_all_traffic_tracked():
    """aws-semantics.md §2.2: 'If you remove the outbound rule for IPv4 traffic, all ... IPv4 traffic is tracked.'"""
    net = worked_example()
    net = net.revoke("sg-web", Direction.EGRESS, rule({"proto": "-1", "cidr": "0.0.0.0/0"}))
    sim = Simulator(net)
    sim.listen("web", "tcp", 80)
    conn, ex = sim.connect("anyone", "198.51.100.10", 80)
    assert ex.outcome == "established"  # the response passes by state now
    assert len(sim.conntrack("web")) == 1


def test_other_protocols_are_tracked_by_address_and_protocol_for_600_seconds():
    """aws-semantics.md §2.1: other protocols: IP address and protocol number tracked; same type within 600 s."""
    net = build(groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "gre", "cidr": "198.18.1.0/24"}], "egress": []}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"]}})
    engine = Engine(net)
    assert engine.evaluate(Packet.other(A, B, 47), 0).allowed
    assert engine.evaluate(Packet.other(B, A, 47), 599).allowed  # b has no egress rule: passes by state
    assert not engine.evaluate(Packet.other(B, A, 50), 599).allowed  # another protocol: no entry
    assert not engine.evaluate(Packet.other(B, A, 47), 599 + 600).allowed  # idle 600 s: gone


def udp_pair(**conntrack):
    net = build(groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "udp", "ports": 53, "cidr": "198.18.1.0/24"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"], "conntrack": conntrack},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"]}})
    return net


def test_udp_flow_of_one_transaction_times_out_after_30_seconds():
    """aws-semantics.md §2.5: UdpTimeout 30 s for one direction or a single request-response transaction."""
    engine = Engine(udp_pair())
    assert engine.evaluate(Packet.udp(A, 5000, B, 53), 0).allowed
    assert engine.evaluate(Packet.udp(B, 53, A, 5000), 1).allowed  # the response
    assert engine.conntrack("a").entries(1)[0].timeout == 30
    assert not engine.evaluate(Packet.udp(B, 53, A, 5000), 31).allowed  # a has no ingress rule: expired


def test_udp_stream_of_more_than_one_transaction_times_out_after_180_seconds():
    """aws-semantics.md §2.5: UdpStreamTimeout 180 s for flows with more than one request-response transaction."""
    engine = Engine(udp_pair())
    for t in (0, 1, 2, 3):
        assert engine.evaluate(Packet.udp(A, 5000, B, 53), t).allowed
        assert engine.evaluate(Packet.udp(B, 53, A, 5000), t + 0.5).allowed
    entry = engine.conntrack("a").entries(4)[0]
    assert entry.state == "STREAM" and entry.timeout == 180
    assert engine.evaluate(Packet.udp(B, 53, A, 5000), 3.5 + 179).allowed
    assert not engine.evaluate(Packet.udp(B, 53, A, 5000), 3.5 + 179 + 180).allowed


def test_per_eni_udp_timeouts_apply_to_that_eni_only():
    """aws-semantics.md §2.5: timeouts are configured per network interface."""
    engine = Engine(udp_pair(udp=60))
    engine.evaluate(Packet.udp(A, 5000, B, 53), 0)
    assert engine.conntrack("a").entries(0)[0].timeout == 60
    assert engine.conntrack("b").entries(0)[0].timeout == 30


def test_idle_timer_is_refreshed_by_traffic():
    """aws-semantics.md §2.5: the timeouts are *idle* timeouts; traffic restarts them."""
    engine = Engine(udp_pair())
    engine.evaluate(Packet.udp(A, 5000, B, 53), 0)
    for t in (25, 50, 75):
        assert engine.evaluate(Packet.udp(A, 5000, B, 53), t).allowed
    assert engine.evaluate(Packet.udp(B, 53, A, 5000), 100).allowed


def test_per_eni_tcp_established_timeout_ends_a_connection_whose_rule_is_gone():
    """aws-semantics.md §2.5 (TcpEstablishedTimeout 60-432000 s) and §2.4 (tracked until it times out)."""
    net = build(groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "tcp", "ports": 4321, "cidr": "198.18.1.0/24"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"],
                             "conntrack": {"tcp_established": 60}}})
    sim = Simulator(net)
    sim.listen("b", "tcp", 4321)
    conn, _ = sim.connect("a", "b", 4321)
    sim.apply(net.revoke("sg-b", Direction.INGRESS, rule({"proto": "tcp", "ports": 4321, "cidr": "198.18.1.0/24"})))
    sim.wait(59)
    assert sim.send(conn, b"still here").outcome == "delivered"
    sim.wait(61)
    late = sim.send(conn, b"too late")
    assert late.outcome == "dropped"
    assert late.packets[0].verdict.code == codes.CONNTRACK_EXPIRED


@pytest.mark.parametrize("field,value", [("tcp_established", 59), ("tcp_established", 432001), ("udp", 29),
                                         ("udp", 61), ("udp_stream", 59), ("udp_stream", 181)])
def test_conntrack_timeouts_outside_aws_ranges_are_refused(field, value):
    """aws-semantics.md §2.5: TCP established 60-432000, UDP 30-60, UDP stream 60-180."""
    with pytest.raises(ModelError, match=field):
        ConntrackSettings(**{field: value})


def test_full_conntrack_table_drops_new_flows_and_counts_them():
    """aws-semantics.md §2.6: after the maximum is reached, new connections cannot be established."""
    net = build(groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "udp", "ports": "1-65535", "cidr": "198.18.1.0/24"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"], "conntrack": {"max_entries": 2}}})
    engine = Engine(net)
    assert engine.evaluate(Packet.udp(A, 5000, B, 1), 0).allowed
    assert engine.evaluate(Packet.udp(A, 5000, B, 2), 0).allowed
    third = engine.evaluate(Packet.udp(A, 5000, B, 3), 0)
    assert not third.allowed and third.code == codes.CONNTRACK_TABLE_FULL
    assert engine.conntrack("b").exceeded == 1
    assert engine.evaluate(Packet.udp(A, 5000, B, 1), 1).allowed  # existing flows go on
    assert engine.evaluate(Packet.udp(A, 5000, B, 3), 31).allowed  # room again once entries expire


def test_fin_close_moves_the_entry_out_of_established():
    """aws-semantics.md §2.7: FIN/RST end the tracked state (implied by the launch announcement)."""
    net = build(groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "tcp", "ports": 4321, "cidr": "198.18.1.0/24"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"]}})
    sim = Simulator(net)
    sim.listen("b", "tcp", 4321)
    conn, _ = sim.connect("a", "b", 4321)
    sim.close(conn)
    assert [e.state for e in sim.conntrack("b")] == ["TIME_WAIT"]
    sim.wait(120)
    assert sim.conntrack("b") == []


def test_rst_from_a_closed_port_is_a_refusal():
    """aws-semantics.md §2.7 (RST ends the state); the RST passes back by the SYN's entry."""
    net = build(groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "tcp", "ports": 4321, "cidr": "198.18.1.0/24"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"]}})
    sim = Simulator(net)
    conn, ex = sim.connect("a", "b", 4321)
    assert ex.outcome == "refused"
    assert [r.packet.summary() for r in ex.packets] == ["SYN", "RST-ACK"]
    assert [e.state for e in sim.conntrack("b")] == ["CLOSE"]


def test_icmp_errors_are_not_related_traffic():
    """aws-semantics.md §0.13: SGs do not allow inbound ICMP errors unless a rule does (PMTUD needs a rule)."""
    net = build(groups={"sg-a": {}, "sg-b": {"ingress": [{"proto": "udp", "ports": 53, "cidr": "198.18.1.0/24"}]}},
                hosts={"a": {"subnet": "a", "ip": A, "security_groups": ["sg-a"]},
                       "b": {"subnet": "b", "ip": B, "security_groups": ["sg-b"]}})
    engine = Engine(net)
    assert engine.evaluate(Packet.udp(A, 5000, B, 53), 0).allowed
    unreachable = engine.evaluate(Packet.icmp(B, A, "dest-unreachable", code=3), 0.1)
    assert not unreachable.allowed and unreachable.where == "a ingress"
