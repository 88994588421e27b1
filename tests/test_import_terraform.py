"""Terraform JSON → network document (`vpclab.load.terraform`), on the real plans of ../shared/data/terraform and on
small synthetic states and plans. Sections are those of ../shared/reference/aws-routing-terraform.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vpclab.errors import InputError, Origin
from vpclab.load.terraform import TerraformDocument, read_terraform

from shareddata import shared

DOCUMENTS = ["checkov-for-each-module-sgs.json", "checkov-terragoat-plan.json", "regula-ingress-anywhere.json",
             "tfcompliance-issue-249-existing-stack.json", "tfcompliance-issue-514-nacl-module.json",
             "tfcompliance-pull-330-egress-only.json"]


# --- what the raw JSON says, read here without the importer -------------------------------------------------------

def raw(name: str) -> dict[str, Any]:
    return json.loads(shared('terraform', name).read_text())


def planned(name: str, kind: str | None = None) -> dict[str, dict[str, Any]]:
    """The managed resources of a plan's planned_values by address (optionally of one type)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for res in module.get("resources", []):
            if res["mode"] == "managed" and kind in (None, res["type"]):
                found[res["address"]] = res
        for child in module.get("child_modules", []):
            walk(child)

    walk(raw(name)["planned_values"]["root_module"])
    return found


def addresses(document: dict[str, Any]) -> set[str]:
    """Every resource address a plan holds (prior-state addresses of child modules in old formats are relative)."""
    found = {c["address"] for c in document.get("resource_changes", [])}

    def walk(module: dict[str, Any]) -> None:
        prefix = module.get("address", "")
        for res in module.get("resources", []):
            found.add(res["address"] if res["address"].startswith(prefix) else f"{prefix}.{res['address']}")
        for child in module.get("child_modules", []):
            walk(child)

    walk(document["planned_values"]["root_module"])
    walk(document.get("prior_state", {}).get("values", {}).get("root_module", {}))
    return found


def inline_peers(values: dict[str, Any], direction: str) -> int:
    """How many rules AWS lists for a group's inline blocks: one per peer."""
    return sum(len(b["cidr_blocks"] or []) + len(b["ipv6_cidr_blocks"] or []) + len(b["prefix_list_ids"] or [])
               + len(b["security_groups"] or []) + bool(b["self"]) for b in values.get(direction) or [])


def warnings(doc: TerraformDocument) -> list[str]:
    return [str(w) for w in doc.warnings]


def groups_by_origin(doc: TerraformDocument) -> dict[str, dict[str, Any]]:
    """The document's groups keyed by the address they came from."""
    return {doc.locate(("security_groups", g)).path: group for g, group in doc.data.get("security_groups", {}).items()}


# --- the six shared documents --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_shared_plan_reads_as_a_plan_with_every_part_located_at_a_resource_address(name):
    """§9.1 (a plan has planned_values), §9.3 (addresses, also of prior-state child modules of format 0.1)."""
    doc = read_terraform(shared('terraform', name))
    assert doc.kind == "terraform-plan"
    known = addresses(raw(name))
    assert doc.origins and all(o.file == name and o.path in known for o in doc.origins.values())
    assert all(w.severity == "warning" for w in doc.warnings)


# Rules that separate rule resources add beyond a group's inline blocks: (group address, direction) → count.
SEPARATE_RULES = {
    "checkov-terragoat-plan.json": {("aws_security_group.default", "ingress"): 1,
                                    ("aws_security_group.default", "egress"): 1},
    # every aws_security_group_rule of this existing stack repeats a rule AWS lists inline (§9.6, regula#401)
    "tfcompliance-issue-249-existing-stack.json": {},
    "checkov-for-each-module-sgs.json": {}, "regula-ingress-anywhere.json": {},
    "tfcompliance-pull-330-egress-only.json": {}, "tfcompliance-issue-514-nacl-module.json": {},
}


# VPCs whose default group an ENI without groups gets (declared at the VPC's address, with AWS's default rules).
DEFAULT_GROUPS = {"checkov-terragoat-plan.json": {"aws_vpc.web_vpc"}}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_groups_and_their_rules_per_direction_are_those_of_the_plan(name):
    """§9.5 (inline rules, one per peer), §9.6 (separate rules merged, duplicates once, no default egress)."""
    doc = read_terraform(shared('terraform', name))
    groups = groups_by_origin(doc)
    expected = planned(name, "aws_security_group")
    assert set(groups) == set(expected) | DEFAULT_GROUPS.get(name, set())
    for address, res in expected.items():
        for direction in ("ingress", "egress"):
            count = inline_peers(res["values"], direction) + SEPARATE_RULES[name].get((address, direction), 0)
            assert len(groups[address][direction]) == count, (address, direction)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_vpcs_subnets_nacls_route_tables_and_enis_are_those_of_the_plan(name):
    """§9.3, §9.5: one VPC, subnet, NACL and route table per resource with the CIDRs and entries the plan
    gives; every route (inline or aws_route) once; one ENI per instance and network interface."""
    doc = read_terraform(shared('terraform', name))
    located = {section: {doc.locate((section, key)).path: value for key, value in doc.data.get(section, {}).items()}
               for section in ("vpcs", "subnets", "nacls", "route_tables", "hosts")}
    vpcs = planned(name, "aws_vpc")
    assert {a: [r["values"]["cidr_block"]] for a, r in vpcs.items()} == \
        {a: v["cidrs"] for a, v in located["vpcs"].items() if a in vpcs}
    subnets = planned(name, "aws_subnet")
    assert {a: r["values"]["cidr_block"] for a, r in subnets.items()} == \
        {a: v["cidr"] for a, v in located["subnets"].items() if a in subnets}
    nacls = planned(name, "aws_network_acl")
    assert {a: sum(len(r["values"].get(d) or []) for d in ("ingress", "egress")) for a, r in nacls.items()} == \
        {a: len(v["ingress"]) + len(v["egress"]) for a, v in located["nacls"].items()}
    tables = planned(name, "aws_route_table")
    assert set(tables) == set(located["route_tables"])
    assert sum(len(r["values"].get("route") or []) for r in tables.values()) + len(planned(name, "aws_route")) == \
        sum(len(t["routes"]) for t in located["route_tables"].values())
    enis = set(planned(name, "aws_instance")) | set(planned(name, "aws_network_interface"))
    assert set(located["hosts"]) == enis


