"""AWS describe JSON folder → network document (issue 8, importer part 1; contract: docs/network-data.md).

Sources cited: `aws-semantics.md` (§1 security groups, §3 NACLs, §6 CLI shapes) and `aws-routing-terraform.md`
(§1 route tables, §2-§6 gateways, §7 ENIs, §8 CLI shapes), both in ../shared/reference/. The real snapshots are
read from ../shared/data/aws-snapshots/ (never copied); their expected numbers are counted here with plain json.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpclab.errors import InputError, Origin
from vpclab.load.aws import read_aws_folder
from vpclab.load.document import Document

from shareddata import REASON, SHARED

SNAPSHOTS = (SHARED or Path("/nonexistent")) / "aws-snapshots"
needs_snapshots = pytest.mark.skipif(not SNAPSHOTS.is_dir(), reason=REASON)

COUNTS = ("vpcs", "subnets", "security_groups", "sg_rules_ingress", "sg_rules_egress", "nacls", "nacl_entries",
          "route_tables", "routes", "enis", "internet_gateways", "nat_gateways", "vpn_gateways", "peerings",
          "vpc_endpoints", "prefix_lists", "transit_gateways", "tgw_attachments")
EXPECTED = {  # in the order of COUNTS
    "pybatfish-hybrid-cloud": (4, 8, 8, 9, 8, 4, 8, 4, 14, 8, 2, 0, 0, 0, 0, 4, 2, 6),
    "test-nat-gateway": (1, 3, 3, 4, 3, 2, 5, 3, 5, 4, 1, 1, 0, 0, 0, 0, 0, 0),
    "test-public-private-subnet": (1, 2, 3, 3, 3, 1, 2, 2, 4, 2, 1, 0, 1, 0, 0, 0, 0, 0),
    "test-public-subnet": (1, 1, 2, 2, 2, 1, 2, 2, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0),
    "test-subnet": (1, 1, 3, 3, 3, 1, 2, 1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0),
    "test-transit-gateway": (2, 3, 5, 5, 5, 2, 4, 2, 5, 5, 1, 0, 0, 0, 0, 0, 1, 2),
    "test-vpc-endpoint-gateway": (1, 2, 2, 5, 2, 2, 4, 3, 6, 2, 1, 0, 0, 0, 1, 2, 0, 0),
    "test-vpc-peering": (3, 3, 6, 6, 6, 3, 6, 3, 8, 3, 0, 0, 0, 2, 0, 0, 0, 0),
    "test-vpc-peering-multi-account": (2, 2, 4, 8, 4, 0, 0, 4, 8, 2, 0, 0, 0, 1, 0, 0, 0, 0),
}
VPN_NOT_MODELLED = [("CustomerGateways.json: $.CustomerGateways", "customer gateways"),
                    ("VpnConnections.json: $.VpnConnections", "VPN connections")]
WARNINGS = {  # (where the warning points, what it says) for what each snapshot lacks or holds beyond the model
    "pybatfish-hybrid-cloud": [
        *((f"aws_configs/{region}/{file}", text) for region in ("us-east-2", "us-west-2")
          for file, text in VPN_NOT_MODELLED),
        ("aws_configs/us-east-2/TransitGatewayAttachments.json: $.TransitGatewayAttachments[0]",
         "tgw-attach-0cc6cf6a578b754e3 is deleting: skipped")],
    "test-nat-gateway": [],
    "test-public-private-subnet": [(f"aws_configs/{file}", text) for file, text in VPN_NOT_MODELLED],
    "test-public-subnet": [],
    "test-subnet": [],
    "test-transit-gateway": [
        *((f"aws_configs/{file}", text) for file, text in VPN_NOT_MODELLED),
        ("aws_configs/Reservations.json: $.Reservations[2].Instances[0]",
         "instance i-04a292ff83b3aa833 (terminated) has no network interface: skipped"),
        ("aws_configs/TransitGatewayAttachments.json: $.TransitGatewayAttachments[2]",
         "tgw-attach-0d724909ecd7a5961 is deleted: skipped")],
    "test-vpc-endpoint-gateway": [],
    "test-vpc-peering": [
        ("aws_configs/RouteTables.json: $.RouteTables[0].Routes[2]",
         "route to igw-0a2c9ae201b441bff (a blackhole route): igw-0a2c9ae201b441bff is not in the snapshot")],
    "test-vpc-peering-multi-account": [
        *((f"aws_configs/accounts/{account}/us-east-1", f"no NetworkAcls output for account {account}, us-east-1")
          for account in ("123456789012", "123456789013")),
        *((f"aws_configs/accounts/{folder}/us-east-1", f"names account {folder} but its objects' OwnerId is {owner}")
          for folder, owner in (("123456789012", "028403472736"), ("123456789013", "951601349076"))),
        ("aws_configs/accounts/123456789013/us-east-1/Reservations.json: $.Reservations[0].Instances[0]",
         "instance i-022b9fb2c0a0c72c1 (terminated) has no network interface: skipped"),
        ("aws_configs/accounts/123456789012/us-east-1/VpcPeeringConnections.json: $.VpcPeeringConnections[1]",
         "peering pcx-00eeab4f3bd2a40da is deleted: skipped"),
        ("aws_configs/accounts/123456789013/us-east-1/VpcPeeringConnections.json: $.VpcPeeringConnections[2]",
         "peering pcx-07d8d712b329b9337 is deleted: skipped"),
        *((f"aws_configs/accounts/{account}/us-east-1/RouteTables.json: $.RouteTables[0].Routes[2]",
           f"route to {igw}: {igw} is not in the snapshot")
          for account, igw in (("123456789012", "igw-0ccac11864b23b189"), ("123456789013", "igw-040de946422fc9672")))],
}


# --- helpers ------------------------------------------------------------------------------------------------------

def counted_from_files(folder: Path) -> dict[str, int]:
    """The numbers a snapshot holds, counted with plain json: ids once across files and accounts, rules one per peer,
    NACL entries without the `*` ones, ENIs from NetworkInterfaces and from instances, active/available objects."""
    by_key: dict[str, list[Any]] = defaultdict(list)
    for file in sorted(folder.rglob("*.json")):
        for key, items in json.loads(file.read_text()).items():
            by_key[key] += items

    def ids(key: str, id_key: str, keep: Any = lambda item: True) -> set[str]:
        return {item[id_key] for item in by_key[key] if keep(item)}

    groups = {group["GroupId"]: group for group in by_key["SecurityGroups"]}
    acls = {acl["NetworkAclId"]: acl for acl in by_key["NetworkAcls"]}
    tables = {table["RouteTableId"]: table for table in by_key["RouteTables"]}

    def rules(key: str) -> int:
        return sum(len(permission[peers]) for group in groups.values() for permission in group[key]
                   for peers in ("IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs"))

    enis = ids("NetworkInterfaces", "NetworkInterfaceId") | {
        eni["NetworkInterfaceId"] for reservation in by_key["Reservations"] for instance in reservation["Instances"]
        for eni in instance["NetworkInterfaces"]}
    return {
        "vpcs": len(ids("Vpcs", "VpcId")), "subnets": len(ids("Subnets", "SubnetId")),
        "security_groups": len(groups), "sg_rules_ingress": rules("IpPermissions"),
        "sg_rules_egress": rules("IpPermissionsEgress"), "nacls": len(acls),
        "nacl_entries": sum(entry["RuleNumber"] < 32767 for acl in acls.values() for entry in acl["Entries"]),
        "route_tables": len(tables), "routes": sum(len(table["Routes"]) for table in tables.values()),
        "enis": len(enis), "internet_gateways": len(ids("InternetGateways", "InternetGatewayId")),
        "nat_gateways": len(ids("NatGateways", "NatGatewayId", lambda nat: nat["State"] == "available")),
        "vpn_gateways": len(ids("VpnGateways", "VpnGatewayId")),
        "peerings": len(ids("VpcPeeringConnections", "VpcPeeringConnectionId",
                            lambda pcx: pcx["Status"]["Code"] == "active")),
        "vpc_endpoints": len(ids("VpcEndpoints", "VpcEndpointId")),
        "prefix_lists": len(ids("PrefixLists", "PrefixListId")),
        "transit_gateways": len(ids("TransitGateways", "TransitGatewayId")),
        "tgw_attachments": len(ids("TransitGatewayAttachments", "TransitGatewayAttachmentId",
                                   lambda attachment: attachment["State"] == "available")),
    }


def counted_in_document(doc: Document) -> dict[str, int]:
    def section(name: str) -> dict[str, Any]:
        return doc.data.get(name, {})

    return {
        "vpcs": len(section("vpcs")), "subnets": len(section("subnets")),
        "security_groups": len(section("security_groups")),
        "sg_rules_ingress": sum(len(g["ingress"]) for g in section("security_groups").values()),
        "sg_rules_egress": sum(len(g["egress"]) for g in section("security_groups").values()),
        "nacls": len(section("nacls")),
        "nacl_entries": sum(len(a["ingress"]) + len(a["egress"]) for a in section("nacls").values()),
        "route_tables": len(section("route_tables")),
        "routes": sum(len(t["routes"]) for t in section("route_tables").values()),
        "enis": len(section("hosts")), "internet_gateways": len(section("internet_gateways")),
        "nat_gateways": len(section("nat_gateways")), "vpn_gateways": len(section("vpn_gateways")),
        "peerings": len(section("peerings")), "vpc_endpoints": len(section("vpc_endpoints")),
        "prefix_lists": len(section("prefix_lists")), "transit_gateways": len(section("transit_gateways")),
        "tgw_attachments": sum(len(t["attachments"]) for t in section("transit_gateways").values()),
    }


def resolve(folder: Path, origin: Origin) -> Any:
    """The JSON element an origin such as `f.json: $.RouteTables[0].Routes[2]` points at."""
    node = json.loads((folder / origin.file).read_text())
    for key, index in re.findall(r"\.(\w+)(?:\[(\d+)\])?", origin.path):
        node = node[key]
        if index:
            node = node[int(index)]
    return node


def write(root: Path, file: str, data: Any) -> None:
    path = root / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))


def warned(doc: Document) -> list[tuple[str, str]]:
    return [(str(w.origin), w.message) for w in doc.warnings]


def has_warning(doc: Document, where: str, text: str) -> bool:
    return any(origin == where and text in message for origin, message in warned(doc))


def snapshot(name: str) -> Document:
    return read_aws_folder(SNAPSHOTS / name)


def permission(proto: str = "tcp", ports: tuple[int, int] | None = (22, 22), **peers: list[dict]) -> dict:
    """An IpPermission as describe-security-groups writes it."""
    value = {"IpProtocol": proto, "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}
    if ports is not None:
        value |= {"FromPort": ports[0], "ToPort": ports[1]}
    return value | peers


def group(ident: str, owner: str = "111111111111", ingress: list | None = None, egress: list | None = None) -> dict:
    return {"GroupId": ident, "GroupName": ident, "Description": "d", "OwnerId": owner, "VpcId": "vpc-1",
            "IpPermissions": ingress or [], "IpPermissionsEgress": egress or []}


# --- the real snapshots -------------------------------------------------------------------------------------------

@needs_snapshots
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_snapshot_imports_with_the_numbers_its_files_hold(name: str):
    """Every shared snapshot gives the objects its files hold: one SG rule per peer (aws-semantics.md §1.1), NACL
    entries without the `*` ones (§3.1), one host per ENI (aws-routing-terraform.md §7), ids once across pages and
    accounts (§8.1), only available NAT gateways and active peerings (§3, §4)."""
    expected = dict(zip(COUNTS, EXPECTED[name], strict=True))
    assert counted_from_files(SNAPSHOTS / name) == expected
    assert counted_in_document(snapshot(name)) == expected


@needs_snapshots
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_origin_points_at_the_json_element_it_came_from(name: str):
    """Provenance (DESIGN.md "Snapshots"): each object, rule, entry, route and field is located at its file and JSON
    path, and the element there is the one the document part was made from."""
    folder, doc = SNAPSHOTS / name, snapshot(name)
    for path, origin in doc.origins.items():
        element = resolve(folder, origin)  # every origin resolves
        value = doc.data
        for key in path:
            value = value[key]
        if len(path) == 2:  # an object: its element holds its id
            assert path[1] in element.values(), (path, origin)
        elif path[0] == "security_groups" and len(path) == 4:  # one rule per peer
            peer = value.get("cidr") or value.get("prefix_list") or value["sg"].split("/")[-1]
            assert peer in element.values(), (path, origin)
        elif path[0] == "nacls" and len(path) == 4:
            assert element["RuleNumber"] == value["rule"] and element["Egress"] == (path[2] == "egress")
        elif path[0] == "route_tables" and path[2] == "routes":
            assert value["destination"] in element.values() and value["target"] in element.values()
        elif path[0] == "subnets" and path[2] == "nacl":
            assert element["SubnetId"] == path[1] and element["NetworkAclId"] == value


@needs_snapshots
@pytest.mark.parametrize("name", sorted(WARNINGS))
def test_warnings_name_only_what_a_snapshot_lacks_or_holds_beyond_the_model(name: str):
    """Unknown or unmodelled outputs, missing outputs, skipped (deleted, terminated) objects and routes to what is not
    in the snapshot are warnings with their file and JSON path, never errors (DESIGN.md "Snapshots")."""
    doc = snapshot(name)
    expected = WARNINGS[name]
    assert len(doc.warnings) == len(expected), warned(doc)
    for where, text in expected:
        assert has_warning(doc, where, text), (where, text, warned(doc))


@needs_snapshots
def test_disassociated_vpc_cidrs_are_left_out():
    """aws-semantics.md §6.6: a VPC's CIDRs are its CidrBlockAssociationSet entries in state `associated`."""
    vpcs = snapshot("test-vpc-peering").data["vpcs"]
    assert vpcs["vpc-0404e08ceddf7f650"]["cidrs"] == ["10.10.0.0/16"]  # 10.11.0.0/16 is disassociated
    assert vpcs["vpc-00a31ce9d0c06675c"] == {"cidrs": ["192.168.0.0/16"], "ipv6_cidrs": [], "name": "VPC B",
                                                   "account": "554773406868", "region": "us-east-2"}


