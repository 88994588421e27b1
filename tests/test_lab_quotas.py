"""AWS quotas are warnings (a lab models what-ifs); forms AWS's API refuses are errors (issue 9, item 5).

Sources: reference/aws-semantics.md §1.1 (a CIDR needs its prefix length; icmp rules a type and code), §1.6
(60 inbound or outbound rules per group and family; 5 groups per network interface), §3.1 (IcmpTypeCode for
icmp NACL entries, and icmpv6 ones with an IPv6 CIDR), §3.6 (20 NACL rules per direction and family, the * deny
included).
"""

import pytest
from test_lab_errors import run_cli

from vpclab.lab.loader import parse_lab
from vpclab.lab.yamlsource import LabError
from vpclab.load import assemble

HEAD = """\
lab: quotas
title: Quotas
vpc: {cidr: 10.0.0.0/16, ipv6_cidr: "2001:db8::/56"}
subnets:
  a: {cidr: 10.0.1.0/24, nacl: acl}
"""


def lab(ingress_v4: int = 0, ingress_v6: int = 0, refs: int = 0, groups: int = 1, nacl_v4: int = 0,
        nacl_v6: int = 0, steps: str = "", rule: str = "") -> str:
    """A lab whose group `big` has that many inbound rules, whose host has that many groups, and so on."""
    rules = [f"{{proto: tcp, ports: {i + 1}, cidr: 10.{i // 250}.{i % 250}.0/24}}" for i in range(ingress_v4)]
    rules += [f"{{proto: tcp, ports: {i + 1}, cidr: '2001:db8:{i:x}::/48'}}" for i in range(ingress_v6)]
    rules += [f"{{proto: tcp, ports: {i + 1}, sg: other}}" for i in range(refs)]
    rules += [rule] if rule else []
    entries = [f"{{rule: {i + 1}, action: allow, proto: tcp, ports: 22, cidr: 10.{i}.0.0/16}}" for i in range(nacl_v4)]
    entries += [f"{{rule: {i + 101}, action: allow, proto: tcp, ports: 22, cidr: '2001:db8:{i:x}::/48'}}"
                for i in range(nacl_v6)]
    names = ["big"] + [f"g{i}" for i in range(1, groups)]
    return (HEAD + "nacls:\n  acl:\n    ingress:" + "".join(f"\n      - {e}" for e in entries)
            + (" []" if not entries else "") + "\nsecurity_groups:\n  other: {}\n  big:\n    ingress:"
            + "".join(f"\n      - {r}" for r in rules)
            + (" []" if not rules else "") + "".join(f"\n  g{i}: {{}}" for i in range(1, groups))
            + f"\nhosts:\n  web: {{subnet: a, ip: 10.0.1.10, security_groups: [{', '.join(names)}]}}\n"
            + "steps:\n  - listen: {host: web, port: 22}\n" + steps)


def line_of(text: str, words: str) -> int:
    return text[:text.index(words)].count("\n") + 1


def warnings(text: str) -> list:
    return list(parse_lab(text, "lab.yaml").warnings)


@pytest.mark.parametrize("kwargs", [
    {"ingress_v4": 60}, {"ingress_v4": 60, "ingress_v6": 60}, {"ingress_v6": 59, "refs": 1}, {"groups": 5},
    {"nacl_v4": 19}, {"nacl_v4": 19, "nacl_v6": 19},
])
def test_within_the_default_quotas_there_is_no_warning(kwargs):
    assert warnings(lab(**kwargs)) == []


@pytest.mark.parametrize("kwargs,field,words,at", [
    ({"ingress_v4": 61}, "security_groups.big.ingress", ("big has 61 inbound IPv4 rules, more than AWS's quota "
     "'Inbound or outbound rules per security group' allows (60 by default, counted separately for IPv4 and IPv6"),
     "  big:"),
    ({"ingress_v6": 60, "refs": 1}, "security_groups.big.ingress", "big has 61 inbound IPv6 rules", "  big:"),
    ({"groups": 6}, "hosts.web.security_groups", ("web has 6 security groups, more than AWS's quota 'Security groups "
     "per network interface' allows (5 by default, adjustable up to 16"), "  web:"),
    ({"nacl_v4": 20}, "nacls.acl.ingress", ("acl has 21 inbound IPv4 rules with the * deny, more than AWS's quota "
     "'Rules per network ACL' allows (20 by default per direction and family, the * deny included"), "  acl:"),
    ({"nacl_v4": 5, "nacl_v6": 20}, "nacls.acl.ingress", "acl has 21 inbound IPv6 rules", "  acl:"),
])
def test_a_quota_exceeded_is_a_located_warning_naming_the_quota_and_its_source(kwargs, field, words, at):
    text = lab(**kwargs)
    [warning] = warnings(text)
    assert warning.severity == "warning" and warning.field == field, warning
    assert words in warning.message and "aws-semantics.md §" in warning.message, warning.message
    assert warning.origin.line == line_of(text, at)


