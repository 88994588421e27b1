"""A network document under construction, remembering where each part came from (docs/network-data.md).

Importers fill a `Document` with plain data at paths such as `("security_groups", "sg-1", "ingress", 0)` and the
`Origin` of each (a file with a JSON path, or a Terraform address); `Document.locate` is then the locator the
assembler asks, and `Document.warnings` what the importer skipped or guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vpclab.errors import Origin, Problem
from vpclab.load.problems import Path, nearest



@dataclass
class Document:
    """Plain data in the network document's shape, the origin of every part, and the importer's warnings."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[Path, Origin] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    def put(self, path: Path, value: Any, origin: Origin | None = None) -> Any:
        """Set `value` at `path` (creating the mappings on the way) and remember its origin; returns `value`."""
        node = self.data
        for key in path[:-1]:
            node = node.setdefault(key, {})  # type: ignore[assignment]
        node[path[-1]] = value  # type: ignore[index]
        if origin is not None:
            self.origins[path] = origin
        return value

    def append(self, path: Path, value: Any, origin: Origin | None = None) -> int:
        """Append `value` to the list at `path` (created if missing); returns its index."""
        node = self.data
        for key in path[:-1]:
            node = node.setdefault(key, {})  # type: ignore[assignment]
        items = node.setdefault(path[-1], [])  # type: ignore[index]
        items.append(value)
        if origin is not None:
            self.origins[path + (len(items) - 1,)] = origin
        return len(items) - 1

    def warn(self, origin: Origin | None, message: str, field: str = "") -> None:
        """Record something the importer skipped or guessed."""
        self.warnings.append(Problem(field, message, origin, "warning"))

    def locate(self, path: Path) -> Origin | None:
        """The origin of `path`, or of its nearest enclosing part that has one (the assembler's locator)."""
        return nearest(self.origins, path)