@needs_snapshots
def test_overlapping_peered_vpcs_and_their_peerings():
    """aws-routing-terraform.md §4, §8.5: VPCs B and C share 192.168.0.0/16 and both peer with A; each peering keeps
    both sides' VPC, account, region and CIDRs."""
    doc = snapshot("test-vpc-peering")
    assert doc.data["vpcs"]["vpc-00a31ce9d0c06675c"]["cidrs"] == doc.data["vpcs"]["vpc-09095dbf2886404ee"]["cidrs"]
    assert doc.data["peerings"]["pcx-0b89b559e3319d6cf"] == {
        "state": "active", "name": "A-B", "requester": "vpc-0404e08ceddf7f650", "requester_account": "554773406868",
        "requester_region": "us-east-2", "requester_cidrs": ["10.10.0.0/16"], "accepter": "vpc-00a31ce9d0c06675c",
        "accepter_account": "554773406868", "accepter_region": "us-east-2", "accepter_cidrs": ["192.168.0.0/16"]}
    routes = doc.data["route_tables"]["rtb-0891861fffaea6d52"]["routes"]
    assert {"destination": "192.168.2.0/24", "target": "pcx-0d5b836985ac8ca8c"} in routes


@needs_snapshots
def test_a_peering_seen_from_both_accounts_is_one_peering_with_both_owners():
    """aws-routing-terraform.md §8.5: both accounts list the same pcx: one peering; deleted ones are skipped."""
    peerings = snapshot("test-vpc-peering-multi-account").data["peerings"]
    assert list(peerings) == ["pcx-0040f7640e10191f4"]
    assert (peerings["pcx-0040f7640e10191f4"]["requester_account"],
            peerings["pcx-0040f7640e10191f4"]["accepter_account"]) == ("028403472736", "951601349076")


