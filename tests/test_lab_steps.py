"""Everything a step can get wrong is found when the lab is loaded: exit 2 with `FILE:LINE: field: message`,
before any step runs, never a traceback half-way through (issue 9, item 3)."""

import pytest
from test_lab_errors import run_cli

from vpclab.lab.loader import parse_lab
from vpclab.lab.yamlsource import LabError

BASE = """\
lab: steps
title: Every step kind, with good values
vpc: {cidr: 198.18.0.0/16, ipv6_cidr: "2001:db8::/56"}
subnets:
  a: {cidr: 198.18.1.0/24, ipv6_cidr: "2001:db8:0:1::/64"}
  b: {cidr: 198.18.2.0/24, nacl: strict}
nacls:
  strict:
    ingress:
      - {rule: 100, action: allow, proto: -1, cidr: 0.0.0.0/0}
    egress:
      - {rule: 100, action: allow, proto: -1, cidr: 0.0.0.0/0}
security_groups:
  sg-a: {}
  sg-b:
    ingress:
      - {proto: -1, cidr: 198.18.0.0/16}
hosts:
  ha: {subnet: a, ip: 198.18.1.10, ipv6: "2001:db8:0:1::10", security_groups: [sg-a]}
  hb: {subnet: b, ip: 198.18.2.20, security_groups: [sg-b]}
  net: {internet: true, ip: 203.0.113.10}
steps:
  - listen: {host: hb, port: 22}
  - connect: {from: ha, to: hb, port: 22, as: c1, expect: established}
  - send: {conn: c1, data: hi, expect: delivered}
"""
FIRST = BASE.count("\n") + 1  # the line of the first step appended to BASE
STEP = 4  # its number

