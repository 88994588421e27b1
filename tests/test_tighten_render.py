"""tighten's renderers (pure): Terraform (`aws_vpc_security_group_{ingress,egress}_rule`, `aws_network_acl_rule`),
CloudFormation (AWS::EC2::SecurityGroupIngress/Egress, NetworkAclEntry), AWS CLI commands, text — checked to parse
(terraform itself is not installed: an HCL-subset reader stands in) and to say exactly what the proposal holds; and
`vpclab tighten` bad input at the command line (exit 2, a located message, no traceback)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import flowsynth
from vpclab.analysis.tighten import TightenOptions, UserPrefixList, tighten
from vpclab.report import iac
from vpclab.report.tighten import render, to_dict


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    made = flowsynth.write(tmp_path_factory.mktemp("render"), seed=21)
    network, run = flowsynth.open_run(made.snapshot, [made.logs])
    plist = UserPrefixList.parse("pl-0mirrors=198.51.100.0/24")
    try:
        return tighten(network, run, TightenOptions(prefix_lists=(plist,)), snapshot=str(made.snapshot))
    finally:
        run.close()


_BLOCK = re.compile(r'^resource "([a-z_]+)" "([A-Za-z0-9_]+)" \{\n(.*?)\n\}$', re.M | re.S)


def _hcl_resources(text: str) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    """Top-level `resource "T" "N" { key = value }` blocks with JSON-literal values; anything else but comments
    and blank lines fails."""
    blocks = [(m.group(1), m.group(2), m.group(3)) for m in _BLOCK.finditer(text)]
    rest = _BLOCK.sub("", text)
    assert all(line.startswith("#") or not line.strip() for line in rest.splitlines()), rest
    out = []
    for kind, name, body in blocks:
        attrs = {}
        for line in body.splitlines():
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"\s*[a-z_0-9]+\s*", key), line
            attrs[key.strip()] = json.loads(value.strip())
        out.append((kind, name, attrs))
    return out


def test_terraform_has_one_resource_per_proposed_rule_and_entry(result) -> None:  # type: ignore[no-untyped-def]
    resources = _hcl_resources(iac.terraform(result))
    names = [(k, n) for k, n, _ in resources]
    assert len(set(names)) == len(names)
    rules = [(k, a) for k, _n, a in resources if k.startswith("aws_vpc_security_group_")]
    assert len(rules) == sum(len(g.ingress) + len(g.egress) for g in result.groups)
    peers = ("cidr_ipv4", "cidr_ipv6", "referenced_security_group_id", "prefix_list_id")
    for kind, attrs in rules:
        assert kind in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule")
        assert sum(p in attrs for p in peers) == 1 and attrs["security_group_id"].startswith("sg-")
        assert attrs["ip_protocol"] in ("tcp", "udp", "icmp", "icmpv6", "-1") or attrs["ip_protocol"].isdigit()
        assert ("from_port" in attrs) == (attrs["ip_protocol"] != "-1")
    assert any(a.get("prefix_list_id") == "pl-0mirrors" for _k, a in rules)
    assert any(a.get("referenced_security_group_id") == "sg-web" for _k, a in rules)
    entries = [a for k, _n, a in resources if k == "aws_network_acl_rule"]
    assert len(entries) == sum(len(n.ingress) + len(n.egress) for n in result.nacls)
    assert all(isinstance(a["egress"], bool) and a["rule_action"] == "allow" and 1 <= a["rule_number"] <= 32766
               for a in entries)


def test_cloudformation_is_a_template_of_typed_resources(result) -> None:  # type: ignore[no-untyped-def]
    template = json.loads(iac.cloudformation(result))
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    resources = template["Resources"]
    assert all(re.fullmatch(r"[A-Za-z0-9]+", name) for name in resources)
    kinds = [r["Type"] for r in resources.values()]
    groups = sum(len(g.ingress) + len(g.egress) for g in result.groups)
    assert kinds.count("AWS::EC2::SecurityGroupIngress") + kinds.count("AWS::EC2::SecurityGroupEgress") == groups
    assert kinds.count("AWS::EC2::NetworkAclEntry") == sum(len(n.ingress) + len(n.egress) for n in result.nacls)
    for r in resources.values():
        p = r["Properties"]
        if r["Type"] == "AWS::EC2::SecurityGroupIngress":
            assert sum(k in p for k in ("CidrIp", "CidrIpv6", "SourceSecurityGroupId", "SourcePrefixListId")) == 1
        elif r["Type"] == "AWS::EC2::SecurityGroupEgress":
            assert sum(k in p for k in ("CidrIp", "CidrIpv6", "DestinationSecurityGroupId",
                                        "DestinationPrefixListId")) == 1
        else:
            assert isinstance(p["Protocol"], int) and isinstance(p["Egress"], bool) and "CidrBlock" in p
            assert ("PortRange" in p) == (p["Protocol"] in (6, 17))
    assert len(template["Metadata"]["vpclab"]["remove"]) == sum(len(g.remove) for g in result.groups)


def test_cli_authorizes_first_then_revokes(result) -> None:  # type: ignore[no-untyped-def]
    lines = [line for line in iac.cli(result).splitlines() if line.startswith("aws ")]
    verbs = [shlex.split(line)[2] for line in lines]
    sg_verbs = [v for v in verbs if "security-group" in v]
    assert sg_verbs == sorted(sg_verbs, key=lambda v: v.startswith("revoke"))
    assert sum(v.startswith("authorize") for v in verbs) == sum(len(g.add) for g in result.groups)
    assert sum(v.startswith("revoke") for v in verbs) == sum(len(g.remove) for g in result.groups)
    for line in lines:
        words = shlex.split(line)
        if "--ip-permissions" in words:
            (perm,) = json.loads(words[words.index("--ip-permissions") + 1])
            assert perm["IpProtocol"] and sum(k in perm for k in ("IpRanges", "Ipv6Ranges", "UserIdGroupPairs",
                                                                 "PrefixListIds")) == 1
    assert verbs.count("create-network-acl-entry") + verbs.count("replace-network-acl-entry") == sum(
        len(n.ingress) + len(n.egress) for n in result.nacls)


def test_cli_nacl_script_runs_on_todays_numbers_and_ends_with_the_proposal(result) -> None:  # type: ignore[no-untyped-def]
    """aws-semantics.md §3.1: a NACL's entries are unique per direction and number, so `create` on a number in use
    fails (EntryAlreadyExists) and `replace` needs one in use. Played on each NACL's numbers today, the script never
    does either and leaves exactly the proposed numbers; new numbers come before replacements, deletions last."""
    numbers = {(n.nacl, d): set(n.numbers_today(d)) for n in result.nacls for d in ("ingress", "egress")}
    assert any(numbers.values()) and any(
        numbers[(n.nacl, str(p.direction))] & {p.rule.number} for n in result.nacls for p in [*n.ingress, *n.egress])
    order: dict[tuple[str, str], list[str]] = {}
    for line in iac.cli(result).splitlines():
        words = shlex.split(line)
        if not line.startswith("aws ") or "network-acl-entry" not in words[2]:
            continue
        verb = words[2].split("-")[0]
        key = (words[words.index("--network-acl-id") + 1], "egress" if "--egress" in words else "ingress")
        number = int(words[words.index("--rule-number") + 1])
        held = numbers[key]
        if verb == "create":
            assert number not in held, line
            held.add(number)
        elif verb == "replace":
            assert number in held, line
        else:
            assert verb == "delete" and number in held, line
            held.remove(number)
        order.setdefault(key, []).append(verb)
    for n in result.nacls:
        for d, proposed in (("ingress", n.ingress), ("egress", n.egress)):
            assert numbers[(n.nacl, d)] == {p.rule.number for p in proposed}
            verbs = order.get((n.nacl, d), [])
            assert verbs == sorted(verbs, key=("create", "replace", "delete").index)


def test_json_and_text_say_the_same(result) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    data = to_dict(result)
    console = Console(record=True, width=220)
    console.print(render(result))
    text = console.export_text()
    for group in data["groups"]:
        assert group["group"] in text
        for rule in group["add"]:
            assert set(rule) >= {"proto", "ports", "peer", "flows", "bytes", "last_seen", "direction"}
            assert rule["peer"] in text
    assert f"add {data['summary']['add']}, remove {data['summary']['remove']}" in text


def vpclab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vpclab", *args], capture_output=True, text=True, timeout=300)


def test_tighten_bad_input_exits_2_with_a_located_message(tmp_path: Path) -> None:
    made = flowsynth.write(tmp_path / "ok", 22)
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["tighten", str(tmp_path / "nope"), "--flows", str(made.logs)], "no such file or folder"),
        (["tighten", str(made.snapshot), "--flows", str(empty)], "no usable flow-log record"),
        (["tighten", str(made.snapshot), "--flows", str(made.logs), "--prefix-list", "pl-1"],
         "--prefix-list 'pl-1': expected PL-ID[:WEIGHT]=CIDR"),
        (["tighten", str(made.snapshot), "--flows", str(made.logs), "--engine", "pandas"], "--engine: 'pandas'"),
        (["tighten", str(made.snapshot), "--flows", str(made.logs), "--unknown", "guess"], "--unknown: 'guess'"),
        (["replay", str(made.snapshot), "--flows", str(made.logs), "--proposal", str(tmp_path / "none.json")],
         "no such file or folder"),
    ]
    for args, message in cases:
        done = vpclab(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    bad_snapshot = tmp_path / "bad.yaml"
    bad_snapshot.write_text(made.snapshot.read_text().replace("ports: 8080, cidr", "ports: 80800, cidr"))
    done = vpclab("tighten", str(bad_snapshot), "--flows", str(made.logs))
    assert done.returncode == 2 and f"{bad_snapshot}:" in done.stderr and "Traceback" not in done.stderr


def test_a_flow_path_that_does_not_exist_exits_2_before_anything_is_read(tmp_path: Path) -> None:
    """A typo in one of several paths must not give a summary or a proposal without that traffic (exit 2, the path
    named), whereas an unreadable file among readable ones is counted and reported (issue 11: exit 2 only when
    nothing is usable)."""
    made = flowsynth.write(tmp_path / "ok", 24)
    nope = tmp_path / "typo"
    for args in (["flows", "summary", str(made.logs), str(nope)],
                 ["tighten", str(made.snapshot), "--flows", str(made.logs), str(nope)],
                 ["replay", str(made.snapshot), "--flows", str(nope), str(made.logs)]):
        done = vpclab(*args)
        assert done.returncode == 2 and done.stdout == "", (args, done.stdout)
        assert f"{nope}: no such file or folder (expected a flow-log file or folder)" in done.stderr, args
        assert "Traceback" not in done.stderr


def test_an_unreadable_file_among_readable_ones_is_named_in_every_output(tmp_path: Path) -> None:
    """A truncated gzip next to good logs: exit 0, and the summary, the proposal and the replay say which file their
    figures leave out (JSON `unreadable_files`, a warning in the text)."""
    made = flowsynth.write(tmp_path / "ok", 25)
    whole = next(made.logs.rglob("*.log.gz")).read_bytes()
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    summary = vpclab("flows", "summary", str(made.logs), str(cut), "--json")
    assert summary.returncode == 0 and json.loads(summary.stdout)["unreadable_files"] == [str(cut)]
    assert "1 file(s) could not be read" in vpclab("flows", "summary", str(made.logs), str(cut)).stdout
    proposal = vpclab("tighten", str(made.snapshot), "--flows", str(made.logs), str(cut), "--format", "json")
    assert proposal.returncode == 0 and json.loads(proposal.stdout)["summary"]["unreadable_files"] == [str(cut)]
    text = " ".join(vpclab("tighten", str(made.snapshot), "--flows", str(made.logs), str(cut)).stdout.split())
    assert f"1 flow-log file(s) could not be read ({cut}): their traffic is not in this proposal" in text
    replayed = vpclab("replay", str(made.snapshot), "--flows", str(made.logs), str(cut), "--json")
    assert replayed.returncode == 0 and json.loads(replayed.stdout)["unreadable_files"] == [str(cut)]
    clean = vpclab("tighten", str(made.snapshot), "--flows", str(made.logs), "--format", "json")
    assert json.loads(clean.stdout)["summary"]["unreadable_files"] == []


def test_several_flow_paths_after_one_flag(tmp_path: Path) -> None:
    """`--flows A B` (the contract's FLOWS...): both folders are read."""
    made = flowsynth.write(tmp_path, 23, files=2)
    files = sorted(made.logs.rglob("*.log.gz"))
    done = vpclab("tighten", str(made.snapshot), "--flows", str(files[0]), str(files[1]), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["records"] == made.records
    last = vpclab("tighten", "--flows", str(files[0]), str(files[1]), str(made.snapshot), "--format", "json")
    assert last.returncode == 0, last.stderr  # the snapshot after the flow paths: the one that is no flow log
    assert json.loads(last.stdout) == json.loads(done.stdout)


def test_json_has_the_design_contract_shape(result) -> None:  # type: ignore[no-untyped-def]
    """DESIGN.md "Flow logs": {"groups": [{"group", "enis", "ingress", "egress", "add", "remove", "keep"}], "nacls",
    "summary"}; a RULE is {"proto", "ports", "peer", "flows", "bytes", "last_seen"} with the contract's words."""
    data = to_dict(result)
    assert {"groups", "nacls", "summary"} <= set(data)
    for group in data["groups"]:
        assert {"group", "enis", "ingress", "egress", "add", "remove", "keep"} <= set(group)
        for rule in group["ingress"] + group["egress"]:
            assert {"proto", "ports", "peer", "flows", "bytes", "last_seen"} <= set(rule)
            assert rule["proto"] in ("tcp", "udp", "icmp", "icmpv6", "-1") or rule["proto"].isdigit()
            assert rule["ports"] == "all" or re.fullmatch(r"\d+(-\d+)?", rule["ports"])
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rule["last_seen"])
            assert isinstance(rule["flows"], int) and isinstance(rule["bytes"], int)


def test_flows_summary_takes_the_field_list_as_log_format_too(tmp_path: Path) -> None:
    """`flows summary --format` and tighten's `--log-format` name the same thing; summary takes both spellings."""
    log = tmp_path / "plain.log"
    log.write_text("10.0.0.5 10.0.9.9 40000 443 6 ACCEPT\n")
    fields = "${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${action}"
    one, other = (vpclab("flows", "summary", str(log), flag, fields, "--json") for flag in ("--format", "--log-format"))
    assert one.returncode == 0 and json.loads(one.stdout)["records"] == 1, one.stderr
    assert json.loads(other.stdout) == json.loads(one.stdout)