@needs_snapshots
def test_account_comes_from_owner_id_and_region_from_the_folder_or_zones():
    """aws-routing-terraform.md §8.1: no output names its region or account; they come from the folder layout
    (`accounts/<id>/<region>/`, `<region>/`), else from ARNs and availability zones; OwnerId names the owner."""
    multi = snapshot("test-vpc-peering-multi-account").data["vpcs"]
    assert {(v["account"], v["region"]) for v in multi.values()} == {("028403472736", "us-east-1"),
                                                                      ("951601349076", "us-east-1")}
    hybrid = snapshot("pybatfish-hybrid-cloud").data["vpcs"]
    assert sorted({v["region"] for v in hybrid.values()}) == ["us-east-2", "us-west-2"]
    flat = snapshot("test-nat-gateway").data  # aws_configs/*.json: the region from the zones and ARNs inside
    assert {o["region"] for section in ("vpcs", "security_groups", "hosts") for o in flat[section].values()} == {
        "us-east-2"}


@needs_snapshots
def test_icmp_from_port_8_to_port_0_is_echo_request_type_and_code():
    """aws-semantics.md §1.1, §6.1: for ICMP, FromPort is the type and ToPort the code."""
    groups = snapshot("test-vpc-peering-multi-account").data["security_groups"]
    assert groups["sg-06804d246c3a853bc"]["ingress"] == [
        {"proto": "udp", "ports": "33434-33534", "cidr": "0.0.0.0/0", "description": "Traceroute Access"},
        {"proto": "tcp", "ports": 22, "cidr": "0.0.0.0/0", "description": "SSH Access"},
        {"proto": "icmp", "icmp": {"type": 8, "code": 0}, "cidr": "0.0.0.0/0", "description": "ICMP Access"}]


@needs_snapshots
def test_the_default_groups_self_reference_is_a_group_rule():
    """aws-semantics.md §1.3, §1.4: UserIdGroupPairs of the group's own account are plain `sg-…` references; the
    group named `default` is the VPC's default group."""
    group = snapshot("test-subnet").data["security_groups"]
    default = next(ident for ident, g in group.items() if g["name"] == "default")
    assert group[default]["default"] is True and sum("default" in g for g in group.values()) == 1
    assert group[default]["ingress"] == [{"proto": "-1", "sg": default}]
    assert group[default]["egress"] == [{"proto": "-1", "cidr": "0.0.0.0/0"}]


@needs_snapshots
def test_nacl_protocols_stay_numbers_and_the_star_entries_are_left_out():
    """aws-semantics.md §3.1, §6.3: Protocol is a number string, IcmpTypeCode the ICMP match, 32767 the `*` entry."""
    acl = snapshot("test-nat-gateway").data["nacls"]["acl-0792adae678b88f85"]
    assert acl["ingress"] == [
        {"rule": 100, "action": "allow", "proto": "1", "icmp": {"type": -1, "code": -1}, "cidr": "10.1.1.0/24"},
        {"rule": 200, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}]
    assert acl["egress"] == [{"rule": 100, "action": "allow", "proto": "-1", "cidr": "0.0.0.0/0"}]
    assert acl["default"] is False and acl["vpc"] == "vpc-0008a7b45e3ddf1dd"


@needs_snapshots
def test_subnets_name_their_associated_nacl_and_none_without_a_nacl_output():
    """aws-semantics.md §3.2: every subnet is associated with one NACL; without a NetworkAcls output the document
    leaves `nacl` out, which means the VPC's default NACL (allow all), with a warning."""
    subnets = snapshot("test-nat-gateway").data["subnets"]
    assert subnets["subnet-0428892a357fa1f94"]["nacl"] == "acl-0792adae678b88f85"
    assert subnets["subnet-06f469bcee42e408e"]["nacl"] == "acl-0380e24eb934b075e"
    doc = snapshot("test-vpc-peering-multi-account")
    assert all("nacl" not in subnet for subnet in doc.data["subnets"].values()) and "nacls" not in doc.data


@needs_snapshots
def test_route_targets_are_classified_by_id_prefix():
    """aws-routing-terraform.md §1.3: GatewayId is overloaded (local, igw-, vgw-, vpce-); NatGatewayId,
    TransitGatewayId and VpcPeeringConnectionId name the other targets; prefix-list destinations stay `pl-…`."""
    targets = {}
    for name in EXPECTED:
        for table in snapshot(name).data.get("route_tables", {}).values():
            for route in table["routes"]:
                targets.setdefault(re.sub(r"-.*", "-", route["target"]), route)
    assert sorted(targets) == ["igw-", "local", "nat-", "pcx-", "tgw-", "vgw-", "vpce-"]
    endpoint_routes = snapshot("test-vpc-endpoint-gateway").data["route_tables"]["rtb-04f71fc2caa8d94cf"]["routes"]
    assert endpoint_routes == [{"destination": "10.1.0.0/16", "target": "local"},
                               {"destination": "pl-63a5400a", "target": "vpce-0b7357542bb7b83ec"}]


@needs_snapshots
def test_a_blackhole_route_to_a_deleted_gateway_is_kept_with_its_state():
    """aws-routing-terraform.md §1.4: a route whose target is gone is `blackhole`; it stays (it still wins LPM)."""
    table = snapshot("test-vpc-peering").data["route_tables"]["rtb-017c36290c9baf017"]
    assert table["routes"][2] == {"destination": "0.0.0.0/0", "target": "igw-0a2c9ae201b441bff", "state": "blackhole"}
    assert table["main"] is True and table["subnets"] == [] and table["vpc"] == "vpc-00a31ce9d0c06675c"


