"""Audit checks on groups and on connection tracking, on small describe-JSON folders written in tmp_path (so the
default group's name and the JSON paths are real): unused groups, default groups in use or with rules, a rule naming
a deleted group (aws-semantics.md §1.3, §1.4), untracked flows and the revocation grace of tracked ones (§2.2, §2.4,
§2.5, the second seed article)."""

from __future__ import annotations

import json
from pathlib import Path

from netbuild import build
from vpclab.analysis.audit import CHECKS_BY_ID, AuditInput, Severity, audit, audit_path
from vpclab.analysis.audit.inputs import read_input
from vpclab.load.snapshot import Snapshot
from vpclab.model import Network

OWNER = "111111111111"
WORLD_OUT = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def snapshot(tmp_path: Path, groups: list[dict], enis: list[dict]) -> Path:
    """A one-VPC describe-JSON folder: vpc-1 10.0.0.0/16, subnet-1 10.0.1.0/24 (us-east-1a), the groups and ENIs."""
    folder = tmp_path / "snap"
    folder.mkdir()
    files = {"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16", "OwnerId": OWNER}],
             "Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24",
                          "AvailabilityZone": "us-east-1a"}],
             "SecurityGroups": [{"VpcId": "vpc-1", "OwnerId": OWNER, "IpPermissions": [], "IpPermissionsEgress": [],
                                 **g} for g in groups],
             "NetworkInterfaces": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "AvailabilityZone": "us-east-1a", **e}
                                   for e in enis]}
    for key, items in files.items():
        (folder / f"{key}.json").write_text(json.dumps({key: items}, indent=1))
    return folder


def eni(name: str, ip: str, *groups: str) -> dict:
    return {"NetworkInterfaceId": name, "PrivateIpAddress": ip, "Groups": [{"GroupId": g} for g in groups]}


def default_group(gid: str = "sg-def", rules: bool = True) -> dict:
    group = {"GroupId": gid, "GroupName": "default"}
    if rules:
        group.update(IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": gid, "UserId": OWNER}]}],
                     IpPermissionsEgress=[WORLD_OUT])
    return group


def findings(folder: Path, check: str) -> list:
    return list(audit(read_input(folder), [CHECKS_BY_ID[check]]).findings)


# ---- sg-unused ------------------------------------------------------------------------------------------------


def test_a_group_on_no_eni_is_reported_and_a_used_one_is_not(tmp_path: Path) -> None:
    folder = snapshot(tmp_path, [{"GroupId": "sg-used", "GroupName": "web"}, {"GroupId": "sg-spare", "GroupName": "old"},
                                 default_group()], [eni("eni-1", "10.0.1.5", "sg-used")])
    found = findings(folder, "sg-unused")
    assert [(f.resource, f.severity) for f in found] == [("sg-spare", Severity.LOW)]  # the default group is left out
    assert str(found[0].source) == "SecurityGroups.json: $.SecurityGroups[1]"
    assert found[0].fix.cli == "aws ec2 delete-security-group --group-id sg-spare"


def test_an_unused_group_named_by_another_says_so(tmp_path: Path) -> None:
    ref = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": "sg-spare", "UserId": OWNER}]}
    folder = snapshot(tmp_path, [{"GroupId": "sg-used", "IpPermissions": [ref]}, {"GroupId": "sg-spare"}],
                      [eni("eni-1", "10.0.1.5", "sg-used")])
    (found,) = findings(folder, "sg-unused")
    assert found.evidence["referenced_by"] == ["sg-used"] and "admit no one" in found.message


# ---- sg-default-in-use (aws-semantics.md §1.3; CIS AWS Foundations 5.4) -------------------------------------


def test_a_default_group_in_use_with_rules_is_medium(tmp_path: Path) -> None:
    folder = snapshot(tmp_path, [default_group()], [eni("eni-1", "10.0.1.5", "sg-def")])
    (found,) = findings(folder, "sg-default-in-use")
    assert (found.resource, found.severity, found.evidence["enis"]) == ("sg-def", Severity.MEDIUM, ["eni-1"])
    assert found.fix.cli.count("aws ec2 revoke-security-group-") == 2


