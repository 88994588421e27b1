"""Every built-in lab passes on the simulator, with its step outcomes and key verdict codes asserted."""

import pytest

from vpclab.engine import codes
from vpclab.lab.catalog import builtin_names, load
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend

# The outcome of every step, written out independently of the lab files' `expect` keys.
EXPECTED = {
    "beating-security-groups": ["listening", "established", "delivered", "applied", "delivered", "closed",
                                "listening", "blocked", "dropped"],
    "stateful-statelessness": ["delivered", "delivered", "delivered", "delivered", "waited", "dropped",
                               "delivered", "dropped", "delivered", "reply", "no-reply"],
    "tighten-egress": ["listening"] * 6 + ["established", "delivered", "delivered", "established", "established",
                                           "established", "blocked", "established", "delivered", "closed",
                                           "applied", "applied", "established", "blocked", "delivered",
                                           "listening", "blocked", "applied", "established"],
    "nacl-stateless": ["listening", "blocked", "applied", "established", "delivered", "applied", "dropped",
                       "established"],
    "tracked-vs-untracked": ["listening", "listening", "established", "established", "reply", "applied", "applied",
                             "applied", "delivered", "dropped", "reply", "no-reply"],
    "dual-stack": ["listening", "listening", "listening", "established", "blocked", "established", "delivered",
                   "delivered", "reply", "dropped", "established", "blocked", "applied", "dropped", "blocked"],
    "public-ip-hairpin": ["listening", "established", "delivered", "blocked", "applied", "established", "delivered",
                          "delivered", "blocked", "applied", "blocked"],
    "conntrack-timeouts": ["delivered", "delivered", "delivered", "listening", "reply", "waited", "dropped",
                           "applied", "delivered", "waited", "delivered", "reply", "waited", "delivered", "delivered",
                           "waited", "dropped", "listening", "established", "applied", "waited", "delivered",
                           "waited", "dropped", "waited", "delivered", "waited", "dropped"],
}


def run(name):
    return run_lab(load(name), SimBackend())


def test_every_builtin_lab_is_listed_here():
    assert sorted(EXPECTED) == builtin_names()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_lab_passes_on_the_simulator_with_these_outcomes(name):
    result = run(name)
    assert [s.outcome for s in result.steps] == EXPECTED[name]
    assert result.ok, [s.to_dict() for s in result.failures]


def first_packet(result, index, verdict=None):
    packets = result.steps[index - 1].packets
    return next(p for p in packets if verdict is None or p["verdict"] == verdict)


def test_beating_lab_second_message_passes_by_state_and_the_new_connection_by_no_rule():
    """Seed 'Beating AWS Security Groups'; aws-semantics.md §2.4."""
    result = run("beating-security-groups")
    assert first_packet(result, 5)["trace"][-1]["code"] == codes.CONNTRACK_MATCH
    blocked = first_packet(result, 8)
    assert blocked["summary"] == "SYN" and blocked["code"] == codes.ENI_SG_RULES_MISMATCH
    assert result.steps[8].packets == []  # nothing to send on a connection that never opened


def test_icmp_lab_explains_the_identifier_and_the_timeout():
    """Seed 'Stateful Statelessness'; aws-semantics.md §8.4."""
    result = run("stateful-statelessness")
    assert first_packet(result, 6)["code"] == codes.CONNTRACK_EXPIRED
    wrong_id = first_packet(result, 8)
    assert "identifier 9" in wrong_id["reason"] and "identifier 7" in wrong_id["reason"]


def test_tracked_vs_untracked_lab_cuts_only_the_untracked_flow():
    """aws-semantics.md §2.2 worked example and §2.4."""
    result = run("tracked-vs-untracked")
    assert first_packet(result, 4)["trace"][-1]["code"] == codes.SG_RULE_MATCH_UNTRACKED
    assert first_packet(result, 3)["trace"][-1]["code"] == codes.SG_RULE_MATCH
    assert first_packet(result, 10)["code"] == codes.UNTRACKED_FLOW_RULE_REMOVED


def test_nacl_lab_blocks_the_reply_then_cuts_the_live_connection():
    """aws-semantics.md §3.4 (ephemeral ports) and §2.4 (NACL changes break connections)."""
    result = run("nacl-stateless")
    synack = first_packet(result, 2, "dropped")
    assert synack["summary"] == "SYN-ACK" and synack["code"] == codes.SUBNET_ACL_RESTRICTION
    assert first_packet(result, 7, "dropped")["trace"][-1]["rule"] == "90"
    assert any(s["code"] == codes.NACL_NOT_EVALUATED for s in first_packet(result, 8)["trace"])


