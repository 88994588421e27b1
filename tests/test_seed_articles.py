"""The seed articles' observations, driven through the simulator's API (../shared/seeds/)."""

from vpclab.engine import codes
from vpclab.model import Direction
from vpclab.sim import Simulator
from vpclab.report.explain import verdict_reason

from netbuild import build, rule


def beating_network():
    """'Beating AWS Security Groups': testa and testb, all egress; testb admits tcp 4321 from the VPC."""
    return build(
        groups={"sg-testa": {}, "sg-testb": {"ingress": [{"proto": "tcp", "ports": 4321, "cidr": "198.18.0.0/16"}]}},
        hosts={"testa": {"subnet": "a", "ip": "198.18.1.10", "security_groups": ["sg-testa"]},
               "testb": {"subnet": "b", "ip": "198.18.2.20", "security_groups": ["sg-testb"]}})


def test_beating_security_groups_established_connection_survives_rule_removal():
    """Seed 'Beating AWS Security Groups'; aws-semantics.md §2.4 (tracked connections are not interrupted)."""
    net = beating_network()
    sim = Simulator(net)
    sim.listen("testb", "tcp", 4321)
    conn, ex = sim.connect("testa", "testb", 4321)
    assert ex.outcome == "established"
    assert [r.packet.summary() for r in ex.packets] == ["SYN", "SYN-ACK", "ACK"]
    assert sim.send(conn, b"one").outcome == "delivered"

    sim.apply(net.revoke("sg-testb", Direction.INGRESS, rule({"proto": "tcp", "ports": 4321, "cidr": "198.18.0.0/16"})))
    second = sim.send(conn, b"two")
    assert second.outcome == "delivered"
    assert second.packets[0].verdict.code == codes.CONNTRACK_MATCH  # passed by state, not by rule

    sim.close(conn)
    sim.listen("testb", "tcp", 4321)
    conn2, ex2 = sim.connect("testa", "testb", 4321)
    assert ex2.outcome == "blocked"
    assert ex2.packets[0].verdict.code == codes.ENI_SG_RULES_MISMATCH
    assert "no ingress rule for tcp/4321" in verdict_reason(ex2.packets[0].verdict)
    assert sim.send(conn2, b"three").outcome == "dropped"
    # testb received exactly the first two messages, as in the article
    server_data = [r for r in sim.records if r.packet.size and r.verdict.allowed and r.sender == "testa"]
    assert len(server_data) == 2


def icmp_network(ignore_echo: bool = True):
    """'Stateful Statelessness': A allows outgoing ICMP to B; B allows incoming ICMP from A; no return rules."""
    return build(
        groups={"sg-a": {"ingress": [], "egress": [{"proto": "icmp", "icmp": {"type": -1}, "cidr": "198.18.2.0/24"}]},
                "sg-b": {"ingress": [{"proto": "icmp", "icmp": {"type": -1}, "cidr": "198.18.1.0/24"}], "egress": []}},
        hosts={"a": {"subnet": "a", "ip": "198.18.1.10", "security_groups": ["sg-a"], "icmp_echo_ignore": ignore_echo},
               "b": {"subnet": "b", "ip": "198.18.2.20", "security_groups": ["sg-b"], "icmp_echo_ignore": ignore_echo}})


def test_stateful_statelessness_normal_ping_reply_is_let_back_in():
    """Seed 'Stateful Statelessness', normal ping; aws-semantics.md §2.1 (ICMP response traffic is tracked)."""
    sim = Simulator(icmp_network())
    assert sim.icmp("a", "b", "echo-request", ident=1).outcome == "delivered"
    reply = sim.icmp("b", "a", "echo-reply", ident=1)
    assert reply.outcome == "delivered"
    assert reply.packets[0].verdict.code == codes.CONNTRACK_MATCH


