"""A lab on a real configuration (DESIGN.md "Snapshots": `snapshot: PATH` instead of the network keys): the ENIs
the steps use are named by id, Name tag or address; every other ENI stays, still a member of its groups."""

from __future__ import annotations


import pytest

from vpclab.lab.catalog import load
from vpclab.lab.runner import run_lab
from vpclab.lab.sim_backend import SimBackend
from vpclab.lab.yamlsource import LabError

from shareddata import shared

LAB = """\
lab: incident
title: Can the app reach the internet through the NAT gateway?
snapshot: {snapshot}
hosts:
  app: {{name: test1}}
  jump: {{address: 10.1.250.116}}
  outside: {{internet: true, ip: 203.0.113.10}}
steps:
  - listen: {{host: outside, port: 443}}
  - connect: {{from: app, to: outside, port: 443, as: c1, expect: established}}
  - send: {{conn: c1, data: hello, expect: delivered}}
  - connect: {{from: outside, to: 3.135.127.225, port: 22, expect: blocked}}
"""


def write(tmp_path, snapshot: str, text: str = LAB):
    path = tmp_path / "incident.yaml"
    path.write_text(text.format(snapshot=snapshot))
    return path


def test_a_lab_runs_on_a_real_snapshot_through_its_nat_gateway(tmp_path):
    """Batfish's test-nat-gateway snapshot: a private instance reaches the internet through the NAT gateway
    (aws-routing-terraform.md §3); the internet cannot start a connection to the NAT's Elastic IP."""
    lab = load(str(write(tmp_path, str(shared("aws-snapshots", "test-nat-gateway")))))
    assert lab.snapshot and {"app", "jump", "outside"} <= set(lab.network.hosts)
    assert len(lab.network.vpc_hosts()) == 4  # the other ENIs stay
    result = run_lab(lab, SimBackend())
    assert result.ok, [s.to_dict() for s in result.failures]
    syn = result.steps[1].packets[0]
    assert [s["code"] for s in syn["trace"] if s["component"] == "route"] == ["NAT_GATEWAY_TRANSLATION",
                                                                             "ROUTE_INTERNET_GATEWAY"]
    assert all(s.get("source", "").startswith("aws_configs/") for s in syn["trace"] if s["component"] == "sg")


def test_the_snapshot_path_is_relative_to_the_lab_file(tmp_path):
    snapshot = shared("aws-snapshots", "test-nat-gateway")
    (tmp_path / "snap").symlink_to(snapshot)
    assert load(str(write(tmp_path, "snap"))).network.nat_gateways


def test_an_eni_the_snapshot_does_not_hold_is_refused_with_the_candidates(tmp_path):
    path = write(tmp_path, str(shared("aws-snapshots", "test-nat-gateway")), LAB.replace("name: test1", "name: tset1"))
    with pytest.raises(LabError) as error:
        load(str(path))
    (problem,) = error.value.problems
    assert problem.field == "hosts.app.name" and "test1" in problem.message and problem.origin.line == 5
