"""The VPC's default security group in every lab (aws-semantics.md §1.2): `default`, all traffic in from its own
members, all traffic out (and ::/0 with IPv6), on every VPC host launched without groups."""

from __future__ import annotations

from vpclab.lab.loader import parse_lab
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend
from vpclab.model import Direction

BASE = """\
lab: default-group
title: The default group
vpc: {cidr: 198.18.0.0/16}
subnets:
  a: {cidr: 198.18.1.0/24}
  b: {cidr: 198.18.2.0/24}
security_groups:
  sg-c:
    ingress: [{proto: tcp, ports: 80, cidr: 198.18.0.0/16}]
%s
hosts:
  a: {subnet: a, ip: 198.18.1.10}
  b: {subnet: b, ip: 198.18.2.20, security_groups: []}
  c: {subnet: b, ip: 198.18.2.30, security_groups: [sg-c]}
steps:
  - listen: {host: b, port: 22}
  - listen: {host: a, port: 22}
  - listen: {host: c, port: 80}
  - connect: {from: a, to: b, port: 22, expect: %s}
  - connect: {from: c, to: a, port: 22, expect: blocked}
  - connect: {from: a, to: c, port: 80, expect: %s}
"""


def lab(default: str = "", a_to_b: str = "established", a_to_c: str = "established"):
    return parse_lab(BASE % (default, a_to_b, a_to_c), "default.yaml")


def test_hosts_without_groups_get_the_default_group_which_admits_its_members_and_lets_all_out():
    """§1.2: inbound all from the group itself, outbound all; an ENI launched without groups carries it."""
    loaded = lab()
    net = loaded.network
    assert net.hosts["a"].security_groups == ("default",) and net.hosts["b"].security_groups == ("default",)
    assert net.hosts["c"].security_groups == ("sg-c",)
    group = net.security_groups["default"]
    assert [str(r.peer) for r in group.ingress] == ["default"] and len(group.egress) == 1
    result = run_lab(loaded, SimBackend())
    assert result.ok, [(s.description, s.outcome) for s in result.steps]
    blocked = result.steps[4].packets[0]
    assert blocked["code"] == "ENI_SG_RULES_MISMATCH" and "default" in blocked["reason"] + str(blocked["trace"])


def test_the_default_group_is_cited_at_the_vpc_line_where_aws_makes_it():
    net = lab().network
    group = net.security_groups["default"]
    assert group.origin.line == 3 and all(r.origin.line == 3 for r in group.ingress + group.egress)


def test_with_ipv6_the_default_group_also_lets_all_ipv6_out():
    """§1.2: outbound ::/0 only if the VPC has an IPv6 CIDR."""
    text = (BASE % ("", "established", "established")).replace("{cidr: 198.18.0.0/16}",
                                                                "{cidr: 198.18.0.0/16, ipv6_cidr: '2001:db8::/56'}")
    egress = parse_lab(text, "v6.yaml").network.security_groups["default"].egress
    assert sorted(str(r.peer) for r in egress) == ["0.0.0.0/0", "::/0"]


def test_a_written_default_entry_changes_the_default_groups_rules_and_keeps_aws_s_where_it_is_silent():
    no_egress = lab("  default: {egress: []}", a_to_b="blocked", a_to_c="blocked")
    group = no_egress.network.security_groups["default"]
    assert group.egress == () and [str(r.peer) for r in group.ingress] == ["default"]
    assert group.origin.line == 10 and group.ingress[0].origin.line == 3  # the entry where written; AWS's rule: vpc
    assert run_lab(no_egress, SimBackend()).ok
    no_self = lab("  default: {ingress: []}", a_to_b="blocked")
    assert no_self.network.security_groups["default"].ingress == ()
    assert run_lab(no_self, SimBackend()).ok


def test_a_change_step_can_revoke_the_default_groups_self_reference():
    text = (BASE % ("", "established", "established")) + (
        "  - revoke: {sg: default, ingress: {proto: -1, sg: default}}\n"
        "  - connect: {from: a, to: b, port: 22, expect: blocked}\n")
    loaded = parse_lab(text, "revoke.yaml")
    assert loaded.steps[-2].network.security_groups["default"].rules(Direction.INGRESS) == ()
    assert run_lab(loaded, SimBackend()).ok


def test_internet_hosts_get_no_group():
    text = BASE % ("", "established", "established")
    text = text.replace("steps:", "  out: {internet: true, ip: 203.0.113.10}\nsteps:")
    assert parse_lab(text, "internet.yaml").network.hosts["out"].security_groups == ()