def test_a_default_group_with_rules_on_no_eni_is_low(tmp_path: Path) -> None:
    folder = snapshot(tmp_path, [default_group(), {"GroupId": "sg-web"}], [eni("eni-1", "10.0.1.5", "sg-web")])
    assert [(f.resource, f.severity) for f in findings(folder, "sg-default-in-use")] == [("sg-def", Severity.LOW)]


def test_an_emptied_unused_default_group_is_no_finding(tmp_path: Path) -> None:
    folder = snapshot(tmp_path, [default_group(rules=False), {"GroupId": "sg-web"}],
                      [eni("eni-1", "10.0.1.5", "sg-web")])
    assert findings(folder, "sg-default-in-use") == []


# ---- sg-missing-reference (aws-semantics.md §1.4: stale references) ------------------------------------------


def test_a_rule_naming_a_deleted_group_is_found_and_the_rest_audited(tmp_path: Path) -> None:
    """`vpclab import` refuses this snapshot (the model cannot hold a rule whose group's members are unknown); the
    audit reports the rule at its JSON path and audits the rest, whose rules keep their own paths."""
    gone = {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "UserIdGroupPairs": [{"GroupId": "sg-gone", "UserId": OWNER}]}
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
    folder = snapshot(tmp_path, [{"GroupId": "sg-db", "IpPermissions": [gone, ssh]}],
                      [eni("eni-1", "10.0.1.5", "sg-db")])
    (found,) = findings(folder, "sg-missing-reference")
    assert found.resource == "sg-db" and found.evidence["missing_group"] == "sg-gone"
    assert str(found.source) == "SecurityGroups.json: $.SecurityGroups[0].IpPermissions[0].UserIdGroupPairs[0]"
    assert "UserIdGroupPairs=[{GroupId=sg-gone}]" in found.fix.cli
    network = read_input(folder).network
    (kept,) = network.security_groups["sg-db"].ingress
    assert str(kept.origin) == "SecurityGroups.json: $.SecurityGroups[0].IpPermissions[1].IpRanges[0]"


def test_no_missing_reference_when_every_group_is_there(tmp_path: Path) -> None:
    ref = {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
           "UserIdGroupPairs": [{"GroupId": "sg-app", "UserId": OWNER}]}
    folder = snapshot(tmp_path, [{"GroupId": "sg-db", "IpPermissions": [ref]}, {"GroupId": "sg-app"}],
                      [eni("eni-1", "10.0.1.5", "sg-db")])
    assert findings(folder, "sg-missing-reference") == []


# ---- sg-untracked-flow and conntrack-revocation-grace (aws-semantics.md §2.2, §2.4, §2.5) -------------------

PUBLIC = {"web": {"cidr": "198.18.1.0/24", "public": True}}
HTTP_WORLD = {"proto": "tcp", "ports": 80, "cidr": "0.0.0.0/0"}


def lab(groups: dict, host: dict | None = None) -> Network:
    spec = {"subnet": "web", "ip": "198.18.1.10", "public_ip": "198.51.100.10", "security_groups": ["g"]}
    return build(groups, {"h": {**spec, **(host or {})}}, PUBLIC)


def run(network: Network, check: str) -> list:
    return list(audit(AuditInput(Snapshot("fixture", "lab", network)), [CHECKS_BY_ID[check]]).findings)


def test_world_http_with_all_egress_is_untracked() -> None:
    """§2.2's worked example: tcp 80 from 0.0.0.0/0 and all traffic out to 0.0.0.0/0: not tracked."""
    (found,) = run(lab({"g": {"ingress": [HTTP_WORLD]}}), "sg-untracked-flow")
    assert found.severity is Severity.INFO and found.evidence["ports"] == [[80, 80]]
    assert found.evidence["direction"] == "ingress" and found.evidence["other_direction"]["number"] == 1


def test_a_narrow_source_or_narrow_egress_is_tracked() -> None:
    """§2.2: tcp 22 from 203.0.113.1/32 is tracked; removing the all-ports egress makes tcp 80 tracked too."""
    assert run(lab({"g": {"ingress": [{"proto": "tcp", "ports": 22, "cidr": "192.0.2.1/32"}]}}), "sg-untracked-flow") == []
    narrow = [{"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"}]
    assert run(lab({"g": {"ingress": [HTTP_WORLD], "egress": narrow}}), "sg-untracked-flow") == []


