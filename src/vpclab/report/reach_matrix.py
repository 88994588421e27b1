"""The reach matrix as Rich text (classes, then a class-by-class grid or list), JSON and CSV: pure renderers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vpclab.analysis.matrix import Matrix
from vpclab.model.protocols import protocol_name

#: up to this many classes the text output is a grid; beyond it, the reachable class pairs are listed
GRID_LIMIT = 24


def _what(m: Matrix) -> str:
    return f"{protocol_name(m.proto)}/{m.port}" if m.port is not None else protocol_name(m.proto)


def to_dict(m: Matrix) -> dict[str, Any]:
    """`{"proto", "port", "enis", "classes": [{"class", "vpc", "subnet", "groups", "public", "enis"}], "pairs": [{"from",
    "to", "reachable", "blockers": [{"code", "path", "component", "id", "direction"}]}], "reachable_eni_pairs", "questions"}`;
    pairs are of classes (expand with each class's ENIs)."""
    pairs = []
    reachable = 0
    for (i, j), cell in sorted(m.cells.items()):
        n = len(m.classes[i].members) * len(m.classes[j].members) - (len(m.classes[i].members) if i == j else 0)
        reachable += n if cell.reachable else 0
        pairs.append({"from": i, "to": j, "reachable": cell.reachable, "eni_pairs": n,
                      "blockers": [{"code": c, "path": p, "component": k, "id": x, "direction": d}
                                   for c, p, k, x, d in cell.blockers]})
    return {"proto": protocol_name(m.proto), "port": m.port, "enis": m.eni_count,
            "classes": [{"class": c.index, "vpc": c.vpc, "subnet": c.subnet, "groups": list(c.groups), "public": c.public,
                         "enis": list(c.members)} for c in m.classes],
            "pairs": pairs, "reachable_eni_pairs": reachable, "questions": m.questions}


def csv_lines(m: Matrix) -> Iterator[str]:
    """One line per ordered ENI pair: `from,to,reachable,blockers`, each blocker `code:path:component:id:direction`,
    `;`-joined."""
    yield "from,to,reachable,blockers"
    for a, b, cell in m.pairs():
        blockers = ";".join(":".join(item) for item in cell.blockers)
        yield f"{a},{b},{'true' if cell.reachable else 'false'},{blockers}"


def render(m: Matrix) -> RenderableType:
    """The classes, then who reaches whom."""
    classes = Table("class", "subnet", "groups", "public IP", "ENIs", title=f"{m.eni_count} ENIs in {len(m.classes)} "
                    f"classes ({m.questions} questions for {_what(m)})", title_justify="left")
    for c in m.classes:
        shown = ", ".join(c.members[:3]) + (f" … +{len(c.members) - 3}" if len(c.members) > 3 else "")
        classes.add_row(f"C{c.index}", c.subnet, ", ".join(c.groups) or "(none)", "yes" if c.public else "",
                        shown)
    parts: list[RenderableType] = [classes]
    if len(m.classes) <= GRID_LIMIT:
        grid = Table("from \\ to", *[f"C{c.index}" for c in m.classes], title="reachable (✓) or the first blocker",
                     title_justify="left")
        for ci in m.classes:
            row = []
            for cj in m.classes:
                cell = m.cells.get((ci.index, cj.index))
                if cell is None:
                    row.append(Text("·", style="dim"))
                elif cell.reachable:
                    row.append(Text("✓", style="bold green"))
                else:
                    row.append(Text(_short(cell.blockers[0][0]) if cell.blockers else "✗", style="red"))
            grid.add_row(f"C{ci.index}", *row)
        parts.append(grid)
        shown = sorted({c.blockers[0][0] for c in m.cells.values() if not c.reachable and c.blockers
                        and _short(c.blockers[0][0]) != c.blockers[0][0]})
        if shown:
            parts.append(Text("; ".join(f"{_short(code)} = {code}" for code in shown) + " (the codes of --json)",
                              style="dim"))
    else:
        listed = Table("from", "to", "ENI pairs", title="reachable class pairs", title_justify="left")
        for (i, j), cell in sorted(m.cells.items()):
            if cell.reachable:
                n = len(m.classes[i].members) * len(m.classes[j].members) - (len(m.classes[i].members) if i == j else 0)
                listed.add_row(f"C{i}", f"C{j}", str(n))
        parts.append(listed)
    return Group(*parts)


def _short(code: str) -> str:
    return {"ENI_SG_RULES_MISMATCH": "SG", "SUBNET_ACL_RESTRICTION": "NACL", "NO_ROUTE_TO_DESTINATION": "ROUTE"
            }.get(code, code)