def test_a_module_with_for_each_gives_one_group_per_instance_key():
    """§9.3: `module.sg["k"].aws_security_group.bad` for each key; each its own group, placeholder and origin."""
    doc = read_terraform(shared('terraform', "checkov-for-each-module-sgs.json"))
    keys = ["awful_example", "bad_example", "terrible_example"]
    for key in keys:
        address = f'module.sg["{key}"].aws_security_group.bad'
        group = doc.data["security_groups"][f"sg-{address}"]
        assert doc.locate(("security_groups", f"sg-{address}")) == Origin("checkov-for-each-module-sgs.json",
                                                                          path=address)
        assert group["name"] == key and group["vpc"] == "vpc-123456abc"
        assert group["ingress"] == [{"proto": "-1", "cidr": "0.0.0.0/0", "description": "Allow all inbound traffic"}]
        assert doc.locate(("security_groups", f"sg-{address}", "ingress", 0)).path == address


def test_protocol_all_with_a_port_range_is_all_traffic():
    """§9.6: protocol -1 with from 0 to 65535 is every protocol and port (terraform-provider-aws#27254)."""
    doc = read_terraform(shared('terraform', "checkov-for-each-module-sgs.json"))
    assert all("ports" not in g["ingress"][0] for g in doc.data["security_groups"].values())


def test_data_sources_describe_the_pre_existing_vpc_and_subnet():
    """§9.3, §9.7 step 2: data sources (read into the prior state) are facts: the VPC's CIDR, the subnet."""
    doc = read_terraform(shared('terraform', "checkov-for-each-module-sgs.json"))
    assert doc.data["vpcs"]["vpc-123456abc"]["cidrs"] == ["10.213.220.0/22"]
    assert doc.locate(("vpcs", "vpc-123456abc")).path == "data.aws_vpc.sandbox"
    assert doc.data["subnets"]["subnet-04c460d388900659b"] == {
        "vpc": "vpc-123456abc", "cidr": "10.213.220.0/24", "zone": "us-east-1c", "name": "dev-vpc",
        "account": "073481610293", "region": "us-east-1"}


def test_a_group_terraform_creates_has_no_egress_unless_declared():
    """§9.6 (default egress removed, hashicorp/terraform#1765): an unknown, unconfigured egress is none."""
    doc = read_terraform(shared('terraform', "tfcompliance-pull-330-egress-only.json"))
    groups = groups_by_origin(doc)
    assert groups["aws_security_group.allow_tls"]["egress"] == []
    assert groups["aws_security_group.allow_all_egress"]["ingress"] == []
    assert groups["aws_security_group.allow_all_egress"]["egress"] == [{"proto": "tcp", "ports": 443,
                                                                        "cidr": "0.0.0.0/0"}]


def test_a_rule_for_a_group_not_in_the_document_is_a_warning():
    """§9.7 step 5: aws_security_group_rule.allow_all names sg-123456, which no resource declares."""
    doc = read_terraform(shared('terraform', "tfcompliance-pull-330-egress-only.json"))
    assert ("tfcompliance-pull-330-egress-only.json: aws_security_group_rule.allow_all: warning: a rule for "
            "sg-123456, a group not in this document: skipped") in warnings(doc)


def test_gateways_and_nat_gateway_of_a_new_vpc_are_linked_through_the_configuration():
    """§9.4: vpc_id and subnet_id are unknown in the plan; `references` name the VPC and the subnet."""
    doc = read_terraform(shared('terraform', "tfcompliance-pull-330-egress-only.json"))
    vpc = "vpc-aws_vpc.pass"
    assert doc.data["vpcs"][vpc]["cidrs"] == ["10.0.0.0/16"]
    assert doc.data["subnets"] == {"subnet-aws_subnet.test": {"vpc": vpc, "cidr": "10.0.1.0/24"}}
    assert doc.data["internet_gateways"] == {"igw-aws_internet_gateway.gw": {"vpc": vpc, "name": "Test"}}
    assert doc.data["vpn_gateways"] == {"vgw-aws_vpn_gateway.main": {"vpc": vpc}}
    assert doc.data["nat_gateways"] == {"nat-aws_nat_gateway.gw": {"subnet": "subnet-aws_subnet.test",
                                                                   "connectivity": "public"}}
    assert any("aws_nat_gateway.gw: warning: private_ip and public_ip known only after apply" in w
               for w in warnings(doc))


def test_unknown_ids_get_placeholders_from_their_address_and_a_warning():
    """§9.4: ids of new resources are unknown; the placeholder is `<prefix>-<address>`, with a warning there."""
    doc = read_terraform(shared('terraform', "checkov-terragoat-plan.json"))
    assert set(doc.data["vpcs"]) == {"vpc-aws_vpc.web_vpc", "vpc-aws_vpc.eks_vpc"}
    assert set(doc.data["subnets"]) == {f"subnet-aws_subnet.{n}" for n in
                                        ("web_subnet", "web_subnet2", "eks_subnet1", "eks_subnet2")}
    assert ("checkov-terragoat-plan.json: aws_security_group.web-node: warning: id is known only after apply: "
            "placeholder id sg-aws_security_group.web-node") in warnings(doc)
    for section in ("vpcs", "subnets", "security_groups", "route_tables", "hosts", "internet_gateways"):
        for key in doc.data[section]:
            assert any(key in w for w in warnings(doc)), key


