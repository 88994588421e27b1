"""The lab features of issue 9: `from: HOST` on send/close, `to: HOST@ipv6` / `family`, the `ip` step for other
protocols, `set_conntrack`, `modify_prefix_list`, and `udp` with `expect: reply | no-reply` — on the simulator,
and every mistake in them refused at load time (exit 2, FILE:LINE: field: message)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vpclab.lab.loader import parse_lab
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend
from vpclab.lab.yamlsource import LabError

HEAD = """\
lab: features
title: New steps
vpc: {cidr: 198.18.0.0/16, ipv6_cidr: "2001:db8::/56"}
subnets:
  a: {cidr: 198.18.1.0/24, ipv6_cidr: "2001:db8:0:1::/64"}
  b: {cidr: 198.18.2.0/24, ipv6_cidr: "2001:db8:0:2::/64", public: true}
nacls:
  no-dns-out:
    ingress: [{rule: 100, action: allow, proto: -1, cidr: 0.0.0.0/0}]
    egress:
      - {rule: 90, action: deny, proto: udp, ports: 32768-60999, cidr: 198.18.1.0/24}
      - {rule: 100, action: allow, proto: -1, cidr: 0.0.0.0/0}
prefix_lists:
  pl-peers: [198.18.9.0/24]
security_groups:
  sg-a:
    ingress: []
  sg-b:
    ingress:
      - {proto: esp, cidr: 198.18.1.0/24}
      - {proto: udp, ports: 53, prefix_list: pl-peers}
      - {proto: tcp, ports: 22, cidr: 198.18.0.0/16}
      - {proto: udp, ports: 5000, cidr: 198.18.1.0/24}
      - {proto: -1, cidr: "::/0"}
hosts:
  a: {subnet: a, ip: 198.18.1.10, ipv6: "2001:db8:0:1::10", security_groups: [sg-a]}
  b: {subnet: b, ip: 198.18.2.20, ipv6: "2001:db8:0:2::20", security_groups: [sg-b]}
  c: {subnet: b, ip: 198.18.2.30, security_groups: [sg-a]}
  far: {internet: true, ip: 203.0.113.10, ipv6: "2001:db8:ffff::10"}
