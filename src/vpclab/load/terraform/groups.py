"""Security groups: inline `ingress`/`egress` and the separate rule resources merged into their group, duplicates
(the same rule inline and as a resource, §9.6) once; Terraform's removal of AWS's default egress honoured."""

from __future__ import annotations

from typing import Any

from vpclab.load.terraform.blocks import inline, values
from vpclab.load.terraform.context import Context
from vpclab.load.terraform.rules import rule_key, sg_match, sg_peers, sg_rules
from vpclab.load.terraform.walk import Resource

RULE_TYPES = ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule")
TYPES = frozenset({"aws_security_group", "aws_default_security_group", *RULE_TYPES})
DIRECTIONS = ("ingress", "egress")


def read(ctx: Context) -> None:
    """Groups with their inline rules, then every separate rule resource added to its group."""
    seen: dict[tuple[str, str], set[Any]] = {}

    def add(res: Resource, group: str, direction: str, fields: dict[str, Any], protocol: str,
            peers: list[dict[str, str]]) -> None:
        """The rules of one block or rule resource, each peer once per group and direction."""
        if fields.get(protocol) in (None, ""):
            ctx.warn(res, f"a {direction} rule whose {protocol} is known only after apply: skipped")
            return
        match = sg_match(fields[protocol], fields.get("from_port"), fields.get("to_port"))
        keys = seen.setdefault((group, direction), set())
        for rule in sg_rules(match, peers, fields.get("description")):
            if rule_key(rule) not in keys:
                keys.add(rule_key(rule))
                ctx.doc.append(("security_groups", group, direction), rule, ctx.origin(res))

    for res in ctx.of_type("aws_security_group", "aws_default_security_group"):
        group = _group(ctx, res)
        for direction in DIRECTIONS:
            for block in inline(ctx, res, direction):
                peers = sg_peers(values(ctx, res, direction, block, "cidr_blocks"),
                                 values(ctx, res, direction, block, "ipv6_cidr_blocks"),
                                 values(ctx, res, direction, block, "prefix_list_ids", ids=True),
                                 values(ctx, res, direction, block, "security_groups", ids=True)
                                 + ([group] if block.values.get("self") else []))
                add(res, group, direction, block.values, "protocol", peers)
    for res in ctx.of_type(*RULE_TYPES):
        group = ctx.one(res, "security_group_id")
        if group is None or not ctx.has("security_groups", group):
            ctx.warn(res, f"a rule for {group or 'an unknown group'}, a group not in this document: skipped")
            continue
        for attr in ("cidr_blocks", "ipv6_cidr_blocks", "cidr_ipv4", "cidr_ipv6"):
            if res.pending(attr):
                ctx.warn(res, f"{attr} is known only after apply: left out")
        if res.type == "aws_security_group_rule":
            direction, protocol = str(res.known("type")), "protocol"
            peers = sg_peers(res.known("cidr_blocks"), res.known("ipv6_cidr_blocks"), ctx.ids(res, "prefix_list_ids"),
                             ctx.ids(res, "source_security_group_id") + ([group] if res.known("self") else []))
        else:
            direction = "ingress" if res.type.endswith("ingress_rule") else "egress"
            protocol = "ip_protocol"
            peers = sg_peers(res.known("cidr_ipv4"), res.known("cidr_ipv6"), ctx.ids(res, "prefix_list_id"),
                             ctx.ids(res, "referenced_security_group_id"))
        if direction not in DIRECTIONS or not peers:
            ctx.warn(res, f"a rule with {f'type {direction!r}' if peers else 'no known peer'}: skipped")
        else:
            add(res, group, direction, {k: res.known(k) for k in (protocol, "from_port", "to_port", "description")},
                protocol, peers)

def _group(ctx: Context, res: Resource) -> str:
    """A group entry with explicit rule lists: a group Terraform creates has none but those declared, and an
    adopted default group loses AWS's default rules (§9.5, §9.6)."""
    group = ctx.id_of(res)
    vpc = ctx.one(res, "vpc_id")
    if vpc is None and not ctx.config.expression(res, "vpc_id"):
        vpc = ctx.default_vpc(res)
    entry: dict[str, Any] = {"vpc": vpc} if vpc else {}
    if res.type == "aws_default_security_group":
        entry.update(name="default", default=True)
    elif res.known("name"):
        entry["name"] = res.known("name")
    if res.known("description"):
        entry["description"] = res.known("description")
    ctx.doc.put(("security_groups", group), {**entry, **ctx.meta(res, name=False), "ingress": [], "egress": []},
                ctx.origin(res))
    return group
