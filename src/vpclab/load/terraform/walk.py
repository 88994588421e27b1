"""Resources by address: the root module and its child modules flattened, plan values and their unknowns (§9.2-9.3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vpclab.load.terraform.detect import Kind


@dataclass(slots=True)
class Resource:
    """One resource instance: its address, the module instance it lives in, its values and (plans) what is unknown."""

    address: str
    module: str  # the module instance address: "" for the root, `module.a["k"].module.b` for nested ones
    mode: str  # managed | data
    type: str
    name: str
    index: int | str | None
    values: dict[str, Any]
    unknown: dict[str, Any] = field(default_factory=dict)  # after_unknown: True at leaves known only after apply

    @property
    def key(self) -> str:
        """The address within its module without the instance key, as the configuration names it."""
        return f"data.{self.type}.{self.name}" if self.mode == "data" else f"{self.type}.{self.name}"

    def known(self, attr: str) -> Any:
        """The value of `attr` when known and set (None, "" and unknown values give None)."""
        value = self.values.get(attr)
        return None if value in (None, "") or self.unknown.get(attr) is True else value

    def pending(self, attr: str) -> bool:
        """Whether `attr`, or a part of it, is known only after apply (a plan's after_unknown)."""
        return unknown_in(self.unknown.get(attr))


def unknown_in(marker: Any) -> bool:
    """Whether an after_unknown marker holds an unknown leaf anywhere."""
    if isinstance(marker, dict):
        return any(unknown_in(v) for v in marker.values())
    if isinstance(marker, list):
        return any(unknown_in(v) for v in marker)
    return marker is True


def split(address: str) -> list[str]:
    """`module.a["x.y"].aws_subnet.s[0]` → `module`, `a["x.y"]`, `aws_subnet`, `s[0]`: dots outside keys."""
    parts: list[str] = []
    depth, quoted, escaped, start = 0, False, False, 0
    for i, char in enumerate(address):
        if escaped:
            escaped = False
        elif quoted:
            escaped, quoted = char == "\\", char != '"'
        elif char == '"':
            quoted = True
        elif char in "[]":
            depth += 1 if char == "[" else -1
        elif char == "." and depth == 0:
            parts.append(address[start:i])
            start = i + 1
    parts.append(address[start:])
    return parts


def instance_key(part: str) -> tuple[str, int | str | None]:
    """`s[0]` → (`s`, 0), `a["k"]` → (`a`, `k`), `s` or `s[count.index]` → (`s`, None)."""
    name, bracket, rest = part.partition("[")
    inner = rest[:-1] if bracket and rest.endswith("]") else ""
    if inner.startswith('"'):
        return name, json.loads(inner)
    return name, int(inner) if inner.isdigit() else None


def module_calls(module: str) -> list[str]:
    """The module call names along a module instance address: `module.a["k"].module.b` → [a, b]."""
    parts = split(module) if module else []
    return [instance_key(parts[i + 1])[0] for i in range(0, len(parts) - 1, 2)]


def resources(kind: Kind, raw: dict[str, Any]) -> dict[str, Resource]:
    """Every resource instance of the after-world by address (plans: planned values and their unknowns, data
    sources from the prior state too; states: the values)."""
    if kind == "terraform-state":
        return {r.address: r for r in _walk((raw.get("values") or {}).get("root_module") or {})}
    entries = {c["address"]: c for c in raw.get("resource_changes") or []
               if isinstance(c, dict) and "address" in c and "type" in c and not c.get("deposed")}
    found: dict[str, Resource] = {}
    for res in _walk((raw.get("planned_values") or {}).get("root_module") or {}):
        res.unknown = _unknowns(entries.get(res.address, {}))
        found[res.address] = res
    for address, entry in entries.items():  # data sources read during apply are only in resource_changes
        change = entry.get("change") or {}
        if address not in found and change.get("actions") != ["delete"] and isinstance(change.get("after"), dict):
            found[address] = _resource(entry.get("module_address", ""), entry, change["after"])
            found[address].unknown = _unknowns(entry)
    prior = ((raw.get("prior_state") or {}).get("values") or {}).get("root_module") or {}
    for res in _walk(prior):  # data sources read while planning (Terraform 0.13+) live in the prior state
        if res.mode == "data" and res.address not in found:
            found[res.address] = res
    return found


def _unknowns(entry: dict[str, Any]) -> dict[str, Any]:
    """A resource change's after_unknown markers."""
    unknown = (entry.get("change") or {}).get("after_unknown")
    return unknown if isinstance(unknown, dict) else {}


def _walk(module: dict[str, Any]) -> Iterator[Resource]:
    """The resources of a module and of its child modules, recursively."""
    address = module.get("address", "")
    for item in module.get("resources") or []:
        if isinstance(item, dict) and "type" in item:
            yield _resource(address, item, item.get("values") or {})
    for child in module.get("child_modules") or []:
        yield from _walk(child)


def _resource(module: str, item: dict[str, Any], values: dict[str, Any]) -> Resource:
    """A resource entry; old Terraform (format 0.1) wrote child-module addresses of the prior state without
    their module, so the module address is put back in front."""
    address = item.get("address") or ""
    if module and not address.startswith(module + "."):
        address = f"{module}.{address}"
    return Resource(address, module, item.get("mode", "managed"), item["type"], item.get("name", ""),
                    item.get("index"), values)
