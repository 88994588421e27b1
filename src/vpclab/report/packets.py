"""Packets and their verdicts as JSON-ready dicts and as Rich text lines."""

from __future__ import annotations

from rich.text import Text

from vpclab.engine.packet import Packet
from vpclab.engine.verdict import Verdict
from vpclab.model.protocols import protocol_name


def packet_dict(time: float, packet: Packet, verdict: Verdict) -> dict[str, object]:
    """The JSON shape of one packet in a lab result (DESIGN.md, 'The lab file')."""
    return {"time": round(time, 6), "src": packet.endpoint("src"), "dst": packet.endpoint("dst"),
            "proto": protocol_name(packet.proto), "summary": packet.summary(),
            "verdict": "allowed" if verdict.allowed else "dropped", "code": verdict.code,
            "trace": [step.to_dict() for step in verdict.trace]}


def packet_line(time: float, packet: Packet, verdict: Verdict) -> Text:
    """`  0.000  198.18.1.10:32768 → 198.18.2.20:4321 SYN  allowed` (coloured)."""
    line = Text(f"  {time:8.3f}  ")
    line.append(f"{protocol_name(packet.proto)} {packet.endpoint('src')} → {packet.endpoint('dst')} ", style="cyan")
    line.append(packet.summary() + "  ")
    line.append("allowed" if verdict.allowed else "dropped", style="green" if verdict.allowed else "bold red")
    if not verdict.allowed:
        line.append(f"  {verdict.reason()}", style="red")
    return line


def trace_lines(verdict: Verdict) -> list[Text]:
    """Every step of a verdict's trace, one indented line each."""
    lines = []
    for step in verdict.trace:
        style = {"allow": "green", "deny": "red"}.get(step.decision, "dim")
        line = Text("             ")
        line.append(f"{step.component:<9} {step.id:<12} {(step.host or ''):<8} {(step.direction or ''):<8}",
                    style="dim")
        line.append(f"{step.decision:<6}", style=style)
        line.append(f" {step.reason} ")
        line.append(f"[{step.code}]", style="dim")
        lines.append(line)
    return lines