def test_a_change_step_that_exceeds_a_quota_is_warned_of_at_the_step_once():
    steps = "".join(f"  - authorize: {{sg: big, ingress: {{proto: udp, ports: {p}, cidr: 10.0.0.0/16}}}}\n"
                    for p in (1, 2, 3))
    text = lab(ingress_v4=59, steps=steps)
    [warning] = warnings(text)
    assert warning.field == "steps[3].authorize" and warning.origin.line == line_of(text, "ports: 2, cidr: 10.0.0.0/16")
    assert warning.message.startswith("after this step, big has 61 inbound IPv4 rules")


def test_the_cli_prints_warnings_to_stderr_and_runs_the_lab_with_its_usual_exit_status(tmp_path):
    path = tmp_path / "lab.yaml"
    text = lab(groups=6)
    path.write_text(text)
    result = run_cli("lab", "run", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.startswith(f"{path}:{line_of(text, '  web:')}: warning: hosts.web.security_groups: web has 6 ")
    assert "listen" in result.stdout


def test_the_assembler_loads_a_network_over_a_quota_and_keeps_the_warning():
    data = {"vpc": {"cidr": "10.0.0.0/16"}, "subnets": {"a": {"cidr": "10.0.1.0/24"}},
            "security_groups": {f"g{i}": {} for i in range(7)},
            "hosts": {"web": {"subnet": "a", "ip": "10.0.1.10", "security_groups": [f"g{i}" for i in range(7)]}}}
    assert len(assemble(data).hosts["web"].security_groups) == 7


@pytest.mark.parametrize("rule,field,words", [
    ("{proto: tcp, ports: 22, cidr: 10.0.0.5}", "cidr",
     ("10.0.0.5 has no prefix length, and AWS refuses a CIDR without one (InvalidParameterValue; "
      "aws-semantics.md §1.1): expected 10.0.0.5/32 for this one address")),
    ("{proto: tcp, ports: 22, cidr: '2001:db8::5'}", "cidr", "expected 2001:db8::5/128 for this one address"),
    ("{proto: icmp, cidr: 10.0.0.0/16}", "icmp", ("AWS requires a type and code (FromPort/ToPort) for an icmp rule "
     "(aws-semantics.md §1.1): write icmp: {type: -1} for every type and code")),
])
def test_security_group_rule_forms_aws_refuses_are_errors(rule, field, words):
    for text in (lab(rule=rule), lab(steps=f"  - authorize: {{sg: big, egress: {rule}}}\n")):
        with pytest.raises(LabError) as error:
            parse_lab(text, "lab.yaml")
        [problem] = error.value.problems
        assert problem.field.endswith(f".{field}") and words in problem.message, problem
        assert problem.origin.line == line_of(text, rule)


def test_a_bare_address_is_refused_through_the_cli_with_exit_2(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(lab(rule="{proto: tcp, ports: 22, cidr: 10.0.0.5}"))
    result = run_cli("lab", "run", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "security_groups.big.ingress[1].cidr: 10.0.0.5 has no prefix length" in result.stderr


@pytest.mark.parametrize("entry,words", [
    ("{rule: 50, action: allow, proto: icmp, cidr: 0.0.0.0/0}", "for an icmp entry (aws-semantics.md §3.1)"),
    ("{rule: 50, action: allow, proto: icmpv6, cidr: '::/0'}", "for an icmpv6 entry with an IPv6 CIDR"),
    ("{rule: 50, action: allow, proto: 58, cidr: '2001:db8::/56'}", "for an icmpv6 entry with an IPv6 CIDR"),
])
def test_nacl_entries_without_the_icmp_type_and_code_aws_requires_are_errors(entry, words):
    text = HEAD + (
        f"nacls:\n  acl:\n    ingress:\n      - {entry}\nhosts:\n  web: {{subnet: a, ip: 10.0.1.10, "
        "security_groups: [g]}\nsecurity_groups:\n  g: {}\n")
    with pytest.raises(LabError) as error:
        parse_lab(text, "lab.yaml")
    [problem] = error.value.problems
    assert problem.field == "nacls.acl.ingress[1].icmp" and words in problem.message, problem


@pytest.mark.parametrize("rule", ["{proto: icmpv6, cidr: '::/0'}", "{proto: icmp, icmp: {type: -1}, cidr: 10.0.0.0/8}",
                                  "{proto: tcp, ports: 22, cidr: 10.0.0.5/32}"])
def test_the_forms_aws_accepts_still_load(rule):
    parse_lab(lab(rule=rule, steps="  - nacl_entry: {nacl: acl, egress: {rule: 7, action: allow, proto: 58, "
                                   "cidr: 10.0.0.0/8}}\n"), "lab.yaml")
