"""Find the describe outputs in a snapshot folder and classify them by top-level key, not by file name
(DESIGN.md "Snapshots"; Batfish's dispatch, aws-routing-terraform.md §8.1)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from vpclab.errors import Origin
from vpclab.load.aws.layout import folder_scope, regions_in
from vpclab.load.document import Document

#: Top-level keys vpclab reads, each a list of objects (the CLI's result keys, and Batfish's two TGW keys).
READ = frozenset({
    "Vpcs", "Subnets", "SecurityGroups", "SecurityGroupRules", "NetworkAcls", "NetworkInterfaces", "Reservations",
    "RouteTables", "InternetGateways", "EgressOnlyInternetGateways", "VpnGateways", "NatGateways",
    "VpcPeeringConnections", "PrefixLists", "ManagedPrefixLists", "VpcEndpoints", "Addresses", "TransitGateways",
    "TransitGatewayAttachments", "TransitGatewayVpcAttachments", "TransitGatewayRouteTables",
    "TransitGatewayStaticRoutes", "TransitGatewayPropagations", "AvailabilityZones"})
#: AWS outputs vpclab knows but does not model: a warning when they hold something.
NOT_MODELLED = {"CustomerGateways": "customer gateways (the on-premises end of a VPN)",
                "VpnConnections": "VPN connections (traffic to a VPN gateway leaves the modelled network)"}
#: Keys of the response itself, not of the objects.
META = frozenset({"NextToken", "ResponseMetadata"})


@dataclass(frozen=True, slots=True)
class Piece:
    """One top-level list of one file (maybe one page of a paginated call), with the account and region it is of."""

    file: str
    key: str
    items: list[Any]
    paged: bool  # the response carries a NextToken: more pages follow
    account: str | None
    region: str | None


def discover(root: Path, doc: Document) -> list[Piece]:
    """Every piece of every JSON file under `root` (hidden files left out), in path order; what cannot be read is a
    warning in `doc`."""
    parsed: list[tuple[str, dict[str, Any], set[str]]] = []
    for path in sorted(root.rglob("*")):
        file = path.relative_to(root).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in PurePosixPath(file).parts):
            continue
        data = _load(path, file, doc)
        if data is not None:  # the text is searched for regions only where the folders name none
            parsed.append((file, data, regions_in(json.dumps(data)) if folder_scope(file)[1] is None else set()))
    folder_regions: dict[str, set[str]] = defaultdict(set)
    for file, _, regions in parsed:
        folder_regions[PurePosixPath(file).parent.as_posix()] |= regions
    pieces = []
    unplaced: set[str] = set()
    for file, data, regions in parsed:
        account, region = folder_scope(file)
        folder = PurePosixPath(file).parent.as_posix()
        if region is None:
            candidates = regions if len(regions) == 1 else folder_regions[folder]
            region = next(iter(candidates)) if len(candidates) == 1 else None
        found = [Piece(file, key, value, bool(data.get("NextToken")), account, region)
                 for key, value in data.items() if key in READ and _is_list(value, file, key, doc)]
        if found and region is None and folder not in unplaced:
            unplaced.add(folder)
            doc.warn(Origin(folder), "region unknown (no region folder, ARN or availability zone): "
                                     "the objects of this folder have no region")
        pieces += found
    return pieces


def _load(path: Path, file: str, doc: Document) -> dict[str, Any] | None:
    """The file's JSON object, or None after a warning (not JSON, not an AWS response, only unknown keys)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        doc.warn(Origin(file, error.lineno), f"not JSON ({error.msg}): skipped")
        return None
    except (OSError, UnicodeDecodeError) as error:
        doc.warn(Origin(file), f"not JSON ({error}): skipped")
        return None
    keys = [key for key in data if key not in META] if isinstance(data, dict) else []
    unknown = [key for key in keys if key not in READ and key not in NOT_MODELLED
               and not key.startswith("TransitGateway")]
    if not isinstance(data, dict) or len(unknown) == len(keys):
        what = f"top-level keys {', '.join(unknown)}" if unknown else "no top-level key"
        doc.warn(Origin(file), f"unknown file ({what}; expected AWS describe output such as Vpcs, SecurityGroups): "
                               "skipped")
        return None
    for key in keys:
        where = Origin(file, path=f"$.{key}")
        if key in unknown:
            doc.warn(where, f"unknown top-level key {key!r}: skipped")
        elif key not in READ and data[key]:
            doc.warn(where, f"{key}: {NOT_MODELLED.get(key, 'not modelled')}: skipped")
    return data


def _is_list(value: object, file: str, key: str, doc: Document) -> bool:
    if not isinstance(value, list):
        doc.warn(Origin(file, path=f"$.{key}"), f"{key} is not a list: skipped")
    return isinstance(value, list)
