"""Gateways and connections a route can lead to: internet, egress-only and VPN gateways with their attachments,
NAT gateways, VPC peering connections and VPC endpoints (§9.5)."""

from __future__ import annotations

from typing import Any

from vpclab.load.terraform.context import Context
from vpclab.load.terraform.walk import Resource

#: Gateways attached to one VPC: resource type → (section, the attachment type and its gateway attribute).
ATTACHED = {"aws_internet_gateway": ("internet_gateways", "aws_internet_gateway_attachment", "internet_gateway_id"),
            "aws_egress_only_internet_gateway": ("egress_only_gateways", "", ""),
            "aws_vpn_gateway": ("vpn_gateways", "aws_vpn_gateway_attachment", "vpn_gateway_id")}
TYPES = frozenset({*ATTACHED, "aws_internet_gateway_attachment", "aws_vpn_gateway_attachment", "aws_nat_gateway",
                   "aws_vpc_peering_connection", "aws_vpc_peering_connection_accepter", "aws_vpc_endpoint"})


def read(ctx: Context) -> None:
    """Gateways, NAT gateways, peering connections and endpoints (their routes come with the route tables)."""
    for kind, (section, attachment, attr) in ATTACHED.items():
        for res in ctx.of_type(kind):
            ctx.doc.put((section, ctx.id_of(res)), {"vpc": ctx.one(res, "vpc_id"), **ctx.meta(res)}, ctx.origin(res))
        for res in ctx.of_type(attachment) if attachment else []:
            gateway, vpc = ctx.one(res, attr), ctx.one(res, "vpc_id")
            if gateway and ctx.has(section, gateway):
                ctx.doc.put((section, gateway, "vpc"), vpc, ctx.origin(res))
            else:
                ctx.warn(res, f"an attachment of {gateway or 'an unknown gateway'}, not in this document: skipped")
    for res in ctx.of_type("aws_nat_gateway"):
        _nat(ctx, res)
    for res in ctx.of_type("aws_vpc_peering_connection"):
        _peering(ctx, res, ctx.id_of(res), ctx.one(res, "vpc_id"), ctx.one(res, "peer_vpc_id"))
    for res in ctx.of_type("aws_vpc_peering_connection_accepter"):
        pcx = ctx.id_of(res)
        if ctx.has("peerings", pcx):
            ctx.doc.put(("peerings", pcx, "state"), res.known("accept_status") or "active", ctx.origin(res))
        else:  # the requester is managed elsewhere (another account or state): this side is the accepter
            _peering(ctx, res, pcx, ctx.one(res, "peer_vpc_id"), ctx.one(res, "vpc_id"))
    for res in ctx.of_type("aws_vpc_endpoint"):
        _endpoint(ctx, res)


def _nat(ctx: Context, res: Resource) -> None:
    """A NAT gateway; its public address is its own or its Elastic IP's, when known."""
    entry: dict[str, Any] = {"subnet": ctx.one(res, "subnet_id"),
                             "connectivity": res.known("connectivity_type") or "public"}
    eip = ctx.find(ctx.one(res, "allocation_id") or "", "aws_eip")
    for key, value in (("eni", res.known("network_interface_id")), ("private_ip", res.known("private_ip")),
                       ("public_ip", res.known("public_ip") or (eip.known("public_ip") if eip else None))):
        if value:
            entry[key] = value
    unknown = [k for k in ("private_ip", "public_ip") if k not in entry and (k == "private_ip"
                                                                             or entry["connectivity"] == "public")]
    if unknown:
        ctx.warn(res, f"{' and '.join(unknown)} known only after apply: left out")
    ctx.doc.put(("nat_gateways", ctx.id_of(res)), {**entry, **ctx.meta(res)}, ctx.origin(res))


def _peering(ctx: Context, res: Resource, pcx: str, requester: str | None, accepter: str | None) -> None:
    """A peering connection with the CIDRs of its VPCs that the document holds; its state as Terraform knows it,
    or active when accepted automatically or by an accepter resource."""
    accepted = res.known("auto_accept") or res.type.endswith("accepter") or any(
        ctx.one(a, "vpc_peering_connection_id") == pcx for a in ctx.of_type("aws_vpc_peering_connection_accepter"))
    state = res.known("accept_status") or ("active" if accepted else "pending-acceptance")
    entry: dict[str, Any] = {"requester": requester, "accepter": accepter, "state": state}
    here = ctx.meta(res, name=False)
    peer = {"account": res.known("peer_owner_id") or here.get("account"),
            "region": res.known("peer_region") or here.get("region")}
    requesting, accepting = (peer, here) if res.type.endswith("accepter") else (here, peer)
    for side, vpc, where in (("requester", requester, requesting), ("accepter", accepter, accepting)):
        known = ctx.get("vpcs", vpc) if vpc and ctx.has("vpcs", vpc) else {}
        if known:
            entry[f"{side}_cidrs"] = list(known.get("cidrs", [])) + list(known.get("ipv6_cidrs", []))
        for key in ("account", "region"):
            if known.get(key) or where.get(key):
                entry[f"{side}_{key}"] = known.get(key) or where.get(key)
    if state != "active":
        ctx.warn(res, f"peering {pcx} is {state}: it carries no traffic")
    ctx.doc.put(("peerings", pcx), entry, ctx.origin(res))


def _endpoint(ctx: Context, res: Resource) -> None:
    """A VPC endpoint; an interface endpoint without groups gets its VPC's default group (§9.5)."""
    vpc = ctx.one(res, "vpc_id")
    kind = res.known("vpc_endpoint_type") or "Gateway"
    entry: dict[str, Any] = {"vpc": vpc, "type": kind, "service": res.known("service_name")}
    if kind == "Gateway":
        entry["route_tables"] = ctx.ids(res, "route_table_ids")
    else:
        entry["subnets"] = ctx.ids(res, "subnet_ids")
        entry["enis"] = ctx.ids(res, "network_interface_ids")
        groups = ctx.ids(res, "security_group_ids")
        entry["security_groups"] = groups or ([ctx.default_group(vpc)] if vpc and kind == "Interface" else [])
    ctx.doc.put(("vpc_endpoints", ctx.id_of(res)), {**entry, **ctx.meta(res)}, ctx.origin(res))
