"""HTML reports: one self-contained file per answer, rendered from the same JSON `--json` prints (issue 12).

Pure: `render(kind, data)` depends on nothing but its arguments (no clock, no files read at render time beyond the
package's own templates), so the same JSON gives byte-identical HTML. Styles and scripts are inline; nothing is
fetched, so a report opens offline from `file://` and can be attached to a ticket. Each kind is a small module
(`view(data) -> dict`, the template's context) and a Jinja2 template `templates/<kind>.html.j2` extending
`base.html.j2`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

KINDS: dict[str, str] = {
    "lab-run": "labrun",
    "lab-diff": "labdiff",
    "reach": "reach",
    "matrix": "matrix",
    "audit": "audit",
    "tighten": "tighten",
    "replay": "replay",
}
"""Report kind -> its module in this package (and its template, `templates/<module>.html.j2`)."""


def _environment():  # type: ignore[no-untyped-def]
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("vpclab.report.html", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    from vpclab.report.html import filters

    env.filters.update(filters.FILTERS)
    return env


_ENV = None


def environment():  # type: ignore[no-untyped-def]
    """The one Jinja2 environment (autoescaping on, undefined names are errors, the shared filters)."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def render(kind: str, data: dict[str, Any]) -> str:
    """The HTML report of one answer (`data`: what the command's `--json` prints)."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r} (expected one of {', '.join(KINDS)})")
    module = importlib.import_module(f"vpclab.report.html.{KINDS[kind]}")
    context = module.view(data)
    return environment().get_template(f"{KINDS[kind]}.html.j2").render(**context)


def write(kind: str, data: dict[str, Any], path: Path) -> None:
    """Render and write the report (UTF-8); the caller reports where."""
    path.write_text(render(kind, data), encoding="utf-8")


__all__ = ["KINDS", "environment", "render", "write"]
