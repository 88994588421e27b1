"""A plan's `configuration`: the expressions behind values unknown until apply, and where their references lead
(§9.4: new resources are tied together only through `references`, across module variables and outputs)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vpclab.load.terraform.walk import Resource, instance_key, module_calls, split

#: Reference roots that name no resource (`count.index`, `each.key`, `local.x`, `path.module`, ...).
NOT_RESOURCES = frozenset({"count", "each", "local", "path", "self", "terraform"})
Target = tuple[Resource, str | None]  # a referenced resource and the attribute the reference names, if any


class Configuration:
    """The configuration tree of a plan, with the resource instances and module instances of the document."""

    def __init__(self, raw: dict[str, Any] | None, resources: Iterable[Resource]) -> None:
        raw = raw or {}
        self.root: dict[str, Any] = raw.get("root_module") or {}
        self.providers: dict[str, Any] = raw.get("provider_config") or {}
        self.instances: dict[tuple[str, str], list[Resource]] = {}
        self.children: dict[tuple[str, str], list[str]] = {}
        self._blocks: dict[tuple[tuple[str, ...], str], dict[str, Any]] = {}
        for res in resources:
            self.instances.setdefault((res.module, res.key), []).append(res)
            parts = split(res.module) if res.module else []
            for end in range(2, len(parts) + 1, 2):  # register every module instance on the way down
                scope, child = ".".join(parts[:end - 2]), ".".join(parts[:end])
                calls = self.children.setdefault((scope, instance_key(parts[end - 1])[0]), [])
                if child not in calls:
                    calls.append(child)

    def module(self, scope: str) -> dict[str, Any]:
        """The configuration of the module a module instance (`module.a["k"]`) was made from."""
        node = self.root
        for call in module_calls(scope):
            node = ((node.get("module_calls") or {}).get(call) or {}).get("module") or {}
        return node

    def block(self, res: Resource) -> dict[str, Any]:
        """The configuration block of a resource (empty for states and unconfigured resources)."""
        path = tuple(module_calls(res.module))
        if (path, res.key) not in self._blocks:
            for item in self.module(res.module).get("resources") or []:
                self._blocks.setdefault((path, item.get("address", "")), item)
        return self._blocks.setdefault((path, res.key), {})

    def expression(self, res: Resource, attr: str) -> Any:
        """The configured expression of `attr`: `{constant_value | references}`, a list of nested blocks, or None."""
        return (self.block(res).get("expressions") or {}).get(attr)

    def region(self, res: Resource) -> str | None:
        """The region constant of the provider configuration the resource uses (§9.3)."""
        key = self.block(res).get("provider_config_key") or "aws"
        provider = self.providers.get(key) or self.providers.get(key.rpartition(":")[2]) or {}
        value = ((provider.get("expressions") or {}).get("region") or {}).get("constant_value")
        return value if isinstance(value, str) and value else None

    def resolve(self, references: Iterable[str], scope: str, depth: int = 0) -> list[Target]:
        """The resource instances references lead to from a module instance, through variables and outputs."""
        found: list[Target] = []
        for reference in references:
            for target in self._one(str(reference), scope, depth):
                if all(target[0] is not seen[0] or target[1] != seen[1] for seen in found):
                    found.append(target)
        return found

    def _one(self, reference: str, scope: str, depth: int) -> list[Target]:
        parts = split(reference)
        if depth > 16 or len(parts) < 2 or parts[0] in NOT_RESOURCES:
            return []
        if parts[0] == "var":
            return self._variable(parts[1], scope, depth)
        if parts[0] == "module":
            return self._output(parts[1], parts[2] if len(parts) > 2 else None, scope, depth)
        if parts[0] == "data":
            if len(parts) < 3:
                return []
            prefix, parts = "data.", parts[1:]
        else:
            prefix = ""
        name, index = instance_key(parts[1])
        attr = parts[2] if len(parts) > 2 else None
        return [(res, attr) for res in self.instances.get((scope, f"{prefix}{parts[0]}.{name}"), [])
                if index is None or res.index == index]

    def _variable(self, name: str, scope: str, depth: int) -> list[Target]:
        """A module variable: the expression its module call passes, resolved in the calling module."""
        if not scope:
            return []
        parts = split(scope)
        parent, call = ".".join(parts[:-2]), instance_key(parts[-1])[0]
        node = ((self.module(parent).get("module_calls") or {}).get(call) or {})
        expression = (node.get("expressions") or {}).get(name)
        return self.resolve(references(expression), parent, depth + 1)

    def _output(self, part: str, output: str | None, scope: str, depth: int) -> list[Target]:
        """A module output: the expression behind it, resolved in each matching module instance."""
        call, index = instance_key(part)
        found: list[Target] = []
        for child in self.children.get((scope, call), []) if output else []:
            if index is not None and instance_key(split(child)[-1])[1] != index:
                continue
            outputs = self.module(child).get("outputs") or {}
            found += self.resolve(references((outputs.get(output) or {}).get("expression")), child, depth + 1)
        return found


def references(expression: Any) -> list[str]:
    """The references of an expression (none for constants, nested blocks and missing expressions)."""
    if isinstance(expression, dict):
        return [str(r) for r in expression.get("references") or []]
    return []
