"""A folder of AWS describe JSON → the network document (docs/network-data.md), with origins and warnings."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path, PurePosixPath

from vpclab.errors import InputError, Origin, Problem
from vpclab.gc_pause import collector_paused
from vpclab.load.aws.discover import Piece, discover
from vpclab.load.aws.filters import read_nacls, read_security_groups
from vpclab.load.aws.gateways import read_attached_gateways, read_nat_gateways, read_peerings, read_vpc_endpoints
from vpclab.load.aws.hosts import read_hosts
from vpclab.load.aws.network import read_prefix_lists, read_subnets, read_vpcs
from vpclab.load.aws.records import Record, collect
from vpclab.load.aws.routing import read_route_tables, warn_absent_targets
from vpclab.load.aws.transit import read_transit_gateways
from vpclab.load.document import Document

#: What each account and region should hold, and what its absence means (AWS's default where AWS has one).
EXPECTED = (
    (("Vpcs",), "VPCs and their CIDRs are unknown"),
    (("Subnets",), "subnets are unknown"),
    (("SecurityGroups", "SecurityGroupRules"), "the rules of security groups are unknown"),
    (("NetworkAcls",), "every subnet uses its VPC's default NACL, which allows all traffic (AWS's default)"),
    (("RouteTables",), "each VPC has only its main route table with the local routes (AWS's default)"),
    (("NetworkInterfaces", "Reservations"), "no network interfaces are known"),
)
#: What transit gateway route tables need beyond the CLI's describe calls.
EXPECTED_WITH_TGW_TABLES = (
    (("TransitGatewayStaticRoutes",), "the static routes of transit gateway route tables are unknown"),
    (("TransitGatewayPropagations",), "the propagations into transit gateway route tables are unknown"),
)


@collector_paused()
def read_aws_folder(path: str | os.PathLike[str]) -> Document:
    """The network document of the describe outputs under `path`, each part located at its file and JSON path.

    Raises InputError when `path` is not a folder or holds no describe output vpclab reads.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(Problem("", "not a folder: expected a folder of AWS describe JSON", Origin(str(root))))
    doc = Document()
    pieces = discover(root, doc)
    if not any(piece.key != "AvailabilityZones" for piece in pieces):
        raise InputError([*doc.warnings, Problem("", "no AWS describe output found (files whose top-level key is "
                                                     "Vpcs, Subnets, SecurityGroups, …)", Origin(str(root)))])
    by_key: dict[str, list[Piece]] = defaultdict(list)
    for piece in pieces:
        by_key[piece.key].append(piece)
    _warn_scopes(doc, pieces)

    def records(key: str, id_key: str) -> list[Record]:
        return collect(doc, by_key[key], id_key)

    nacls = records("NetworkAcls", "NetworkAclId")
    read_vpcs(doc, records("Vpcs", "VpcId"))
    read_subnets(doc, records("Subnets", "SubnetId"), nacls)
    read_nacls(doc, nacls)
    read_prefix_lists(doc, records("PrefixLists", "PrefixListId"), records("ManagedPrefixLists", "PrefixListId"))
    read_security_groups(doc, records("SecurityGroups", "GroupId"),
                         records("SecurityGroupRules", "SecurityGroupRuleId"))
    read_hosts(doc, records("NetworkInterfaces", "NetworkInterfaceId"), records("Reservations", "ReservationId"),
               records("Addresses", "PublicIp"))
    read_route_tables(doc, records("RouteTables", "RouteTableId"))
    read_attached_gateways(doc, "internet_gateways", records("InternetGateways", "InternetGatewayId"),
                           "InternetGatewayId", "Attachments")
    read_attached_gateways(doc, "egress_only_gateways",
                           records("EgressOnlyInternetGateways", "EgressOnlyInternetGatewayId"),
                           "EgressOnlyInternetGatewayId", "Attachments")
    read_attached_gateways(doc, "vpn_gateways", records("VpnGateways", "VpnGatewayId"), "VpnGatewayId",
                           "VpcAttachments")
    read_nat_gateways(doc, records("NatGateways", "NatGatewayId"))
    read_peerings(doc, records("VpcPeeringConnections", "VpcPeeringConnectionId"))
    read_vpc_endpoints(doc, records("VpcEndpoints", "VpcEndpointId"))
    read_transit_gateways(doc, records("TransitGateways", "TransitGatewayId"),
                          records("TransitGatewayAttachments", "TransitGatewayAttachmentId"),
                          records("TransitGatewayVpcAttachments", "TransitGatewayAttachmentId"),
                          records("TransitGatewayRouteTables", "TransitGatewayRouteTableId"),
                          records("TransitGatewayStaticRoutes", "TransitGatewayRouteTableId"),
                          records("TransitGatewayPropagations", "TransitGatewayRouteTableId"))
    warn_absent_targets(doc)
    return doc


def _warn_scopes(doc: Document, pieces: list[Piece]) -> None:
    """Per account and region: outputs that are missing, pages whose last page is missing, and folders naming
    another account than the objects' OwnerId (the account is taken from OwnerId)."""
    scopes: dict[tuple[str | None, str | None], list[Piece]] = defaultdict(list)
    for piece in pieces:
        scopes[piece.account, piece.region].append(piece)
    for (account, region), scope in scopes.items():
        where = Origin(_common_folder([piece.file for piece in scope]))
        keys = {piece.key for piece in scope}
        expected = EXPECTED + (EXPECTED_WITH_TGW_TABLES if any(
            piece.items for piece in scope if piece.key == "TransitGatewayRouteTables") else ())
        for alternatives, meaning in expected:
            if not keys.intersection(alternatives):
                doc.warn(where, f"no {' or '.join(alternatives)} output{_scope_text(account, region)}: {meaning}")
        for key in sorted(keys):
            if all(piece.paged for piece in scope if piece.key == key):
                doc.warn(where, f"{key}: every page has a NextToken, so the last page is missing: objects may be "
                                "missing")
        owners = sorted({item["OwnerId"] for piece in scope for item in piece.items if isinstance(item, dict)
                         and isinstance(item.get("OwnerId"), str) and item["OwnerId"] != account})
        if account is not None and owners:
            doc.warn(where, f"the folder names account {account} but its objects' OwnerId is {', '.join(owners)}: "
                            "the account is taken from OwnerId")


def _common_folder(files: list[str]) -> str:
    """The innermost folder holding all of `files` (relative to the snapshot; `.` for the snapshot itself)."""
    folders = sorted(PurePosixPath(file).parent.parts for file in files)
    first, last = folders[0], folders[-1]  # the common prefix of all is that of the first and the last
    common = next((first[:i] for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), first)
    return PurePosixPath(*common).as_posix() if common else "."


def _scope_text(account: str | None, region: str | None) -> str:
    parts = [part for part in (f"account {account}" if account else None, region) if part]
    return f" for {', '.join(parts)}" if parts else ""