# (case, steps appended to BASE (the last one is wrong), field of the last step, words of its message)
CASES = [
    ("icmp type name that does not exist", "- icmp: {from: ha, to: hb, type: echo}", "icmp.type",
     "'echo' is not an ICMP type: expected one type, a number 0-255 or a name (address-mask-reply"),
    ("icmp type -1 (all) in a crafted packet", "- icmp: {from: ha, to: hb, type: -1}", "icmp.type",
     "-1 is not an ICMP type"),
    ("icmp type 300", "- icmp: {from: ha, to: hb, type: 300}", "icmp.type", "300 is not an ICMP type"),
    ("icmpv6 type name to an IPv4 address", "- icmp: {from: ha, to: hb, type: packet-too-big}", "icmp.type",
     "(packet-too-big is an ICMPv6 type, and this packet goes to an IPv4 address)"),
    ("icmp type name to an IPv6 address", "- icmp: {from: ha, to: '2001:db8:0:1::99', type: timestamp-request}",
     "icmp.type", "'timestamp-request' is not an ICMPv6 type"),
    ("icmp code 256", "- icmp: {from: ha, to: hb, type: 3, code: 256}", "icmp.code", "expected 0-255"),
    ("ping over IPv6 from a host without IPv6", "- ping: {from: hb, to: '2001:db8:0:1::10'}", "ping.from",
     "hb has no IPv6 address, so it cannot send to 2001:db8:0:1::10"),
    ("udp over IPv6 from a host without IPv6", "- udp: {from: hb, to: '2001:db8:0:1::10', port: 53}", "udp.from",
     "hb has no IPv6 address"),
    ("connect over IPv6 from an internet host", "- connect: {from: net, to: '2001:db8:0:1::10', port: 22}",
     "connect.from", "net has no IPv6 address"),
    ("icmp over IPv6 from a host without IPv6", "- icmp: {from: hb, to: '2001:db8:0:1::10', type: 8}", "icmp.from",
     "hb has no IPv6 address"),
    ("ping to a loopback address", "- ping: {from: ha, to: 127.0.0.1}", "ping.to", "127.0.0.1 is a loopback address"),
    ("udp to a multicast address", "- udp: {from: ha, to: 224.0.0.1, port: 53}", "udp.to", "a multicast address"),
    ("connect to the unspecified address", "- connect: {from: ha, to: 0.0.0.0, port: 22}", "connect.to",
     "0.0.0.0 is an unspecified address"),
    ("ping id out of range", "- ping: {from: ha, to: hb, id: 70000}", "ping.id",
     "70000 is out of range: expected 0-65535"),
    ("udp port 0", "- udp: {from: ha, to: hb, port: 0}", "udp.port", "0 is out of range: expected 1-65535"),
    ("udp sport 70000", "- udp: {from: ha, to: hb, port: 53, sport: 70000}", "udp.sport", "expected 1-65535"),
    ("udp from an unknown host", "- udp: {from: hz, to: hb, port: 53}", "udp.from", "unknown host 'hz'"),
    ("udp to an unknown host", "- udp: {from: ha, to: hz, port: 53}", "udp.to",
     "unknown host 'hz': expected a host name or an IP address"),
    ("udp with empty data", "- udp: {from: ha, to: hb, port: 53, data: ''}", "udp.data", "this value is empty"),
    ("listen on an unknown host", "- listen: {host: hz, port: 80}", "listen.host", "unknown host 'hz'"),
    ("listen udp proto typo", "- listen: {host: hb, port: 53, proto: upd}", "listen.proto",
     "'upd' is not valid: expected 'tcp' or 'udp'"),
    ("a tcp listener that replies", "- listen: {host: hb, port: 80, reply: true}", "listen.reply",
     "so it is a udp one"),
    ("send with empty data", "- send: {conn: c1, data: ''}", "send.data", "this value is empty"),
    ("send from neither end", "- send: {conn: c1, from: middle}", "send.from", "'middle' is neither end of connection c1"),
    ("send after close", "- close: {conn: c1}\n  - send: {conn: c1, data: late}", "send.conn",
     f"connection c1 was closed at step {STEP}: expected an open connection"),
    ("close after close", "- close: {conn: c1}\n  - close: {conn: c1}", "close.conn", "was closed at step"),
    ("from: server on a connection to an address no host holds",
     "- connect: {from: ha, to: 203.0.113.99, port: 80, as: c2}\n  - send: {conn: c2, from: server}", "send.from",
     "connection c2 goes to an address no host of the lab holds, so it has no server side"),
    ("close from: server on a connection to nobody",
     "- connect: {from: ha, to: 203.0.113.99, port: 80, as: c2}\n  - close: {conn: c2, from: server}", "close.from",
     "it has no server side"),
    ("a connection name still open", "- connect: {from: ha, to: hb, port: 22, as: c1}", "connect.as",
     "connection c1 of step 2 is still open"),
    ("connect from a port the host listens on", ("- listen: {host: ha, port: 8080}\n"
     "  - connect: {from: ha, to: hb, port: 22, sport: 8080}"), "connect.sport", "ha listens on tcp port 8080"),
    ("connect with the source port of an open connection",
     ("- connect: {from: ha, to: hb, port: 22, sport: 40000, as: c2}\n"
     "  - connect: {from: ha, to: hb, port: 22, sport: 40000, as: c3}"), "connect.sport",
     "connection c2 (step 4) already uses source port 40000"),
    ("connect with an outcome udp uses", "- connect: {from: ha, to: hb, port: 22, expect: delivered}",
     "connect.expect", "expected 'established', 'blocked' or 'refused'"),
    ("wait a negative time", "- wait: {seconds: -1}", "wait.seconds", "-1 is out of range: expected 0-864000"),
    ("expect on a listen", "- listen: {host: hb, port: 23, expect: listening}", "listen.expect",
     "unknown key 'expect'"),
    ("authorize on an unknown group", "- authorize: {sg: sg-x, ingress: {proto: tcp, ports: 80, cidr: 0.0.0.0/0}}",
     "authorize.sg", "unknown security group 'sg-x'"),
    ("authorize both directions at once", ("- authorize: {sg: sg-a, ingress: {proto: tcp, ports: 80, "
     "cidr: 0.0.0.0/0}, egress: {proto: tcp, ports: 80, cidr: 0.0.0.0/0}}"), "authorize",
     "expected exactly one of ingress or egress"),
    ("authorize a rule with a bad protocol", ("- authorize: {sg: sg-a, ingress: {proto: tcpx, ports: 80, "
     "cidr: 0.0.0.0/0}}"), "authorize.ingress.proto", "unknown protocol 'tcpx'"),
    ("authorize a rule twice", "- authorize: {sg: sg-b, ingress: {proto: -1, cidr: 198.18.0.0/16}}", "authorize",
     "InvalidPermission.Duplicate"),
    ("a NACL entry in an unknown NACL", ("- nacl_entry: {nacl: lax, ingress: {rule: 90, action: deny, proto: -1, "
     "cidr: 0.0.0.0/0}}"), "nacl_entry.nacl", "unknown network ACL 'lax'"),
    ("a NACL entry number already used", ("- nacl_entry: {nacl: strict, ingress: {rule: 100, action: deny, "
     "proto: -1, cidr: 0.0.0.0/0}}"), "nacl_entry", "already has ingress rule 100"),
    ("deleting a NACL entry that does not exist", "- delete_nacl_entry: {nacl: strict, direction: ingress, rule: 7}",
     "delete_nacl_entry", "has no ingress rule 7 to delete"),
    ("deleting in a direction that does not exist", "- delete_nacl_entry: {nacl: strict, direction: in, rule: 100}",
     "delete_nacl_entry.direction", "expected 'ingress' or 'egress'"),
    ("associating an unknown subnet", "- associate_nacl: {subnet: c, nacl: strict}", "associate_nacl.subnet",
     "unknown subnet 'c'"),
    ("groups for an internet host", "- set_security_groups: {host: net, security_groups: [sg-a]}",
     "set_security_groups.host", "unknown VPC host 'net'"),
    ("no group at all", "- set_security_groups: {host: ha, security_groups: []}", "set_security_groups",
     "expected 1 to 16 security groups"),
]


