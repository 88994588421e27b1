"""`vpclab audit` on the real snapshots of ../shared/data/aws-snapshots/, with the findings derived by hand from the
JSON files (the reasoning beside each); the SARIF of every snapshot validated against the official SARIF 2.1.0
schema (tests/fixtures/sarif-schema-2.1.0.json: OASIS sarif-spec Schemata/sarif-schema-2.1.0.json, $id checked
below), its locations pointing at files of the snapshot; and the command line (exit statuses, bad input).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from netbuild import entry
from shareddata import listing, shared
from vpclab.analysis.audit import AuditInput, Severity, audit, audit_path, read_input
from vpclab.analysis.audit.lines import json_lines, source_lines
from vpclab.model import NetworkAcl
from vpclab.model.frozen import FrozenMap
from vpclab.report.audit import to_dict
from vpclab.report.sarif import to_sarif

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "sarif-schema-2.1.0.json").read_text())


def found(name: str) -> set[tuple[str, str, str]]:
    return {(f.check, f.severity.value, f.resource) for f in audit_path(shared("aws-snapshots", name)).findings}


def test_test_public_subnet_by_hand() -> None:
    """One instance eni-00064850627e198ee (10.0.0.91, public 18.216.80.133) in subnet-0bb82ae8…, whose route table
    rtb-0489… sends 0.0.0.0/0 to igw-0a409e…; the default NACL allows all both ways; sg-09ccba… (launch-wizard-1)
    admits tcp 22 from 0.0.0.0/0 and sends all traffic to 0.0.0.0/0.
    - internet-admin-port high: reach internet → 18.216.80.133 tcp/22 is open both ways;
    - egress-open-unneeded medium: all traffic out, and reach eni → internet tcp/4444 is open; no group names it;
    - sg-default-in-use low: sg-038ae1… (default) keeps AWS's two rules, no ENI carries it;
    - sg-untracked-flow info: tcp 22 from 0.0.0.0/0 with all traffic out to 0.0.0.0/0 (aws-semantics.md §2.2);
    - no revocation grace (the flow is untracked), no NACL finding (allow all), no redundant rule."""
    assert found("test-public-subnet") == {
        ("internet-admin-port", "high", "eni-00064850627e198ee"),
        ("egress-open-unneeded", "medium", "sg-09ccba6656672061b"),
        ("sg-default-in-use", "low", "sg-038ae1875ef3e82ec"),
        ("sg-untracked-flow", "info", "sg-09ccba6656672061b")}


def test_test_subnet_by_hand() -> None:
    """Two ENIs, 10.10.1.228 (sg-03dbad…) and 10.10.1.44 (sg-02566e…), in one subnet whose only route table (main)
    holds the local route: no internet gateway, no public IP. Both groups admit tcp 22 from 0.0.0.0/0 and send all
    out. So the exposures are low (nothing outside reaches them), the open egress low (it cannot leave the VPC),
    and tcp 22 is untracked on both; the default group sg-09918a… keeps its rules."""
    assert found("test-subnet") == {
        ("internet-admin-port", "low", "eni-010f649a7fc5c1e34"), ("internet-admin-port", "low", "eni-029bf1092de61fb40"),
        ("egress-open-unneeded", "low", "sg-02566e413c0030c70"), ("egress-open-unneeded", "low", "sg-03dbad9f9c0cd1949"),
        ("sg-default-in-use", "low", "sg-09918aab1079824f5"),
        ("sg-untracked-flow", "info", "sg-02566e413c0030c70"), ("sg-untracked-flow", "info", "sg-03dbad9f9c0cd1949")}


def test_test_nat_gateway_by_hand() -> None:
    """sg-0253af… (tcp 22 and ICMP echo from 0.0.0.0/0, all out) is on three ENIs: eni-068fb… with public IP
    18.216.129.140 in the IGW subnet (high), eni-0e4ce… (10.1.1.98, behind the NAT gateway) and eni-0cbd6…
    (10.1.20.173, local routes only), both without a public IP (low). acl-0792ad… allows ICMP from 10.1.1.0/24 at
    100 and all traffic at 200, so nothing is refused. The NAT gateway's ENI has no group (not audited as one).
    sg-0b6472… is on no ENI (unused, and so no exposure and no egress finding). The ICMP rule is always tracked,
    only tcp 22 is untracked."""
    assert found("test-nat-gateway") == {
        ("internet-admin-port", "high", "eni-068fb5a0a9a57f23c"),
        ("internet-admin-port", "low", "eni-0e4ce6a7777b9bff8"), ("internet-admin-port", "low", "eni-0cbd69297d26de519"),
        ("egress-open-unneeded", "medium", "sg-0253af84ae6485905"),
        ("sg-unused", "low", "sg-0b647281e3f8f7c18"),
        ("sg-default-in-use", "low", "sg-0010bf850022667c2"),
        ("sg-untracked-flow", "info", "sg-0253af84ae6485905")}


def test_a_custom_nacl_without_ephemeral_ports_on_a_real_snapshot() -> None:
    """test-public-subnet with its NACL replaced the way an owner would lock it down: ingress tcp 22 from anywhere,
    egress tcp 1024-32767 only (no Linux ephemeral range, and nothing for ICMP): replies to internet clients'
    32768-60999 are dropped — so the SSH exposure disappears (no connection completes) and the reply check and the
    PMTUD check find it (aws-semantics.md §3.4, §3.5)."""
    source = read_input(shared("aws-snapshots", "test-public-subnet"))
    network = source.network
    (acl_id,) = {s.nacl for s in network.subnets.values()}
    acl = NetworkAcl(acl_id, (entry({"rule": 100, "action": "allow", "proto": "tcp", "ports": 22,
                                     "cidr": "0.0.0.0/0"}),),
                     (entry({"rule": 100, "action": "allow", "proto": "tcp", "ports": "1024-32767",
                             "cidr": "0.0.0.0/0"}),), network.nacls[acl_id].origin)
    locked = replace(network, nacls=FrozenMap({**network.nacls, acl_id: acl}))
    result = audit(AuditInput(replace(source.snapshot, network=locked), source.groups))
    checks = {(f.check, f.resource) for f in result.findings}
    assert ("nacl-drops-replies", acl_id) in checks and ("nacl-breaks-pmtud", acl_id) in checks
    assert not any(f.check == "internet-admin-port" for f in result.findings)
    (reply,) = [f for f in result.findings if f.check == "nacl-drops-replies"]
    assert reply.evidence["client"] == "internet" and reply.evidence["dropped_client_ports"] == [[32768, 60999]]


@pytest.mark.parametrize("folder", listing("aws-snapshots", dirs=True), ids=lambda p: p.name)
def test_sarif_validates_and_points_into_the_snapshot(folder: Path) -> None:
    result = audit_path(folder)
    log = to_sarif(result, source_lines(result.snapshot, result.findings))
    jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(log)
    (run,) = log["runs"]
    assert len(run["results"]) == len(result.findings)
    base = Path(run["originalUriBaseIds"]["SNAPSHOT"]["uri"].removeprefix("file://"))
    for item in run["results"]:
        (location,) = item["locations"]
        file = base / location["physicalLocation"]["artifactLocation"]["uri"]
        assert file.is_file()
        assert location["logicalLocations"][0]["fullyQualifiedName"].startswith("$.")
        line = location["physicalLocation"]["region"]["startLine"]  # GitHub code scanning needs the line
        assert file.read_text().splitlines()[line - 1].strip() in ("{", "[")
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {c.id for c in result.checks}


@pytest.mark.parametrize("folder", listing("aws-snapshots", dirs=True), ids=lambda p: p.name)
def test_the_line_of_every_rule_origin_holds_that_rule(folder: Path) -> None:
    """Each security group rule's JSON path (one peer of an IpPermission) starts at a line whose next lines hold
    the rule's CIDR: the SARIF region is where the user edits."""
    from vpclab.model import Direction
    from vpclab.model.rules import CidrPeer

    network = read_input(folder).network
    by_file: dict[str, list[tuple[str, str]]] = {}
    for group in network.security_groups.values():
        for direction in Direction:
            for rule in group.rules(direction):
                if rule.origin and rule.origin.path.startswith("$") and isinstance(rule.peer, CidrPeer):
                    by_file.setdefault(rule.origin.file, []).append((rule.origin.path, str(rule.peer.cidr)))
    assert by_file
    for file, items in by_file.items():
        text = (folder / file).read_text()
        found = json_lines(text, {path for path, _ in items})
        lines = text.splitlines()
        for path, cidr in items:
            assert cidr in "\n".join(lines[found[path] - 1:found[path] + 3]), (file, path)


