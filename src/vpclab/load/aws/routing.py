"""Route tables: associations (main, subnets, gateway edges) and routes, each target classified by its id prefix
since GatewayId is overloaded (aws-routing-terraform.md §1.1, §1.3, §1.4; aws-semantics.md §6.7)."""

from __future__ import annotations

from typing import Any

from vpclab.load.aws.records import Record, present
from vpclab.load.document import Document

DESTINATIONS = ("DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId")
#: NetworkInterfaceId before InstanceId: a route to an instance is read back with both (§1.3).
TARGETS = ("GatewayId", "NatGatewayId", "EgressOnlyInternetGatewayId", "VpcPeeringConnectionId", "TransitGatewayId",
           "NetworkInterfaceId", "InstanceId", "CarrierGatewayId", "LocalGatewayId", "CoreNetworkArn")
#: Target id prefix → the document section that holds such targets.
SECTIONS = {"igw-": "internet_gateways", "eigw-": "egress_only_gateways", "nat-": "nat_gateways",
            "pcx-": "peerings", "tgw-": "transit_gateways", "vgw-": "vpn_gateways", "vpce-": "vpc_endpoints",
            "eni-": "hosts", "i-": "hosts"}
#: Targets AWS has that vpclab does not model: carrier and local gateways, Cloud WAN core networks (by ARN).
UNMODELLED = ("cagw-", "lgw-", "arn:")
#: Route Origin values of routes a gateway or route server propagated.
PROPAGATED = ("EnableVgwRoutePropagation", "Advertisement")


def read_route_tables(doc: Document, tables: list[Record]) -> None:
    """`route_tables`: main flag, explicit subnet and gateway (edge) associations, and the routes as listed."""
    for table in tables:
        path = ("route_tables", table.data["RouteTableId"])
        doc.put(path, {"vpc": table.text("VpcId"), "main": False, "subnets": [], "gateways": [], "routes": [],
                       **table.common()}, table.origin)
        for association in table.children("Associations"):
            if association.state("AssociationState") not in (None, "associated"):
                doc.warn(association.origin, f"association {association.state('AssociationState')}: skipped")
            elif association.data.get("Main") is True:
                doc.put(path + ("main",), True, association.origin)
            elif association.text("SubnetId"):
                doc.append(path + ("subnets",), association.text("SubnetId"), association.origin)
            elif association.text("GatewayId"):
                doc.append(path + ("gateways",), association.text("GatewayId"), association.origin)
        for route in table.children("Routes"):
            value = _route(doc, route)
            if value is not None:
                doc.append(path + ("routes",), value, route.origin)


def warn_absent_targets(doc: Document) -> None:
    """A route to a gateway, peering or interface the snapshot does not hold is kept, with a warning."""
    instances = {host.get("instance") for host in doc.data.get("hosts", {}).values()}
    for ident, table in doc.data.get("route_tables", {}).items():
        for index, route in enumerate(table["routes"]):
            target = route["target"]
            section = next((name for prefix, name in SECTIONS.items() if target.startswith(prefix)), None)
            known = target in instances if target.startswith("i-") else target in doc.data.get(section, {})
            if section is not None and not known:
                blackhole = " (a blackhole route)" if route.get("state") == "blackhole" else ""
                doc.warn(doc.locate(("route_tables", ident, "routes", index)),
                         f"route to {target}{blackhole}: {target} is not in the snapshot")


def _route(doc: Document, route: Record) -> dict[str, Any] | None:
    """One route as the document writes it, or None after a warning (no destination, target vpclab cannot model)."""
    destination = next((route.text(key) for key in DESTINATIONS if route.text(key)), None)
    target = next((route.text(key) for key in TARGETS if route.text(key)), None)
    state = route.state()
    if destination is None or target is None:
        doc.warn(route.origin, "route without destination or target: skipped")
    elif target != "local" and not any(target.startswith(prefix) for prefix in SECTIONS):
        what = ("carrier gateway, local gateway, Cloud WAN …" if target.startswith(UNMODELLED)
                else "not an AWS target id")
        doc.warn(route.origin, f"route target {target} ({what}) is not modelled: skipped, so traffic to {destination} "
                               "follows the table's other routes (assumptions I7)")
    elif state not in (None, "active", "blackhole"):
        doc.warn(route.origin, f"route in state {state}: skipped")
    else:
        return present(destination=destination, target=target, state="blackhole" if state == "blackhole" else None,
                       origin="propagated" if route.text("Origin") in PROPAGATED else None)
    return None
