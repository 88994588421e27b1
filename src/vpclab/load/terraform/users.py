"""Which resources carry each security group, whether vpclab models them or not (an instance whose address is
known only after apply, a Lambda function, a load balancer, a database): a group they name is in use, and the
audit must not advise deleting it (`security_groups.<id>.used_by`)."""

from __future__ import annotations

from vpclab.load.terraform.blocks import inline, values
from vpclab.load.terraform.context import Context
from vpclab.load.terraform.walk import Resource

TYPES: frozenset[str] = frozenset()  # reads every type's group attributes, maps none of them itself

#: attributes that hold security-group ids (or, for `security_groups`, ids or names), at the top or in a block
ATTRIBUTES = ("vpc_security_group_ids", "security_group_ids", "security_groups")
BLOCKS = ("vpc_config", "network_configuration", "network_interfaces", "network_interface")
GROUP_TYPES = ("aws_security_group", "aws_default_security_group")


def read(ctx: Context) -> None:
    """Add each resource that names a group of the document to that group's `used_by` (its address)."""
    groups = ctx.doc.data.get("security_groups", {})
    by_name = {entry.get("name"): gid for gid, entry in groups.items() if isinstance(entry, dict) and entry.get("name")}
    for res in ctx.resources.values():
        if res.mode != "managed" or res.type in GROUP_TYPES or res.type.endswith("_rule"):
            continue
        for named in _named(ctx, res):
            gid = named if named in groups else by_name.get(named)
            if gid is None:
                continue
            users = groups[gid].setdefault("used_by", [])
            if res.address not in users:
                users.append(res.address)


def _named(ctx: Context, res: Resource) -> list[str]:
    """The group ids or names a resource's group attributes hold (configured references resolved)."""
    found: list[str] = []
    for attr in ATTRIBUTES:
        if attr in res.values or ctx.config.expression(res, attr) is not None:
            found += _quiet(ctx, lambda: ctx.ids(res, attr))
    for block_name in BLOCKS:
        if isinstance(res.values.get(block_name), list) or ctx.config.expression(res, block_name) is not None:
            for block in _quiet(ctx, lambda: inline(ctx, res, block_name)):
                for attr in ATTRIBUTES:
                    if attr in block.values or block.unknown.get(attr):
                        found += _quiet(ctx, lambda: values(ctx, res, block_name, block, attr, ids=True))
    return found


def _quiet(ctx: Context, read_them):  # type: ignore[no-untyped-def]
    """Run a reader without adding its warnings: the steps that model the resource warn about it already."""
    before = len(ctx.doc.warnings)
    try:
        return read_them()
    finally:
        del ctx.doc.warnings[before:]
