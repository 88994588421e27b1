"""The lab-diff report: the simulator's and the kernel's outcome side by side per step, whether they agree, a
listed difference explains the disagreement (docs/assumptions.md) or nothing does, and both runs' timelines."""

from __future__ import annotations

from typing import Any

from vpclab.lab.differences import DIFFERENCES
from vpclab.report.html.labrun import run_view

SUMMARIES = {d.id: d.summary for d in DIFFERENCES}


def view(data: dict[str, Any]) -> dict[str, Any]:
    """The template's context for `vpclab lab diff LAB --html` (data: its `--json`, both runs included)."""
    rows = [_row(r) for r in data["steps"]]
    runs = {name: run_view(data["runs"][name]) for name in ("sim", "kernel")}
    counts = {status: sum(1 for r in rows if r["status"] == status) for status in ("agree", "listed", "unexplained")}
    listed = sorted({i for r in rows for i in r["listed"]})
    title = data["runs"]["sim"]["title"]
    subtitle = f"{title} · simulator vs kernel · " + (
        "the backends agree, or a listed difference explains each disagreement" if data["ok"]
        else f"{counts['unexplained']} unexplained disagreement(s)")
    return {"title": f"Lab {data['lab']}: simulator vs kernel", "subtitle": subtitle, "kind": "lab-diff",
            "lab": data["lab"], "ok": data["ok"], "rows": rows, "counts": counts, "runs": runs,
            "differences": [{"id": i, "summary": SUMMARIES.get(i, "")} for i in listed]}


def _row(row: dict[str, Any]) -> dict[str, Any]:
    if row["agree"]:
        status, word, css = "agree", "✓ agree", "ok"
    elif row["listed"]:
        status, word, css = "listed", f"⚠ listed difference ({', '.join(row['listed'])})", "warn"
    else:
        status, word, css = "unexplained", "✗ unexplained disagreement", "bad"
    expect = row["expect"]
    return {"index": row["index"], "description": row["description"], "expect": expect,
            "sim": row["sim"], "kernel": row["kernel"], "status": status, "word": word, "css": css,
            "listed": row["listed"], "sim_mark": _mark(expect, row["sim"]), "kernel_mark": _mark(expect, row["kernel"])}


def _mark(expect: str | None, outcome: str) -> dict[str, str]:
    """Whether one backend's outcome met the step's expectation, in a symbol and a word."""
    if expect is None:
        return {"text": "", "css": "muted"}
    return {"text": "✓ as expected", "css": "ok"} if outcome == expect else {"text": f"✗ expected {expect}",
                                                                           "css": "bad"}