def test_references_tie_new_rules_routes_and_instances_together():
    """§9.4: a separate rule's group, a route's table and gateway, an association's subnet and an instance's
    subnet and groups are unknown in the plan and found through the configuration's references."""
    doc = read_terraform(shared('terraform', "checkov-terragoat-plan.json"))
    default = doc.data["security_groups"]["sg-aws_security_group.default"]
    assert default["ingress"] == [{"proto": "tcp", "ports": 3306, "cidr": "172.16.0.0/16"}]
    assert default["egress"] == [{"proto": "-1", "cidr": "0.0.0.0/0"}]
    assert doc.locate(("security_groups", "sg-aws_security_group.default", "egress", 0)).path == \
        "aws_security_group_rule.egress"
    assert doc.data["route_tables"] == {"rtb-aws_route_table.web_rtb": {
        "vpc": "vpc-aws_vpc.web_vpc", "main": False, "gateways": [], "name": "123456789123-acme-corp-rtb",
        "region": "us-west-2", "subnets": ["subnet-aws_subnet.web_subnet", "subnet-aws_subnet.web_subnet2"],
        "routes": [{"destination": "0.0.0.0/0", "target": "igw-aws_internet_gateway.web_igw"}]}}
    assert doc.locate(("route_tables", "rtb-aws_route_table.web_rtb", "routes", 0)).path == \
        "aws_route.public_internet_gateway"
    assert doc.locate(("route_tables", "rtb-aws_route_table.web_rtb", "subnets", 1)).path == \
        "aws_route_table_association.rtbassoc2"


def test_instances_and_enis_of_a_plan():
    """§9.5-9.6: an instance's primary ENI (subnet, groups by id), public IPv4 from the subnet's
    map_public_ip_on_launch (address unknown), a standalone ENI without groups in its VPC's default group."""
    doc = read_terraform(shared('terraform', "checkov-terragoat-plan.json"))
    hosts = doc.data["hosts"]
    assert set(hosts) == {"eni-aws_instance.web_host", "eni-aws_instance.db_app", "eni-aws_network_interface.web-eni"}
    web = hosts["eni-aws_instance.web_host"]
    assert web["instance"] == "i-aws_instance.web_host" and "ip" not in web and web["public_ip_unknown"] is True
    assert web["subnet"] == "subnet-aws_subnet.web_subnet"
    assert web["security_groups"] == ["sg-aws_security_group.web-node"]
    eni = hosts["eni-aws_network_interface.web-eni"]
    assert eni["ip"] == "172.16.10.100" and eni["security_groups"] == ["sg-aws_vpc.web_vpc"]
    assert doc.data["security_groups"]["sg-aws_vpc.web_vpc"] == {"vpc": "vpc-aws_vpc.web_vpc", "name": "default",
                                                                "default": True}
    assert doc.locate(("hosts", "eni-aws_instance.web_host")).path == "aws_instance.web_host"
    assert any("aws_instance.web_host: warning: the private IPv4 address is known only after apply" in w
               for w in warnings(doc))


def test_resources_of_other_types_are_one_warning_with_counts():
    """§9.7 step 8: flag what is not read instead of guessing, once for the whole document."""
    doc = read_terraform(shared('terraform', "checkov-terragoat-plan.json"))
    (line,) = [w for w in warnings(doc) if "not read" in w]
    assert "37 resources (aws_s3_bucket ×6, aws_iam_role ×3," in line and "null_resource ×1" in line
    assert "4 data sources (data.aws_iam_policy_document ×2" in line


def test_groups_without_a_vpc_land_in_the_default_vpc():
    """§9.6: groups with no vpc_id are the default VPC's; one placeholder VPC (172.31.0.0/16) and a warning."""
    doc = read_terraform(shared('terraform', "regula-ingress-anywhere.json"))
    assert doc.data["vpcs"] == {"vpc-default": {"cidrs": ["172.31.0.0/16"], "region": "us-west-1"}}
    assert {g["vpc"] for g in doc.data["security_groups"].values()} == {"vpc-default"}
    assert sum("placed in the account's default VPC" in w for w in warnings(doc)) == 1
    ports = {g["name"]: g["ingress"][0]["ports"] for g in doc.data["security_groups"].values()}
    expected = {r["values"]["name"]: r["values"]["ingress"][0]
                for r in planned("regula-ingress-anywhere.json").values()}
    assert ports == {n: (b["from_port"] if b["from_port"] == b["to_port"] else f"{b['from_port']}-{b['to_port']}")
                     for n, b in expected.items()}


def test_an_existing_stack_keeps_its_ids_and_counts_rules_shown_twice_once():
    """§9.6 (inline + separate rules double up in the state of existing stacks; fugue/regula#401): each rule of
    the aws_security_group_rule resources is also inline, so nothing is added and nothing doubled."""
    doc = read_terraform(shared('terraform', "tfcompliance-issue-249-existing-stack.json"))
    groups = doc.data["security_groups"]
    assert set(groups) == {"sg-041e96ff356b17d07", "sg-0facdb20f33578aa9", "sg-064772947d40297ad"}
    assert groups["sg-064772947d40297ad"]["egress"] == []
    assert {"proto": "tcp", "ports": 4000, "sg": "sg-0facdb20f33578aa9"} in groups["sg-064772947d40297ad"]["ingress"]
    assert doc.locate(("security_groups", "sg-064772947d40297ad")).path == "module.myapp-asg.aws_security_group.sg_asg"
    assert not any("id is known only after apply" in w for w in warnings(doc))


def test_a_data_source_repeated_in_several_modules_is_one_vpc():
    """§9.3: data.aws_vpc.default is read in five modules; the VPC is read once, at its first address."""
    doc = read_terraform(shared('terraform', "tfcompliance-issue-249-existing-stack.json"))
    assert doc.data["vpcs"] == {"vpc-32E071F6": {"cidrs": ["10.107.56.0/21"], "name": "us-east-1-mybu-sandbox-vpc",
                                                 "account": "123456789012", "region": "us-east-1"}}
    assert doc.locate(("vpcs", "vpc-32E071F6")).path.endswith(".data.aws_vpc.default")


