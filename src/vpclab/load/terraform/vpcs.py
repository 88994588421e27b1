"""VPCs with their CIDRs, subnets and managed prefix lists, from resources and from data sources that describe
pre-existing ones (§9.3, §9.5)."""

from __future__ import annotations

from vpclab.load.terraform.context import Context
from vpclab.load.terraform.walk import Resource

TYPES = frozenset({"aws_vpc", "aws_vpc_ipv4_cidr_block_association", "aws_vpc_ipv6_cidr_block_association",
                   "aws_subnet", "aws_ec2_managed_prefix_list", "aws_ec2_managed_prefix_list_entry"})
DATA_TYPES = frozenset({"aws_vpc", "aws_subnet"})


def read(ctx: Context) -> None:
    """VPCs first (resources, then data sources not already read), then their CIDR associations and subnets."""
    for res in ctx.of_type("aws_vpc") + ctx.of_type("aws_vpc", mode="data"):
        _vpc(ctx, res)
    for res in ctx.of_type("aws_vpc_ipv4_cidr_block_association", "aws_vpc_ipv6_cidr_block_association"):
        vpc, cidr = ctx.one(res, "vpc_id"), res.known("cidr_block") or res.known("ipv6_cidr_block")
        key = "ipv6_cidrs" if res.type.startswith("aws_vpc_ipv6") else "cidrs"
        if vpc and cidr and ctx.has("vpcs", vpc):
            ctx.doc.append(("vpcs", vpc, key), cidr, ctx.origin(res))
        else:
            ctx.warn(res, f"CIDR association skipped: {'its CIDR is unknown' if vpc else 'no VPC'}"
                          + ("" if not vpc or ctx.has("vpcs", vpc) else f" ({vpc} is not in the document)"))
    for res in ctx.of_type("aws_subnet") + ctx.of_type("aws_subnet", mode="data"):
        _subnet(ctx, res)
    for res in ctx.of_type("aws_ec2_managed_prefix_list"):
        cidrs = [e["cidr"] for e in res.known("entry") or [] if isinstance(e, dict) and e.get("cidr")]
        ctx.doc.put(("prefix_lists", ctx.id_of(res)), {"name": res.known("name"), "cidrs": cidrs,
                                                       **ctx.meta(res, name=False)}, ctx.origin(res))
    for res in ctx.of_type("aws_ec2_managed_prefix_list_entry"):
        pl, cidr = ctx.one(res, "prefix_list_id"), res.known("cidr")
        if pl and cidr and ctx.has("prefix_lists", pl):
            if cidr not in ctx.get("prefix_lists", pl)["cidrs"]:  # the list's state shows its entries too
                ctx.doc.append(("prefix_lists", pl, "cidrs"), cidr, ctx.origin(res))
        else:
            ctx.warn(res, f"prefix list entry skipped: {pl or 'its list'} is not in the document")


def _vpc(ctx: Context, res: Resource) -> None:
    vpc = ctx.id_of(res)
    if ctx.has("vpcs", vpc):  # a data source repeated in several modules, or describing a managed VPC
        return
    ctx.vpc_owners[vpc] = res
    cidrs = [c for c in [res.known("cidr_block")] + [a.get("cidr_block") for a in res.known("cidr_block_associations")
                                                      or [] if a.get("state") == "associated"] if c]
    entry: dict[str, object] = {"cidrs": list(dict.fromkeys(cidrs))}
    if res.known("ipv6_cidr_block"):
        entry["ipv6_cidrs"] = [res.known("ipv6_cidr_block")]
    elif res.pending("ipv6_cidr_block") and res.known("assign_generated_ipv6_cidr_block"):
        ctx.warn(res, "the IPv6 CIDR Amazon assigns is known only after apply: left out")
    if not cidrs:
        ctx.warn(res, "the VPC's IPv4 CIDR is unknown (known only after apply, or an IPAM pool)")
    ctx.doc.put(("vpcs", vpc), {**entry, **ctx.meta(res)}, ctx.origin(res))


def _subnet(ctx: Context, res: Resource) -> None:
    subnet = ctx.id_of(res)
    if ctx.has("subnets", subnet):
        return
    vpc = ctx.one(res, "vpc_id")
    if vpc is None:
        ctx.warn(res, "the subnet's VPC is unknown: the subnet is skipped")
        return
    entry: dict[str, object] = {"vpc": vpc}
    if res.known("cidr_block"):
        entry["cidr"] = res.known("cidr_block")
    else:
        ctx.warn(res, "the subnet's CIDR is unknown (known only after apply, or an IPAM pool)")
    if res.known("ipv6_cidr_block"):
        entry["ipv6_cidr"] = res.known("ipv6_cidr_block")
    if res.known("availability_zone"):
        entry["zone"] = res.known("availability_zone")
    ctx.doc.put(("subnets", subnet), {**entry, **ctx.meta(res)}, ctx.origin(res))