def test_stateful_statelessness_reply_without_request_is_dropped_after_the_timeout():
    """Seed 'Reply Only': after the request's timer expires a lone reply never arrives; aws-semantics.md §8.4."""
    sim = Simulator(icmp_network())
    sim.icmp("a", "b", "echo-request", ident=1)
    sim.wait(31)
    reply = sim.icmp("b", "a", "echo-reply", ident=1)
    assert reply.outcome == "dropped"
    assert reply.packets[0].verdict.code == codes.CONNTRACK_EXPIRED
    fresh = Simulator(icmp_network())
    lone = fresh.icmp("b", "a", "echo-reply", ident=1)
    assert lone.outcome == "dropped"
    assert lone.packets[0].verdict.code == codes.ENI_SG_RULES_MISMATCH


def test_stateful_statelessness_several_replies_to_one_request_all_pass():
    """Seed 'Other tests': the SG does not count replies; aws-semantics.md §8.3 (entries refreshed, not deleted)."""
    sim = Simulator(icmp_network())
    sim.icmp("a", "b", "echo-request", ident=1)
    outcomes = [sim.icmp("b", "a", "echo-reply", ident=1, seq=n).outcome for n in range(1, 4)]
    assert outcomes == ["delivered", "delivered", "delivered"]


def test_stateful_statelessness_reply_with_another_identifier_is_dropped_and_explained():
    """Seed 'Other tests' (different IDs: 'nothing works'); aws-semantics.md §8.3-8.4 (identifier is in the key)."""
    sim = Simulator(icmp_network())
    sim.icmp("a", "b", "echo-request", ident=7)
    reply = sim.icmp("b", "a", "echo-reply", ident=9)
    assert reply.outcome == "dropped"
    reason = verdict_reason(reply.packets[0].verdict)
    assert "identifier 9" in reason and "identifier 7" in reason


def test_ping_with_auto_reply_needs_no_return_rule():
    """Seed: 'SGs pass return ping traffic even when only one direction is defined'."""
    sim = Simulator(icmp_network(ignore_echo=False))
    assert sim.ping("a", "b", ident=3).outcome == "reply"
    assert sim.ping("b", "a", ident=4).outcome == "no-reply"


def egress_network():
    """'Restricting Egress Rules': worker with 80, 443, 20-21 out and 22 in, in a public subnet."""
    return build(
        subnets={"public": {"cidr": "198.18.1.0/24", "public": True}, "data": {"cidr": "198.18.2.0/24"}},
        groups={
            "sg-worker": {"ingress": [{"proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0"}],
                          "egress": [{"proto": "tcp", "ports": p, "cidr": "0.0.0.0/0"} for p in (80, 443, "20-21")]},
            "sg-db": {"ingress": [{"proto": "tcp", "ports": 3306, "cidr": "198.18.0.0/16"}]},
            "sg-admin": {}},
        hosts={"worker": {"subnet": "public", "ip": "198.18.1.10", "public_ip": "198.51.100.10",
                          "security_groups": ["sg-worker"]},
               "db": {"subnet": "data", "ip": "198.18.2.30", "security_groups": ["sg-db"]},
               "admin": {"internet": True, "ip": "192.0.2.50"},
               "mirror": {"internet": True, "ip": "203.0.113.10"},
               "evil": {"internet": True, "ip": "203.0.113.66"}})


def test_restricting_egress_rules_outbound_rule_needed_only_for_connections_the_host_starts():
    """Seed 'Securing AWS Security Groups: Restricting Egress Rules'; aws-semantics.md §2.1."""
    sim = Simulator(egress_network())
    for name, port in (("worker", 22), ("mirror", 80), ("mirror", 443), ("evil", 443)):
        sim.listen(name, "tcp", port)
    sim.listen("db", "tcp", 3306)
    ssh, ex = sim.connect("admin", "198.51.100.10", 22)
    assert ex.outcome == "established"  # SSH in works with no outbound rule for it
    assert sim.send(ssh, b"uptime").outcome == "delivered"
    assert sim.send(ssh, b"ok", side="server").outcome == "delivered"
    assert sim.connect("worker", "mirror", 80)[1].outcome == "established"
    assert sim.connect("worker", "mirror", 443)[1].outcome == "established"
    blocked = sim.connect("worker", "db", 3306)[1]
    assert blocked.outcome == "blocked"
    assert blocked.packets[0].verdict.where == "worker egress"
    # the article's limit: exfiltration over 443 to any web server still works
    assert sim.connect("worker", "evil", 443)[1].outcome == "established"