def case_text(steps: str) -> str:
    return BASE + "  " + steps + "\n"


def last_step(steps: str) -> tuple[int, int]:
    """The line and the step number of the last step appended."""
    extra = steps.count("\n")
    return FIRST + extra, STEP + extra


def test_the_base_lab_is_valid():
    parse_lab(BASE, "steps.yaml")


@pytest.mark.parametrize("case,steps,field,words", CASES, ids=[c[0] for c in CASES])
def test_a_bad_step_is_refused_at_load_time_naming_its_line_and_field(case, steps, field, words):
    line, number = last_step(steps)
    with pytest.raises(LabError) as error:
        parse_lab(case_text(steps), "steps.yaml")
    found = [str(p) for p in error.value.problems]
    assert any(p.startswith(f"steps.yaml:{line}: steps[{number}].{field}: ") and words in p for p in found), found
    assert len(found) == 1, found


def test_every_bad_step_kind_through_the_cli_exits_2_before_any_step_runs_without_a_traceback(tmp_path):
    """All cases in one file (each after the valid steps): every message is printed, located, at once.

    Left out: cases of several steps, and changes refused for the state of the network, which is not known
    once an earlier change failed (they are not reported again then).
    """
    stateful = ("still open", "Duplicate", "already has", "to delete")
    independent = [c for c in CASES if "\n" not in c[1] and not any(w in c[3] for w in stateful)]
    text = BASE + "".join(f"  {steps}\n" for _, steps, _, _ in independent)
    path = tmp_path / "steps.yaml"
    path.write_text(text)
    result = run_cli("lab", "run", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    for offset, (case, _, field, words) in enumerate(independent):
        prefix = f"{path}:{FIRST + offset}: steps[{STEP + offset}].{field}: "
        assert any(m.startswith(prefix) and words in m for m in lines), (case, prefix, result.stderr)
    assert len(lines) == len(independent), result.stderr


def test_a_connect_that_failed_its_own_checks_leaves_no_false_unknown_connection():
    text = BASE.replace("{from: ha, to: hb, port: 22, as: c1,", "{from: ha, to: hb, port: 70000, as: c1,")
    with pytest.raises(LabError) as error:
        parse_lab(text, "steps.yaml")
    assert [p.field for p in error.value.problems] == ["steps[2].connect.port"]


def test_steps_are_checked_by_name_even_when_the_network_failed_to_load():
    text = case_text("- ping: {from: ha, to: hz}\n  - authorize: {sg: sg-x, ingress: {proto: tcp, ports: 80, "
                     "cidr: 0.0.0.0/0}}\n  - icmp: {from: ha, to: hb, type: echo}").replace(
        "a: {cidr: 198.18.1.0/24,", "a: {cidr: 198.18.1.0/33,")
    with pytest.raises(LabError) as error:
        parse_lab(text, "steps.yaml")
    assert [p.field for p in error.value.problems] == [
        "subnets.a.cidr", "steps[4].ping.to", "steps[5].authorize.sg", "steps[6].icmp.type"]
