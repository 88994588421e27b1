"""`vpclab collect` against a mocked AWS (moto, never the network): read-only calls, one file per answer."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from vpclab.errors import InputError
from vpclab.load.collect import READ_ONLY_PREFIXES, collect

REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def build_account(session) -> dict[str, str]:
    """A VPC with a public and a private subnet, a group with rules, an instance, an IGW, a NAT gateway's route,
    a customer-managed prefix list: what a small real account holds."""
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=table, SubnetId=public)
    pl = ec2.create_managed_prefix_list(PrefixListName="mirrors", MaxEntries=5, AddressFamily="IPv4",
                                        Entries=[{"Cidr": "203.0.113.0/24"}])["PrefixList"]["PrefixListId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, SubnetId=private, SecurityGroupIds=[group])
    return {"vpc": vpc, "group": group, "igw": igw, "table": table, "pl": pl}


def test_collect_writes_one_file_per_answer_with_read_only_calls(aws, tmp_path):
    made = build_account(aws)
    operations: list[str] = []
    aws.events.register("before-call.*.*", lambda model, **_: operations.append(model.name))
    result = collect(aws, [REGION], tmp_path)
    assert operations and all(op.startswith(READ_ONLY_PREFIXES) for op in operations), operations
    folder = tmp_path / "aws_configs" / "accounts"
    (account,) = [p.name for p in folder.iterdir()]
    files = {p.name: json.loads(p.read_text()) for p in (folder / account / REGION).iterdir()}
    assert {"Vpcs.json", "Subnets.json", "SecurityGroups.json", "NetworkAcls.json", "RouteTables.json",
            "Reservations.json", "NetworkInterfaces.json", "InternetGateways.json", "ManagedPrefixLists.json"} \
        <= set(files)
    for name, content in files.items():  # a file's top-level key names what it holds, as the importer expects
        assert list(content) == [name.removesuffix(".json")]
    assert made["vpc"] in {v["VpcId"] for v in files["Vpcs.json"]["Vpcs"]}
    web = next(g for g in files["SecurityGroups.json"]["SecurityGroups"] if g["GroupId"] == made["group"])
    assert web["IpPermissions"][0]["FromPort"] == 443
    assert sum(len(r["Instances"]) for r in files["Reservations.json"]["Reservations"]) == 2
    mirrors = next(p for p in files["ManagedPrefixLists.json"]["ManagedPrefixLists"] if p["PrefixListId"] == made["pl"])
    assert [e["Cidr"] for e in mirrors["Entries"]] == ["203.0.113.0/24"]
    routes = next(t for t in files["RouteTables.json"]["RouteTables"] if t["RouteTableId"] == made["table"])["Routes"]
    assert any(r.get("GatewayId") == made["igw"] for r in routes)
    assert sorted(result.files) == sorted((folder / account / REGION).iterdir())


def test_every_region_asked_gets_its_folder(aws, tmp_path):
    collect(aws, [REGION, "us-east-2"], tmp_path)
    (account,) = list((tmp_path / "aws_configs" / "accounts").iterdir())
    assert sorted(p.name for p in account.iterdir()) == [REGION, "us-east-2"]


def test_without_a_region_collect_says_what_to_do(tmp_path, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(InputError, match="no AWS region"):
        collect(boto3.Session(), None, tmp_path)


def test_the_cli_writes_the_snapshot_and_says_so(aws, tmp_path):
    from typer.testing import CliRunner

    from vpclab.cli import app

    build_account(aws)
    result = CliRunner().invoke(app, ["collect", "-o", str(tmp_path / "snap"), "--region", REGION])
    assert result.exit_code == 0, result.output
    assert "files written to" in result.output and list((tmp_path / "snap").rglob("SecurityGroups.json"))


def test_the_cli_refuses_an_unknown_profile_with_exit_2(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from vpclab.cli import app

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = CliRunner().invoke(app, ["collect", "-o", str(tmp_path / "snap"), "--profile", "nope"])
    assert result.exit_code == 2 and "nope" in result.output and "Traceback" not in result.output


def test_a_collected_snapshot_is_read_by_the_aws_importer(aws, tmp_path):
    """The folder collect writes is form 1 of DESIGN.md's snapshots: the importer reads it without warnings about
    unknown files, and finds what the account holds."""
    from vpclab.load.aws import read_aws_folder

    made = build_account(aws)
    collect(aws, [REGION], tmp_path)
    document = read_aws_folder(tmp_path)
    assert made["vpc"] in document.data["vpcs"] and made["group"] in document.data["security_groups"]
    assert document.data["prefix_lists"][made["pl"]]["cidrs"] == ["203.0.113.0/24"]
    assert sum(1 for h in document.data["hosts"].values() if h.get("instance")) == 2
    assert not [w for w in document.warnings if "unknown" in w.message]


def test_without_credentials_collect_exits_3_saying_what_to_configure(tmp_path, monkeypatch):
    """DESIGN.md exit statuses: 3 when the backend (here AWS) is unavailable, with what to do."""
    from typer.testing import CliRunner

    from vpclab.cli import app

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = CliRunner().invoke(app, ["collect", "-o", str(tmp_path / "snap"), "--region", REGION])
    assert result.exit_code == 3 and "credentials" in result.output and "Traceback" not in result.output


def test_pages_of_a_paginated_answer_are_merged_in_order():
    """aws-routing-terraform.md §8.1: describe calls paginate with NextToken; collect asks for every page and
    writes one merged answer. (moto answers in one page whatever MaxResults says, so botocore's Stubber serves the
    pages here.)"""
    from botocore.stub import Stubber

    from vpclab.load.collect import _all_pages

    client = boto3.client("ec2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": "sg-1"}, {"GroupId": "sg-2"}],
                                                       "NextToken": "page-2"}, {})
        stub.add_response("describe_security_groups", {"SecurityGroups": [{"GroupId": "sg-3"}]},
                          {"NextToken": "page-2"})
        groups = _all_pages(client, "describe_security_groups", "SecurityGroups")
    assert [g["GroupId"] for g in groups] == ["sg-1", "sg-2", "sg-3"]


def test_build_collect_import_gives_the_model_of_what_was_built(aws, tmp_path):
    """The round trip of issue 8: a VPC built in (mocked) AWS, collected, imported: its subnets, groups and a
    group-reference rule are in the model as built."""
    from vpclab.load.snapshot import load_snapshot

    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24")["Subnet"]["SubnetId"] for i in range(12)]
    groups = [ec2.create_security_group(GroupName=f"g{i}", Description="x", VpcId=vpc)["GroupId"] for i in range(12)]
    ec2.authorize_security_group_ingress(GroupId=groups[0], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": groups[1]}]}])
    collect(aws, [REGION], tmp_path)
    network = load_snapshot(tmp_path).network
    assert set(subnets) <= set(network.subnets) and set(groups) <= set(network.security_groups)
    assert {s.vpc for sid, s in network.subnets.items() if sid in subnets} == {vpc}
    assert [str(c) for c in network.vpcs[vpc].cidrs] == ["10.8.0.0/16"]
    (rule,) = network.security_groups[groups[0]].ingress
    assert (rule.protocol, rule.ports.first, str(rule.peer)) == (6, 5432, groups[1])
    assert network.security_groups[groups[1]].egress  # AWS's default egress, as the API lists it
