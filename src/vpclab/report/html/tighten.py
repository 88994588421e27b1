"""The tighten report's context: per security group the rule diff (remove, add, keep) with the flows, bytes and
last-seen date behind each rule and why; the proposal's counts, options and time range; the NACL entries.

Pure: a function of `tighten --format json` (lists kept in the JSON's order, dicts iterated sorted).
"""

from __future__ import annotations

from typing import Any

#: change -> (word, symbol, CSS state) — the word and symbol stand beside the colour, never the colour alone
CHANGES = {"remove": ("remove", "−", "bad"), "add": ("add", "+", "ok"), "keep": ("keep", "=", "muted")}
CHANGE_ORDER = ("remove", "add", "keep")
DIRECTIONS = ("ingress", "egress")

#: summary key -> label, in the order the report lists them
COUNTS = (("records", "flow-log records of connections"), ("needs", "observed needs"),
          ("enis_in_logs", "ENIs in the logs"), ("enis_tightened", "ENIs tightened"), ("groups", "security groups"),
          ("rules_today", "rules today"), ("rules_proposed", "rules proposed"), ("add", "rules to add"),
          ("remove", "rules to remove"), ("keep", "rules kept"), ("nacl_entries", "NACL entries proposed"))
NOT_USED = (("rejected_records", "REJECT records (a tightening only keeps what was accepted)"),
            ("direction_unknown_records", "records whose direction is unknown"),
            ("initiator_unknown_records", "records whose initiator is unknown"),
            ("initiator_unknown_skipped", "needs of unknown initiator skipped (--unknown skip)"),
            ("accepted_but_refused_by_model", "accepted needs the model refuses today (see vpclab replay)"),
            ("nacl_replies_not_seen_accepted", "NACL reply entries not proposed (no accepted reply in the logs)"))
OPTIONS = {"max_rules": "rules per group, direction and family (quota, §1.6)",
           "min_prefix_v4": "IPv4 peers generalised no wider than /N", "min_prefix_v6": "IPv6 peers no wider than /N",
           "group_min_members": "a group reference needs at least N members",
           "unknown": "connections of unknown initiator", "outside_ephemeral": "an outside client's ephemeral ports",
           "nacl_max_entries": "entries per NACL and direction (with the * rule)"}


def _ports(rule: dict[str, Any]) -> str:
    if rule["ports"] == "all":
        return "all ports" if rule["proto"] in ("tcp", "udp") else ""
    return f"port {rule['ports']}" if "-" not in rule["ports"] else f"ports {rule['ports']}"


def _proto(rule: dict[str, Any]) -> str:
    text = "all traffic" if rule["proto"] == "-1" else rule["proto"]
    if "icmp" in rule:
        text += f" type {rule['icmp']['type']} code {rule['icmp']['code']}"
    return text


def sg_text(rule: dict[str, Any], direction: str) -> str:
    """`tcp port 443 from 0.0.0.0/0` (ingress) or `… to …` (egress)."""
    what = " ".join(p for p in (_proto(rule), _ports(rule)) if p)
    return f"{what} {'from' if direction == 'ingress' else 'to'} {rule['peer']}"


def nacl_text(entry: dict[str, Any], direction: str) -> str:
    """`allow tcp ports 1024-65535 to 192.0.2.10/32`."""
    what = " ".join(p for p in (entry["action"], _proto(entry), _ports(entry)) if p)
    return f"{what} {'from' if direction == 'ingress' else 'to'} {entry['cidr']}"


def size(n: int) -> str:
    """Bytes for a reader: '152.6 KiB' (the exact count stands beside it)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _evidence(rule: dict[str, Any]) -> dict[str, Any]:
    return {"flows": rule["flows"], "bytes": rule["bytes"], "size": size(rule["bytes"]), "last_seen": rule["last_seen"],
            "why": rule.get("why", ""), "initiator_unknown": bool(rule.get("initiator_unknown")),
            "description": rule.get("description", "")}


def _group(g: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for direction in DIRECTIONS:
        for change in CHANGE_ORDER:
            word, symbol, state = CHANGES[change]
            for rule in g[change]:
                if rule["direction"] == direction:
                    rows.append({"change": change, "word": word, "symbol": symbol, "state": state,
                                 "direction": direction, "text": sg_text(rule, direction), "proto": rule["proto"],
                                 "ports": rule["ports"], "peer": rule["peer"], "source": rule.get("source", ""),
                                 **_evidence(rule)})
    most = max((r["bytes"] for r in rows), default=0)
    for r in rows:
        r["share"] = round(100 * r["bytes"] / most) if most else 0
    proposed = {d: [{"text": sg_text(r, d), **_evidence(r)} for r in g[d]] for d in DIRECTIONS}
    return {"group": g["group"], "enis": g["enis"], "enis_without_records": g["enis_without_records"],
            "rows": rows, "counts": {c: len(g[c]) for c in CHANGE_ORDER}, "proposed": proposed,
            "generalised_to": sorted(g["generalised_to"].items()), "warnings": g["warnings"]}


def _nacl(n: dict[str, Any]) -> dict[str, Any]:
    return {"nacl": n["nacl"], "subnets": n["subnets"], "warnings": n["warnings"],
            "directions": [(d, [{"rule": e["rule"], "action": e["action"], "proto": e["proto"], "ports": e["ports"],
                                 "cidr": e["cidr"], "text": nacl_text(e, d), **_evidence(e)} for e in n[d]])
                           for d in DIRECTIONS]}


def view(data: dict[str, Any]) -> dict[str, Any]:
    """The template's context for the tighten JSON."""
    s = data["summary"]
    groups = [_group(g) for g in data["groups"]]
    nacls = [_nacl(n) for n in data["nacls"]]
    warnings = [(f"security group {g['group']}", w) for g in groups for w in g["warnings"]]
    warnings += [(f"network ACL {n['nacl']}", w) for n in nacls for w in n["warnings"]]
    missing = sorted(s.get("enis_not_in_snapshot", {}).items())
    if missing:
        warnings.append(("flow logs", f"{len(missing)} ENI(s) in the logs are not in the snapshot; their traffic is "
                                      "not used: " + ", ".join(f"{e} ({n:,} records)" for e, n in missing)))
    return {"title": f"Tighten: {data['snapshot']}", "kind": "tighten",
            "subtitle": f"{s['enis_tightened']} ENI{'s' if s['enis_tightened'] != 1 else ''} in {s['groups']} "
                        f"security group{'s' if s['groups'] != 1 else ''} tightened from {s['needs']:,} "
                        f"need{'s' if s['needs'] != 1 else ''} observed in {s['records']:,} flow-log records "
                        f"({s['engine']})",
            "snapshot": data["snapshot"], "summary": s, "groups": groups, "nacls": nacls,
            "counts": [(k, label, s.get(k, 0)) for k, label in COUNTS],
            "not_used": [(k, label, s.get(k, 0)) for k, label in NOT_USED],
            "options": [(k, OPTIONS.get(k, k), v) for k, v in sorted(s.get("options", {}).items())],
            "changes": [(c, *CHANGES[c], s.get(c, 0)) for c in CHANGE_ORDER],
            "prefix_lists": sorted(data.get("prefix_lists", {}).items()), "missing_enis": missing,
            "warnings": warnings}
