"""`icmp_echo_ignore` silences a host's echo replies over both families on the kernel, as on the simulator (S5 in
docs/assumptions.md). Linux's `net.ipv4.icmp_echo_ignore_all` leaves ICMPv6 echo answered; the random differential
labs found it."""

from vpclab.kernel.backend import KernelBackend
from vpclab.lab.diff import compare, unexplained
from vpclab.lab.loader import parse_lab
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend

LAB = """
lab: echo-ignore-both-families
title: a host ignoring echo requests answers neither IPv4 nor IPv6 pings
vpc: {cidr: 198.18.0.0/16, ipv6_cidr: "2001:db8::/56"}
subnets:
  a: {cidr: 198.18.1.0/24, ipv6_cidr: "2001:db8:0:1::/64"}
security_groups:
  sg-all:
    ingress:
      - {proto: icmp, cidr: 198.18.0.0/16, icmp: {type: -1}}
      - {proto: icmpv6, cidr: "2001:db8::/56", icmp: {type: -1}}
hosts:
  quiet: {subnet: a, ip: 198.18.1.10, ipv6: "2001:db8:0:1::10", security_groups: [sg-all], icmp_echo_ignore: true}
  loud: {subnet: a, ip: 198.18.1.20, ipv6: "2001:db8:0:1::20", security_groups: [sg-all]}
steps:
  - ping: {from: loud, to: quiet@ipv6, expect: no-reply}
  - ping: {from: loud, to: quiet@ipv4, expect: no-reply}
  - ping: {from: quiet, to: loud@ipv6, expect: reply}
  - ping: {from: quiet, to: loud@ipv4, expect: reply}
"""


def test_a_host_ignoring_echo_answers_no_ping_of_either_family_on_the_kernel():
    lab = parse_lab(LAB, "echo-ignore.yaml")
    kernel = run_lab(lab, KernelBackend())
    assert [s.outcome for s in kernel.steps] == ["no-reply", "no-reply", "reply", "reply"]
    assert not unexplained(compare(lab, run_lab(lab, SimBackend()), kernel))
