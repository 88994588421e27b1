"""Transit gateways, enough for reachability: VPC attachments, route tables with their associations and
propagations, static routes (§9.5; propagated routes are left to the assembler, which knows the VPCs' CIDRs)."""

from __future__ import annotations

from typing import Any

from vpclab.load.terraform.context import Context
from vpclab.load.terraform.walk import Resource

TYPES = frozenset({"aws_ec2_transit_gateway", "aws_ec2_transit_gateway_vpc_attachment",
                   "aws_ec2_transit_gateway_route_table", "aws_ec2_transit_gateway_route",
                   "aws_ec2_transit_gateway_route_table_association",
                   "aws_ec2_transit_gateway_route_table_propagation"})


def read(ctx: Context) -> None:
    """Gateways with their default table, tables, attachments, then associations, propagations and routes."""
    owners: dict[str, str] = {}  # route table or attachment id → its transit gateway
    defaults: dict[str, tuple[str | None, str | None]] = {}  # gateway → default association, propagation tables
    for res in ctx.of_type("aws_ec2_transit_gateway"):
        gateway = ctx.id_of(res)
        ctx.doc.put(("transit_gateways", gateway), {"attachments": {}, "route_tables": {}, **ctx.meta(res)},
                    ctx.origin(res))
        chosen = [ctx.id_of(res, f"{use}_default_route_table_id") if res.known(f"default_route_table_{use}")
                  in ("enable", None) else None for use in ("association", "propagation")]
        defaults[gateway] = (chosen[0], chosen[1])
        for table in dict.fromkeys(t for t in chosen if t):
            _table(ctx, res, gateway, table, owners)
    for res in ctx.of_type("aws_ec2_transit_gateway_route_table"):
        gateway = _gateway(ctx, res)
        if gateway:
            _table(ctx, res, gateway, ctx.id_of(res), owners)
    for res in ctx.of_type("aws_ec2_transit_gateway_vpc_attachment"):
        gateway = _gateway(ctx, res)
        if gateway:
            _attachment(ctx, res, gateway, defaults.get(gateway, (None, None)), owners)
    for res in ctx.of_type("aws_ec2_transit_gateway_route_table_association",
                           "aws_ec2_transit_gateway_route_table_propagation"):
        table = ctx.one(res, "transit_gateway_route_table_id")
        attachment = ctx.one(res, "transit_gateway_attachment_id")
        gateway = owners.get(table or "")
        if gateway is None or attachment is None or owners.get(attachment) != gateway:
            ctx.warn(res, f"{table or 'an unknown table'} or {attachment or 'an unknown attachment'} is not in this "
                          "document: skipped")
        elif res.type.endswith("association"):
            ctx.doc.put(("transit_gateways", gateway, "attachments", attachment, "route_table"), table,
                        ctx.origin(res))
        else:
            ctx.doc.append(("transit_gateways", gateway, "route_tables", table, "propagations"), attachment,
                           ctx.origin(res))
    for res in ctx.of_type("aws_ec2_transit_gateway_route"):
        table = ctx.one(res, "transit_gateway_route_table_id")
        gateway = owners.get(table or "")
        if gateway is None:
            ctx.warn(res, f"a route in {table or 'an unknown table'}, a table not in this document: skipped")
            continue
        blackhole = bool(res.known("blackhole"))
        route: dict[str, Any] = {"destination": res.known("destination_cidr_block"), "type": "static",
                                 "state": "blackhole" if blackhole else "active"}
        if not blackhole:
            route["attachment"] = ctx.one(res, "transit_gateway_attachment_id")
        ctx.doc.append(("transit_gateways", gateway, "route_tables", table, "routes"), route, ctx.origin(res))


def _gateway(ctx: Context, res: Resource) -> str | None:
    """The transit gateway a table or attachment belongs to, if the document holds it."""
    gateway = ctx.one(res, "transit_gateway_id")
    if gateway and ctx.has("transit_gateways", gateway):
        return gateway
    ctx.warn(res, f"{gateway or 'an unknown transit gateway'} is not in this document: skipped")
    return None


def _table(ctx: Context, res: Resource, gateway: str, table: str, owners: dict[str, str]) -> None:
    owners[table] = gateway
    ctx.doc.put(("transit_gateways", gateway, "route_tables", table), {"routes": [], "propagations": []},
                ctx.origin(res))


def _attachment(ctx: Context, res: Resource, gateway: str, defaults: tuple[str | None, str | None],
                owners: dict[str, str]) -> None:
    """A VPC attachment, associated with and propagating to the gateway's default table unless told not to."""
    attachment = ctx.id_of(res)
    owners[attachment] = gateway
    entry: dict[str, Any] = {"type": "vpc", "resource": ctx.one(res, "vpc_id"), "subnets": ctx.ids(res, "subnet_ids"),
                             "state": "available"}
    association, propagation = defaults
    if association and res.known("transit_gateway_default_route_table_association") is not False:
        entry["route_table"] = association
    ctx.doc.put(("transit_gateways", gateway, "attachments", attachment), entry, ctx.origin(res))
    if propagation and res.known("transit_gateway_default_route_table_propagation") is not False:
        ctx.doc.append(("transit_gateways", gateway, "route_tables", propagation, "propagations"), attachment,
                       ctx.origin(res))