@needs_snapshots
def test_interfaces_of_other_services_have_no_groups_and_keep_their_flags():
    """aws-routing-terraform.md §7: NAT gateway and transit gateway ENIs carry no security group; InterfaceType,
    SourceDestCheck and RequesterManaged are kept (natGateway/nat_gateway written nat_gateway)."""
    nat = snapshot("test-nat-gateway").data
    assert nat["hosts"]["eni-017aaec115610308a"] == {
        "subnet": "subnet-0428892a357fa1f94", "ip": "10.1.250.210", "public_ip": "3.135.127.225",
        "security_groups": [], "interface_type": "nat_gateway", "source_dest_check": False,
        "requester_managed": True, "account": "554773406868", "region": "us-east-2"}
    tgw = snapshot("test-transit-gateway").data["hosts"]["eni-00f08ecf4f651037c"]
    assert (tgw["security_groups"], tgw["interface_type"]) == ([], "transit_gateway")


@needs_snapshots
def test_hosts_merge_network_interfaces_and_instances_and_take_public_ips():
    """aws-semantics.md §6.4, §6.8; aws-routing-terraform.md §8.7, §8.9: an ENI listed by NetworkInterfaces and by
    its instance is one host with its instance id and the instance's Name tag; the public IP is the primary
    address's association."""
    host = snapshot("test-vpc-peering-multi-account").data["hosts"]["eni-0664ca29e3153724d"]
    assert host == {"subnet": "subnet-03a80d08017ee39ef", "ip": "10.1.1.100", "public_ip": "52.90.112.181",
                         "security_groups": ["sg-06804d246c3a853bc"], "instance": "i-07ae69cc808e8804e",
                         "interface_type": "interface", "source_dest_check": True, "requester_managed": False,
                         "account": "028403472736", "region": "us-east-1", "name": "bat-web01"}


@needs_snapshots
def test_nat_gateway_internet_and_vpn_gateways():
    """aws-routing-terraform.md §3, §8.2-§8.4: an available NAT gateway with its primary address (ConnectivityType
    absent: public); attached internet and VPN gateways with their VPC."""
    nat = snapshot("test-nat-gateway").data
    assert nat["nat_gateways"]["nat-07ab4846da51f4612"] == {
        "subnet": "subnet-0428892a357fa1f94", "eni": "eni-017aaec115610308a", "private_ip": "10.1.250.210",
        "public_ip": "3.135.127.225", "connectivity": "public", "region": "us-east-2"}  # no OwnerId here
    assert nat["internet_gateways"]["igw-071753b9c23d8a9b2"]["vpc"] == "vpc-0008a7b45e3ddf1dd"
    vpn = snapshot("test-public-private-subnet").data
    assert vpn["vpn_gateways"]["vgw-070087240d6fa2989"]["vpc"] == "vpc-0b966fdeb36d5e43f"
    assert {"destination": "0.0.0.0/0", "target": "vgw-070087240d6fa2989"} in \
        vpn["route_tables"]["rtb-002f0eabf583bf991"]["routes"]


@needs_snapshots
def test_gateway_endpoint_and_aws_managed_prefix_lists():
    """aws-routing-terraform.md §6, §8.6; aws-semantics.md §6.9: a gateway endpoint names its route tables; the
    service prefix lists are `{name, cidrs}`."""
    doc = snapshot("test-vpc-endpoint-gateway").data
    assert doc["vpc_endpoints"]["vpce-0b7357542bb7b83ec"] == {
        "vpc": "vpc-05d56c7295fca139b", "type": "Gateway", "service": "com.amazonaws.us-east-1.s3",
        "route_tables": ["rtb-04f71fc2caa8d94cf", "rtb-0efde4139784b75b0"], "account": "554773406868",
        "region": "us-east-1"}
    assert doc["prefix_lists"]["pl-63a5400a"] == {
        "name": "com.amazonaws.us-east-1.s3", "cidrs": ["54.231.0.0/17", "52.216.0.0/15", "3.5.16.0/21", "3.5.0.0/20"],
        "region": "us-east-1"}


@needs_snapshots
def test_transit_gateway_attachments_route_tables_and_propagations():
    """aws-routing-terraform.md §5, §8.8: attachments with their associated table and (VPC) subnets; Batfish's
    TransitGatewayStaticRoutes and TransitGatewayPropagations fill each table; deleted attachments are skipped."""
    tgw = snapshot("test-transit-gateway").data["transit_gateways"]["tgw-044be4464fcc69aff"]
    assert tgw["attachments"]["tgw-attach-07f5ec59e9f540021"] == {
        "type": "vpc", "resource": "vpc-0404e08ceddf7f650", "route_table": "tgw-rtb-0fa40c8df355dce6e",
        "state": "available", "name": "tgw-vpcA", "subnets": ["subnet-006a19c846f047bd7"]}
    assert "tgw-attach-0d724909ecd7a5961" not in tgw["attachments"]  # deleted
    assert tgw["route_tables"] == {"tgw-rtb-0fa40c8df355dce6e": {
        "routes": [], "propagations": ["tgw-attach-07f5ec59e9f540021", "tgw-attach-0ae2696617bb06fb4"]}}
    assert (tgw["name"], tgw["region"]) == ("transit-test", "us-east-2")


# --- synthetic folders: layouts, pagination, messy input ----------------------------------------------------------

def test_several_accounts_and_regions_in_any_layout(tmp_path: Path):
    """DESIGN.md "Snapshots"; aws-routing-terraform.md §8.1: `accounts/<id>/<region>/`, `<region>/` and a plain
    folder whose region comes from ARNs; files recognised by their top-level key, whatever their name."""
    write(tmp_path, "aws_configs/accounts/111111111111/us-east-1/a.json",
          {"Vpcs": [{"VpcId": "vpc-a", "CidrBlock": "10.0.0.0/16", "OwnerId": "111111111111"}]})
    write(tmp_path, "aws_configs/accounts/222222222222/eu-west-1/b.json",
          {"Vpcs": [{"VpcId": "vpc-b", "CidrBlock": "10.1.0.0/16"}]})
    write(tmp_path, "ap-south-1/whatever.txt", {"Vpcs": [{"VpcId": "vpc-c", "CidrBlock": "10.2.0.0/16"}]})
    write(tmp_path, "cli/out.json", {"Subnets": [
        {"SubnetId": "subnet-d", "VpcId": "vpc-d", "CidrBlock": "10.3.0.0/24",
         "SubnetArn": "arn:aws:ec2:sa-east-1:333333333333:subnet/subnet-d"}]})
    vpcs = read_aws_folder(tmp_path).data["vpcs"]
    assert vpcs == {"vpc-a": {"cidrs": ["10.0.0.0/16"], "ipv6_cidrs": [], "account": "111111111111",
                              "region": "us-east-1"},
                    "vpc-b": {"cidrs": ["10.1.0.0/16"], "ipv6_cidrs": [], "account": "222222222222",
                              "region": "eu-west-1"},
                    "vpc-c": {"cidrs": ["10.2.0.0/16"], "ipv6_cidrs": [], "region": "ap-south-1"}}
    assert read_aws_folder(tmp_path).data["subnets"]["subnet-d"]["region"] == "sa-east-1"


