"""Route tables: inline routes and `aws_route`, subnet and edge associations, the main table, and the routes of
gateway endpoints that Terraform's state leaves out (§9.5-9.6). Local routes are left to the assembler."""

from __future__ import annotations

from typing import Any

from vpclab.load.terraform.blocks import Block, inline, values
from vpclab.load.terraform.context import Context
from vpclab.load.terraform.walk import Resource, unknown_in

TYPES = frozenset({"aws_route_table", "aws_default_route_table", "aws_route", "aws_route_table_association",
                   "aws_main_route_table_association", "aws_vpc_endpoint_route_table_association"})
#: Where a route's target may be written; the target's kind comes from its id's prefix, whatever the key (§9.6).
TARGETS = ("gateway_id", "nat_gateway_id", "egress_only_gateway_id", "transit_gateway_id", "vpc_peering_connection_id",
           "vpc_endpoint_id", "network_interface_id", "instance_id", "local_gateway_id", "carrier_gateway_id",
           "core_network_arn")
#: Where the destination is written: in an inline `route` block, and in an `aws_route`.
DESTINATIONS = (("cidr_block", "ipv6_cidr_block", "destination_prefix_list_id"),
                ("destination_cidr_block", "destination_ipv6_cidr_block", "destination_prefix_list_id"))
KINDS = ("igw-", "eigw-", "nat-", "pcx-", "tgw-", "vgw-", "vpce-", "eni-", "i-")


def read(ctx: Context) -> None:
    """Tables, their routes, their associations, then gateway-endpoint routes."""
    for res in ctx.of_type("aws_route_table", "aws_default_route_table"):
        _table(ctx, res)
    for res in ctx.of_type("aws_route"):
        table = ctx.one(res, "route_table_id")
        if table is None or not ctx.has("route_tables", table):
            ctx.warn(res, f"a route in {table or 'an unknown table'}, a table not in this document: skipped")
            continue
        block = Block(res.values, res.unknown, [ctx.config.block(res).get("expressions") or {}])
        _add_route(ctx, res, table, block, DESTINATIONS[1], blackhole=res.known("state") == "blackhole")
    for res in ctx.of_type("aws_route_table_association"):
        table = ctx.one(res, "route_table_id")
        for attr, key in (("subnet_id", "subnets"), ("gateway_id", "gateways")):
            target = ctx.one(res, attr)
            if target and table and ctx.has("route_tables", table):
                ctx.doc.append(("route_tables", table, key), target, ctx.origin(res))
            elif target:
                ctx.warn(res, f"an association with {table or 'an unknown table'}, a table not in this document: "
                              "skipped")
    for res in ctx.of_type("aws_main_route_table_association"):
        _main(ctx, res, ctx.one(res, "route_table_id"), ctx.one(res, "vpc_id"))
    _endpoint_routes(ctx)


def _table(ctx: Context, res: Resource) -> None:
    """A table with its inline routes; an adopted default table is its VPC's main one and loses AWS's routes."""
    table = ctx.id_of(res)
    vpc = ctx.one(res, "vpc_id") or ctx.vpc_behind(res, "default_route_table_id")
    entry: dict[str, Any] = {"vpc": vpc, "main": res.type == "aws_default_route_table",
                             "subnets": [], "gateways": [], "routes": []}
    ctx.doc.put(("route_tables", table), {**entry, **ctx.meta(res)}, ctx.origin(res))
    for block in inline(ctx, res, "route"):
        _add_route(ctx, res, table, block, DESTINATIONS[0])
    if res.known("propagating_vgws"):
        ctx.warn(res, f"routes propagated from {', '.join(res.known('propagating_vgws'))} are not in Terraform's "
                      "documents: left out")


