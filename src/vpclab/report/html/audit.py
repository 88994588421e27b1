"""The audit report's context: findings grouped by severity and, within one, by resource, each with its evidence,
source and fix; an index by resource; the checks that ran.

Pure: a function of `audit --format json`. Evidence is free-form per check, so it is turned into a small tree of
nodes (text, rule, path, list, map) the template draws recursively.
"""

from __future__ import annotations

from typing import Any

SEVERITIES = ("high", "medium", "low", "info")

#: severity -> (CSS state, symbol shown beside the colour)
STATES = {"high": ("bad", "▲"), "medium": ("warn", "◆"), "low": ("info", "▼"), "info": ("muted", "ℹ")}


def _rule_text(rule: dict[str, Any]) -> str:
    head = " ".join(str(rule[k]) for k in ("owner", "direction") if rule.get(k))
    number = f" rule {rule['number']}" if rule.get("number") is not None else ""
    return f"{head}{number}: {rule['rule']}"


def _hop_text(hop: dict[str, Any]) -> str:
    at = " ".join(str(hop[k]) for k in ("eni", "direction") if hop.get(k))
    rule = f" — {hop['rule']['rule']}" if isinstance(hop.get("rule"), dict) else ""
    where = f" at {at}" if at else ""
    return f"{hop['component']} {hop['id']}{where}: {hop['decision']} ({hop['code']}){rule}"


def node(value: Any) -> dict[str, Any]:
    """One evidence value as a node the template draws."""
    if isinstance(value, dict) and "rule" in value and "owner" in value:
        return {"type": "rule", "text": _rule_text(value), "source": str(value.get("source", ""))}
    if isinstance(value, dict) and "forward" in value and "reachable" in value:
        what = f"{value.get('proto', '')}/{value['port']}" if value.get("port") is not None else value.get("proto", "")
        hops = [{"path": name, "text": _hop_text(h), "source": str(h.get("source", "")),
                 "state": {"allow": "ok", "deny": "bad"}.get(h.get("decision", ""), "info"),
                 "symbol": {"allow": "✓", "deny": "✗"}.get(h.get("decision", ""), "→")}
                for name in ("forward", "return") for h in value.get(name, [])]
        return {"type": "path", "reachable": bool(value["reachable"]), "hops": hops,
                "summary": f"{value.get('from', '')} → {value.get('to', '')}"
                           + (f" ({value['address']})" if value.get("address") else "") + f" {what}",
                "blockers": [node(b) for b in value.get("blockers", [])]}
    if isinstance(value, dict):
        return {"type": "map", "entries": [(str(k), node(v)) for k, v in value.items()]}
    if isinstance(value, list):
        if all(isinstance(v, list) and len(v) == 2 and v[0] == v[1] for v in value) and value:
            return {"type": "text", "value": ", ".join(str(v[0]) for v in value)}
        if all(isinstance(v, list) and len(v) == 2 for v in value) and value:
            return {"type": "text", "value": ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in value)}
        if all(not isinstance(v, (dict, list)) for v in value):
            return {"type": "text", "value": ", ".join(str(v) for v in value) if value else "(none)"}
        return {"type": "list", "entries": [node(v) for v in value]}
    if isinstance(value, bool):
        return {"type": "text", "value": "yes" if value else "no"}
    return {"type": "text", "value": "–" if value is None else str(value)}


def view(data: dict[str, Any]) -> dict[str, Any]:
    """The template's context for the audit JSON."""
    checks = {c["id"]: c for c in data["checks_run"]}
    findings = []
    for i, f in enumerate(data["findings"], start=1):
        state, symbol = STATES.get(f["severity"], ("muted", "•"))
        check = checks.get(f["check"], {})
        findings.append({"n": i, "anchor": f"finding-{i}", "check": f["check"], "title": check.get("title", f["check"]),
                         "severity": f["severity"], "state": state, "symbol": symbol, "resource": f["resource"],
                         "message": f["message"], "source": f.get("source", ""),
                         "evidence": [(str(k), node(v)) for k, v in f.get("evidence", {}).items()],
                         "fix_text": f.get("fix", {}).get("text", ""), "fix_cli": f.get("fix", {}).get("cli", ""),
                         "aws_source": check.get("aws_source", "")})
    order = {s: i for i, s in enumerate(SEVERITIES)}
    severities = []
    for sev in sorted({f["severity"] for f in findings}, key=lambda s: (order.get(s, len(order)), s)):
        mine = [f for f in findings if f["severity"] == sev]
        resources = sorted({f["resource"] for f in mine})
        state, symbol = STATES.get(sev, ("muted", "•"))
        severities.append({"severity": sev, "state": state, "symbol": symbol, "count": len(mine),
                           "resources": [{"resource": r, "findings": [f for f in mine if f["resource"] == r]}
                                         for r in resources]})
    by_resource = []
    for r in sorted({f["resource"] for f in findings}):
        mine = [f for f in findings if f["resource"] == r]
        by_resource.append({"resource": r, "counts": [sum(1 for f in mine if f["severity"] == s) for s in SEVERITIES],
                            "findings": mine})
    summary = [(s, data.get("summary", {}).get(s, 0), *STATES[s]) for s in SEVERITIES]
    return {"title": f"Audit: {data['snapshot']}", "kind": "audit",
            "subtitle": f"{len(findings)} finding{'s' if len(findings) != 1 else ''} from {len(data['checks_run'])} "
                        f"checks on a {data['kind']} snapshot",
            "snapshot": data["snapshot"], "snapshot_kind": data["kind"], "findings": findings,
            "severities": severities, "by_resource": by_resource, "summary": summary,
            "severity_names": SEVERITIES, "checks": data["checks_run"], "warnings": data.get("warnings", [])}
