"""Transit gateways: attachments (with their association and, for VPCs, their subnets), route tables, static
routes and propagations (aws-routing-terraform.md §5, §8.8). Static routes and propagations come from Batfish's keys
TransitGatewayStaticRoutes and TransitGatewayPropagations, which name their route table; the CLI's own outputs
(search-transit-gateway-routes, get-transit-gateway-route-table-propagations) do not."""

from __future__ import annotations

from vpclab.load.aws.records import Record, present
from vpclab.load.document import Document

#: States of transit gateway objects that are gone or going.
GONE = ("deleted", "deleting", "failed", "failing", "rejected", "rejecting")

Path = tuple[str, ...]


def read_transit_gateways(doc: Document, gateways: list[Record], attachments: list[Record],
                          vpc_attachments: list[Record], tables: list[Record], static_routes: list[Record],
                          propagations: list[Record]) -> None:
    """`transit_gateways`, each with `attachments` and `route_tables`; what is gone is skipped with a warning."""
    for gateway in _alive(doc, gateways, "TransitGatewayId"):
        doc.put(("transit_gateways", gateway.data["TransitGatewayId"]),
                {"attachments": {}, "route_tables": {}, **gateway.common()}, gateway.origin)
    for attachment in _alive(doc, attachments, "TransitGatewayAttachmentId"):
        association = attachment.child("Association")
        path = _under(doc, attachment, "attachments", attachment.data["TransitGatewayAttachmentId"])
        if path is not None:
            doc.put(path, present(
                type=attachment.text("ResourceType"), resource=attachment.text("ResourceId"),
                route_table=association.text("TransitGatewayRouteTableId")
                if association and association.state() == "associated" else None,
                state=attachment.state(), name=attachment.name()), attachment.origin)
    for attachment in _alive(doc, vpc_attachments, "TransitGatewayAttachmentId"):
        path = _under(doc, attachment, "attachments", attachment.data["TransitGatewayAttachmentId"])
        if path is None:
            continue
        if path[-1] not in doc.data["transit_gateways"][path[1]]["attachments"]:
            doc.put(path, present(type="vpc", resource=attachment.text("VpcId"), state=attachment.state(),
                                  name=attachment.name()), attachment.origin)
        doc.put(path + ("subnets",), attachment.texts("SubnetIds"), attachment.at("SubnetIds"))
    table_paths = {}
    for table in _alive(doc, tables, "TransitGatewayRouteTableId"):
        ident = table.data["TransitGatewayRouteTableId"]
        path = _under(doc, table, "route_tables", ident)
        if path is not None:
            doc.put(path, {"routes": [], "propagations": [], **present(name=table.name())}, table.origin)
            table_paths[ident] = path
    for entry in static_routes:
        if not _table(doc, entry, table_paths):
            continue
        for route in entry.children("Routes"):
            targets = route.children("TransitGatewayAttachments")
            if len(targets) > 1:
                doc.warn(route.origin, "route to several attachments (ECMP): only the first is modelled")
            doc.append(table_paths[entry.data["TransitGatewayRouteTableId"]] + ("routes",), present(
                destination=route.text("DestinationCidrBlock") or route.text("PrefixListId"),
                attachment=targets[0].text("TransitGatewayAttachmentId") if targets else None,
                type=route.text("Type"), state=route.state()), route.origin)
    for entry in propagations:
        if not _table(doc, entry, table_paths):
            continue
        for propagation in entry.children("TransitGatewayRouteTablePropagations"):
            if propagation.state() == "enabled" and propagation.text("TransitGatewayAttachmentId"):
                doc.append(table_paths[entry.data["TransitGatewayRouteTableId"]] + ("propagations",),
                           propagation.text("TransitGatewayAttachmentId"), propagation.origin)


def _alive(doc: Document, records: list[Record], id_key: str) -> list[Record]:
    """`records` except those whose state says they are gone, each of which is a warning."""
    alive = []
    for record in records:
        if record.state() in GONE:
            doc.warn(record.origin, f"{record.data[id_key]} is {record.state()}: skipped")
        else:
            alive.append(record)
    return alive


def _under(doc: Document, record: Record, section: str, ident: str) -> Path | None:
    """The path of `ident` in its transit gateway's `section`; a gateway only known from what it holds (another
    account's, shared) is added with a warning."""
    gateway = record.text("TransitGatewayId")
    if gateway is None:
        doc.warn(record.origin, "no TransitGatewayId: skipped")
        return None
    if gateway not in doc.data.get("transit_gateways", {}):
        doc.warn(record.origin, f"{gateway} is not in TransitGateways: known only from its {section}")
        doc.put(("transit_gateways", gateway), {"attachments": {}, "route_tables": {}}, record.origin)
    return ("transit_gateways", gateway, section, ident)


def _table(doc: Document, entry: Record, tables: dict[str, Path]) -> bool:
    """Whether the route table an entry names is known; if not, a warning."""
    known = entry.data["TransitGatewayRouteTableId"] in tables
    if not known:
        doc.warn(entry.origin, f"route table {entry.data['TransitGatewayRouteTableId']} is not in "
                               "TransitGatewayRouteTables: skipped")
    return known