def _add_route(ctx: Context, res: Resource, table: str, block: Block, destinations: tuple[str, ...],
               blackhole: bool = False) -> None:
    """One route: its destination and the first target given (by its id, placeholder when new)."""
    destination = next((v for key in destinations for v in _field(ctx, res, block, key)), None)
    target = next((t for key in TARGETS for t in _field(ctx, res, block, key)), None)
    if destination and (target == "local" or (target and target.startswith(KINDS))):
        _append(ctx, res, table, {"destination": destination, "target": target,
                                  **({"state": "blackhole"} if blackhole else {})})
        return
    unmodelled = bool(destination) and target is not None
    ctx.warn(res, f"a route to {destination or 'an unknown destination'} via {target or 'an unknown target'}: "
                  "skipped" + (f" (a target vpclab does not model), so traffic to {destination} follows the table's "
                               "other routes (assumptions I7)" if unmodelled else ""))


def _append(ctx: Context, res: Resource, table: str, route: dict[str, Any]) -> None:
    """Add a route unless the table has one to its destination: a state of an existing stack lists a route of
    `aws_route` inline in its table too (the provider's Read writes back every route AWS has, §9.6), and AWS holds
    one route per destination (a second one with another target is a conflict: the first is kept)."""
    routes = ctx.get("route_tables", table)["routes"]
    same = next((r for r in routes if r["destination"] == route["destination"]), None)
    if same is None:
        ctx.doc.append(("route_tables", table, "routes"), route, ctx.origin(res))
    elif same != route:
        ctx.warn(res, f"a second route to {route['destination']} in {table} (via {route['target']}, the first via "
                      f"{same['target']}): the first one is kept")


def _field(ctx: Context, res: Resource, block: Block, key: str) -> list[str]:
    """The destination or target ids a field holds; a field known only after apply that the configuration does
    not set holds nothing (every target field of a new `aws_route` is computed)."""
    if unknown_in(block.unknown.get(key)) and not any(key in c for c in block.configured):
        return []
    return values(ctx, res, "route", block, key, ids=True)


def _main(ctx: Context, res: Resource, table: str | None, vpc: str | None) -> None:
    """Make a table its VPC's main table (the table that was main before is not any more)."""
    if table is None or not ctx.has("route_tables", table):
        ctx.warn(res, f"{table or 'an unknown table'} is made main but is not in this document: skipped")
        return
    for other, entry in ctx.doc.data["route_tables"].items():
        if entry.get("main") and entry.get("vpc") == vpc and other != table:
            ctx.doc.put(("route_tables", other, "main"), False, ctx.origin(res))
    ctx.doc.put(("route_tables", table, "main"), True, ctx.origin(res))


def _endpoint_routes(ctx: Context) -> None:
    """A gateway endpoint's route to its service's prefix list in each of its tables (and in the tables of
    `aws_vpc_endpoint_route_table_association`), which Terraform's route tables leave out (§9.6)."""
    tables: list[tuple[Resource, str, str]] = []
    for res in ctx.of_type("aws_vpc_endpoint"):
        endpoint = ctx.id_of(res)
        tables += [(res, endpoint, t) for t in ctx.get("vpc_endpoints", endpoint).get("route_tables", [])]
    for res in ctx.of_type("aws_vpc_endpoint_route_table_association"):
        endpoint, table = ctx.one(res, "vpc_endpoint_id"), ctx.one(res, "route_table_id")
        if endpoint and table and ctx.has("vpc_endpoints", endpoint):
            if table not in ctx.get("vpc_endpoints", endpoint).setdefault("route_tables", []):
                ctx.doc.append(("vpc_endpoints", endpoint, "route_tables"), table, ctx.origin(res))
            tables.append((res, endpoint, table))
    for res, endpoint, table in tables:
        owner = ctx.find(endpoint, "aws_vpc_endpoint")
        prefix_list = ctx.id_of(owner, "prefix_list_id") if owner else None
        route = {"destination": prefix_list, "target": endpoint}
        if prefix_list and ctx.has("route_tables", table):
            if route not in ctx.get("route_tables", table)["routes"]:  # a table both inline and associated
                ctx.doc.append(("route_tables", table, "routes"), route, ctx.origin(res))
        else:
            ctx.warn(res, f"the route of {endpoint} in {table}, a table not in this document: skipped")