def test_pagination_pieces_are_merged_and_deduplicated_by_id(tmp_path: Path):
    """aws-routing-terraform.md §8.1: several pages of one call (a NextToken on all but the last) merge, each id once;
    when every page has a NextToken the last one is missing: a warning."""
    write(tmp_path, "us-east-1/page-1.json", {"SecurityGroups": [group("sg-1"), group("sg-2")], "NextToken": "t"})
    write(tmp_path, "us-east-1/page-2.json", {"SecurityGroups": [group("sg-2"), group("sg-3")]})
    write(tmp_path, "us-east-1/subnets-1.json", {"Subnets": [], "NextToken": "u"})
    doc = read_aws_folder(tmp_path)
    assert list(doc.data["security_groups"]) == ["sg-1", "sg-2", "sg-3"]
    assert doc.locate(("security_groups", "sg-3")) == Origin("us-east-1/page-2.json", path="$.SecurityGroups[1]")
    assert has_warning(doc, "us-east-1", "Subnets: every page has a NextToken, so the last page is missing")
    assert not any("SecurityGroups: every page" in message for _, message in warned(doc))


def test_unknown_files_and_keys_and_broken_files_are_warnings(tmp_path: Path):
    """DESIGN.md "Snapshots": unknown files and keys are skipped with a warning, never an error (Batfish's lesson);
    a file that is not JSON is skipped with a warning; hidden files are not read."""
    write(tmp_path, "vpcs.json", {"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}], "Surprise": [1],
                                  "ResponseMetadata": {"HTTPStatusCode": 200}})
    write(tmp_path, "notes.json", {"Foo": []})
    write(tmp_path, "list.json", [1, 2])
    write(tmp_path, "broken.json", '{"Vpcs": [\n  {"VpcId": }')
    write(tmp_path, "README.txt", "not json at all")
    write(tmp_path, "vpn.json", {"VpnConnections": [{"VpnConnectionId": "vpn-1"}]})
    write(tmp_path, ".hidden/x.json", {"Bar": 1})
    doc = read_aws_folder(tmp_path)
    assert list(doc.data["vpcs"]) == ["vpc-1"]
    assert has_warning(doc, "vpcs.json: $.Surprise", "unknown top-level key 'Surprise': skipped")
    assert has_warning(doc, "notes.json", "unknown file (top-level keys Foo")
    assert has_warning(doc, "list.json", "unknown file (no top-level key")
    assert has_warning(doc, "broken.json:2", "not JSON (Expecting value): skipped")
    assert has_warning(doc, "README.txt:1", "not JSON")
    assert has_warning(doc, "vpn.json: $.VpnConnections", "VPN connections")
    assert all(w.severity == "warning" for w in doc.warnings)
    assert not any(".hidden" in origin for origin, _ in warned(doc))


def test_missing_outputs_are_warnings_and_leave_aws_defaults(tmp_path: Path):
    """DESIGN.md "Snapshots"; aws-semantics.md §3.2; aws-routing-terraform.md §1.1: without NetworkAcls every subnet
    keeps its VPC's default NACL (`nacl` left out), without RouteTables the main table's local routes; each missing
    output is named once per account and region."""
    write(tmp_path, "us-east-1/Vpcs.json", {"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}]})
    write(tmp_path, "us-east-1/Subnets.json", {"Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1",
                                                            "CidrBlock": "10.0.1.0/24"}]})
    doc = read_aws_folder(tmp_path)
    assert "nacl" not in doc.data["subnets"]["subnet-1"] and "route_tables" not in doc.data
    for missing in ("SecurityGroups or SecurityGroupRules", "NetworkAcls", "RouteTables",
                    "NetworkInterfaces or Reservations"):
        assert has_warning(doc, "us-east-1", f"no {missing} output for us-east-1")
    assert len(doc.warnings) == 4


def test_security_group_permissions_become_one_rule_per_peer(tmp_path: Path):
    """aws-semantics.md §1.1, §1.4, §6.1: IpRanges, Ipv6Ranges, PrefixListIds and UserIdGroupPairs each give a rule
    at its own JSON path; a pair of another account is `account/sg-…`; ICMP ports are type/code (-1 all); a
    protocol without ports ("-1", numbers other than 6/17) has none."""
    pairs = [{"UserId": "111111111111", "GroupId": "sg-2"},
             {"UserId": "999999999999", "GroupId": "sg-9", "Description": "peer app",
              "VpcPeeringConnectionId": "pcx-1", "PeeringStatus": "active"}]
    ingress = [permission("tcp", (443, 443), IpRanges=[{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "192.0.2.0/24"}],
                          Ipv6Ranges=[{"CidrIpv6": "2001:db8::/32"}], PrefixListIds=[{"PrefixListId": "pl-1"}],
                          UserIdGroupPairs=pairs),
               permission("icmp", (-1, -1), IpRanges=[{"CidrIp": "0.0.0.0/0"}]),
               permission("icmpv6", (128, -1), Ipv6Ranges=[{"CidrIpv6": "::/0"}]),
               permission("50", None, IpRanges=[{"CidrIp": "198.51.100.0/24"}])]
    write(tmp_path, "us-east-1/sg.json", {"SecurityGroups": [group("sg-1", ingress=ingress)]})
    doc = read_aws_folder(tmp_path)
    rules = doc.data["security_groups"]["sg-1"]["ingress"]
    assert rules == [
        {"proto": "tcp", "ports": 443, "cidr": "10.0.0.0/8"}, {"proto": "tcp", "ports": 443, "cidr": "192.0.2.0/24"},
        {"proto": "tcp", "ports": 443, "cidr": "2001:db8::/32"}, {"proto": "tcp", "ports": 443, "prefix_list": "pl-1"},
        {"proto": "tcp", "ports": 443, "sg": "sg-2"},
        {"proto": "tcp", "ports": 443, "sg": "999999999999/sg-9", "description": "peer app"},
        {"proto": "icmp", "icmp": {"type": -1, "code": -1}, "cidr": "0.0.0.0/0"},
        {"proto": "icmpv6", "icmp": {"type": 128, "code": -1}, "cidr": "::/0"},
        {"proto": "50", "cidr": "198.51.100.0/24"}]
    assert doc.data["security_groups"]["sg-1"]["egress"] == []
    assert doc.locate(("security_groups", "sg-1", "ingress", 5)) == Origin(
        "us-east-1/sg.json", path="$.SecurityGroups[0].IpPermissions[0].UserIdGroupPairs[1]")
    assert doc.locate(("security_groups", "sg-1", "ingress", 2)) == Origin(
        "us-east-1/sg.json", path="$.SecurityGroups[0].IpPermissions[0].Ipv6Ranges[0]")


