"""Inline blocks (a group's `ingress`, a NACL's `egress`, a route table's `route`) after apply: known blocks with
their unknown parts, or the configured blocks when the whole list is known only after apply (§9.4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vpclab.load.terraform.config import references
from vpclab.load.terraform.context import Context
from vpclab.load.terraform.rules import sg_protocol
from vpclab.load.terraform.walk import Resource, unknown_in


@dataclass(slots=True)
class Block:
    """One inline block: its known values, what is known only after apply, the configured blocks it may be."""

    values: dict[str, Any]
    unknown: dict[str, Any] = field(default_factory=dict)
    configured: list[dict[str, Any]] = field(default_factory=list)


def inline(ctx: Context, res: Resource, attr: str) -> list[Block]:
    """The blocks of `attr` after apply. Unknown and not configured means none: rules then come only from separate
    rule resources, as after apply (and a group Terraform creates has no egress unless declared: §9.6)."""
    value, marker = res.values.get(attr), res.unknown.get(attr)
    expression = ctx.config.expression(res, attr)
    configured = _configured(expression)
    if isinstance(value, list) and marker is not True:
        markers = marker if isinstance(marker, list) else []
        return [Block(v, markers[i] if i < len(markers) and isinstance(markers[i], dict) else {}, configured)
                for i, v in enumerate(value) if isinstance(v, dict)]
    if value is not None and not isinstance(value, list) and marker is not True:
        ctx.warn(res, f"{attr} is {type(value).__name__} {value!r:.40}, expected a list of blocks: no {attr} read")
        return []
    if not res.pending(attr) or expression in (None, [], {"constant_value": []}):
        return []
    if configured:
        return [Block({k: e["constant_value"] for k, e in c.items() if isinstance(e, dict) and "constant_value" in e},
                      {k: True for k, e in c.items() if references(e)}, [c]) for c in configured]
    ctx.warn(res, f"{attr} is known only after apply and configured by an expression vpclab cannot evaluate "
                  f"({', '.join(references(expression)) or 'no references'}): no {attr} rules read")
    return []


def values(ctx: Context, res: Resource, attr: str, block: Block, name: str, ids: bool = False) -> list[str]:
    """The strings a block field holds after apply; id fields known only after apply are found through the
    references of the configured blocks that agree with the block's known values."""
    value = block.values.get(name)
    found = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and v]
    if not unknown_in(block.unknown.get(name)):
        return found
    known = len(found)
    refs = [r for c in block.configured if _agrees(c, block.values) for r in references(c.get(name))]
    for target, named in ctx.config.resolve(refs, res.module) if ids else []:
        found += [i for i in ctx.target_ids(target, named, name) if i not in found]
    if len(found) == known:
        why = f" and its references ({', '.join(refs)}) name no resource of this document" if ids and refs else ""
        ctx.warn(res, f"{attr}.{name} is known only after apply{why}: left out")
    return found


def _configured(expression: Any) -> list[dict[str, Any]]:
    """Configured blocks as expressions per field (a constant list written as an attribute included)."""
    if isinstance(expression, list):
        return [c for c in expression if isinstance(c, dict)]
    constant = expression.get("constant_value") if isinstance(expression, dict) else None
    if isinstance(constant, list):
        return [{k: {"constant_value": v} for k, v in c.items()} for c in constant if isinstance(c, dict)]
    return []


def _agrees(configured: dict[str, Any], known: dict[str, Any]) -> bool:
    """Whether a configured block's constants equal a block's known values (protocols compared normalised)."""
    for name, expression in configured.items():
        theirs = known.get(name)
        if not isinstance(expression, dict) or "constant_value" not in expression or theirs is None \
                or isinstance(theirs, (list, dict)):
            continue
        mine = expression["constant_value"]
        if name == "protocol":
            mine, theirs = sg_protocol(mine), sg_protocol(theirs)
        if str(mine) != str(theirs):
            return False
    return True
