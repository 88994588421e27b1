"""Issue 9 defect 7: after a segment is dropped and the cause removed, data sent next on that connection arrives,
as on AWS (TCP retransmits; aws-semantics.md §0.4 NACLs are stateless and judge every packet, so the retransmitted
segment passes once the deny entry is gone). Linux's 200 ms minimum RTO and its backoff would otherwise keep the
retransmission outside the step's observation; this was listed difference K6."""

from __future__ import annotations

import json
import subprocess
import sys

LAB = """\
lab: retransmit
title: Data sent after a dropped segment arrives once the cause is removed
vpc: {cidr: 198.18.0.0/16}
subnets:
  a: {cidr: 198.18.1.0/24}
  b: {cidr: 198.18.2.0/24, nacl: open}
nacls:
  open:
    ingress:
      - {rule: 100, action: allow, proto: -1, cidr: 0.0.0.0/0}
    egress:
      - {rule: 100, action: allow, proto: -1, cidr: 0.0.0.0/0}
security_groups:
  client: {}
  server:
    ingress:
      - {proto: tcp, ports: 80, cidr: 198.18.0.0/16}
hosts:
  c: {subnet: a, ip: 198.18.1.10, security_groups: [client]}
  s: {subnet: b, ip: 198.18.2.20, security_groups: [server]}
steps:
  - listen: {host: s, port: 80}
  - connect: {from: c, to: s, port: 80, as: x, expect: established}
  - nacl_entry: {nacl: open, ingress: {rule: 50, action: deny, proto: tcp, ports: 80, cidr: 198.18.1.0/24}}
  - send: {conn: x, data: one, expect: dropped}
  - wait: {seconds: 3}                 # Linux's backoff alone would put the next retransmission ~3 s away
  - delete_nacl_entry: {nacl: open, direction: ingress, rule: 50}
  - send: {conn: x, data: two, expect: delivered}
  - send: {conn: x, data: three, expect: delivered}
  - send: {conn: x, data: back, from: server, expect: delivered}
"""


def test_data_after_a_removed_nacl_deny_arrives_on_the_kernel_as_in_the_simulator(tmp_path):
    path = tmp_path / "retransmit.yaml"
    path.write_text(LAB)
    result = subprocess.run([sys.executable, "-m", "vpclab", "lab", "diff", str(path), "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = json.loads(result.stdout)["steps"]
    assert [s["kernel"] for s in steps] == ["listening", "established", "applied", "dropped", "waited", "applied",
                                            "delivered", "delivered", "delivered"]
    assert all(s["agree"] and not s["listed"] for s in steps)
