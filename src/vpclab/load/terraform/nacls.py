"""Network ACLs: inline entries and `aws_network_acl_rule` merged by rule number, and the subnets each is
associated with (`subnet_ids`, `aws_network_acl_association`); adopted default NACLs lose AWS's rules (§9.5-9.6)."""

from __future__ import annotations

from typing import Any

from vpclab.load.terraform.blocks import inline
from vpclab.load.terraform.context import Context
from vpclab.load.terraform.rules import nacl_entry
from vpclab.load.terraform.walk import Resource

TYPES = frozenset({"aws_network_acl", "aws_default_network_acl", "aws_network_acl_rule",
                   "aws_network_acl_association"})


def read(ctx: Context) -> None:
    """NACLs with their inline entries, then separate entries, then subnet associations."""
    numbers: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}

    def add(acl: str, direction: str, entry: dict[str, Any], res: Resource) -> None:
        taken = numbers.setdefault((acl, direction), {})
        if entry["rule"] in taken:  # the same entry inline and as a resource (state of an existing stack)
            if taken[entry["rule"]] != entry:
                ctx.warn(res, f"{direction} rule {entry['rule']} of {acl} is given twice, differently: "
                              "the first one is kept")
            return
        taken[entry["rule"]] = entry
        ctx.doc.append(("nacls", acl, direction), entry, ctx.origin(res))

    for res in ctx.of_type("aws_network_acl", "aws_default_network_acl"):
        acl = ctx.id_of(res)
        vpc = ctx.one(res, "vpc_id") or ctx.vpc_behind(res, "default_network_acl_id")
        entry: dict[str, Any] = {"vpc": vpc} if vpc else {}
        if res.type == "aws_default_network_acl":
            entry["default"] = True
        ctx.doc.put(("nacls", acl), {**entry, **ctx.meta(res), "ingress": [], "egress": []}, ctx.origin(res))
        for direction in ("ingress", "egress"):
            for block in inline(ctx, res, direction):
                item = _entry(ctx, res, block.values, block.unknown)
                if item:
                    add(acl, direction, item, res)
        for subnet in ctx.ids(res, "subnet_ids"):
            associate(ctx, res, subnet, acl)
    for res in ctx.of_type("aws_network_acl_rule"):
        acl = ctx.one(res, "network_acl_id")
        item = _entry(ctx, res, {**res.values, "rule_no": res.known("rule_number"),
                                 "action": res.known("rule_action")}, res.unknown)
        if acl is None or not ctx.has("nacls", acl):
            ctx.warn(res, f"an entry for {acl or 'an unknown NACL'}, a NACL not in this document: skipped")
        elif item:
            add(acl, "egress" if res.known("egress") else "ingress", item, res)
    for res in ctx.of_type("aws_network_acl_association"):
        acl, subnet = ctx.one(res, "network_acl_id"), ctx.one(res, "subnet_id")
        if acl and subnet:
            associate(ctx, res, subnet, acl)


def associate(ctx: Context, res: Resource, subnet: str, acl: str) -> None:
    """Point a subnet of the document at its NACL (the association's address is its origin)."""
    if ctx.has("subnets", subnet):
        ctx.doc.put(("subnets", subnet, "nacl"), acl, ctx.origin(res))
    else:
        ctx.warn(res, f"{acl} is associated with {subnet}, a subnet not in this document: skipped")


def _entry(ctx: Context, res: Resource, fields: dict[str, Any], unknown: dict[str, Any]) -> dict[str, Any] | None:
    cidr = fields.get("cidr_block") or fields.get("ipv6_cidr_block")
    missing = [k for k in ("rule_no", "action", "protocol") if fields.get(k) in (None, "")]
    if missing or not cidr or unknown.get("cidr_block") is True:
        ctx.warn(res, f"a NACL entry with {', '.join(missing) or 'cidr_block'} unknown: skipped")
        return None
    return nacl_entry(fields["rule_no"], fields["action"], fields["protocol"], cidr, fields.get("from_port"),
                      fields.get("to_port"), fields.get("icmp_type"), fields.get("icmp_code"))