def test_security_group_rules_output_describes_groups_security_groups_lacks(tmp_path: Path):
    """aws-semantics.md §1.7, §6.2: describe-security-group-rules lists the same rules as describe-security-groups;
    it is used only for a group SecurityGroups does not describe (with a warning: VPC and name unknown)."""
    write(tmp_path, "us-east-1/sg.json", {"SecurityGroups": [group("sg-1", ingress=[
        permission(IpRanges=[{"CidrIp": "10.0.0.0/8"}])])]})
    write(tmp_path, "us-east-1/rules.json", {"SecurityGroupRules": [
        {"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "IsEgress": False, "IpProtocol": "tcp", "FromPort": 22,
         "ToPort": 22, "CidrIpv4": "10.0.0.0/8"},
        {"SecurityGroupRuleId": "sgr-2", "GroupId": "sg-7", "GroupOwnerId": "111111111111", "IsEgress": False,
         "IpProtocol": "-1", "FromPort": -1, "ToPort": -1,
         "ReferencedGroupInfo": {"GroupId": "sg-8", "UserId": "222222222222"}},
        {"SecurityGroupRuleId": "sgr-3", "GroupId": "sg-7", "GroupOwnerId": "111111111111", "IsEgress": True,
         "IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "PrefixListId": "pl-1", "Description": "dns"}]})
    doc = read_aws_folder(tmp_path)
    assert doc.data["security_groups"]["sg-1"]["ingress"] == [{"proto": "tcp", "ports": 22, "cidr": "10.0.0.0/8"}]
    assert doc.data["security_groups"]["sg-7"] == {
        "account": "111111111111", "region": "us-east-1", "ingress": [{"proto": "-1", "sg": "222222222222/sg-8"}],
        "egress": [{"proto": "udp", "ports": 53, "prefix_list": "pl-1", "description": "dns"}]}
    assert has_warning(doc, "us-east-1/rules.json: $.SecurityGroupRules[1]", "sg-7 is known only from "
                                                                              "SecurityGroupRules")


def test_nacl_entries_by_direction_with_ports_icmp_and_ipv6(tmp_path: Path):
    """aws-semantics.md §3.1, §6.3: Egress splits the entries, PortRange gives TCP/UDP ports, IcmpTypeCode the ICMP
    match, Ipv6CidrBlock the IPv6 CIDR; 32767 and 32768 are the `*` entries AWS adds, left out."""
    entries = [
        {"RuleNumber": 100, "Protocol": "6", "RuleAction": "allow", "Egress": False, "CidrBlock": "0.0.0.0/0",
         "PortRange": {"From": 1024, "To": 65535}},
        {"RuleNumber": 110, "Protocol": "17", "RuleAction": "deny", "Egress": False, "CidrBlock": "10.0.0.0/8",
         "PortRange": {"From": 53, "To": 53}},
        {"RuleNumber": 120, "Protocol": "58", "RuleAction": "allow", "Egress": True, "Ipv6CidrBlock": "::/0",
         "IcmpTypeCode": {"Type": 128, "Code": -1}},
        {"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": False, "CidrBlock": "0.0.0.0/0"},
        {"RuleNumber": 32768, "Protocol": "-1", "RuleAction": "deny", "Egress": True, "Ipv6CidrBlock": "::/0"}]
    write(tmp_path, "us-east-1/acl.json", {"NetworkAcls": [
        {"NetworkAclId": "acl-1", "VpcId": "vpc-1", "IsDefault": True, "Entries": entries, "Associations": []}]})
    acl = read_aws_folder(tmp_path).data["nacls"]["acl-1"]
    assert acl["ingress"] == [
        {"rule": 100, "action": "allow", "proto": "6", "ports": "1024-65535", "cidr": "0.0.0.0/0"},
        {"rule": 110, "action": "deny", "proto": "17", "ports": 53, "cidr": "10.0.0.0/8"}]
    assert acl["egress"] == [{"rule": 120, "action": "allow", "proto": "58", "icmp": {"type": 128, "code": -1},
                              "cidr": "::/0"}]
    assert acl["default"] is True


def test_instances_with_several_interfaces_merge_by_eni_id(tmp_path: Path):
    """aws-routing-terraform.md §7, §8.7, §8.9; aws-semantics.md §6.4, §6.8: each ENI of an instance is a host;
    NetworkInterfaces and Reservations views of one ENI merge; a secondary address's association or Elastic IP is
    in `public_ips`; IPv6 addresses are kept; Groups may be empty."""
    eth0 = {"NetworkInterfaceId": "eni-0", "SubnetId": "subnet-1", "PrivateIpAddress": "10.0.1.5",
            "PrivateIpAddresses": [
                {"Primary": True, "PrivateIpAddress": "10.0.1.5", "Association": {"PublicIp": "3.3.3.3"}},
                {"Primary": False, "PrivateIpAddress": "10.0.1.6"}],
            "Ipv6Addresses": [{"Ipv6Address": "2001:db8::5"}, {"Ipv6Address": "2001:db8::6"}],
            "Groups": [{"GroupId": "sg-1"}, {"GroupId": "sg-2"}], "SourceDestCheck": False,
            "InterfaceType": "interface", "Attachment": {"DeviceIndex": 0}}
    eth1 = {"NetworkInterfaceId": "eni-1", "SubnetId": "subnet-2", "PrivateIpAddress": "10.0.2.5",
            "PrivateIpAddresses": [
                {"Primary": True, "PrivateIpAddress": "10.0.2.5"},
                {"Primary": False, "PrivateIpAddress": "10.0.2.6", "Association": {"PublicIp": "4.4.4.4"}}],
            "Groups": [], "SourceDestCheck": True, "Attachment": {"DeviceIndex": 1}}
    write(tmp_path, "us-east-1/res.json", {"Reservations": [{"ReservationId": "r-1", "OwnerId": "111111111111",
                                                             "Instances": [{
                                                                 "InstanceId": "i-1", "State": {"Name": "running"},
                                                                 "Tags": [{"Key": "Name", "Value": "web"}],
                                                                 "NetworkInterfaces": [eth0, eth1]}]}]})
    write(tmp_path, "us-east-1/enis.json", {"NetworkInterfaces": [
        eth0 | {"RequesterManaged": False, "TagSet": [{"Key": "Name", "Value": "web-eth0"}], "OwnerId": "111111111111",
                "Attachment": {"InstanceId": "i-1", "DeviceIndex": 0}}]})
    write(tmp_path, "us-east-1/eips.json", {"Addresses": [
        {"PublicIp": "5.5.5.5", "NetworkInterfaceId": "eni-0", "PrivateIpAddress": "10.0.1.6"},
        {"PublicIp": "6.6.6.6", "NetworkInterfaceId": "eni-gone", "PrivateIpAddress": "10.9.9.9"},
        {"PublicIp": "8.8.8.8", "NetworkInterfaceId": "eni-1", "PrivateIpAddress": "10.0.2.99"},
        {"PublicIp": "7.7.7.7"}]})
    doc = read_aws_folder(tmp_path)
    assert doc.data["hosts"]["eni-0"] == {
        "subnet": "subnet-1", "ip": "10.0.1.5", "secondary_ips": ["10.0.1.6"], "public_ip": "3.3.3.3",
        "public_ips": {"10.0.1.6": "5.5.5.5"}, "ipv6": "2001:db8::5", "ipv6_addresses": ["2001:db8::5", "2001:db8::6"],
        "security_groups": ["sg-1", "sg-2"], "instance": "i-1", "interface_type": "interface",
        "source_dest_check": False, "requester_managed": False, "name": "web-eth0", "account": "111111111111",
        "region": "us-east-1"}
    assert doc.data["hosts"]["eni-1"] == {
        "subnet": "subnet-2", "ip": "10.0.2.5", "secondary_ips": ["10.0.2.6"], "public_ips": {"10.0.2.6": "4.4.4.4"},
        "security_groups": [], "instance": "i-1", "source_dest_check": True, "account": "111111111111",
        "region": "us-east-1", "name": "web"}
    assert doc.locate(("hosts", "eni-0")) == Origin("us-east-1/enis.json", path="$.NetworkInterfaces[0]")
    assert doc.locate(("hosts", "eni-1", "name")) == Origin("us-east-1/res.json", path="$.Reservations[0].Instances[0]")
    assert doc.locate(("hosts", "eni-0", "public_ips", "10.0.1.6")) == Origin("us-east-1/eips.json",
                                                                              path="$.Addresses[0]")
    assert has_warning(doc, "us-east-1/eips.json: $.Addresses[1]", "eni-gone, which is not in the snapshot")
    assert has_warning(doc, "us-east-1/eips.json: $.Addresses[2]", "10.0.2.99, which eni-1 does not list")
    assert len(doc.warnings) == 7  # the two above and 5 missing outputs (Vpcs, Subnets, groups, NACLs, routes)


def test_route_table_associations_and_every_kind_of_route(tmp_path: Path):
    """aws-routing-terraform.md §1.1, §1.3, §1.4; aws-semantics.md §6.7: Main, SubnetId and GatewayId (edge)
    associations; targets by id prefix whatever key holds them (a nat- in GatewayId, an instance route read back with
    its ENI); blackhole state; propagated origin; targets vpclab cannot model skipped with a warning."""
    routes = [
        {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"},
        {"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-1", "State": "active"},
        {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "nat-1", "State": "active"},
        {"DestinationCidrBlock": "172.16.0.0/12", "GatewayId": "vgw-1", "Origin": "EnableVgwRoutePropagation",
         "State": "active"},
        {"DestinationCidrBlock": "10.9.0.0/16", "VpcPeeringConnectionId": "pcx-1", "State": "blackhole"},
        {"DestinationCidrBlock": "10.8.0.0/16", "InstanceId": "i-1", "NetworkInterfaceId": "eni-1",
         "InstanceOwnerId": "111111111111", "State": "active"},
        {"DestinationPrefixListId": "pl-1", "GatewayId": "vpce-1", "State": "active"},
        {"DestinationCidrBlock": "10.7.0.0/16", "CarrierGatewayId": "cagw-1", "State": "active"}]
    write(tmp_path, "us-east-1/rt.json", {"RouteTables": [{
        "RouteTableId": "rtb-1", "VpcId": "vpc-1", "Routes": routes, "Associations": [
            {"Main": True, "AssociationState": {"State": "associated"}},
            {"Main": False, "SubnetId": "subnet-1", "AssociationState": {"State": "associated"}},
            {"Main": False, "GatewayId": "igw-1"},
            {"Main": False, "SubnetId": "subnet-2", "AssociationState": {"State": "disassociated"}}]}]})
    doc = read_aws_folder(tmp_path)
    table = doc.data["route_tables"]["rtb-1"]
    assert (table["main"], table["subnets"], table["gateways"]) == (True, ["subnet-1"], ["igw-1"])
    assert table["routes"] == [
        {"destination": "10.0.0.0/16", "target": "local"}, {"destination": "::/0", "target": "eigw-1"},
        {"destination": "0.0.0.0/0", "target": "nat-1"},
        {"destination": "172.16.0.0/12", "target": "vgw-1", "origin": "propagated"},
        {"destination": "10.9.0.0/16", "target": "pcx-1", "state": "blackhole"},
        {"destination": "10.8.0.0/16", "target": "eni-1"}, {"destination": "pl-1", "target": "vpce-1"}]
    assert doc.locate(("route_tables", "rtb-1", "routes", 6)) == Origin("us-east-1/rt.json",
                                                                        path="$.RouteTables[0].Routes[6]")
    assert has_warning(doc, "us-east-1/rt.json: $.RouteTables[0].Routes[7]", "cagw-1 (carrier gateway")
    assert has_warning(doc, "us-east-1/rt.json: $.RouteTables[0].Associations[3]", "association disassociated")
    for target in ("eigw-1", "nat-1", "vgw-1", "pcx-1", "eni-1", "vpce-1"):
        assert any(f"route to {target}" in message for _, message in warned(doc))


def test_gone_objects_are_skipped_with_warnings_and_pending_ones_kept(tmp_path: Path):
    """aws-routing-terraform.md §2, §3, §4, §8.2-§8.6: deleted or failed NAT gateways, rejected peerings and deleted
    endpoints are skipped with a warning; a pending-acceptance peering is kept with its state; a detached internet
    gateway has `vpc: null`; a private NAT gateway has no public IP."""
    write(tmp_path, "eu-west-1/nat.json", {"NatGateways": [
        {"NatGatewayId": "nat-1", "State": "deleted", "SubnetId": "subnet-1"},
        {"NatGatewayId": "nat-2", "State": "failed", "SubnetId": "subnet-1"},
        {"NatGatewayId": "nat-3", "State": "available", "SubnetId": "subnet-1", "ConnectivityType": "private",
         "NatGatewayAddresses": [{"NetworkInterfaceId": "eni-3", "PrivateIp": "10.0.0.9", "IsPrimary": True}]}]})
    write(tmp_path, "eu-west-1/pcx.json", {"VpcPeeringConnections": [
        {"VpcPeeringConnectionId": "pcx-1", "Status": {"Code": "rejected"}},
        {"VpcPeeringConnectionId": "pcx-2", "Status": {"Code": "pending-acceptance"},
         "RequesterVpcInfo": {"VpcId": "vpc-1", "OwnerId": "111111111111", "Region": "eu-west-1"},
         "AccepterVpcInfo": {"VpcId": "vpc-2", "OwnerId": "222222222222", "Region": "us-east-1"}}]})
    write(tmp_path, "eu-west-1/vpce.json", {"VpcEndpoints": [
        {"VpcEndpointId": "vpce-1", "VpcEndpointType": "Interface", "State": "Deleted"},
        {"VpcEndpointId": "vpce-2", "VpcEndpointType": "Interface", "State": "Available", "VpcId": "vpc-1",
         "ServiceName": "com.amazonaws.eu-west-1.ssm", "SubnetIds": ["subnet-1"], "NetworkInterfaceIds": ["eni-7"],
         "Groups": [{"GroupId": "sg-1", "GroupName": "default"}]}]})
    write(tmp_path, "eu-west-1/igw.json", {"InternetGateways": [{"InternetGatewayId": "igw-1", "Attachments": []}]})
    doc = read_aws_folder(tmp_path)
    assert list(doc.data["nat_gateways"]) == ["nat-3"]
    assert doc.data["nat_gateways"]["nat-3"] == {"subnet": "subnet-1", "eni": "eni-3", "private_ip": "10.0.0.9",
                                                 "connectivity": "private", "region": "eu-west-1"}
    assert doc.data["peerings"] == {"pcx-2": {
        "state": "pending-acceptance", "requester": "vpc-1", "requester_account": "111111111111",
        "requester_region": "eu-west-1", "requester_cidrs": [], "accepter": "vpc-2",
        "accepter_account": "222222222222", "accepter_region": "us-east-1", "accepter_cidrs": []}}
    assert doc.data["vpc_endpoints"] == {"vpce-2": {
        "vpc": "vpc-1", "type": "Interface", "service": "com.amazonaws.eu-west-1.ssm", "subnets": ["subnet-1"],
        "enis": ["eni-7"], "security_groups": ["sg-1"], "region": "eu-west-1"}}
    assert doc.data["internet_gateways"] == {"igw-1": {"vpc": None, "region": "eu-west-1"}}
    for where, text in (("nat.json: $.NatGateways[0]", "nat-1 is deleted"), ("nat.json: $.NatGateways[1]",
                                                                              "nat-2 is failed"),
                        ("pcx.json: $.VpcPeeringConnections[0]", "pcx-1 is rejected"),
                        ("vpce.json: $.VpcEndpoints[0]", "vpce-1 is Deleted")):
        assert has_warning(doc, f"eu-west-1/{where}", text)


def test_managed_prefix_lists_need_their_entries(tmp_path: Path):
    """aws-semantics.md §6.9: describe-managed-prefix-lists lists no CIDRs; a list is read when the collector added
    its `Entries`, otherwise skipped with a warning (get-managed-prefix-list-entries names no list)."""
    write(tmp_path, "us-east-1/pl.json", {"ManagedPrefixLists": [
        {"PrefixListId": "pl-1", "PrefixListName": "offices", "OwnerId": "111111111111",
         "Entries": [{"Cidr": "203.0.113.0/24"}, {"Cidr": "198.51.100.0/24", "Description": "lab"}]},
        {"PrefixListId": "pl-2", "PrefixListName": "partners", "OwnerId": "111111111111"}]})
    doc = read_aws_folder(tmp_path)
    assert doc.data["prefix_lists"] == {"pl-1": {"name": "offices", "cidrs": ["203.0.113.0/24", "198.51.100.0/24"],
                                                 "account": "111111111111", "region": "us-east-1"}}
    assert has_warning(doc, "us-east-1/pl.json: $.ManagedPrefixLists[1]", "pl-2: its entries are not in the snapshot")
    assert doc.locate(("prefix_lists", "pl-1", "cidrs", 1)) == Origin(
        "us-east-1/pl.json", path="$.ManagedPrefixLists[0].Entries[1]")


def test_transit_gateway_known_only_from_its_attachments(tmp_path: Path):
    """aws-routing-terraform.md §5.1, §7 (sharing), §8.8: a shared transit gateway of another account appears only
    through its attachments; its VPC attachment's subnets merge into the attachment; static routes (Batfish's key)
    fill the route table, a blackhole route without attachment included."""
    write(tmp_path, "us-east-1/tgw.json", {
        "TransitGatewayVpcAttachments": [{"TransitGatewayAttachmentId": "tgw-attach-1", "TransitGatewayId": "tgw-1",
                                          "VpcId": "vpc-1", "State": "available", "SubnetIds": ["subnet-1"]}],
        "TransitGatewayRouteTables": [{"TransitGatewayRouteTableId": "tgw-rtb-1", "TransitGatewayId": "tgw-1"}],
        "TransitGatewayStaticRoutes": [{"TransitGatewayRouteTableId": "tgw-rtb-1", "Routes": [
            {"DestinationCidrBlock": "10.0.0.0/16", "Type": "static", "State": "active",
             "TransitGatewayAttachments": [{"TransitGatewayAttachmentId": "tgw-attach-1", "ResourceId": "vpc-1"}]},
            {"DestinationCidrBlock": "10.66.0.0/16", "Type": "static", "State": "blackhole"}]},
            {"TransitGatewayRouteTableId": "tgw-rtb-9", "Routes": []}],
        "TransitGatewayPropagations": [{"TransitGatewayRouteTableId": "tgw-rtb-1",
                                        "TransitGatewayRouteTablePropagations": [
                                            {"TransitGatewayAttachmentId": "tgw-attach-1", "State": "enabled"}]}]})
    doc = read_aws_folder(tmp_path)
    assert doc.data["transit_gateways"] == {"tgw-1": {
        "attachments": {"tgw-attach-1": {"type": "vpc", "resource": "vpc-1", "state": "available",
                                         "subnets": ["subnet-1"]}},
        "route_tables": {"tgw-rtb-1": {"routes": [
            {"destination": "10.0.0.0/16", "attachment": "tgw-attach-1", "type": "static", "state": "active"},
            {"destination": "10.66.0.0/16", "type": "static", "state": "blackhole"}],
            "propagations": ["tgw-attach-1"]}}}}
    assert has_warning(doc, "us-east-1/tgw.json: $.TransitGatewayVpcAttachments[0]", "tgw-1 is not in TransitGateways")
    assert has_warning(doc, "us-east-1/tgw.json: $.TransitGatewayStaticRoutes[1]", "tgw-rtb-9 is not in")


JUNK = st.sampled_from([None, 0, -1, 70000, "x", "", [], {}, [None, 1, "a"], {"State": 5}, True])


def json_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON value (keys and indexes), the root left out."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    return [path for key, child in children for path in [(*prefix, key), *json_paths(child, (*prefix, key))]]


@needs_snapshots
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_messy_input_gives_warnings_never_an_exception(data: st.DataObject):
    """docs/network-data.md (rules for importers): an importer never raises on messy input. Any value of a real
    snapshot replaced by junk (wrong type, empty, out of range) or removed still gives a document."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "snapshot"
        shutil.copytree(SNAPSHOTS / "test-vpc-peering-multi-account", root)
        files = sorted(root.rglob("*.json"))
        for _ in range(data.draw(st.integers(1, 4))):
            file = data.draw(st.sampled_from(files))
            content = json.loads(file.read_text())
            if not json_paths(content):
                continue
            *parents, last = data.draw(st.sampled_from(json_paths(content)))
            node = content
            for key in parents:
                node = node[key]
            if isinstance(node, dict) and data.draw(st.booleans()):
                del node[last]
            else:
                node[last] = data.draw(JUNK)
            file.write_text(json.dumps(content))
        assert isinstance(read_aws_folder(root), Document)


def test_not_a_folder_or_nothing_usable_is_an_input_error(tmp_path: Path):
    """docs/network-data.md (rules for importers): messy input gives warnings, but a path that is not a folder, or
    a folder without any describe output, is not what it claims to be: InputError naming it and what was skipped."""
    with pytest.raises(InputError, match="not a folder"):
        read_aws_folder(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no AWS describe output found"):
        read_aws_folder(tmp_path)
    write(tmp_path, "notes.json", {"Foo": []})
    with pytest.raises(InputError) as raised:
        read_aws_folder(tmp_path)
    assert [p.severity for p in raised.value.problems] == ["warning", "error"]