steps:
"""


def lab(steps: str):
    return parse_lab(HEAD + steps, "features.yaml")


def run(steps: str):
    loaded = lab(steps)
    return loaded, run_lab(loaded, SimBackend())


def outcomes(result):
    return [s.outcome for s in result.steps]


# ---- send / close from a host name ------------------------------------------------------------------------

def test_send_and_close_take_the_host_name_of_either_end():
    loaded, result = run("  - listen: {host: b, port: 22}\n"
                         "  - connect: {from: a, to: b, port: 22, as: s}\n"
                         "  - send: {conn: s, from: b, data: from the server}\n"
                         "  - send: {conn: s, from: a, data: from the client}\n"
                         "  - close: {conn: s, from: b}\n")
    assert [s.spec.side for s in loaded.steps[2:]] == ["server", "client", "server"]
    assert outcomes(result) == ["listening", "established", "delivered", "delivered", "closed"]
    first = result.steps[2].packets[0]
    assert first["src"].startswith("198.18.2.20:22") and first["dst"].startswith("198.18.1.10:")
    assert result.steps[4].packets[0]["src"].startswith("198.18.2.20:22")  # b's FIN: the server closed


# ---- to: HOST@ipv6, family, internet hosts' ipv6 ----------------------------------------------------------

def test_host_at_ipv6_and_family_ipv6_send_to_the_hosts_ipv6_address():
    loaded, result = run("  - listen: {host: b, port: 22}\n"
                         "  - connect: {from: a, to: b@ipv6, port: 22, as: s}\n"
                         "  - ping: {from: a, to: b, family: ipv6, expect: reply}\n"
                         "  - ping: {from: a, to: b@ipv4, expect: no-reply}\n")  # sg-b: no ICMP over IPv4
    assert (loaded.steps[1].spec.to, loaded.steps[1].spec.family) == ("b", "ipv6")
    assert outcomes(result) == ["listening", "established", "reply", "no-reply"]
    assert result.steps[1].packets[0]["dst"] == "[2001:db8:0:2::20]:22"
    assert result.steps[1].description == "connect a → b@ipv6:22 as s"


def test_an_internet_hosts_ipv6_address_is_reachable_both_ways_through_the_internet_gateway():
    """An internet host's `ipv6:` was accepted and ignored (issue 9); IPv6 through the IGW is not translated
    (aws-routing-terraform.md §2)."""
    _, result = run("  - listen: {host: far, port: 443}\n"
                    "  - listen: {host: b, port: 22}\n"
                    "  - connect: {from: b, to: far@ipv6, port: 443, expect: established}\n"
                    "  - connect: {from: far, to: b@ipv6, port: 22, expect: established}\n"
                    "  - ping: {from: far, to: b@ipv6, expect: reply}\n")
    assert result.ok, [(s.description, s.outcome, s.packets[:1]) for s in result.steps]
    assert result.steps[3].packets[0]["src"] == "[2001:db8:ffff::10]:32768"


# ---- other IP protocols: 600 s ------------------------------------------------------------------------------

def test_another_protocol_is_tracked_by_addresses_and_protocol_for_600_seconds():
    """aws-semantics.md §1.7 and §2.1: for protocols other than TCP, UDP and ICMP only the addresses and the
    protocol number are tracked; the peer's traffic of the same protocol within 600 s is accepted regardless of
    inbound rules."""
    _, result = run("  - ip: {from: b, to: a, proto: esp, expect: dropped}\n"    # sg-a admits nothing
                    "  - ip: {from: a, to: b, proto: 50, expect: delivered}\n"   # opens the entry on a's ENI
                    "  - ip: {from: b, to: a, proto: esp, expect: delivered}\n"  # the same type back
                    "  - ip: {from: c, to: a, proto: esp, expect: dropped}\n"    # another address: not tracked
                    "  - ip: {from: b, to: a, proto: ah, expect: dropped}\n"     # another protocol: not tracked
                    "  - wait: {seconds: 599}\n"
                    "  - ip: {from: b, to: a, proto: esp, expect: delivered}\n"
                    "  - wait: {seconds: 601}\n"
                    "  - ip: {from: b, to: a, proto: esp, expect: dropped}\n")
    assert result.ok, [(s.description, s.outcome) for s in result.failures]
    back = result.steps[2].packets[0]
    assert back["code"] == "CONNTRACK_MATCH" and "600 s" in str(back["trace"])
    assert result.steps[-1].packets[0]["code"] == "CONNTRACK_EXPIRED"


# ---- set_conntrack (assumption C12) -----------------------------------------------------------------------

def test_a_new_udp_timeout_applies_to_an_existing_entry_only_from_its_next_packet():
    """docs/assumptions.md C12: existing entries keep their timeout until their next packet, then take the new
    one. a's ENI tracks its one-way UDP flow for 30 s; after set_conntrack udp: 60 the entry still ends at 30 s
    unless a packet refreshed it."""
    _, kept = run("  - udp: {from: a, to: b, port: 5000, sport: 40000, expect: delivered}\n"
                  "  - set_conntrack: {host: a, udp: 60}\n"
                  "  - wait: {seconds: 35}\n"
                  "  - udp: {from: b, to: a, port: 40000, sport: 5000, expect: dropped}\n")
    assert kept.ok, [(s.description, s.outcome) for s in kept.steps]
    _, refreshed = run("  - udp: {from: a, to: b, port: 5000, sport: 40000, expect: delivered}\n"
                       "  - set_conntrack: {host: a, udp: 60}\n"
                       "  - udp: {from: a, to: b, port: 5000, sport: 40000, expect: delivered}\n"
                       "  - wait: {seconds: 45}\n"
                       "  - udp: {from: b, to: a, port: 40000, sport: 5000, expect: delivered}\n"
                       "  - wait: {seconds: 61}\n"
                       "  - udp: {from: b, to: a, port: 40000, sport: 5000, expect: dropped}\n")
    assert refreshed.ok, [(s.description, s.outcome) for s in refreshed.steps]


def test_set_conntrack_changes_only_the_keys_it_gives():
    loaded = lab("  - set_conntrack: {host: a, tcp_established: 3600, max_entries: 10}\n")
    settings = loaded.steps[0].network.hosts["a"].conntrack
    assert (settings.tcp_established, settings.max_entries, settings.udp, settings.udp_stream) == (3600, 10, 30, 180)
    assert loaded.network.hosts["a"].conntrack.tcp_established == 432000  # the network before the step is unchanged


# ---- modify_prefix_list ----------------------------------------------------------------------------------

def test_a_prefix_list_change_takes_effect_in_every_rule_that_references_it_and_tracked_flows_survive():
    """aws-semantics.md §6 (managed prefix lists): every modification creates a new version and referencing
    resources use the latest; §2.4: a tracked flow survives its rule's removal."""
    _, result = run("  - listen: {host: b, proto: udp, port: 53, reply: true}\n"
                    "  - udp: {from: a, to: b, port: 53, sport: 41000, expect: no-reply}\n"
                    "  - modify_prefix_list: {prefix_list: pl-peers, add: [198.18.1.0/24]}\n"
                    "  - udp: {from: a, to: b, port: 53, sport: 41000, expect: reply}\n"
                    "  - modify_prefix_list: {prefix_list: pl-peers, remove: [198.18.1.0/24]}\n"
                    "  - udp: {from: a, to: b, port: 53, sport: 41000, expect: reply}\n"   # tracked: survives
                    "  - udp: {from: a, to: b, port: 53, sport: 41001, expect: no-reply}\n")  # a new flow: refused
    assert result.ok, [(s.description, s.outcome) for s in result.steps]
    assert result.steps[2].description == "modify prefix list pl-peers: +198.18.1.0/24"


