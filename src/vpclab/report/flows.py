"""`vpclab flows summary` as text: what the logs hold, how records were read and how initiators were inferred."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vpclab.flows.summary import FlowSummary


def iso(seconds: int | None) -> str:
    """Unix seconds as ISO 8601 UTC ('-' when unknown)."""
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(summary: FlowSummary) -> RenderableType:
    """A Rich renderable of the summary."""
    first, last = summary.time_range
    k = summary.kinds
    parts: list[RenderableType] = [
        Text(f"{len(summary.files)} file(s), {summary.records:,} record(s) read with {summary.engine}"
             + (f"; {len(summary.unreadable)} file(s) could not be read (below)" if summary.unreadable else "")
             + (f"; {len(summary.skipped)} file(s) skipped by name" if summary.skipped else ""), style="bold"),
        Text(f"time range  {iso(first)} → {iso(last)}"),
        Text(f"records     {k.get('record', 0):,} with addresses, {k.get('no-address', 0):,} without, "
             f"NODATA {k.get('nodata', 0):,}, SKIPDATA {k.get('skipdata', 0):,}, malformed lines {summary.malformed:,}"),
        Text(f"traffic     {summary.packets:,} packets, {summary.bytes:,} bytes; {summary.rows:,} aggregate row(s)"),
    ]
    versions = Table(title="by version and action", title_justify="left", box=None, pad_edge=False)
    for column in ("version", "action", "records"):
        versions.add_column(column, justify="right" if column == "records" else "left")
    for version, action, n in summary.by_action:
        versions.add_row(version, action, f"{n:,}")
    parts.append(versions)
    enis = Table(title=f"ENIs: {summary.eni_count}" + (f" (top {len(summary.enis)})" if summary.eni_count > len(
        summary.enis) else ""), title_justify="left", box=None, pad_edge=False)
    for column in ("interface", "records", "NODATA", "SKIPDATA"):
        enis.add_column(column, justify="left" if column == "interface" else "right")
    for eni, n, nodata, skipdata in summary.enis:
        enis.add_row(eni, f"{n:,}", f"{nodata:,}", f"{skipdata:,}")
    parts.append(enis)
    initiators = Table(title="initiators by evidence", title_justify="left",
                       box=None, pad_edge=False)
    for column in ("initiator", "evidence", "rows", "records", "connections"):
        initiators.add_column(column, justify="left" if column in ("initiator", "evidence") else "right")
    for who, evidence, rows, n, conns in summary.initiators:
        initiators.add_row(who, evidence, f"{rows:,}", f"{n:,}", f"{conns:,}")
    parts.append(initiators)
    if summary.directions:
        parts.append(Text("direction   " + ", ".join(f"{d} by {e}: {n:,}" for d, e, n in summary.directions)))
    if summary.dashes:
        parts.append(Text("'-' values  " + ", ".join(f"{f} {n:,}" for f, n in summary.dashes.items())))
    if summary.malformed:
        parts.append(Text(f"malformed lines: {summary.malformed:,} in {len(summary.malformed_by_file)} file(s)"
                          + (f", first {len(summary.examples)}:" if summary.examples else ""), style="yellow"))
        parts.extend(Text(f"  {p}", style="yellow") for p in summary.examples)
    for problem in summary.problems:
        parts.append(Text(f"{'unreadable' if problem.fatal_for_file else 'warning'}: {problem}",
                          style="red" if problem.fatal_for_file else "yellow"))
    return Group(*parts)
