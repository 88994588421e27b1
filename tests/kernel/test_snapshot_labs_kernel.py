"""Labs on real snapshots run on the kernel backend with real packets, and agree with the simulator step by step
(issue 8 item 4): only the ENIs the steps use are built; the others stay group members in the model.

Expected outcomes are derived from the snapshot files and aws-routing-terraform.md, not from either backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/shareddata.py
from shareddata import shared  # noqa: E402

NAT_LAB = """\
lab: nat-incident
title: A private instance reaches the internet only through its NAT gateway
snapshot: {snapshot}
hosts:
  app: {{name: test1}}                 # 10.1.1.98, subnet-06f4…, rtb-02fe…: 0.0.0.0/0 → nat-07ab…
  isolated: {{name: test20}}           # 10.1.20.173, the main table: 10.1.0.0/16 local only
  jump: {{address: 10.1.250.116}}      # the public subnet, public IP 18.216.129.140
  outside: {{internet: true, ip: 203.0.113.10}}
steps:
  - listen: {{host: outside, port: 443}}
  # §3: out through the NAT gateway, source NAT to its Elastic IP (the server finds the client at 3.135.127.225)
  - connect: {{from: app, to: outside, port: 443, as: c1, expect: established}}
  - send: {{conn: c1, data: hello, expect: delivered}}
  - send: {{conn: c1, from: server, data: back, expect: delivered}}
  - ping: {{from: app, to: outside, id: 7, expect: reply}}
  # §3: a NAT gateway answers no connection started outside
  - connect: {{from: outside, to: 3.135.127.225, port: 22, expect: blocked}}
  # §1: the main table has no route out of the VPC for test20's subnet
  - connect: {{from: isolated, to: outside, port: 443, expect: blocked}}
  # §2: the jump host's public IP translates 1:1 at the IGW; sg-0253… allows tcp 22 from 0.0.0.0/0
  - listen: {{host: jump, port: 22}}
  - connect: {{from: outside, to: 18.216.129.140, port: 22, expect: established}}
  # §2-§3 hairpin: the app reaches the jump host's public IP through its NAT gateway and the IGW, and back
  - connect: {{from: app, to: 18.216.129.140, port: 22, expect: established}}
  # the NAT gateway's subnet NACL applies to traffic through it (§3): deny the app's subnet on its way in
  - nacl_entry: {{nacl: acl-0792adae678b88f85, ingress: {{rule: 50, action: deny, proto: -1, cidr: 10.1.1.0/24}}}}
  - connect: {{from: app, to: outside, port: 443, expect: blocked}}
  - delete_nacl_entry: {{nacl: acl-0792adae678b88f85, direction: ingress, rule: 50}}
  - connect: {{from: app, to: outside, port: 443, expect: established}}
"""

PEERING_LAB = """\
lab: peering
title: Peering is not transitive, and a blackhole route drops
snapshot: {snapshot}
hosts:
  a: {{address: 192.168.1.106}}        # VPC vpc-00a3…, 192.168.0.0/16 (overlaps VPC C's)
  c: {{address: 192.168.2.229}}        # VPC vpc-0909…, 192.168.0.0/16
  hub: {{address: 10.10.10.157}}       # VPC vpc-0404…, peered with both
  outside: {{internet: true, ip: 203.0.113.10}}
steps:
  - listen: {{host: hub, port: 22}}
  - listen: {{host: c, port: 22}}
  - listen: {{host: outside, port: 443}}
  # §4: both peerings active, routes both ways, every group allows tcp 22 from 0.0.0.0/0
  - connect: {{from: a, to: hub, port: 22, expect: established}}
  - connect: {{from: c, to: hub, port: 22, expect: established}}
  # §4 not transitive: 192.168.2.229 is inside VPC A's own CIDR (local route) but no ENI of VPC A holds it
  - connect: {{from: a, to: c, port: 22, expect: blocked}}
  # §1.4: VPC A's 0.0.0.0/0 → igw-0a2c… is a blackhole
  - connect: {{from: a, to: outside, port: 443, expect: blocked}}
"""


def run_diff(tmp_path, text: str, snapshot: str) -> dict:
    path = tmp_path / "lab.yaml"
    path.write_text(text.format(snapshot=shared("aws-snapshots", snapshot)))
    result = subprocess.run([sys.executable, "-m", "vpclab", "lab", "diff", str(path), "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("text,snapshot", [(NAT_LAB, "test-nat-gateway"), (PEERING_LAB, "test-vpc-peering")],
                         ids=["nat-gateway", "peering"])
def test_a_snapshot_lab_meets_its_expectations_on_the_kernel_and_agrees_with_the_simulator(tmp_path, text,
                                                                                          snapshot):
    data = run_diff(tmp_path, text, snapshot)
    assert data["ok"] is True
    for step in data["steps"]:
        assert step["agree"], step
        if step["expect"] is not None:
            assert step["kernel"] == step["expect"], step
