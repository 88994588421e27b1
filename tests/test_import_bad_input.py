"""Bad input to `vpclab import`, through the command itself: every problem is one line naming the file and the JSON
path (describe JSON) or resource address (Terraform) and the field; exit 0 with warnings, 2 when nothing usable
remains (DESIGN.md "Real VPCs and real traffic"); never a traceback.

Sources: ../shared/reference/aws-semantics.md §6 (describe JSON: §6.1 groups, §6.3 NACLs, §6.7 route tables),
../shared/reference/aws-routing-terraform.md §9 (Terraform JSON: §9.1 documents and format versions, §9.5 shapes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHOP = FIXTURES / "aws" / "shop"
STATE = FIXTURES / "terraform" / "shop-state.json"


def vpclab(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it; a wide terminal so that each message stays on its line."""
    result = subprocess.run([sys.executable, "-m", "vpclab", *map(str, args)], check=False, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "COLUMNS": "250"})
    assert "Traceback" not in result.stderr + result.stdout
    return result


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stderr.splitlines()


def report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def shop(tmp_path: Path) -> Path:
    """A copy of the describe-JSON fixture to spoil."""
    return Path(shutil.copytree(SHOP, tmp_path / "shop"))


def edit(path: Path, change: Any) -> None:
    """Load a JSON file, let `change` modify it, write it back."""
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=1))


def terraform(tmp_path: Path, change: Any) -> Path:
    """A copy of the state fixture, changed by `change(resources by address)`."""
    data = json.loads(STATE.read_text())
    found: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for res in module.get("resources", []):
            found[res["address"]] = res
        for child in module.get("child_modules", []):
            walk(child)

    walk(data["values"]["root_module"])
    change(found)
    path = tmp_path / "state.json"
    path.write_text(json.dumps(data))
    return path


# --- describe JSON ------------------------------------------------------------------------------------------------

def test_a_malformed_file_in_a_describe_folder_is_a_warning_and_the_rest_is_imported(tmp_path: Path):
    """aws-semantics.md §6: a truncated Addresses.json (an interrupted download) is skipped with a warning at its
    file and line; everything else is imported as from the intact folder (the NAT gateway's Elastic IP is also on
    its ENI): exit 0."""
    folder = shop(tmp_path)
    (folder / "Addresses.json").write_text('{\n  "Addresses": [\n    {"AllocationId": "eipalloc-5a0e0001",\n')
    result = vpclab("import", folder, "--json")
    assert report(result)["counts"] == report(vpclab("import", SHOP, "--json"))["counts"]
    assert report(result)["warnings"] == [{"where": "Addresses.json:4",
                                           "message": "not JSON (Expecting property name enclosed in double quotes): "
                                                      "skipped"}]
    human = vpclab("import", folder)
    assert human.returncode == 0
    assert ("warning Addresses.json:4: not JSON (Expecting property name enclosed in double quotes): skipped"
            in human.stdout.splitlines())


def test_a_malformed_security_groups_file_leaves_enis_naming_unknown_groups_exit_2(tmp_path: Path):
    """Without SecurityGroups.json the ENIs name groups nothing describes: nothing faithful can be built (exit 2),
    and the messages begin with the cause, the file that is not JSON, before each ENI's dangling group."""
    folder = shop(tmp_path)
    (folder / "SecurityGroups.json").write_text('{"SecurityGroups": [\n')
    result = vpclab("import", folder)
    assert result.returncode == 2 and result.stdout == ""
    lines = errors(result)
    assert lines[0] == "SecurityGroups.json:2: warning: not JSON (Expecting value): skipped"
    assert lines[1] == (".: warning: no SecurityGroups or SecurityGroupRules output for eu-west-1: the rules of "
                        "security groups are unknown")  # `.`: the snapshot folder itself
    assert lines[2] == ("NetworkInterfaces.json: $.NetworkInterfaces[0].Groups: hosts.eni-5a0e0101.security_groups: "
                        "unknown security group 'sg-5a0e0001': expected one of (none defined)")
    assert len(lines) == 6  # the two warnings, then one error per ENI with a group


