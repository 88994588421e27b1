"""The replay report's context: what the proposal would break (each broken row with its flows and the rule that
blocks it), the fidelity findings (logs vs model), the tracked connections that would outlive a revocation and
until when, the ENIs not judged, and the counts.

Pure: a function of `replay --json` (lists kept in the JSON's order, dicts iterated sorted).
"""

from __future__ import annotations

import datetime
from typing import Any

from vpclab.report.replay import FIDELITY_MEANING

FIDELITY = {"log-reject-model-allows": "the log says REJECT, the model allows it",
            "log-accept-model-blocks": "the log says ACCEPT, the model refuses it"}
"""Fidelity kind -> its headline (the meaning, from the text report, follows it)."""

#: how the security group decided (gates.GateVerdict.sg) in words
SG_HOW = {"rule": "a rule admits it", "tracked": "a reply on a tracked connection",
          "untracked": "untracked: a rule admits it both ways", "refused": "no rule admits it",
          "no-request": "a reply whose request no rule admits", "none": "no security group on the ENI"}

#: count key -> label, in the order the report lists them (others follow, sorted)
COUNTS = (("rows", "aggregated rows"), ("records", "flow-log records"), ("judged", "rows judged by the engine"),
          ("judged_records", "records in the judged rows"), ("allowed_today", "rows allowed today"),
          ("blocked_today", "rows refused today"), ("broken", "rows the proposal breaks"),
          ("fidelity", "fidelity findings"))

NOT_JUDGED = {"not_judged_eni_not_in_snapshot": "rows not judged: ENI not in the snapshot",
              "not_judged_eni_not_in_proposal": "rows not judged under the proposal: ENI not in it",
              "not_judged_direction_unknown": "rows not judged: direction unknown",
              "not_judged_no_address_or_protocol": "rows not judged: no address or protocol",
              "not_judged_mixed_family": "rows not judged: IPv4 and IPv6 mixed"}


def row_text(row: dict[str, Any]) -> str:
    """`eni-… tcp 10.0.1.11:22 → 192.0.2.10:ephemeral` (→ leaving the ENI, ← arriving)."""
    arrow = "→" if row["direction"] == "egress" else "←"
    return f"{row['proto']} {row['local']} {arrow} {row['peer']}"


def _gate(g: dict[str, Any]) -> dict[str, Any]:
    allowed = g["decision"] == "allow"
    return {"component": g["component"], "id": g["id"], "direction": g["direction"], "rule": g["rule"],
            "source": g.get("source", ""), "state": "ok" if allowed else "bad", "symbol": "✓" if allowed else "✗",
            "text": f"{'security group' if g['component'] == 'sg' else 'network ACL'} {g['id']} {g['direction']}"}


def verdicts(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Each span's verdict: allowed or not, how the group decided, the gates that block it."""
    out = []
    for v in items or []:
        out.append({"allowed": v["allowed"], "state": "ok" if v["allowed"] else "bad",
                    "word": "✓ allowed" if v["allowed"] else "✗ blocked",
                    "client_ports": v["client_ports"] if len(items or []) > 1 else None,
                    "sg": SG_HOW.get(v["sg"], v["sg"]), "blockers": [_gate(g) for g in v["blockers"]]})
    return out


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "text": row_text(row), "key": "|".join(str(row[k]) for k in ("eni", "direction", "proto", "local",
                                                                              "peer", "action"))}


def _judged(j: dict[str, Any]) -> dict[str, Any]:
    return {"row": _row(j["row"]), "today": verdicts(j["today"]), "proposal": verdicts(j.get("proposal")),
            "has_proposal": "proposal" in j}


def _verdict_line(data: dict[str, Any]) -> tuple[str, str]:
    kind, path = data["proposal"]["kind"], data["proposal"]["path"]
    if not data["counts"].get("judged", 0):
        return "warn", "⚠ Nothing judged: no row of the logs is at an ENI the snapshot holds."
    if kind == "none":
        return "info", "No proposal: today's model judged against the logs."
    n = len(data["broken"])
    if n:
        return "bad", f"✗ The proposal ({kind} {path}) breaks {n} row{'s' if n != 1 else ''} the logs show ACCEPTed."
    return "ok", f"✓ The proposal ({kind} {path}) blocks nothing the logs show ACCEPTed."