# ---- udp expect reply ---------------------------------------------------------------------------------------

def test_udp_expect_reply_reports_whether_the_listeners_answer_came_back():
    _, result = run("  - listen: {host: b, proto: udp, port: 53, reply: true}\n"
                    "  - modify_prefix_list: {prefix_list: pl-peers, add: [198.18.1.0/24]}\n"
                    "  - udp: {from: a, to: b, port: 53, expect: reply}\n"
                    "  - associate_nacl: {subnet: b, nacl: no-dns-out}\n"
                    "  - udp: {from: a, to: b, port: 53, expect: no-reply}\n"
                    "  - udp: {from: a, to: b, port: 53, expect: delivered}\n"
                    "  - udp: {from: a, to: 198.18.0.2, port: 53, expect: reply}\n")  # Amazon DNS answers
    assert result.ok, [(s.description, s.outcome) for s in result.steps]
    lost = result.steps[4]
    assert lost.detail == "the answer did not come back"
    assert [p["verdict"] for p in lost.packets] == ["allowed", "dropped"]  # delivered, the answer dropped
    assert lost.packets[1]["code"] == "SUBNET_ACL_RESTRICTION"


# ---- load-time checks ----------------------------------------------------------------------------------------

SETUP = "  - listen: {host: b, port: 22}\n  - connect: {from: a, to: b, port: 22, as: s}\n"
BAD = [
    ("send from neither end", "- send: {conn: s, from: c}", "send.from", "'c' is neither end of connection s"),
    ("close from an unknown host", "- close: {conn: s, from: nobody}", "close.from", "expected client, server, a or b"),
    ("ip with tcp", "- ip: {from: a, to: b, proto: tcp}", "ip.proto", "tcp has its own step (connect)"),
    ("ip with a bad name", "- ip: {from: a, to: b, proto: bogus}", "ip.proto", "'bogus' is not a protocol"),
    ("ip with protocol 0", "- ip: {from: a, to: b, proto: 0}", "ip.proto", "expected a name"),
    ("reply without a replying listener", "- udp: {from: a, to: c, port: 53, expect: reply}", "udp.expect",
     "c has no replying udp listener on port 53"),
    ("reply from a service port that does not answer", "- udp: {from: a, to: 169.254.169.253, port: 54, "
     "expect: reply}", "udp.expect", "nothing at 169.254.169.253 answers udp port 54"),
    ("an unknown family", "- ping: {from: a, to: b@ipv7}", "ping.to", "expected NAME@ipv6 or NAME@ipv4"),
    ("ipv6 of a host without one", "- ping: {from: a, to: c@ipv6}", "ping.to", "c has no IPv6 address"),
    ("family contradicting @", "- ping: {from: a, to: b@ipv6, family: ipv4}", "ping.family", "contradicts"),
    ("family contradicting an address", "- ping: {from: a, to: '2001:db8:0:2::20', family: ipv4}",
     "ping.family", "is an IPv6 address, not ipv4"),
    ("a bad family word", "- ping: {from: a, to: b, family: v6}", "ping.family", ""),
    ("set_conntrack with nothing", "- set_conntrack: {host: a}", "set_conntrack", "expected at least one of"),
    ("set_conntrack out of range", "- set_conntrack: {host: a, udp: 500}", "set_conntrack.udp",
     "500 is out of range: expected 30-60 seconds"),
    ("set_conntrack on an internet host", "- set_conntrack: {host: far, udp: 40}", "set_conntrack.host",
     "unknown VPC host 'far'"),
    ("remove a missing entry", "- modify_prefix_list: {prefix_list: pl-peers, remove: [10.0.0.0/8]}",
     "modify_prefix_list.remove[1]", "10.0.0.0/8 is not an entry of pl-peers"),
    ("add the other family", "- modify_prefix_list: {prefix_list: pl-peers, add: ['2001:db8::/64']}",
     "modify_prefix_list.add[1]", "a prefix list holds one family"),
    ("add an existing entry", "- modify_prefix_list: {prefix_list: pl-peers, add: [198.18.9.0/24]}",
     "modify_prefix_list.add[1]", "already an entry"),
    ("add a bad CIDR", "- modify_prefix_list: {prefix_list: pl-peers, add: [bad]}", "modify_prefix_list.add[1]",
     "'bad' is not a valid CIDR"),
    ("an unknown prefix list", "- modify_prefix_list: {prefix_list: pl-nope, add: [10.0.0.0/8]}",
     "modify_prefix_list.prefix_list", "unknown prefix list 'pl-nope'"),
    ("modify nothing", "- modify_prefix_list: {prefix_list: pl-peers}", "modify_prefix_list", "expected add or remove"),
]
FIRST_LINE = HEAD.count("\n") + 3  # the line of the first bad step (after SETUP)


