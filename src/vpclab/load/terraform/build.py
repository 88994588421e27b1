"""One Terraform document → one network document: the resources flattened, then each kind of resource mapped in
the order §9.7 derives (VPCs and subnets, groups, NACLs, gateways, route tables, transit gateways, ENIs)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from vpclab.errors import Problem
from vpclab.load.terraform import gateways, groups, hosts, nacls, routes, transit, users, vpcs
from vpclab.load.terraform.config import Configuration
from vpclab.load.terraform.context import Context, TerraformDocument
from vpclab.load.terraform.detect import Kind
from vpclab.load.terraform.walk import resources

STEPS = (vpcs, groups, nacls, gateways, routes, transit, hosts, users)
READ = frozenset().union(*(step.TYPES for step in STEPS))


def build(kind: Kind, raw: dict[str, Any], file: str, warnings: list[Problem]) -> TerraformDocument:
    """The network document of a plan's after-world or of a state, every part located at its resource address."""
    found = resources(kind, raw)
    doc = TerraformDocument(kind=kind, warnings=list(warnings))
    ctx = Context(doc, file, found, Configuration(raw.get("configuration"), found.values()))
    for step in STEPS:
        step.read(ctx)
    _not_read(ctx)
    return doc


def _not_read(ctx: Context) -> None:
    """One warning naming the resource types not read, with how many of each (§9.7: flag, never guess)."""
    managed = Counter(r.type for r in ctx.resources.values() if r.mode == "managed" and r.type not in READ)
    data = Counter(f"data.{r.type}" for r in ctx.resources.values()
                   if r.mode == "data" and r.type not in vpcs.DATA_TYPES)
    parts = [f"{sum(c.values())} {what}{'s' if sum(c.values()) > 1 else ''} ("
             + ", ".join(f"{t} ×{n}" for t, n in sorted(c.items(), key=lambda i: (-i[1], i[0]))) + ")"
             for c, what in ((managed, "resource"), (data, "data source")) if c]
    if parts:
        ctx.warn(None, f"not read: {' and '.join(parts)}: not part of the network model")