def _epoch(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


LANE, LABEL, WIDTH, RIGHT = 34, 430, 1000, 190
"""The survivors chart's geometry (SVG user units): lane height, label column, total width, 'until' column."""


def timeline(survivors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The tracked survivors on one time axis: what the logs show (first → last seen), then how long each would
    still pass idle after the revocation (→ last seen + timeout). None without a tracked survivor."""
    tracked = [s for s in survivors if s["tracked"] and s["until"] and s["row"]["first_seen"] and s["row"]["last_seen"]]
    if not tracked:
        return None
    start = min(_epoch(s["row"]["first_seen"]) for s in tracked)
    end = max(_epoch(s["until"]) for s in tracked)
    span = max(end - start, 1.0)

    def x(iso: str) -> float:
        return round(LABEL + (WIDTH - LABEL - RIGHT) * (_epoch(iso) - start) / span, 1)

    lanes = []
    for i, s in enumerate(tracked):
        first, last, until = x(s["row"]["first_seen"]), x(s["row"]["last_seen"]), x(s["until"])
        lanes.append({"y": 24 + i * LANE, "label": f"{s['row']['eni']} {s['row']['text']}", "key": s["row"]["key"],
                      "seen_x": first, "seen_w": max(round(last - first, 1), 2.0), "idle_x": last,
                      "idle_w": round(until - last, 1), "until": s["until"], "last_seen": s["row"]["last_seen"]})
    return {"lanes": lanes, "height": 24 + len(lanes) * LANE + 4, "width": WIDTH, "label_w": LABEL,
            "chart_end": WIDTH - RIGHT,
            "start": min((s["row"]["first_seen"] for s in tracked), key=_epoch),
            "end": max((s["until"] for s in tracked), key=_epoch)}


def view(data: dict[str, Any]) -> dict[str, Any]:
    """The template's context for the replay JSON."""
    c = data["counts"]
    fidelity = []
    for kind in sorted({f["kind"] for f in data["fidelity"]}):
        items = [_judged(f) for f in data["fidelity"] if f["kind"] == kind]
        headline, meaning = FIDELITY.get(kind, kind), FIDELITY_MEANING.get(kind, "")
        causes = meaning[len(headline):].strip().removeprefix("(").removesuffix(")") \
            if meaning.startswith(headline) else meaning
        fidelity.append({"kind": kind, "headline": headline, "causes": causes, "rows": items})
    survivors = [{"row": _row(s["row"]), "tracked": s["tracked"], "timeout": s["tcp_established_timeout"],
                  "duration": s["duration_s"], "until": s["survives_until"], "meaning": s["meaning"]}
                 for s in data["tracked_survivors"]]
    known = {k for k, _ in COUNTS}
    counts = [(k, label, c[k]) for k, label in COUNTS if k in c]
    counts += [(k, NOT_JUDGED.get(k, k.replace("not_judged_", "rows not judged: ").replace("_", " ")), v)
               for k, v in sorted(c.items()) if k not in known]
    state, verdict = _verdict_line(data)
    return {"title": f"Replay: {data['snapshot']}", "kind": "replay",
            "subtitle": f"{c.get('rows', 0):,} rows ({c.get('records', 0):,} records) of flow logs; "
                        f"{c.get('judged', 0):,} judged by the engine at the ENI that logged them, today"
                        + ("" if data["proposal"]["kind"] == "none" else " and under the proposal"),
            "snapshot": data["snapshot"], "proposal": data["proposal"], "ok": data["ok"], "verdict": verdict,
            "verdict_state": state, "first_seen": data["first_seen"], "last_seen": data["last_seen"],
            "broken": [_judged(j) for j in data["broken"]], "fidelity": fidelity,
            "fidelity_count": len(data["fidelity"]), "survivors": survivors,
            "tracked_count": sum(1 for s in survivors if s["tracked"]), "timeline": timeline(survivors),
            "counts": counts, "judged": c.get("judged", 0),
            "missing_enis": sorted(data["enis_not_in_snapshot"].items())}
