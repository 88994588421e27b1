"""One mistake, one precise message in the lab's words; no false errors from what it broke (issue 9, item 4)."""

import pytest
from test_lab_errors import BASE

from vpclab.lab.loader import parse_lab
from vpclab.lab.yamlsource import LabError


def problems(text: str) -> list[str]:
    with pytest.raises(LabError) as error:
        parse_lab(text, "lab.yaml")
    return [str(p) for p in error.value.problems]


def line_of(text: str, words: str) -> int:
    return text[:text.index(words)].count("\n") + 1


def changed_line(text: str, old: str, new: str) -> int:
    """The line of `text` holding the first line of `new` that differs from `old`'s."""
    old_lines = old.splitlines()
    offset = next(i for i, line in enumerate(new.splitlines()) if i >= len(old_lines) or line != old_lines[i])
    return line_of(text, new) + offset


@pytest.mark.parametrize("old,new,field,words", [
    ("  sg-b:\n    ingress:", "  sg-b:\n    ingres:", "security_groups.sg-b.ingres",
     "unknown key 'ingres' (did you mean 'ingress'?)"),
    ("a: {cidr: 198.18.1.0/24}", "a: {cdir: 198.18.1.0/24}", "subnets.a.cdir", "did you mean 'cidr'?"),
    ("b: {cidr: 198.18.2.0/24, nacl: strict}", "b: {cidr: 198.18.2.0/24, nacl: strict, colour: red}",
     "subnets.b.colour", "unknown key 'colour'"),
    ("    egress:\n      - {rule: 100, action: allow, proto: tcp, ports: 32768",
     "    egres:\n      - {rule: 100, action: allow, proto: tcp, ports: 32768", "nacls.strict.egres",
     "unknown key 'egres' (did you mean 'egress'?)"),
    ("hb: {subnet: b,", "hb: {subnt: b,", "hosts.hb.subnt", "did you mean 'subnet'?"),
])
def test_a_typo_in_one_entry_is_one_problem_and_nothing_that_refers_to_the_entry_is_reported(old, new, field, words):
    text = BASE.replace(old, new, 1)
    assert text != BASE
    found = problems(text)
    first = [p for p in found if p.startswith(f"lab.yaml:{changed_line(text, old, new)}: {field}: ")]
    assert first and words in first[0], found
    assert not any("unknown" in p and "expected one of" in p and "(none defined)" in p for p in found), found
    assert not any("this key is required" in p for p in found), found
    assert not any(p.split(": ")[1].startswith(("hosts", "steps")) for p in found if field.split(".")[0] != "hosts"), \
        found  # hosts and steps referring to the failed entry are not reported


def test_one_bad_entry_hides_no_problem_of_another_section():
    text = BASE.replace("hb: {subnet: b,", "hb: {subnt: b,").replace("a: {cidr: 198.18.1.0/24}",
                                                                   "a: {cidr: 198.18.1.0/33}")
    found = problems(text)
    assert any(p.startswith(f"lab.yaml:{line_of(text, 'a: {cidr')}: subnets.a.cidr: ") for p in found), found
    assert any(p.startswith(f"lab.yaml:{line_of(text, 'hb: {')}: hosts.hb.subnt: ") for p in found), found
    assert len(found) == 2, found


@pytest.mark.parametrize("old,new,field,words", [
    ("ports: 22, cidr: 198.18.0.0/16}", "ports: 22, cidr: 10}", "security_groups.sg-b.ingress[1].cidr",
     "10 is not valid: expected an address block such as 198.18.0.0/16"),
    ("{proto: tcp, ports: 22, cidr: 198.18", "{proto: [tcp], ports: 22, cidr: 198.18",
     "security_groups.sg-b.ingress[1].proto", "a list is not valid: expected a protocol: tcp, udp, icmp"),
    ("data: hi,", "data: yes,", "steps[3].send.data", "put the word in quotes"),
    ("data: hi,", "data: 42,", "steps[3].send.data", "42 is not valid: expected text, such as hello (a bare number"),
    ("ip: 198.18.1.10,", "ip: ,", "hosts.ha.ip", "this key has no value: expected an IPv4 address such as 198.18.1.10"),
    ("security_groups: [sg-a]}", "security_groups: [7]}", "hosts.ha.security_groups[1]",
     "7 is not valid: expected a security group name, such as sg-web"),
    ("conntrack: {udp: 30}", "conntrack: {udp: thirty}", "hosts.hb.conntrack.udp",
     "'thirty' is not valid: expected a number of seconds 30-60"),
    ("  - listen: {host: hb, port: 22}", "  - listen: {host: hb, port: 22}\n  - wait: {seconds: soon}",
     "steps[2].wait.seconds", "'soon' is not valid: expected a number of seconds, such as 31"),
    ("  - listen: {host: hb, port: 22}", "  - listen: {host: hb, port: 22, reply: maybe}", "steps[1].listen.reply",
     "'maybe' is not valid: expected true or false"),
])
def test_pydantic_words_become_the_labs_words(old, new, field, words):
    text = BASE.replace(old, new, 1)
    assert text != BASE
    found = problems(text)
    where = f"lab.yaml:{changed_line(text, old, new)}: {field}: "
    assert [p for p in found if p.startswith(where) and words in p], found
    assert not any("input should" in p.lower() or "string should" in p.lower() for p in found), found
    assert len(found) == 1, found
