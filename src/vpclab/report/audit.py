"""Audit results as JSON (DESIGN.md, "Questions": `{"findings": [...], "checks_run": [...]}`) and as Rich text:
pure functions of an `AuditResult`."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vpclab.analysis.audit.finding import AuditResult, Check, Finding, Severity

_STYLE = {Severity.HIGH: "bold red", Severity.MEDIUM: "yellow", Severity.LOW: "cyan", Severity.INFO: "dim"}


def finding_dict(f: Finding) -> dict[str, Any]:
    """One finding in the contract's shape."""
    return {"check": f.check, "severity": f.severity.value, "resource": f.resource, "message": f.message,
            "evidence": dict(f.evidence), "source": str(f.source) if f.source else "",
            "fix": {"text": f.fix.text, "cli": f.fix.cli}}


def check_dict(c: Check, result: AuditResult) -> dict[str, Any]:
    return {"id": c.id, "title": c.title, "severity": c.severity.value, "rationale": c.rationale,
            "aws_source": c.aws_source, "fix": c.fix, "findings": sum(1 for f in result.findings if f.check == c.id)}


def to_dict(result: AuditResult) -> dict[str, Any]:
    """The whole run: findings, the checks that ran (with their metadata and counts), totals per severity."""
    return {"snapshot": result.snapshot, "kind": result.kind,
            "findings": [finding_dict(f) for f in result.findings],
            "checks_run": [check_dict(c, result) for c in result.checks], "summary": result.counts(),
            "warnings": [{"where": str(w.origin) if w.origin else "", "message": f"{w.field}: {w.message}"
                          if w.field else w.message} for w in result.warnings]}


def render(result: AuditResult, threshold: Severity | None = None) -> RenderableType:
    """The checks that ran with their counts, then each finding (highest severity first) with its source and fix,
    and a summary line."""
    parts: list[RenderableType] = [Text(f"{result.snapshot} ({result.kind}): {len(result.checks)} checks, "
                                        f"{len(result.findings)} findings", style="bold")]
    table = Table("check", "severity", "findings", "title", title_justify="left")
    for c in result.checks:
        count = sum(1 for f in result.findings if f.check == c.id)
        table.add_row(c.id, Text(c.severity.value, style=_STYLE[c.severity]), str(count), c.title)
    parts.append(table)
    for f in sorted(result.findings, key=lambda f: -f.severity.rank):
        block = Text()
        block.append(f"{f.severity.value.upper():6} ", style=_STYLE[f.severity])
        block.append(f"{f.check}  {f.resource}\n", style="bold")
        block.append(f"  {f.message}\n")
        if f.source:
            block.append(f"  source: {f.source}\n", style="dim")
        block.append(f"  fix: {f.fix.text}", style="green")
        if f.fix.cli:
            block.append(f"\n  $ {f.fix.cli}", style="dim green")
        parts.append(block)
    if result.warnings:
        parts.append(Text(f"{len(result.warnings)} warning(s) while reading the snapshot: `vpclab import "
                          f"{result.snapshot}` lists them", style="yellow"))
    counts = ", ".join(f"{n} {s}" for s, n in result.counts().items() if n) or "nothing found"
    line = Text(f"findings: {counts}")
    if threshold is not None:
        failing = len(result.failing(threshold))
        line.append(f"; {failing} at or above --fail-on {threshold.value}"
                    + (" (exit 1)" if failing else ""), style="bold red" if failing else "green")
    parts.append(line)
    return Group(*parts)