def test_egress_lab_blocks_the_database_at_the_worker_and_closes_exfiltration_with_a_prefix_list():
    """Seed 'Restricting Egress Rules'; aws-semantics.md §1.2 and §1.1 (prefix lists)."""
    result = run("tighten-egress")
    db = first_packet(result, 13, "dropped")
    assert "worker egress" in db["reason"]
    assert first_packet(result, 20, "dropped")["code"] == codes.ENI_SG_RULES_MISMATCH


def test_hairpin_lab_sees_the_public_source_at_the_receiver():
    """aws-semantics.md §1 (a group reference matches private IPs only) and aws-routing-terraform.md §2 (1:1 NAT at
    the IGW): to a public IP the receiver sees the sender's public IP, so only a rule for that address admits it."""
    result = run("public-ip-hairpin")
    refused = first_packet(result, 4, "dropped")
    assert [t["code"] for t in refused["trace"]][-1] == codes.ENI_SG_RULES_MISMATCH
    assert "198.51.100.10" in refused["trace"][-1]["reason"]
    admitted = first_packet(result, 6)
    assert any(t["component"] == "route" and t["code"] == "ROUTE_INTERNET_GATEWAY" for t in admitted["trace"])
    assert result.steps[5].packets[1]["dst"].startswith("198.51.100.10:")  # the SYN-ACK goes to the public IP
    assert first_packet(result, 9)["code"] == codes.IGW_PRIVATE_IP_ASSOCIATION
    assert first_packet(result, 11)["code"] == codes.SUBNET_ACL_RESTRICTION


def test_dual_stack_lab_keeps_the_families_apart():
    """aws-semantics.md §3.1 (IPv4 and IPv6 NACL entries are independent; `*` for IPv6), §2.2 (untracked with ::/0),
    aws-routing-terraform.md §2 (IPv6 reachability by route only)."""
    result = run("dual-stack")
    ssh6 = first_packet(result, 5)
    assert ssh6["code"] == codes.SUBNET_ACL_RESTRICTION and "::/0" in ssh6["reason"]
    assert first_packet(result, 12)["code"] == codes.NO_ROUTE_TO_DESTINATION
    assert first_packet(result, 14, "dropped")["code"] == codes.UNTRACKED_FLOW_RULE_REMOVED


def test_timeouts_lab_expires_udp_at_30_s_streams_at_180_s_and_tcp_at_the_enis_60_s():
    """aws-semantics.md §2.5."""
    result = run("conntrack-timeouts")
    assert first_packet(result, 7)["code"] == codes.CONNTRACK_EXPIRED
    assert first_packet(result, 17)["code"] == codes.CONNTRACK_EXPIRED
    late = first_packet(result, 24, "dropped")
    assert late["code"] == codes.CONNTRACK_EXPIRED and "app ingress" in late["reason"]


def test_timeouts_lab_raises_the_clients_udp_timeout_mid_lab_and_tracks_other_protocols_for_600_s():
    """aws-semantics.md §2.5 (timeouts set by ModifyNetworkInterfaceAttribute), §1.7 and §2.1 (other protocols:
    addresses and protocol only, 600 s)."""
    result = run("conntrack-timeouts")
    single = first_packet(result, 15)  # the single transaction opened after udp: 60, 45 s later
    assert single["code"] == codes.CONNTRACK_MATCH and "idle timeout 60 s" in str(single["trace"])
    esp = first_packet(result, 26)  # 580 s idle: still tracked
    assert esp["code"] == codes.CONNTRACK_MATCH and "idle timeout 600 s" in str(esp["trace"])
    ah = first_packet(result, 28)  # 601 s idle
    assert ah["code"] == codes.CONNTRACK_EXPIRED and "(timeout 600 s)" in ah["reason"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_skipping_explanations_changes_no_verdict(name):
    """Bulk evaluation (explain=False, with its fast paths) decides every packet as the explained path does."""
    explained = run(name)
    bulk = run_lab(load(name), SimBackend(explain=False))
    assert [s.outcome for s in bulk.steps] == [s.outcome for s in explained.steps]
    for fast, slow in zip(bulk.steps, explained.steps):
        assert [(p["summary"], p["verdict"], p["code"]) for p in fast.packets] == \
               [(p["summary"], p["verdict"], p["code"]) for p in slow.packets]
        assert all(p["trace"] == [] for p in fast.packets)