def test_a_nacl_without_rule_blocks_associated_with_count_subnets():
    """§9.5 (a NACL Terraform creates has only the entries declared: deny all), §9.4 (`subnet_ids` references
    `aws_subnet.vpc_subnet`, both count instances)."""
    name = "tfcompliance-issue-514-nacl-module.json"
    doc = read_terraform(shared('terraform', name))
    acl = "acl-module.vpc_module.aws_network_acl.vpc_subnet_acl"
    vpc = "vpc-module.vpc_module.aws_vpc.vpc"
    assert doc.data["nacls"] == {acl: {"vpc": vpc, "region": "us-east-1", "ingress": [], "egress": []}}
    subnets = planned(name, "aws_subnet")
    assert {f"subnet-{a}": r["values"]["cidr_block"] for a, r in subnets.items()} == \
        {s: v["cidr"] for s, v in doc.data["subnets"].items()}
    for subnet in doc.data["subnets"].values():
        assert subnet["nacl"] == acl and subnet["vpc"] == vpc
    assert doc.locate(("subnets", "subnet-module.vpc_module.aws_subnet.vpc_subnet[1]")).path == \
        "module.vpc_module.aws_subnet.vpc_subnet[1]"


# --- synthetic documents -------------------------------------------------------------------------------------------

def resource(address: str, kind: str, values: dict[str, Any], mode: str = "managed", **extra: Any) -> dict[str, Any]:
    name = address.rsplit(".", 1)[1].split("[")[0]
    return {"address": address, "mode": mode, "type": kind, "name": name, "values": values, **extra}


def sg_block(**given: Any) -> dict[str, Any]:
    return {"cidr_blocks": [], "description": "", "from_port": 0, "ipv6_cidr_blocks": [], "prefix_list_ids": [],
            "protocol": "-1", "security_groups": [], "self": False, "to_port": 0, **given}


def nacl_block(**given: Any) -> dict[str, Any]:
    return {"action": "allow", "cidr_block": "", "from_port": 0, "icmp_code": 0, "icmp_type": 0,
            "ipv6_cidr_block": "", "protocol": "-1", "rule_no": 100, "to_port": 0, **given}


def write(tmp_path: Path, document: dict[str, Any], name: str = "tf.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def state(*resources: dict[str, Any], children: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"format_version": "1.0", "terraform_version": "1.9.5",
            "values": {"root_module": {"resources": list(resources), "child_modules": list(children)}}}


VPC = resource("aws_vpc.main", "aws_vpc", {
    "id": "vpc-1", "cidr_block": "10.0.0.0/16", "default_security_group_id": "sg-d", "default_network_acl_id": "acl-d",
    "main_route_table_id": "rtb-m", "owner_id": "111122223333", "tags": {"Name": "main"},
    "arn": "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-1"})
SUBNETS = [resource(f"aws_subnet.{n}", "aws_subnet", {"id": f"subnet-{n}", "vpc_id": "vpc-1", "cidr_block": cidr,
                                                       "availability_zone": "eu-west-1a",
                                                       "map_public_ip_on_launch": n == "a"})
           for n, cidr in (("a", "10.0.1.0/24"), ("b", "10.0.2.0/24"))]