def test_tracked_internet_connections_outlive_revocation_for_the_tcp_timeout() -> None:
    """§2.4: tracked connections are not interrupted by a rule change; §2.5: they last until idle for the ENI's TCP
    established timeout, 432,000 s by default. The fix names the ENI and modify-network-interface-attribute."""
    narrow = [{"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"}]
    (found,) = run(lab({"g": {"ingress": [HTTP_WORLD], "egress": narrow}}), "conntrack-revocation-grace")
    assert (found.resource, found.severity, found.evidence["port"]) == ("h", Severity.LOW, 80)
    assert found.evidence["tcp_established_timeout"] == 432000 and "432,000 s" in found.message
    assert found.fix.cli == ("aws ec2 modify-network-interface-attribute --network-interface-id h "
                             "--connection-tracking-specification TcpEstablishedTimeout=350")


def test_no_revocation_grace_for_untracked_short_timeout_or_unreachable_enis() -> None:
    narrow = [{"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"}]
    assert run(lab({"g": {"ingress": [HTTP_WORLD]}}), "conntrack-revocation-grace") == []  # untracked: cut at once
    short = {"conntrack": {"tcp_established": 300}}
    assert run(lab({"g": {"ingress": [HTTP_WORLD], "egress": narrow}}, short), "conntrack-revocation-grace") == []
    private = {"public_ip": None}  # nothing outside reaches it: only the informational finding of the tracked rule
    found = run(lab({"g": {"ingress": [HTTP_WORLD], "egress": narrow}}, private), "conntrack-revocation-grace")
    assert [f.severity for f in found] == [Severity.INFO]


def test_the_whole_audit_runs_on_a_folder(tmp_path: Path) -> None:
    folder = snapshot(tmp_path, [default_group(), {"GroupId": "sg-web", "IpPermissionsEgress": [WORLD_OUT]}],
                      [eni("eni-1", "10.0.1.5", "sg-web")])
    result = audit_path(folder)
    assert [c.id for c in result.checks] == list(CHECKS_BY_ID)
    assert {f.check for f in result.findings} >= {"sg-default-in-use", "egress-open-unneeded"}
    assert all(f.source for f in result.findings)


def test_the_second_seed_articles_lab_is_a_revocation_finding() -> None:
    """"Beating AWS Security Groups" (the built-in lab): testb admits tcp 4321 from 198.18.0.0/16, a tracked flow
    (not 0.0.0.0/0, §2.2); revoking the rule leaves testa's connection open (§2.4) until idle for 432,000 s (§2.5).
    Nothing outside reaches testb, so the finding is informational, with the modify-network-interface-attribute fix."""
    import vpclab.lab.builtin

    path = Path(vpclab.lab.builtin.__file__).parent / "beating-security-groups.yaml"
    found = [f for f in audit(read_input(path), [CHECKS_BY_ID["conntrack-revocation-grace"]]).findings]
    (testb,) = [f for f in found if "testb" in f.evidence["enis"]]
    assert testb.severity is Severity.INFO and testb.evidence["tcp_established_timeouts"] == [432000]
    assert [r["rule"] for r in testb.evidence["tracked_rules"]] == ["tcp 4321 from 198.18.0.0/16 (the test port)"]
    assert testb.fix.cli.startswith("aws ec2 modify-network-interface-attribute --network-interface-id testb "
                                    "--connection-tracking-specification TcpEstablishedTimeout=")


def test_untracked_rules_are_not_listed_as_outliving_revocation() -> None:
    """tcp 80 from 0.0.0.0/0 with all egress is untracked (cut at once); tcp 22 from a /8 on the same ENI is not."""
    network = lab({"g": {"ingress": [HTTP_WORLD, {"proto": "tcp", "ports": 22, "cidr": "10.0.0.0/8"}]}},
                  {"public_ip": None})
    (found,) = run(network, "conntrack-revocation-grace")
    assert [r["rule"] for r in found.evidence["tracked_rules"]] == ["tcp 22 from 10.0.0.0/8"]