REFUSED = {  # a value AWS refuses: the file, how to spoil it, the one line that must say so
    "port 70000": (  # aws-semantics.md §1.1, §6.1: ports are 0-65535; a rule (one per peer) is at its peer's path
        "SecurityGroups.json", lambda d: d["SecurityGroups"][1]["IpPermissions"][0].update(ToPort=70000),
        ("SecurityGroups.json: $.SecurityGroups[1].IpPermissions[0]: security_groups.sg-5a0e0001"
         ".ingress[1].ports: port 443-70000 is out of range: expected 0-65535")),
    "port 'twenty-two'": (  # §6.1: FromPort/ToPort are integers; the ports are the permission's, not its peer's
        "SecurityGroups.json", lambda d: d["SecurityGroups"][1]["IpPermissions"][0].update(FromPort="twenty-two"),
        ("SecurityGroups.json: $.SecurityGroups[1].IpPermissions[0]: security_groups.sg-5a0e0001"
         ".ingress[1].ports: ports 'twenty-two-443' is not valid: expected a number 0-65535 or a range FROM-TO")),
    "ICMP type 'echo'": (  # §1.1, §6.1: an ICMP permission's FromPort is the type, a number
        "SecurityGroups.json", lambda d: d["SecurityGroups"][1]["IpPermissions"][0].update(
            IpProtocol="icmp", FromPort="echo", ToPort=-1),
        ("SecurityGroups.json: $.SecurityGroups[1].IpPermissions[0]: security_groups.sg-5a0e0001"
         ".ingress[1].icmp: ICMP type 'echo' is not valid: expected a number 0-255, -1 or a name (address-mask-reply, "
         "address-mask-request, dest-unreachable, destination-unreachable, echo-reply, echo-request, info-reply, "
         "info-request, parameter-problem, redirect, router-advertisement, router-solicitation, source-quench, "
         "time-exceeded, timestamp-reply, timestamp-request)")),
    "NACL entry 0": (  # aws-semantics.md §3.1, §6.3: rule numbers are 1-32766 (32767 and up are the `*` rules)
        "NetworkAcls.json", lambda d: d["NetworkAcls"][1]["Entries"][2].update(RuleNumber=0),
        ("NetworkAcls.json: $.NetworkAcls[1].Entries[2]: nacls.acl-5a0e0001.ingress[1].rule: rule number 0 is out of "
         "range: expected 1-32766 (32767 and above are reserved for the * rule)")),
    "NACL entry 40000": (  # §3.1, §6.3: only 32767/32768 denies are the `*` rules AWS adds; 40000 was dropped unsaid
        "NetworkAcls.json", lambda d: d["NetworkAcls"][1]["Entries"][2].update(RuleNumber=40000),
        ("NetworkAcls.json: $.NetworkAcls[1].Entries[2]: nacls.acl-5a0e0001.ingress[1].rule: rule number 40000 is out "
         "of range: expected 1-32766 (32767 and above are reserved for the * rule)")),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_value_aws_refuses_exits_2_at_its_json_path_and_field(tmp_path: Path, case: str):
    """aws-semantics.md §1.1, §3.1, §6.1, §6.3: a security-group rule with port 70000, a NACL entry numbered 0."""
    file, change, message = REFUSED[case]
    folder = shop(tmp_path)
    edit(folder / file, change)
    result = vpclab("import", folder)
    assert result.returncode == 2 and result.stdout == ""
    assert errors(result) == [message]


def test_a_route_to_an_unknown_target_is_skipped_with_a_warning_exit_0(tmp_path: Path):
    """aws-semantics.md §6.7, aws-routing-terraform.md §1.3 (targets by id prefix): `foo-123` is no AWS target;
    assumptions.md I7: the route is skipped with a warning at its JSON path saying what follows from it."""
    folder = shop(tmp_path)
    edit(folder / "RouteTables.json", lambda d: d["RouteTables"][1]["Routes"][1].update(GatewayId="foo-123"))
    result = report(vpclab("import", folder, "--json"))
    assert result["counts"]["routes"] == 4
    assert result["warnings"] == [{
        "where": "RouteTables.json: $.RouteTables[1].Routes[1]",
        "message": "route target foo-123 (not an AWS target id) is not modelled: skipped, so traffic to 0.0.0.0/0 "
                   "follows the table's other routes (assumptions I7)"}]


def test_an_empty_folder_is_nothing_usable_exit_2(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    result = vpclab("import", tmp_path / "empty")
    assert result.returncode == 2 and result.stdout == ""
    assert errors(result) == [(f"{tmp_path / 'empty'}: no AWS describe output found (files whose top-level key is "
                               "Vpcs, Subnets, SecurityGroups, …)")]


def test_a_folder_of_files_that_are_not_json_is_nothing_usable_exit_2(tmp_path: Path):
    """Each file is a warning at its line, then the folder is nothing usable."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "Vpcs.json").write_text("vpc-5a0e0001 10.0.0.0/16\n")
    result = vpclab("import", folder)
    assert result.returncode == 2 and result.stdout == ""
    assert errors(result) == ["Vpcs.json:1: warning: not JSON (Expecting value): skipped",
                              (f"{folder}: no AWS describe output found (files whose top-level key is Vpcs, Subnets, "
                               "SecurityGroups, …)")]


# --- Terraform JSON -------------------------------------------------------------------------------------------------

def test_a_terraform_document_of_another_format_version_exits_2(tmp_path: Path):
    """aws-routing-terraform.md §9.1: accept any 1.x (and 0.x of old Terraform), reject another major."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"format_version": "2.0", "terraform_version": "2.0.0", "planned_values": {}}))
    result = vpclab("import", path)
    assert result.returncode == 2 and result.stdout == ""
    assert errors(result) == [("plan.json: format_version: unsupported format_version '2.0': vpclab reads Terraform's "
                               "JSON format 0.x and 1.x")]


@pytest.mark.parametrize("text, message", [
    ("vpc_id = aws_vpc.main.id\n", "plan.json:1: not JSON: Expecting value at line 1 column 1"),
    ('{"format_version": "1.0", "values": {"root_module": {"resources": [\n',
     "plan.json:2: not JSON: Expecting value at line 2 column 1"),
])
def test_a_file_that_is_not_json_exits_2_with_its_line(tmp_path: Path, text: str, message: str):
    """§9.1: a file given to `import` that is not a folder or YAML is read as `terraform show -json` output."""
    path = tmp_path / "plan.json"
    path.write_text(text)
    result = vpclab("import", path)
    assert result.returncode == 2 and result.stdout == ""
    assert errors(result) == [(f"{message}; expected the output of `terraform show -json` (of a plan file or of the "
                               "state)")]


def test_a_binary_file_exits_2(tmp_path: Path):
    path = tmp_path / "plan.tfplan"
    path.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xff\xfe")  # a plan file itself (a zip), not its JSON
    result = vpclab("import", path)
    assert result.returncode == 2
    assert errors(result) == [("plan.tfplan: not JSON: the file is not UTF-8 text; expected the output of `terraform "
                               "show -json` (of a plan file or of the state)")]


def test_a_terraform_rule_with_port_70000_exits_2_at_its_address(tmp_path: Path):
    """§9.5: an inline rule's to_port; the problem is located at the group's resource address."""
    def change(resources: dict[str, dict[str, Any]]) -> None:
        resources['module.app["web"].aws_security_group.this']["values"]["ingress"][0]["to_port"] = 70000

    result = vpclab("import", terraform(tmp_path, change))
    assert result.returncode == 2
    assert errors(result) == [('state.json: module.app["web"].aws_security_group.this: security_groups.sg-5a0e0001'
                               ".ingress[1].ports: port 443-70000 is out of range: expected 0-65535")]


def test_a_terraform_nacl_rule_numbered_0_exits_2_at_its_address(tmp_path: Path):
    """§9.5: aws_network_acl_rule.rule_number (here not repeated inline, as in a plan of a new rule)."""
    def change(resources: dict[str, dict[str, Any]]) -> None:
        resources["aws_network_acl_rule.deny_bench"]["values"]["rule_number"] = 0
        acl = resources["module.network.aws_network_acl.private"]["values"]
        acl["ingress"] = [e for e in acl["ingress"] if e["rule_no"] != 90]

    result = vpclab("import", terraform(tmp_path, change))
    assert result.returncode == 2
    assert errors(result) == [("state.json: aws_network_acl_rule.deny_bench: nacls.acl-5a0e0001.ingress[4].rule: rule "
                               "number 0 is out of range: expected 1-32766 (32767 and above are reserved for the * "
                               "rule)")]


@pytest.mark.parametrize("where, value, message", [
    ("from_port", "abc", "ports: port 'abc' is not valid: expected a number 0-65535 or a range FROM-TO"),
    ("to_port", "https", "ports: port 'https' is not valid: expected a number 0-65535 or a range FROM-TO"),
])
def test_a_terraform_port_that_is_no_number_exits_2_at_its_address(tmp_path: Path, where: str, value: str,
                                                                   message: str):
    """§9.5: from_port/to_port are numbers; text that is none is reported at the group's address, no traceback."""
    def change(resources: dict[str, dict[str, Any]]) -> None:
        resources['module.app["web"].aws_security_group.this']["values"]["ingress"][0][where] = value

    result = vpclab("import", terraform(tmp_path, change))
    assert result.returncode == 2
    assert errors(result) == [f'state.json: module.app["web"].aws_security_group.this: security_groups.sg-5a0e0001'
                              f".ingress[1].{message}"]


def test_a_terraform_nacl_rule_number_that_is_no_number_exits_2_at_its_address(tmp_path: Path):
    """§9.5: aws_network_acl_rule.rule_number is a number."""
    def change(resources: dict[str, dict[str, Any]]) -> None:
        resources["aws_network_acl_rule.deny_bench"]["values"]["rule_number"] = "ninety"
        acl = resources["module.network.aws_network_acl.private"]["values"]
        acl["ingress"] = [e for e in acl["ingress"] if e["rule_no"] != 90]

    result = vpclab("import", terraform(tmp_path, change))
    assert result.returncode == 2
    [line] = errors(result)
    assert line.startswith("state.json: aws_network_acl_rule.deny_bench: nacls.acl-5a0e0001.ingress[4].rule: ")
    assert "'ninety'" in line or "ninety" in line


def test_a_terraform_route_to_an_unknown_target_is_a_warning_exit_0(tmp_path: Path):
    """§9.5-9.6 (targets classified by id prefix, whatever key holds them); assumptions.md I7."""
    def change(resources: dict[str, dict[str, Any]]) -> None:
        resources["module.network.aws_route.private_nat"]["values"]["nat_gateway_id"] = "foo-123"
        resources["module.network.aws_route_table.private"]["values"]["route"] = []

    result = report(vpclab("import", terraform(tmp_path, change), "--json"))
    assert result["counts"]["routes"] == 4
    assert result["warnings"] == [{
        "where": "state.json: module.network.aws_route.private_nat",
        "message": "a route to 0.0.0.0/0 via foo-123: skipped (a target vpclab does not model), so traffic to "
                   "0.0.0.0/0 follows the table's other routes (assumptions I7)"}]


def test_a_terraform_block_list_that_is_no_list_is_a_warning_not_silence(tmp_path: Path):
    """§9.5: a group's `ingress` is a list of blocks; a value of another shape (a hand-edited document) gave no
    ingress rules without a word. Now the group's address says why its rules are missing."""
    def change(resources: dict[str, dict[str, Any]]) -> None:
        resources['module.app["web"].aws_security_group.this']["values"]["ingress"] = "x"

    result = report(vpclab("import", terraform(tmp_path, change), "--json"))
    assert {"where": 'state.json: module.app["web"].aws_security_group.this',
            "message": "ingress is str 'x', expected a list of blocks: no ingress read"} in result["warnings"]
