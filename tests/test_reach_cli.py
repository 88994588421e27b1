"""`vpclab reach` at the command line, in a subprocess: JSON contract, exit statuses (DESIGN.md: 0 answered, 1 an
--expect not met, 2 bad input with a located message and no traceback), --matrix as table, JSON and CSV."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shareddata import shared


def vpclab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vpclab", *args], capture_output=True, text=True, timeout=120)


def snapshot(name: str = "test-nat-gateway") -> str:
    return str(shared("aws-snapshots", name))


def test_json_answer_has_the_contract_fields() -> None:
    """DESIGN.md "Questions": from/to with eni and address, proto, port, reachable, forward, return, explanations
    (with the Reachability Analyzer code and the source), fix (text and cli)."""
    done = vpclab("reach", snapshot(), "--from", "test1", "--to", "test20", "--proto", "tcp", "--port", "80", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["from"] == {"eni": "eni-0e4ce6a7777b9bff8", "address": "10.1.1.98", "named": "test1"}
    assert data["to"]["eni"] == "eni-0cbd69297d26de519" and data["proto"] == "tcp" and data["port"] == 80
    assert data["reachable"] is False
    assert [e["code"] for e in data["explanations"]] == ["ENI_SG_RULES_MISMATCH"]
    assert data["explanations"][0]["source"].startswith("aws_configs/SecurityGroups.json: $.SecurityGroups[")
    assert data["fix"][0]["cli"].startswith("aws ec2 authorize-security-group-ingress --group-id sg-0253af84ae6485905")
    assert {h["component"] for h in data["forward"]} >= {"sg", "nacl", "route"}
    assert all("reason" in h and "decision" in h for h in data["forward"] + data["return"])


@pytest.mark.parametrize(("expect", "status"), [("reachable", 0), ("unreachable", 1)])
def test_expect_sets_the_exit_status(expect: str, status: int) -> None:
    done = vpclab("reach", snapshot(), "--from", "Jump Host", "--to", "test1", "--proto", "tcp", "--port", "22",
                  "--expect", expect)
    assert done.returncode == status, done.stdout + done.stderr
    assert "reachable" in done.stdout


def test_unreachable_without_expect_is_still_answered() -> None:
    done = vpclab("reach", snapshot(), "--from", "internet", "--to", "test1", "--proto", "tcp", "--port", "22")
    assert done.returncode == 0
    assert "not reachable" in done.stdout and "NO_ROUTE_TO_DESTINATION" in done.stdout
    assert "aws ec2 associate-address --network-interface-id eni-0e4ce6a7777b9bff8" in done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "nobody", "--to", "test1", "--proto", "tcp", "--port", "22"],
     "--from: 'nobody' names no instance, ENI, Name tag or address in the snapshot: expected one of "
     "eni-068fb5a0a9a57f23c"),
    (["--from", "test1", "--to", "tset20", "--proto", "tcp", "--port", "22"], "did you mean test20"),
    (["--from", "test1", "--to", "test1", "--proto", "tcp", "--port", "22"],
     "--to: test1 is the same endpoint as --from test1"),
    (["--from", "test1", "--to", "eni-0e4ce6a7777b9bff8", "--proto", "tcp", "--port", "22"],
     "is the same endpoint as --from test1"),
    (["--from", "test1", "--to", "test20", "--port", "22"],
     "--port: port 22 without a protocol: expected --proto tcp or --proto udp with it"),
    (["--from", "test1", "--to", "test20", "--proto", "tcp"], "--port: missing: --proto tcp needs a destination port"),
    (["--from", "test1", "--to", "test20", "--proto", "icmp", "--port", "8"], "--port: --proto icmp has no ports"),
    (["--from", "test1", "--to", "test20", "--proto", "tcpp", "--port", "22"], "--proto: unknown protocol 'tcpp'"),
    (["--from", "test1", "--to", "test20", "--proto", "tcp", "--port", "70000"], "--port: 70000 is out of range"),
    (["--from", "test1", "--to", "10.1.9.9", "--proto", "tcp", "--port", "22"],
     "10.1.9.9 is inside vpc-"),
    (["--from", "internet", "--to", "8.8.8.8", "--proto", "tcp", "--port", "22"], "both ends are outside"),
    (["--from", "test1", "--to", "3.135.127.225", "--proto", "tcp", "--port", "22"],
     "is the Elastic IP of NAT gateway nat-07ab4846da51f4612"),
    (["--from", "test1", "--proto", "tcp", "--port", "22"], "--to: missing"),
    (["--matrix", "--from", "test1", "--proto", "tcp", "--port", "22"], "--matrix: answers every pair"),
    (["--from", "test1", "--to", "test20", "--proto", "tcp", "--port", "22", "--csv"], "--csv: only with --matrix"),
    (["--matrix", "--proto", "tcp", "--port", "22", "--csv", "--json"], "--csv: one output format at a time"),
])
def test_bad_input_exits_2_with_a_clear_message(args: list[str], message: str) -> None:
    done = vpclab("reach", snapshot(), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_snapshot_with_nothing_in_it() -> None:
    """regula-ingress-anywhere.json (a Terraform plan of groups only): no ENI to ask about."""
    plan = str(shared("terraform", "regula-ingress-anywhere.json"))
    done = vpclab("reach", plan, "--from", "internet", "--to", "10.0.0.5", "--proto", "tcp", "--port", "22")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the snapshot has no ENIs" in done.stderr or "no ENI" in done.stderr
    done = vpclab("reach", plan, "--matrix", "--proto", "tcp", "--port", "22")
    assert done.returncode == 2 and "the snapshot has no ENIs" in done.stderr


def test_a_missing_snapshot_exits_2(tmp_path) -> None:
    done = vpclab("reach", str(tmp_path / "nope"), "--from", "a", "--to", "b", "--proto", "tcp", "--port", "22")
    assert done.returncode == 2 and "no such file or folder" in done.stderr and "Traceback" not in done.stderr


def test_matrix_json_and_csv() -> None:
    done = vpclab("reach", snapshot(), "--matrix", "--proto", "tcp", "--port", "22", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["enis"] == 4 and len(data["classes"]) == 4 and data["questions"] == 12
    assert data["reachable_eni_pairs"] == 12  # sg-0253af… allows 22 from anywhere; the NAT ENI has no group
    done = vpclab("reach", snapshot(), "--matrix", "--proto", "tcp", "--port", "80", "--csv")
    lines = done.stdout.splitlines()
    assert lines[0] == "from,to,reachable,blockers" and len(lines) == 13
    row = next(line for line in lines if line.startswith("eni-0e4ce6a7777b9bff8,eni-0cbd69297d26de519,"))
    assert row == ("eni-0e4ce6a7777b9bff8,eni-0cbd69297d26de519,false,"
                   "ENI_SG_RULES_MISMATCH:forward:sg:sg-0253af84ae6485905:ingress")


def test_matrix_text_spells_out_the_short_blocker_labels() -> None:
    """The grid shows SG, NACL, ROUTE for brevity; a line says which --json code each stands for."""
    done = vpclab("reach", snapshot(), "--matrix", "--proto", "tcp", "--port", "5432")
    assert done.returncode == 0 and "│ SG │" in done.stdout
    assert "SG = ENI_SG_RULES_MISMATCH (the codes of --json)" in done.stdout


def test_matrix_text_and_expect() -> None:
    done = vpclab("reach", snapshot(), "--matrix", "--proto", "tcp", "--port", "22", "--expect", "unreachable")
    assert done.returncode == 1 and "4 ENIs in 4 classes" in done.stdout
