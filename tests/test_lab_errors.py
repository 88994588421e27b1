"""Malformed lab files: exit status 2, one message per problem naming file, line and field, never a traceback."""

import subprocess
import sys

import pytest

BASE = """\
lab: sample
title: A sample lab
vpc: {cidr: 198.18.0.0/16}
subnets:
  a: {cidr: 198.18.1.0/24}
  b: {cidr: 198.18.2.0/24, nacl: strict}
nacls:
  strict:
    ingress:
      - {rule: 100, action: allow, proto: tcp, ports: 22, cidr: 0.0.0.0/0}
    egress:
      - {rule: 100, action: allow, proto: tcp, ports: 32768-60999, cidr: 0.0.0.0/0}
security_groups:
  sg-a: {}
  sg-b:
    ingress:
      - {proto: tcp, ports: 22, cidr: 198.18.0.0/16}
hosts:
  ha: {subnet: a, ip: 198.18.1.10, security_groups: [sg-a]}
  hb: {subnet: b, ip: 198.18.2.20, security_groups: [sg-b], conntrack: {udp: 30}}
steps:
  - listen: {host: hb, port: 22}
  - connect: {from: ha, to: hb, port: 22, as: c1, expect: established}
  - send: {conn: c1, data: hi, expect: delivered}
"""

# (case, old text, new text, field expected in the message, words expected in the message)
CASES = [
    ("unknown top-level key", "title: A sample lab", "title: A sample lab\ncolour: blue", "colour", "unknown key"),
    ("unknown step", "  - send: {conn: c1, data: hi, expect: delivered}", "  - jump: {high: true}", "steps[3].jump",
     "unknown step"),
    ("unknown key in a step", "port: 22, as: c1", "port: 22, colour: red, as: c1", "steps[2].connect.colour",
     "expected one of"),
    ("bad subnet CIDR", "a: {cidr: 198.18.1.0/24}", "a: {cidr: 198.18.1.0/33}", "subnets.a.cidr", "not a valid CIDR"),
    ("port 70000", "ports: 22, cidr: 198.18.0.0/16", "ports: 70000, cidr: 198.18.0.0/16",
     "security_groups.sg-b.ingress[1].ports", "0-65535"),
    ("unknown protocol", "{proto: tcp, ports: 22, cidr: 198.18", "{proto: tcpx, ports: 22, cidr: 198.18",
     "security_groups.sg-b.ingress[1].proto", "unknown protocol"),
    ("step port out of range", "{from: ha, to: hb, port: 22,", "{from: ha, to: hb, port: 70000,",
     "steps[2].connect.port", "65535"),
    ("unknown host in a step", "{from: ha, to: hb, port: 22,", "{from: hz, to: hb, port: 22,",
     "steps[2].connect.from", "unknown host"),
    ("unknown security group on a host", "security_groups: [sg-a]}", "security_groups: [sg-zz]}",
     "hosts.ha.security_groups", "unknown security group"),
    ("unknown group in a reference", "ports: 22, cidr: 198.18.0.0/16}", "ports: 22, sg: sg-zz}",
     "security_groups.sg-b.ingress[1].sg", "unknown security group"),
    ("unknown connection", "- send: {conn: c1,", "- send: {conn: c9,", "steps[3].send.conn", "unknown connection"),
    ("unknown NACL", "nacl: strict}", "nacl: lax}", "subnets.b.nacl", "unknown network ACL"),
    ("duplicate NACL rule numbers", "      - {rule: 100, action: allow, proto: tcp, ports: 22, cidr: 0.0.0.0/0}",
     "      - {rule: 100, action: allow, proto: tcp, ports: 22, cidr: 0.0.0.0/0}\n"
     "      - {rule: 100, action: deny, proto: tcp, ports: 23, cidr: 0.0.0.0/0}",
     "nacls.strict.ingress[2].rule", "already has ingress rule 100"),
    ("NACL rule number out of range", "{rule: 100, action", "{rule: 40000, action", "nacls.strict.ingress[1].rule",
     "1-32766"),
    ("conntrack out of AWS range", "conntrack: {udp: 30}", "conntrack: {udp: 90}", "hosts.hb.conntrack.udp", "30-60"),
    ("host IP outside its subnet", "ip: 198.18.1.10", "ip: 198.18.3.10", "hosts.ha.ip", "not inside subnet a"),
    ("unknown outcome word", "expect: established", "expect: open", "steps[2].connect.expect", "expected"),
    ("revoking a rule that does not exist", "  - send: {conn: c1, data: hi, expect: delivered}",
     "  - revoke: {sg: sg-b, ingress: {proto: tcp, ports: 23, cidr: 198.18.0.0/16}}", "steps[3].revoke",
     "InvalidPermission.NotFound"),
    ("duplicate key", "  sg-a: {}", "  sg-a: {}\n  sg-a: {}", "security_groups.sg-a", "appears twice"),
    ("unknown prefix list", "ports: 22, cidr: 198.18.0.0/16}", "ports: 22, prefix_list: pl-nope}",
     "security_groups.sg-b.ingress[1].prefix_list", "unknown prefix list"),
]


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "vpclab", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


def write(tmp_path, text, name="lab.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def changed_line(old_text, new_text):
    """The 1-based line where the change's last line sits in the new text."""
    text = BASE.replace(old_text, new_text, 1)
    start = text.index(new_text)
    return text[:start].count("\n") + new_text.count("\n") + 1


def test_the_base_lab_is_valid(tmp_path):
    result = run_cli("lab", "run", str(write(tmp_path, BASE)))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case,old,new,field,words", CASES, ids=[c[0] for c in CASES])
def test_malformed_lab_exits_2_naming_file_line_and_field(tmp_path, case, old, new, field, words):
    assert old in BASE, case
    path = write(tmp_path, BASE.replace(old, new, 1))
    result = run_cli("lab", "run", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    expected_line = changed_line(old, new)
    messages = [m for m in result.stderr.splitlines() if m.startswith(f"{path}:{expected_line}: {field}:")]
    assert messages, f"no '{path}:{expected_line}: {field}:' in:\n{result.stderr}"
    assert any(words in m for m in messages), result.stderr


def test_all_problems_are_reported_not_just_the_first(tmp_path):
    text = BASE.replace("a: {cidr: 198.18.1.0/24}", "a: {cidr: 198.18.1.0/33}").replace(
        "expect: established", "expect: open").replace("conntrack: {udp: 30}", "conntrack: {udp: 90}")
    result = run_cli("lab", "run", str(write(tmp_path, text)))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 3, result.stderr


@pytest.mark.parametrize("text,words", [
    ("lab: x\n  bad: [\n", ":2: not valid YAML"),
    ("", "the file is empty"),
    ("- just\n- a list\n", ":1: expected a mapping"),
    ("\x00\x01binary", "not valid YAML"),
])
def test_broken_yaml_empty_and_non_mapping_files_exit_2(tmp_path, text, words):
    path = write(tmp_path, text)
    result = run_cli("lab", "run", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert words in result.stderr, result.stderr


def test_a_missing_lab_exits_2_with_the_builtin_names(tmp_path):
    result = run_cli("lab", "run", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "beating-security-groups" in result.stderr