def test_a_state_merges_separate_rule_resources_into_inline_rules(tmp_path):
    """§9.6: rules of aws_security_group_rule and aws_vpc_security_group_*_rule join their group's inline rules;
    a rule shown both inline and as a resource is one rule; protocols normalised (`6` → tcp); self → the group."""
    web = resource("aws_security_group.web", "aws_security_group", {
        "id": "sg-web", "vpc_id": "vpc-1", "name": "web", "description": "web servers",
        "ingress": [sg_block(protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0", "10.0.0.0/8"]),
                    sg_block(protocol="tcp", from_port=22, to_port=22, security_groups=["sg-admin"], self=True)],
        "egress": []})
    admin = resource("aws_security_group.admin", "aws_security_group", {
        "id": "sg-admin", "vpc_id": "vpc-1", "name": "admin", "ingress": [], "egress": []})
    twice = resource("aws_security_group_rule.ssh", "aws_security_group_rule", {
        "type": "ingress", "security_group_id": "sg-web", "protocol": "tcp", "from_port": 22, "to_port": 22,
        "cidr_blocks": [], "source_security_group_id": "sg-admin", "self": False, "description": "ssh"})
    https = resource("aws_vpc_security_group_egress_rule.https", "aws_vpc_security_group_egress_rule", {
        "security_group_id": "sg-web", "ip_protocol": "6", "from_port": 443, "to_port": 443,
        "cidr_ipv4": "0.0.0.0/0"})
    ping = resource("aws_vpc_security_group_ingress_rule.ping", "aws_vpc_security_group_ingress_rule", {
        "security_group_id": "sg-web", "ip_protocol": "icmp", "from_port": 8, "to_port": -1, "cidr_ipv4": "10.0.0.0/8"})
    doc = read_terraform(write(tmp_path, state(VPC, web, admin, twice, https, ping)))
    assert doc.kind == "terraform-state"
    group = doc.data["security_groups"]["sg-web"]
    assert group["ingress"] == [{"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"},
                                {"proto": "tcp", "ports": 443, "cidr": "10.0.0.0/8"},
                                {"proto": "tcp", "ports": 22, "sg": "sg-admin"},
                                {"proto": "tcp", "ports": 22, "sg": "sg-web"},
                                {"proto": "icmp", "icmp": {"type": 8, "code": -1}, "cidr": "10.0.0.0/8"}]
    assert group["egress"] == [{"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"}]
    assert doc.locate(("security_groups", "sg-web", "ingress", 4)).path == "aws_vpc_security_group_ingress_rule.ping"
    assert doc.locate(("security_groups", "sg-web", "egress", 0)).path == "aws_vpc_security_group_egress_rule.https"
    assert doc.data["security_groups"]["sg-admin"]["egress"] == []  # explicit: no AWS default egress (§9.6)


def test_adopted_default_group_and_nacl_lose_aws_rules_and_separate_nacl_entries_merge(tmp_path):
    """§9.5: aws_default_security_group and aws_default_network_acl remove every rule and keep only those
    configured; NACL protocols are numbers (`"6"`, tcp → 6: §9.6), entries of aws_network_acl_rule join inline
    ones (the same number twice is one entry), `subnet_ids` associate."""
    default_sg = resource("aws_default_security_group.d", "aws_default_security_group", {
        "id": "sg-d", "vpc_id": "vpc-1", "name": "default", "ingress": [], "egress": []})
    acl = resource("aws_network_acl.web", "aws_network_acl", {
        "id": "acl-web", "vpc_id": "vpc-1", "subnet_ids": ["subnet-a"],
        "ingress": [nacl_block(rule_no=100, protocol="6", from_port=443, to_port=443, cidr_block="0.0.0.0/0"),
                    nacl_block(rule_no=110, protocol="1", icmp_type=8, icmp_code=-1, cidr_block="10.0.0.0/8")],
        "egress": [nacl_block(rule_no=100, cidr_block="0.0.0.0/0")]})
    deny = resource("aws_network_acl_rule.deny", "aws_network_acl_rule", {
        "network_acl_id": "acl-web", "rule_number": 90, "egress": False, "protocol": "tcp", "rule_action": "deny",
        "cidr_block": "192.0.2.0/24", "from_port": 0, "to_port": 65535})
    again = resource("aws_network_acl_rule.again", "aws_network_acl_rule", {
        "network_acl_id": "acl-web", "rule_number": 100, "egress": True, "protocol": "-1", "rule_action": "allow",
        "cidr_block": "0.0.0.0/0", "from_port": 0, "to_port": 0})
    default_acl = resource("aws_default_network_acl.d", "aws_default_network_acl", {
        "id": "acl-d", "default_network_acl_id": "acl-d", "vpc_id": "vpc-1", "subnet_ids": ["subnet-b"],
        "ingress": [], "egress": []})
    association = resource("aws_network_acl_association.b", "aws_network_acl_association", {
        "network_acl_id": "acl-web", "subnet_id": "subnet-x"})
    doc = read_terraform(write(tmp_path, state(VPC, *SUBNETS, default_sg, acl, deny, again, default_acl, association)))
    assert doc.data["security_groups"]["sg-d"] == {"vpc": "vpc-1", "name": "default", "default": True,
                                                   "ingress": [], "egress": []}
    assert doc.data["nacls"]["acl-d"] == {"vpc": "vpc-1", "default": True, "ingress": [], "egress": []}
    web = doc.data["nacls"]["acl-web"]
    assert web["ingress"] == [
        {"rule": 100, "action": "allow", "proto": 6, "cidr": "0.0.0.0/0", "ports": 443},
        {"rule": 110, "action": "allow", "proto": 1, "cidr": "10.0.0.0/8", "icmp": {"type": 8, "code": -1}},
        {"rule": 90, "action": "deny", "proto": 6, "cidr": "192.0.2.0/24", "ports": "0-65535"}]
    assert web["egress"] == [{"rule": 100, "action": "allow", "proto": -1, "cidr": "0.0.0.0/0"}]
    assert doc.data["subnets"]["subnet-a"]["nacl"] == "acl-web" and doc.data["subnets"]["subnet-b"]["nacl"] == "acl-d"
    assert doc.locate(("subnets", "subnet-b", "nacl")).path == "aws_default_network_acl.d"
    assert ("tf.json: aws_network_acl_association.b: warning: acl-web is associated with subnet-x, a subnet not "
            "in this document: skipped") in warnings(doc)


def test_route_tables_routes_associations_main_and_gateway_endpoint_routes(tmp_path):
    """§9.5-9.6: inline routes and aws_route; a target under the wrong key (`gateway_id = nat-…`) keeps its id;
    subnet associations; aws_main_route_table_association makes a table main; a gateway endpoint adds its
    prefix-list route to its tables (state leaves it out); a blackhole route keeps its state."""
    def route(**given: str) -> dict[str, str]:
        keys = ("cidr_block", "ipv6_cidr_block", "destination_prefix_list_id", "gateway_id", "nat_gateway_id",
                "network_interface_id", "transit_gateway_id", "vpc_peering_connection_id", "vpc_endpoint_id")
        return {k: given.get(k, "") for k in keys}
    public = resource("aws_route_table.public", "aws_route_table", {
        "id": "rtb-p", "vpc_id": "vpc-1", "propagating_vgws": [],
        "route": [route(cidr_block="0.0.0.0/0", gateway_id="igw-1")]})
    private = resource("aws_route_table.private", "aws_route_table", {"id": "rtb-q", "vpc_id": "vpc-1", "route": []})
    nat = resource("aws_route.nat", "aws_route", {"route_table_id": "rtb-q", "destination_cidr_block": "0.0.0.0/0",
                                                  "gateway_id": "nat-1", "state": "active"})
    hole = resource("aws_route.hole", "aws_route", {"route_table_id": "rtb-q", "destination_cidr_block": "10.9.0.0/16",
                                                    "transit_gateway_id": "tgw-1", "state": "blackhole"})
    associate = resource("aws_route_table_association.a", "aws_route_table_association", {
        "route_table_id": "rtb-p", "subnet_id": "subnet-a", "gateway_id": ""})
    main = resource("aws_main_route_table_association.m", "aws_main_route_table_association", {
        "vpc_id": "vpc-1", "route_table_id": "rtb-q", "original_route_table_id": "rtb-m"})
    s3 = resource("aws_vpc_endpoint.s3", "aws_vpc_endpoint", {
        "id": "vpce-1", "vpc_id": "vpc-1", "vpc_endpoint_type": "Gateway", "route_table_ids": ["rtb-q"],
        "service_name": "com.amazonaws.eu-west-1.s3", "prefix_list_id": "pl-s3"})
    more = resource("aws_vpc_endpoint_route_table_association.p", "aws_vpc_endpoint_route_table_association", {
        "vpc_endpoint_id": "vpce-1", "route_table_id": "rtb-p"})
    igw = resource("aws_internet_gateway.gw", "aws_internet_gateway", {"id": "igw-1", "vpc_id": "vpc-1"})
    doc = read_terraform(write(tmp_path, state(VPC, *SUBNETS, igw, public, private, nat, hole, associate, main, s3,
                                               more)))
    tables = doc.data["route_tables"]
    assert tables["rtb-p"] == {"vpc": "vpc-1", "main": False, "subnets": ["subnet-a"], "gateways": [],
                               "routes": [{"destination": "0.0.0.0/0", "target": "igw-1"},
                                          {"destination": "pl-s3", "target": "vpce-1"}]}
    assert tables["rtb-q"]["main"] is True
    assert tables["rtb-q"]["routes"] == [{"destination": "0.0.0.0/0", "target": "nat-1"},
                                         {"destination": "10.9.0.0/16", "target": "tgw-1", "state": "blackhole"},
                                         {"destination": "pl-s3", "target": "vpce-1"}]
    assert doc.locate(("route_tables", "rtb-q", "main")).path == "aws_main_route_table_association.m"
    assert doc.locate(("route_tables", "rtb-p", "routes", 1)).path == "aws_vpc_endpoint_route_table_association.p"
    assert doc.data["vpc_endpoints"]["vpce-1"]["route_tables"] == ["rtb-q", "rtb-p"]
    assert doc.data["internet_gateways"] == {"igw-1": {"vpc": "vpc-1"}}


def test_instances_enis_attachments_and_elastic_ips_of_a_state(tmp_path):
    """§9.6: an instance's primary ENI; a second ENI attached to it (named after it), with no groups in its VPC's
    default group, plus one from aws_network_interface_sg_attachment; an Elastic IP of a secondary address; a NAT
    gateway's Elastic IP is the NAT gateway's address."""
    instance = resource("aws_instance.web", "aws_instance", {
        "id": "i-1", "subnet_id": "subnet-a", "private_ip": "10.0.1.5", "vpc_security_group_ids": ["sg-web"],
        "associate_public_ip_address": True, "public_ip": "203.0.113.5", "primary_network_interface_id": "eni-1",
        "source_dest_check": True, "network_interface": [], "tags": {"Name": "web-1"}})
    web = resource("aws_security_group.web", "aws_security_group", {"id": "sg-web", "vpc_id": "vpc-1", "name": "web",
                                                                    "ingress": [], "egress": []})
    extra = resource("aws_network_interface.extra", "aws_network_interface", {
        "id": "eni-2", "subnet_id": "subnet-b", "private_ip": "10.0.2.7", "private_ip_list": ["10.0.2.7", "10.0.2.8"],
        "security_groups": [], "source_dest_check": False, "attachment": [{"instance": "i-1", "device_index": 1}]})
    added = resource("aws_network_interface_sg_attachment.x", "aws_network_interface_sg_attachment", {
        "network_interface_id": "eni-2", "security_group_id": "sg-web"})
    eip = resource("aws_eip.second", "aws_eip", {"id": "eipalloc-2", "public_ip": "198.51.100.8",
                                                 "network_interface": "eni-2", "associate_with_private_ip": "10.0.2.8"})
    nat = resource("aws_nat_gateway.nat", "aws_nat_gateway", {
        "id": "nat-1", "subnet_id": "subnet-a", "allocation_id": "eipalloc-n", "network_interface_id": "eni-nat",
        "private_ip": "10.0.1.9", "connectivity_type": "public"})
    nat_ip = resource("aws_eip.nat", "aws_eip", {"id": "eipalloc-n", "public_ip": "198.51.100.9",
                                                 "network_interface": "eni-nat", "private_ip": "10.0.1.9"})
    doc = read_terraform(write(tmp_path, state(VPC, *SUBNETS, web, instance, extra, added, eip, nat, nat_ip)))
    hosts = doc.data["hosts"]
    assert hosts["eni-1"] == {"subnet": "subnet-a", "ip": "10.0.1.5", "security_groups": ["sg-web"],
                              "source_dest_check": True, "instance": "i-1", "interface_type": "interface",
                              "public_ip": "203.0.113.5", "name": "web-1"}
    assert hosts["eni-2"] == {"subnet": "subnet-b", "ip": "10.0.2.7", "secondary_ips": ["10.0.2.8"],
                              "security_groups": ["sg-d", "sg-web"], "source_dest_check": False,
                              "interface_type": "interface", "instance": "i-1", "name": "web-1",
                              "public_ips": {"10.0.2.8": "198.51.100.8"}}
    assert doc.data["security_groups"]["sg-d"] == {"vpc": "vpc-1", "name": "default", "default": True}
    assert doc.locate(("security_groups", "sg-d")).path == "aws_vpc.main"
    assert doc.data["nat_gateways"]["nat-1"] == {"subnet": "subnet-a", "connectivity": "public", "eni": "eni-nat",
                                                 "private_ip": "10.0.1.9", "public_ip": "198.51.100.9"}


def test_transit_gateway_attachments_default_table_and_routes(tmp_path):
    """§9.5: a VPC attachment is associated with and propagates to the gateway's default route table unless
    told not to; static routes name their attachment."""
    tgw = resource("aws_ec2_transit_gateway.t", "aws_ec2_transit_gateway", {
        "id": "tgw-1", "default_route_table_association": "enable", "default_route_table_propagation": "enable",
        "association_default_route_table_id": "tgw-rtb-1", "propagation_default_route_table_id": "tgw-rtb-1"})
    attachment = resource("aws_ec2_transit_gateway_vpc_attachment.v", "aws_ec2_transit_gateway_vpc_attachment", {
        "id": "tgw-attach-1", "transit_gateway_id": "tgw-1", "vpc_id": "vpc-1", "subnet_ids": ["subnet-b"]})
    static = resource("aws_ec2_transit_gateway_route.r", "aws_ec2_transit_gateway_route", {
        "destination_cidr_block": "0.0.0.0/0", "transit_gateway_attachment_id": "tgw-attach-1",
        "transit_gateway_route_table_id": "tgw-rtb-1", "blackhole": False})
    doc = read_terraform(write(tmp_path, state(VPC, *SUBNETS, tgw, attachment, static)))
    assert doc.data["transit_gateways"] == {"tgw-1": {
        "attachments": {"tgw-attach-1": {"type": "vpc", "resource": "vpc-1", "subnets": ["subnet-b"],
                                         "state": "available", "route_table": "tgw-rtb-1"}},
        "route_tables": {"tgw-rtb-1": {"routes": [{"destination": "0.0.0.0/0", "type": "static", "state": "active",
                                                   "attachment": "tgw-attach-1"}],
                                       "propagations": ["tgw-attach-1"]}}}}


def test_child_module_resources_of_a_state_keep_their_module_address(tmp_path):
    """§9.3: a resource of `module.net["x"]` is located at its full address."""
    child = {"address": 'module.net["x"]', "resources": [resource(
        'module.net["x"].aws_security_group.m', "aws_security_group",
        {"id": "sg-m", "vpc_id": "vpc-1", "name": "m", "ingress": [], "egress": []})]}
    doc = read_terraform(write(tmp_path, state(VPC, children=[child])))
    assert doc.locate(("security_groups", "sg-m")).path == 'module.net["x"].aws_security_group.m'


def plan_resource(module: str, address: str, kind: str, values: dict[str, Any], unknown: dict[str, Any],
                  index: int | str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A planned_values entry and its resource_changes entry (a resource created by the plan)."""
    full = f"{module}.{address}" if module else address
    entry = resource(full, kind, values, **({"index": index} if index is not None else {}))
    change = {"address": full, "module_address": module, "mode": "managed", "type": kind, "name": entry["name"],
              "change": {"actions": ["create"], "before": None, "after": values,
                         "after_unknown": {"id": True, **unknown}}}
    return entry, change


def refs(*references: str) -> dict[str, list[str]]:
    return {"references": list(references)}


def modular_plan() -> dict[str, Any]:
    """A plan where every link is known only after apply: a VPC module with count subnets and outputs, an app
    module per for_each key whose group and instance reach them through variables, and root groups."""
    net = [plan_resource("module.net", "aws_vpc.this", "aws_vpc", {"cidr_block": "10.1.0.0/16"},
                         {"default_security_group_id": True})]
    net += [plan_resource("module.net", f"aws_subnet.private[{i}]", "aws_subnet",
                          {"cidr_block": f"10.1.{i}.0/24"}, {"vpc_id": True}, index=i) for i in (0, 1)]
    root = [plan_resource("", "aws_security_group.lb", "aws_security_group", {"name": "lb"},
                          {"vpc_id": True, "ingress": True, "egress": True}),
            plan_resource("", "aws_security_group.bastion", "aws_security_group", {"name": "bastion"},
                          {"vpc_id": True, "ingress": True, "egress": True})]
    apps: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for key in ("a", "b"):
        module = f'module.app["{key}"]'
        apps[module] = [
            plan_resource(module, "aws_security_group.app", "aws_security_group", {
                "name": f"app-{key}", "ingress": [sg_block(protocol="tcp", from_port=80, to_port=80)]},
                {"vpc_id": True, "egress": True, "ingress": [{"security_groups": True}]}),
            plan_resource(module, "aws_instance.app[0]", "aws_instance", {"source_dest_check": True},
                          {"subnet_id": True, "vpc_security_group_ids": True, "private_ip": True,
                           "primary_network_interface_id": True, "public_ip": True,
                           "associate_public_ip_address": True}, index=0)]
    apps['module.app["b"]'].append(plan_resource(
        'module.app["b"]', "aws_security_group_rule.extra", "aws_security_group_rule",
        {"type": "egress", "protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": ["10.1.0.0/16"]},
        {"security_group_id": True}))
    app_config = {"resources": [
        {"address": "aws_security_group.app", "mode": "managed", "type": "aws_security_group", "name": "app",
         "expressions": {"vpc_id": refs("var.vpc_id"), "ingress": [{
             "from_port": {"constant_value": 80}, "to_port": {"constant_value": 80},
             "protocol": {"constant_value": "tcp"}, "security_groups": refs("var.lb_sg")}]}},
        {"address": "aws_instance.app", "mode": "managed", "type": "aws_instance", "name": "app",
         "expressions": {"subnet_id": refs("var.subnet_ids", "count.index"),
                         "vpc_security_group_ids": refs("aws_security_group.app.id", "aws_security_group.app")},
         "count_expression": {"constant_value": 1}},
        {"address": "aws_security_group_rule.extra", "mode": "managed", "type": "aws_security_group_rule",
         "name": "extra", "expressions": {"security_group_id": refs("aws_security_group.app.id")}}]}
    configuration = {"provider_config": {"aws": {"name": "aws", "expressions": {"region": {"constant_value":
                                                                                           "eu-central-1"}}}},
                     "root_module": {
        "resources": [
            {"address": "aws_security_group.lb", "mode": "managed", "type": "aws_security_group", "name": "lb",
             "expressions": {"vpc_id": refs("module.net.vpc_id", "module.net"), "ingress": [{
                 "from_port": {"constant_value": 443}, "to_port": {"constant_value": 443},
                 "protocol": {"constant_value": "tcp"}, "cidr_blocks": {"constant_value": ["0.0.0.0/0"]},
                 "security_groups": refs("aws_security_group.bastion.id", "aws_security_group.bastion")}]}},
            {"address": "aws_security_group.bastion", "mode": "managed", "type": "aws_security_group",
             "name": "bastion", "expressions": {"vpc_id": refs("module.net.vpc_id", "module.net")}}],
        "module_calls": {
            "net": {"source": "./net", "module": {
                "outputs": {"vpc_id": {"expression": refs("aws_vpc.this.id", "aws_vpc.this")},
                            "subnet_ids": {"expression": refs("aws_subnet.private")}},
                "resources": [{"address": "aws_subnet.private", "mode": "managed", "type": "aws_subnet",
                               "name": "private", "expressions": {"vpc_id": refs("aws_vpc.this.id")}}]}},
            "app": {"source": "./app", "for_each_expression": refs("local.apps"), "expressions": {
                "vpc_id": refs("module.net.vpc_id", "module.net"),
                "subnet_ids": refs("module.net.subnet_ids", "module.net"),
                "lb_sg": refs("aws_security_group.lb.id", "aws_security_group.lb")}, "module": app_config}}}}
    pairs = net + root + [p for module in apps.values() for p in module]
    children = [{"address": "module.net", "resources": [p[0] for p in net]}] + [
        {"address": module, "resources": [p[0] for p in items]} for module, items in apps.items()]
    return {"format_version": "1.2", "terraform_version": "1.9.5",
            "planned_values": {"root_module": {"resources": [p[0] for p in root], "child_modules": children}},
            "resource_changes": [p[1] for p in pairs], "configuration": configuration,
            "applyable": True, "complete": True, "errored": False}


def test_references_through_module_variables_outputs_and_count_index(tmp_path):
    """§9.4 (links known only after apply found through `references`), §9.3 (modules, count and for_each):
    `var.subnet_ids[count.index]` → the module call → `module.net.subnet_ids` → the output → the subnet of the
    same index; `var.vpc_id` → `module.net.vpc_id` → aws_vpc.this; each module instance keeps its own group."""
    doc = read_terraform(write(tmp_path, modular_plan()))
    vpc = "vpc-module.net.aws_vpc.this"
    assert doc.data["subnets"]["subnet-module.net.aws_subnet.private[1]"] == {
        "vpc": vpc, "cidr": "10.1.1.0/24", "region": "eu-central-1"}
    for key in ("a", "b"):
        group = f'sg-module.app["{key}"].aws_security_group.app'
        assert doc.data["security_groups"][group]["vpc"] == vpc
        host = doc.data["hosts"][f'eni-module.app["{key}"].aws_instance.app[0]']
        assert host["subnet"] == "subnet-module.net.aws_subnet.private[0]"
        assert host["security_groups"] == [group] and host["instance"] == f'i-module.app["{key}"].aws_instance.app[0]'
        assert "public_ip_unknown" not in host  # the subnet does not map public IPs on launch
    b = doc.data["security_groups"]['sg-module.app["b"].aws_security_group.app']
    assert b["egress"] == [{"proto": "tcp", "ports": 5432, "cidr": "10.1.0.0/16"}]
    assert doc.data["security_groups"]['sg-module.app["a"].aws_security_group.app']["egress"] == []


def test_inline_rules_known_only_after_apply_come_from_the_configured_blocks(tmp_path):
    """§9.4: a group's `security_groups` in an inline block, or its whole `ingress`, known only after apply, are
    read from the configured blocks (their constants and references)."""
    doc = read_terraform(write(tmp_path, modular_plan()))
    app = doc.data["security_groups"]['sg-module.app["a"].aws_security_group.app']
    assert app["ingress"] == [{"proto": "tcp", "ports": 80, "sg": "sg-aws_security_group.lb"}]
    lb = doc.data["security_groups"]["sg-aws_security_group.lb"]
    assert lb["ingress"] == [{"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"},
                             {"proto": "tcp", "ports": 443, "sg": "sg-aws_security_group.bastion"}]
    assert lb["egress"] == [] and lb["vpc"] == "vpc-module.net.aws_vpc.this"


def test_a_plan_that_errored_is_read_with_a_warning(tmp_path):
    """§9.2: `errored` (or not `applyable`) means the after-world may be partial."""
    plan = {**modular_plan(), "errored": True}
    doc = read_terraform(write(tmp_path, plan))
    assert "tf.json: warning: errored: the plan errored: the values after apply may be partial" in warnings(doc)


def test_an_empty_state_is_an_empty_document(tmp_path):
    """§9.1: an empty state prints only `format_version`."""
    doc = read_terraform(write(tmp_path, {"format_version": "1.0"}))
    assert doc.kind == "terraform-state" and doc.data == {} and doc.warnings == []


# --- input that is not a Terraform JSON document ---------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ('{"format_version": "1.0",', "not JSON: Expecting property name enclosed in double quotes at line 1 column 26"),
    ("[1, 2]", "not a Terraform JSON document: the top level is not an object"),
    ('{"Vpcs": []}', "not a Terraform JSON document: no `format_version`"),
    ('{"version": 4, "serial": 3, "lineage": "x", "resources": []}', "a raw terraform.tfstate file"),
    ('{"format_version": "2.0", "values": {}}', "unsupported format_version '2.0'"),
    ('{"format_version": "1.0", "Reservations": []}', "neither `planned_values` (a plan) nor `values` (a state)"),
])
def test_input_that_is_not_terraform_json_raises_input_error(tmp_path, text, message):
    """§9.1: only `terraform show -json` output of a plan or state, format 0.x or 1.x, is read."""
    path = tmp_path / "input.json"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_terraform(path)
    (problem,) = caught.value.problems
    assert message in problem.message and problem.origin.file == "input.json"


def test_a_missing_file_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read the file"):
        read_terraform(tmp_path / "missing.json")