@pytest.mark.parametrize("case, step, field, words", BAD, ids=[b[0] for b in BAD])
def test_a_mistake_in_a_new_step_is_refused_at_load_time_with_its_line_and_field(case, step, field, words):
    with pytest.raises(LabError) as raised:
        lab(SETUP + "  " + step + "\n")
    problems = [str(p) for p in raised.value.problems]
    prefix = f"features.yaml:{FIRST_LINE}: steps[3].{field}: "
    assert len(problems) == 1 and problems[0].startswith(prefix) and words in problems[0], problems


def test_every_new_mistake_at_once_through_the_cli_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + SETUP + "".join(f"  {step}\n" for _, step, _, _ in BAD), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "vpclab", "lab", "run", str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    for offset, (case, _, field, words) in enumerate(BAD):
        prefix = f"{path}:{FIRST_LINE + offset}: steps[{3 + offset}].{field}"
        assert any(line.startswith(prefix) and words in line for line in lines), (case, result.stderr)


# ---- listed kernel differences ---------------------------------------------------------------------------------

def test_lab_diff_sees_the_address_a_host_at_ipv6_stands_for_k8_for_gre_and_sctp_and_k5_after_a_capacity():
    """docs/assumptions.md K5 (ct count), K8 (Linux's own GRE/SCTP trackers); a step to b@ipv6 is exposed to what
    a step to b's IPv6 address is exposed to, not to what one to b's IPv4 address is."""
    from vpclab.lab.differences import exposures

    loaded = lab("  - ping: {from: a, to: b@ipv6}\n"
                 "  - ping: {from: a, to: '2001:db8:0:2::20'}\n"
                 "  - ping: {from: a, to: b}\n"
                 "  - ip: {from: a, to: b, proto: gre}\n"
                 "  - ip: {from: a, to: b, proto: esp}\n"
                 "  - set_conntrack: {host: a, max_entries: 5}\n"
                 "  - ip: {from: a, to: b, proto: 132}\n")
    listed = exposures(loaded)
    assert listed.get(1) == listed.get(2) and 3 not in listed
    assert listed[4] == ["K8"] and 5 not in listed
    assert "K5" in listed[6] and listed[7] == ["K5", "K8"]
