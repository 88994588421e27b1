"""The human timeline of a lab run: each step, expected and actual outcome, and why packets were dropped."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vpclab.lab.runner import LabResult, StepResult


def render(result: LabResult, verbose: bool = False) -> RenderableType:
    """A Rich renderable: header, one block per step, and a verdict line."""
    parts: list[RenderableType] = [_header(result)]
    width = min(max((len(s.description) for s in result.steps), default=10), 60)
    places = max((len(_place(t)) for s in result.steps for p in s.packets for t in p["trace"]), default=0)
    for step in result.steps:
        parts.append(_step_line(step, width))
        if step.detail and not step.packets:  # no packet to explain it: say why (e.g. the connection is not open)
            parts.append(Text(f"        {step.detail}", style="red" if step.outcome in ("dropped", "blocked") else "dim"))
        for packet in step.packets:
            if verbose:
                parts.append(_packet_line(packet))
                parts.extend(_trace_lines(packet, places))
            elif packet["verdict"] == "dropped":
                parts.append(Text(f"        ✗ {packet['summary']} {packet['src']} → {packet['dst']}: "
                                  f"{packet.get('reason', packet['code'])}", style="red"))
        if verbose and step.conntrack:
            parts.extend(_conntrack_lines(step.conntrack))
    parts.append(_footer(result))
    return Group(*parts)


def _header(result: LabResult) -> Text:
    text = Text()
    text.append(result.lab, style="bold")
    text.append(f" — {result.title}  ")
    text.append(f"[{result.backend}]", style="dim")
    return text


def _step_line(step: StepResult, width: int) -> Text:
    """`  2  connect testa → testb:4321 as c1   established ✓` (or `✗ expected …`)."""
    line = Text(f"  {step.index:>2}  ")
    line.append(f"{step.description:<{width}}  ")
    if step.expect is None:
        line.append(step.outcome, style="dim")
        return line
    style = "green" if step.ok else "bold red"
    line.append(step.outcome, style=style)
    line.append(" ✓" if step.ok else f" ✗ expected {step.expect}", style=style)
    return line


def _packet_line(packet: dict[str, Any]) -> Text:
    allowed = packet["verdict"] == "allowed"
    line = Text(f"        {packet['time']:9.3f}  {packet['proto']} {packet['src']} → {packet['dst']} ", style="cyan")
    line.append(f"{packet['summary']}  ")
    line.append(packet["verdict"], style="green" if allowed else "bold red")
    return line


def _place(step: dict[str, Any]) -> str:
    """Where a trace step happened: `sg sg-web web ingress`, `nacl default egress`, `route igw`."""
    return " ".join(x for x in (step["component"], step["id"], step.get("host", ""), step.get("direction", "")) if x)


def _trace_lines(packet: dict[str, Any], width: int) -> list[Text]:
    """One line per gate: where (padded to `width`), decision, reason — at least two spaces between columns."""
    lines = []
    for step in packet["trace"]:
        style = {"allow": "green", "deny": "red"}.get(step["decision"], "dim")
        line = Text("                   ")
        line.append(f"{_place(step):<{width}}  ", style="dim")
        line.append(f"{step['decision']:<5} ", style=style)
        line.append(f" {step['reason']} ")
        line.append(f"[{step['code']}]", style="dim")
        if step.get("source"):
            line.append(f"  {step['source']}", style="dim cyan")
        lines.append(line)
    return lines


def _conntrack_lines(tables: dict[str, list[dict[str, Any]]]) -> list[Text]:
    lines = []
    for host, entries in tables.items():
        for entry in entries:
            lines.append(Text(f"        conntrack {host}: {entry['flow']}  {entry['state']}  "
                              f"expires in {entry['expires_in']:g} s  (opened by {entry['opened_by']})",
                              style="magenta"))
    return lines


def _footer(result: LabResult) -> Text:
    checked = [s for s in result.steps if s.expect is not None]
    if result.ok:
        return Text(f"PASS  {len(checked)} expectations met in {len(result.steps)} steps", style="bold green")
    failed = ", ".join(str(s.index) for s in result.failures)
    return Text(f"FAIL  {len(result.failures)} of {len(checked)} expectations not met (step {failed})",
                style="bold red")
