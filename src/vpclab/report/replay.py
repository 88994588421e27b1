"""`vpclab replay` as JSON and as Rich text: pure functions of a ReplayResult."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vpclab.analysis.flowrows import FlowRow, iso, proto_text
from vpclab.analysis.gates import GateVerdict
from vpclab.analysis.replay import Judged, ReplayResult, Survivor, gate_facts
from vpclab.report.tighten import left_out

SHOWN = 20
"""How many findings of each kind the text shows (JSON holds them all)."""

FIDELITY_MEANING = {
    "log-reject-model-allows": "the log says REJECT, the model allows it (a filter the snapshot lacks, a reply to a "
                               "closed connection (§5.3), or the snapshot is not the configuration of that time)",
    "log-accept-model-blocks": "the log says ACCEPT, the model refuses it (the snapshot is narrower than what ran, "
                               "or the initiator was inferred wrongly)",
}


def row_dict(row: FlowRow) -> dict[str, Any]:
    return {"eni": row.eni, "direction": row.direction, "proto": proto_text(row.protocol),
            "local": f"{row.local_addr}:{row.local_port}", "peer": f"{row.peer_addr}:{row.peer_port}",
            "action": row.action, "initiator": row.initiator, "initiator_evidence": row.evidence,
            "connections": row.connections, "records": row.records, "packets": row.packets, "bytes": row.bytes,
            "first_seen": iso(row.first_seen), "last_seen": iso(row.last_seen),
            "client_ports": None if row.client_min is None else f"{row.client_min}-{row.client_max}"}


def verdict_dict(v: GateVerdict) -> dict[str, Any]:
    return {"allowed": v.allowed, "client_ports": None if v.ports is None else f"{v.ports[0]}-{v.ports[1]}",
            "sg": v.sg, "blockers": [gate_facts(g) for g in v.blockers]}


def judged_dict(j: Judged) -> dict[str, Any]:
    out: dict[str, Any] = {"row": row_dict(j.row), "today": [verdict_dict(v) for v in j.today]}
    if j.proposal is not None:
        out["proposal"] = [verdict_dict(v) for v in j.proposal]
    return out


def survivor_dict(s: Survivor) -> dict[str, Any]:
    return {"row": row_dict(s.row), "tracked": s.tracked, "tcp_established_timeout": s.timeout,
            "duration_s": (s.row.last_seen or 0) - (s.row.first_seen or 0),
            "survives_until": iso(s.until) if s.tracked else None,
            "meaning": (f"established connections keep passing after the revocation while active, and until "
                        f"{s.timeout} s idle (last seen {iso(s.row.last_seen)} → {iso(s.until)})") if s.tracked else
                       "untracked today: the revocation cuts it at once (aws-semantics.md §2.4)"}


def to_dict(result: ReplayResult) -> dict[str, Any]:
    first, last = result.time_range
    return {"snapshot": result.snapshot, "proposal": {"kind": result.proposal_kind, "path": result.proposal},
            "ok": not result.breaks, "first_seen": iso(first), "last_seen": iso(last),
            "broken": [judged_dict(j) for j in result.broken],
            "fidelity": [{"kind": kind, **judged_dict(j)} for kind, j in result.fidelity],
            "tracked_survivors": [survivor_dict(s) for s in result.survivors],
            "enis_not_in_snapshot": result.unknown_enis, "unreadable_files": result.unreadable,
            "counts": result.counts}


def _blockers(verdicts: list[GateVerdict]) -> str:
    parts = []
    for v in verdicts:
        if v.allowed:
            continue
        where = f"client ports {v.ports[0]}-{v.ports[1]}: " if v.ports is not None and len(verdicts) > 1 else ""
        gates = "; ".join(f"{g['component']} {g['id']} {g['direction']} ({g['rule']})" for g in map(gate_facts, v.blockers))
        parts.append(where + gates)
    return " | ".join(parts)


def _row_text(row: FlowRow) -> str:
    arrow = "→" if row.direction == "egress" else "←"
    return (f"{row.eni} {proto_text(row.protocol)} {row.local_addr}:{row.local_port} {arrow} "
            f"{row.peer_addr}:{row.peer_port}")


def render(result: ReplayResult) -> RenderableType:
    c = result.counts
    parts: list[RenderableType] = [Text(
        f"{result.snapshot}: {c.get('rows', 0):,} rows ({c.get('records', 0):,} records), {c.get('judged', 0):,} "
        f"judged by the engine: {c.get('allowed_today', 0):,} allowed today, {c.get('blocked_today', 0):,} refused",
        style="bold")]
    parts.extend(left_out(result.unreadable, c.get("malformed_lines", 0), "this replay"))
    if result.proposal_kind != "none":
        if result.broken:
            table = Table(title=f"the proposal ({result.proposal_kind} {result.proposal}) blocks {len(result.broken)} "
                                "row(s) the logs show ACCEPTed", title_justify="left", title_style="bold red")
            for column in ("row", "initiator", "connections", "last seen", "blocked by"):
                table.add_column(column)
            for j in result.broken[:SHOWN]:
                table.add_row(_row_text(j.row), j.row.initiator, f"{j.row.connections:,}", iso(j.row.last_seen) or "-",
                              _blockers(j.proposal or []))
            parts.append(table)
        else:
            parts.append(Text(f"the proposal ({result.proposal_kind} {result.proposal}) blocks nothing the logs show "
                              "ACCEPTed", style="bold green"))
    if result.survivors:
        tracked = sum(1 for s in result.survivors if s.tracked)
        parts.append(Text(f"broken connections open today (aws-semantics.md §2.4): {tracked} tracked keep passing "
                          f"while active, {len(result.survivors) - tracked} untracked are cut at once", style="bold"))
        table = Table(title_justify="left")
        for column in ("connection", "duration", "last seen", "keeps passing until", "idle timeout"):
            table.add_column(column)
        for s in result.survivors[:SHOWN]:
            table.add_row(_row_text(s.row), f"{(s.row.last_seen or 0) - (s.row.first_seen or 0)} s",
                          iso(s.row.last_seen) or "-", iso(s.until) if s.tracked else "cut at once (untracked)",
                          f"{s.timeout} s" if s.tracked else "-")
        parts.append(table)
    by_kind: dict[str, list[Judged]] = {}
    for kind, j in result.fidelity:
        by_kind.setdefault(kind, []).append(j)
    for kind, items in by_kind.items():
        table = Table(title=f"fidelity: {len(items)} row(s) — {FIDELITY_MEANING[kind]}", title_justify="left",
                      title_style="yellow")
        for column in ("row", "records", "model"):
            table.add_column(column)
        for j in items[:SHOWN]:
            model = _blockers(j.today) or "allowed: " + ", ".join(sorted({v.sg for v in j.today}))
            table.add_row(_row_text(j.row), f"{j.row.records:,}", model)
        parts.append(table)
    if not result.fidelity and c.get("judged", 0):
        parts.append(Text(f"the logs agree with the model on all {c['judged']:,} judged rows (no fidelity finding)",
                          style="green"))
    if result.unknown_enis:
        names = ", ".join(f"{e} ({n:,} records)" for e, n in list(result.unknown_enis.items())[:5])
        parts.append(Text(f"fidelity: {len(result.unknown_enis)} ENI(s) in the logs are not in the snapshot, their "
                          f"rows are not judged: {names}", style="yellow"))
    skipped = {k: v for k, v in c.items() if k.startswith("not_judged") and v}
    if skipped:
        parts.append(Text("not judged: " + ", ".join(f"{k[len('not_judged_'):].replace('_', ' ')} {v:,} rows"
                                                      for k, v in skipped.items()), style="dim"))
    return Group(*parts)
