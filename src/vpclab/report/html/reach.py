"""The reach report's context: both paths hop by hop, the blocking hops marked, every blocker with its fix.

Pure: a function of reach's `--json` object (one answer, or `{"reachable", "answers": [...]}` for an instance
with several ENIs); the template draws it.
"""

from __future__ import annotations

from typing import Any

#: a route hop's id prefix -> the gateway it names
GATEWAYS: tuple[tuple[str, str], ...] = (
    ("igw", "Internet gateway"), ("nat-", "NAT gateway"), ("tgw-", "Transit gateway"),
    ("pcx-", "Peering connection"), ("vgw-", "Virtual private gateway"), ("vpce-", "VPC endpoint"),
    ("eigw-", "Egress-only internet gateway"), ("vpc-router", "VPC router (route table)"))

COMPONENTS = {"sg": "Security group", "nacl": "Network ACL", "conntrack": "Connection tracking", "route": "Route"}

#: decision -> (CSS state, symbol and word shown beside the colour)
DECISIONS = {"allow": ("ok", "✓ allowed"), "deny": ("bad", "✗ blocked"), "info": ("info", "→ passes")}

PATHS = (("forward", "Forward path (request)"), ("return", "Return path (reply)"))


def component_label(hop: dict[str, Any]) -> str:
    """'Security group', 'NAT gateway', …: what a hop is, in words."""
    if hop["component"] == "route":
        for prefix, label in GATEWAYS:
            if str(hop["id"]).startswith(prefix):
                return label
    return COMPONENTS.get(hop["component"], hop["component"])


def end_text(side: dict[str, Any]) -> str:
    """One end as the user named it, with its ENI and address."""
    named = side.get("named")
    parts = [p for p in (side.get("eni"), side.get("address")) if p and p != named]
    if side.get("internet") and named != "internet":
        parts.insert(0, "internet")
    return (named or side.get("eni") or side["address"]) + (f" ({', '.join(dict.fromkeys(parts))})" if parts else "")


def what(answer: dict[str, Any]) -> str:
    """'tcp/22', 'icmp', 'protocol 47'."""
    if answer.get("port") is not None:
        return f"{answer['proto']}/{answer['port']}"
    return str(answer["proto"])


def _where(hop: dict[str, Any]) -> str:
    at = hop.get("eni") or hop.get("subnet") or ""
    return " ".join(x for x in (at, hop.get("direction") or "") if x)


def _fix_key(item: dict[str, Any]) -> str:
    return f"{item['path']} {item['component']} {item['id']}" + (f" {item['direction']}" if item.get("direction")
                                                                   else "")


def _matches(hop: dict[str, Any], blocker: dict[str, Any]) -> bool:
    return all(hop.get(k) == blocker.get(k) for k in ("component", "id", "code", "direction", "eni") if k in blocker)


def fix_view(fix: dict[str, Any]) -> dict[str, Any]:
    """A fix: its text, its AWS CLI command and any other form the JSON carries (e.g. Terraform), sorted."""
    return {"for": fix.get("for", ""), "text": fix.get("text", ""), "cli": fix.get("cli") or "",
            "other": [(k, str(v)) for k, v in sorted(fix.items()) if k not in ("for", "text", "cli") and v]}


def answer_view(answer: dict[str, Any], number: int) -> dict[str, Any]:
    """One answer: ends, verdict, paths with each hop's state, blockers linked to their hops and fixes."""
    prefix = f"a{number}"
    paths = []
    hop_ids: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, title in PATHS:
        hops = []
        for i, hop in enumerate(answer.get(name, []), start=1):
            state, word = DECISIONS.get(hop["decision"], ("info", hop["decision"]))
            hops.append({"anchor": f"{prefix}-{name}-{i}", "n": i, "label": component_label(hop), "id": hop["id"],
                         "component": hop["component"], "where": _where(hop), "decision": hop["decision"],
                         "state": state, "word": word, "code": hop["code"], "reason": hop.get("reason", ""),
                         "rule": hop.get("rule", ""), "source": hop.get("source", ""), "packet": hop.get("packet", ""),
                         "blocking": hop["decision"] == "deny", "blockers": []})
        hop_ids[name] = [(h["anchor"], raw) for h, raw in zip(hops, answer.get(name, []))]
        paths.append({"name": name, "title": title, "hops": hops})
    fixes = {f.get("for", ""): f for f in answer.get("fix", [])}
    used: set[str] = set()
    blockers = []
    for i, item in enumerate(answer.get("explanations", []), start=1):
        anchor = next((a for a, raw in hop_ids.get(item["path"], []) if _matches(raw, item)), "")
        hop_n = int(anchor.rsplit("-", 1)[1]) if anchor else None
        where = next((h["where"] for p in paths for h in p["hops"] if h["anchor"] == anchor), _where(item))
        for path in paths:
            for hop in path["hops"]:
                if hop["anchor"] == anchor:
                    hop["blocking"] = True
                    hop["blockers"].append(i)
        fix = fixes.get(_fix_key(item))
        if fix is not None:
            used.add(_fix_key(item))
        blockers.append({"n": i, "anchor": anchor, "hop": hop_n, "path": item["path"], "label": component_label(item),
                         "id": item["id"], "where": where, "code": item["code"], "ra": bool(item.get("ra")),
                         "reason": item.get("reason", ""), "source": item.get("source", ""),
                         "fix": fix_view(fix) if fix is not None else None})
    unmatched = [fix_view(f) for f in answer.get("fix", []) if f.get("for", "") not in used]
    clis = [f["cli"] for f in answer.get("fix", []) if f.get("cli")]
    return {"prefix": prefix, "from": end_text(answer["from"]), "to": end_text(answer["to"]), "what": what(answer),
            "reachable": bool(answer["reachable"]), "paths": paths, "blockers": blockers, "other_fixes": unmatched,
            "script": "\n".join(clis), "notes": list(answer.get("notes", [])),
            "source_port": answer.get("source_port"), "ports_checked": list(answer.get("source_ports_checked", [])),
            "ports_blocked": list(answer.get("source_ports_blocked", []))}


def view(data: dict[str, Any]) -> dict[str, Any]:
    """The template's context for reach's JSON."""
    answers = [answer_view(a, i) for i, a in enumerate(data["answers"] if "answers" in data else [data], start=1)]
    first = answers[0]
    verdict = "reachable" if data["reachable"] else "not reachable"
    title = f"Reach: {first['from']} → {first['to']} {first['what']}"
    blockers = sum(len(a["blockers"]) for a in answers)
    subtitle = f"{verdict}" + (f"; {blockers} blocker{'s' if blockers != 1 else ''}" if blockers else "") + (
        f"; {len(answers)} answers, one per ENI" if len(answers) > 1 else "")
    return {"title": title, "subtitle": subtitle, "kind": "reach", "reachable": bool(data["reachable"]),
            "answers": answers}