def test_json_lines_skips_what_is_not_asked() -> None:
    text = '{"A": [{"b": 1}, {"b": [2, {"c": 3}]}],\n "D": {"e": "x"}}'
    assert json_lines(text, {"$.A[1].b[1]", "$.D", "$.A[5]"}) == {"$.A[1].b[1]": 1, "$.D": 2}


def test_the_schema_is_the_official_one() -> None:
    assert SCHEMA["$id"] == "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
    assert SCHEMA["properties"]["version"] == {"description": "The SARIF format version of this log file.",
                                               "enum": ["2.1.0"]}


def test_an_invalid_log_is_refused_by_the_schema() -> None:
    """The validation can fail: a result without a message is not SARIF."""
    log = to_sarif(audit_path(shared("aws-snapshots", "test-public-subnet")))
    del log["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(log)


def test_json_follows_the_contract() -> None:
    """DESIGN.md "Questions": findings with check, severity, resource, message, evidence, source, fix {text, cli};
    checks_run."""
    data = to_dict(audit_path(shared("aws-snapshots", "test-nat-gateway")))
    assert data["findings"] and data["checks_run"]
    for f in data["findings"]:
        assert set(f) == {"check", "severity", "resource", "message", "evidence", "source", "fix"}
        assert f["severity"] in {"high", "medium", "low", "info"} and set(f["fix"]) == {"text", "cli"}
        assert f["source"].startswith("aws_configs/")
    for c in data["checks_run"]:
        assert {"id", "title", "severity", "rationale", "aws_source", "fix", "findings"} <= set(c)
        assert ".md §" in c["aws_source"]
    json.dumps(data)


# ---- the command line ---------------------------------------------------------------------------------------


def vpclab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vpclab", *args], capture_output=True, text=True, timeout=120)


def test_exit_statuses_follow_fail_on() -> None:
    """Exit 1 when a finding is at or above --fail-on; test-subnet's worst is low."""
    folder = str(shared("aws-snapshots", "test-subnet"))
    assert vpclab("audit", folder).returncode == 1
    assert vpclab("audit", folder, "--fail-on", "medium").returncode == 0
    done = vpclab("audit", str(shared("aws-snapshots", "test-nat-gateway")), "--fail-on", "high", "--format", "json")
    assert done.returncode == 1 and json.loads(done.stdout)["summary"]["high"] == 1


def test_sarif_at_the_command_line_validates() -> None:
    done = vpclab("audit", str(shared("aws-snapshots", "test-vpc-peering")), "--format", "sarif", "--fail-on", "high")
    assert done.returncode == 0, done.stderr
    jsonschema.Draft7Validator(SCHEMA).validate(json.loads(done.stdout))


def test_text_output_names_findings_sources_and_fixes() -> None:
    done = vpclab("audit", str(shared("aws-snapshots", "test-public-subnet")))
    assert "HIGH   internet-admin-port  eni-00064850627e198ee" in done.stdout
    assert "source: aws_configs/SecurityGroups.json" in done.stdout and "$ aws ec2 revoke-security-group-" in done.stdout
    assert "Traceback" not in done.stderr


def test_a_snapshot_with_nothing_in_it_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Vpcs.json").write_text('{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}]}')
    done = vpclab("audit", str(tmp_path))
    assert done.returncode == 2 and "nothing to audit" in done.stderr and "Traceback" not in done.stderr


def test_a_folder_without_describe_output_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    done = vpclab("audit", str(tmp_path))
    assert done.returncode == 2 and done.stderr.strip() and "Traceback" not in done.stderr


def test_a_bad_format_or_threshold_is_refused() -> None:
    folder = str(shared("aws-snapshots", "test-subnet"))
    for args in (("--format", "xml"), ("--fail-on", "critical")):
        done = vpclab("audit", folder, *args)
        assert done.returncode == 2 and "Traceback" not in done.stderr


def test_a_missing_path_is_refused(tmp_path: Path) -> None:
    done = vpclab("audit", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "no such file or folder" in done.stderr


def test_severities_order() -> None:
    assert [s.rank for s in (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH)] == [0, 1, 2, 3]


def test_terraform_groups_open_to_anywhere_on_no_eni_are_no_exposure() -> None:
    """regula's ingress-anywhere fixture (../shared/data/terraform): five groups admitting 0.0.0.0/0, none attached to
    anything — the scanners flag each (peers.md §3, prowler #2069); evaluated, they expose nothing and are unused.
    The SARIF locates each in the Terraform document by its resource address."""
    path = shared("terraform", "regula-ingress-anywhere.json")
    result = audit_path(path)
    assert {f.check for f in result.findings} == {"sg-unused"}
    log = to_sarif(result)
    jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(log)
    for item in log["runs"][0]["results"]:
        (location,) = item["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "regula-ingress-anywhere.json"
        assert location["logicalLocations"][0]["fullyQualifiedName"].startswith("aws_security_group.")
        assert location["logicalLocations"][0]["kind"] == "resource"


@pytest.mark.parametrize("plan, used", [
    ("checkov-terragoat-plan.json", {"sg-aws_security_group.web-node": ["aws_elb.weblb", "aws_instance.db_app",
                                                                          "aws_instance.web_host"],
                                     "sg-aws_security_group.default": ["aws_db_instance.default"]}),
    ("tfcompliance-issue-249-existing-stack.json", {
        "sg-041e96ff356b17d07": ["module.lambda_TFUpgradeTest.aws_lambda_function.lambda"],
        "sg-0facdb20f33578aa9": ["module.alb.aws_alb.alb"],
        "sg-064772947d40297ad": ["module.myapp-asg.aws_launch_configuration.lc"]}),
])
def test_a_group_named_by_a_resource_vpclab_does_not_model_is_not_unused(plan: str, used: dict[str, list[str]]) -> None:
    """aws-routing-terraform.md §9.7 (flag, never guess): the instances whose address is known only after apply are
    left out, and Lambda functions, load balancers, launch configurations and databases are no ENIs of the model;
    the groups they name are in use, so `sg-unused` must not advise deleting them (it did). The regula fixture's
    groups, which nothing names, still are unused (the test above)."""
    found = read_input(shared("terraform", plan))
    assert {gid: list(found.groups[gid].used_by) for gid in used} == used
    assert not [f for f in audit(found).findings if f.check == "sg-unused"]


def test_sarif_of_a_lab_file_gives_the_line() -> None:
    """A lab file's objects carry their YAML line: each result's region starts there (sg-testb at line 16, its
    tcp 4321 rule at line 18 of beating-security-groups.yaml)."""
    import vpclab.lab.builtin

    path = Path(vpclab.lab.builtin.__file__).parent / "beating-security-groups.yaml"
    log = to_sarif(audit_path(path))
    jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(log)
    lines = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["name"]):
             r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in log["runs"][0]["results"]}
    assert lines[("conntrack-revocation-grace", "testb")] == 18
    assert lines[("egress-open-unneeded", "sg-testb")] == 16
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "beating-security-groups.yaml"
               for r in log["runs"][0]["results"])
