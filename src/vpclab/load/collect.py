"""`vpclab collect`: live AWS → a snapshot folder of describe JSON, with read-only calls only.

Every analysis then runs offline on the folder and can be re-run (DESIGN.md, "Snapshots", form 4). The layout is
Batfish's, `aws_configs/accounts/<account>/<region>/<Key>.json`, each file one merged, paginated answer whose
top-level key names what it holds (`Vpcs`, `SecurityGroups`, …), so `load.aws` reads it like any CLI output.
Managed prefix lists are written with their entries (`ManagedPrefixLists[].Entries`), and transit gateway routes
and propagations per route table under Batfish's keys, which the plain describe calls leave out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpclab.errors import BackendUnavailable, InputError, Origin, Problem

#: (boto3 operation, result key) of every call collect makes: all read-only
CALLS: tuple[tuple[str, str], ...] = (
    ("describe_vpcs", "Vpcs"),
    ("describe_subnets", "Subnets"),
    ("describe_security_groups", "SecurityGroups"),
    ("describe_network_acls", "NetworkAcls"),
    ("describe_network_interfaces", "NetworkInterfaces"),
    ("describe_instances", "Reservations"),
    ("describe_route_tables", "RouteTables"),
    ("describe_internet_gateways", "InternetGateways"),
    ("describe_egress_only_internet_gateways", "EgressOnlyInternetGateways"),
    ("describe_nat_gateways", "NatGateways"),
    ("describe_vpc_peering_connections", "VpcPeeringConnections"),
    ("describe_vpc_endpoints", "VpcEndpoints"),
    ("describe_vpn_gateways", "VpnGateways"),
    ("describe_addresses", "Addresses"),
    ("describe_transit_gateways", "TransitGateways"),
    ("describe_transit_gateway_attachments", "TransitGatewayAttachments"),
    ("describe_transit_gateway_vpc_attachments", "TransitGatewayVpcAttachments"),
)
READ_ONLY_PREFIXES = ("Describe", "Get", "Search", "List")


@dataclass
class Collected:
    """What a collection wrote, and what it could not read (access denied, a call the region lacks)."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def collect(session: Any, regions: Iterable[str] | None, folder: Path,
            on_file: Callable[[Path], None] | None = None) -> Collected:
    """Describe every region's network configuration into `folder` (a boto3 Session gives the credentials).

    Raises BackendUnavailable without usable credentials, InputError without a region; a call refused for one
    resource kind is a warning.
    """
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    names = list(regions or []) or ([session.region_name] if session.region_name else [])
    if not names:
        raise InputError("no AWS region: pass --region (repeatable) or set AWS_REGION / a profile's region")
    try:
        account = session.client("sts", region_name=names[0]).get_caller_identity()["Account"]
    except (NoCredentialsError, NoRegionError) as error:
        raise BackendUnavailable(f"cannot reach AWS: {error}: configure credentials (aws configure, a profile with "
                                 "--profile, or AWS_* environment variables) and a region (--region)") from None
    except (ClientError, BotoCoreError) as error:
        raise BackendUnavailable(f"cannot reach AWS: {error}") from None
    result = Collected(folder)
    for region in names:
        ec2 = session.client("ec2", region_name=region)
        where = folder / "aws_configs" / "accounts" / account / region
        where.mkdir(parents=True, exist_ok=True)
        answers: dict[str, list[Any]] = {}
        for operation, key in CALLS:
            try:
                answers[key] = _all_pages(ec2, operation, key)
            except (ClientError, BotoCoreError) as error:
                result.warnings.append(Problem("", f"{operation} in {region} failed, {key} left out: {error}",
                                               Origin(str(where)), "warning"))
        answers["ManagedPrefixLists"] = _prefix_lists(ec2, result, region, where)
        answers |= _tgw_routes(ec2, result, region, where)
        for key, items in answers.items():
            path = where / f"{key}.json"
            path.write_text(json.dumps({key: items}, indent=1, default=str) + "\n", encoding="utf-8")
            result.files.append(path)
            if on_file is not None:
                on_file(path)
    return result


def _all_pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item of a paginated answer, merged in order."""
    if not client.can_paginate(operation):
        return list(getattr(client, operation)(**params).get(key, []))
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**params):
        items.extend(page.get(key, []))
    return items


def _prefix_lists(ec2: Any, result: Collected, region: str, where: Path) -> list[Any]:
    """Managed prefix lists, each with its entries (the CIDRs a rule or route naming it covers)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        lists = _all_pages(ec2, "describe_managed_prefix_lists", "PrefixLists")
        for item in lists:
            item["Entries"] = _all_pages(ec2, "get_managed_prefix_list_entries", "Entries",
                                         PrefixListId=item["PrefixListId"])
    except (ClientError, BotoCoreError) as error:
        result.warnings.append(Problem("", f"managed prefix lists in {region} not read: {error}",
                                       Origin(str(where)), "warning"))
        return []
    return lists


def _tgw_routes(ec2: Any, result: Collected, region: str, where: Path) -> dict[str, list[Any]]:
    """Transit gateway route tables, their static routes and their propagations, under the keys Batfish's
    collector uses (`TransitGatewayStaticRoutes`, `TransitGatewayPropagations`), each naming its table:
    propagated routes follow from the propagations, associations are in the attachments."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        tables = _all_pages(ec2, "describe_transit_gateway_route_tables", "TransitGatewayRouteTables")
        static, propagations = [], []
        for table in tables:
            tid = table["TransitGatewayRouteTableId"]
            found = ec2.search_transit_gateway_routes(TransitGatewayRouteTableId=tid,
                                                      Filters=[{"Name": "type", "Values": ["static"]}])
            static.append({"TransitGatewayRouteTableId": tid, "Routes": found.get("Routes", []),
                           "AdditionalRoutesAvailable": found.get("AdditionalRoutesAvailable", False)})
            propagations.append({"TransitGatewayRouteTableId": tid, "TransitGatewayRouteTablePropagations": _all_pages(
                ec2, "get_transit_gateway_route_table_propagations", "TransitGatewayRouteTablePropagations",
                TransitGatewayRouteTableId=tid)})
    except (ClientError, BotoCoreError) as error:
        result.warnings.append(Problem("", f"transit gateway route tables in {region} not read: {error}",
                                       Origin(str(where)), "warning"))
        return {}
    return {"TransitGatewayRouteTables": tables, "TransitGatewayStaticRoutes": static,
            "TransitGatewayPropagations": propagations}
