"""`vpclab icmp` between two lab namespaces: a reply with a chosen identifier, and a request answered."""

import subprocess
import sys
import time

from vpclab.kernel.backend import KernelBackend
from vpclab.lab.loader import parse_lab

LAB = """\
lab: icmp-tool
title: two hosts that allow all ICMP
vpc: {cidr: 198.18.0.0/16}
subnets: {a: {cidr: 198.18.1.0/24}, b: {cidr: 198.18.2.0/24}}
security_groups:
  sg-icmp: {ingress: [{proto: icmp, icmp: {type: -1}, cidr: 198.18.0.0/16}]}
hosts:
  a: {subnet: a, ip: 198.18.1.10, security_groups: [sg-icmp], icmp_echo_ignore: true}
  b: {subnet: b, ip: 198.18.2.20, security_groups: [sg-icmp]}
"""


def vpclab_in(ns, *args):
    return ["ip", "netns", "exec", ns, sys.executable, "-m", "vpclab", "icmp", *args]


def test_vpclab_icmp_sends_and_receives_between_lab_namespaces():
    backend = KernelBackend()
    backend.start(parse_lab(LAB).network)
    try:
        a, b = backend.plan.hosts["a"], backend.plan.hosts["b"]
        receiver = subprocess.Popen(vpclab_in(a, "--receive", "--id", "7", "--timeout", "5"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)  # the receiver imports and opens its socket
        sent = subprocess.run(vpclab_in(b, "--send-reply", "198.18.1.10", "--id", "7", "--seq", "3"),
                              capture_output=True, text=True, timeout=30)
        assert sent.returncode == 0, sent.stderr
        out, err = receiver.communicate(timeout=30)
        assert receiver.returncode == 0, out + err
        assert "received echo-reply from 198.18.2.20 id 7 seq 3 (checksum ok)" in out

        ping = subprocess.run(vpclab_in(a, "--send-request", "198.18.2.20", "--id", "9", "--seq", "1", "--receive"),
                              capture_output=True, text=True, timeout=30)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert "received echo-reply from 198.18.2.20 id 9 seq 1" in ping.stdout
    finally:
        backend.stop()
