"""The reach matrix report's context: an ENI-by-ENI heat map (classes expanded to their ENIs), each cell's state
in a symbol and words beside its colour, and the blockers of every blocked class pair.

Pure: a function of `reach --matrix --json`; the filters are the template's inline script.
"""

from __future__ import annotations

from typing import Any

#: a blocker's code -> the short word a cell shows (the full blocker is in the cell's title and the pair table)
SHORT = {"ENI_SG_RULES_MISMATCH": "SG", "SUBNET_ACL_RESTRICTION": "NACL", "NO_ROUTE_TO_DESTINATION": "route",
         "ROUTE_MISSES_DESTINATION": "route", "BLACKHOLE_ROUTE": "blackhole", "NO_HOST_AT_DESTINATION": "no host",
         "NAT_PROTOCOL": "NAT", "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS": "no public IP"}


def short(code: str) -> str:
    """'SG', 'NACL', 'route', …: a blocker's code in one word."""
    return SHORT.get(code, code.split("_")[0].lower())


def blocker_text(b: dict[str, Any]) -> str:
    """'forward sg sg-123 ingress: ENI_SG_RULES_MISMATCH'."""
    where = " ".join(x for x in (b.get("path"), b.get("component"), b.get("id"), b.get("direction")) if x)
    return f"{where}: {b['code']}"


def view(data: dict[str, Any]) -> dict[str, Any]:
    """The template's context for the matrix JSON."""
    classes = {c["class"]: c for c in data["classes"]}
    pairs = {(p["from"], p["to"]): p for p in data["pairs"]}
    enis = []
    for c in data["classes"]:
        for eni in c["enis"]:
            enis.append({"eni": eni, "class": c["class"], "subnet": c["subnet"], "vpc": c.get("vpc", ""),
                         "groups": list(c["groups"]), "public": bool(c["public"]),
                         "search": " ".join([eni, c["subnet"], c.get("vpc", ""), *c["groups"],
                                             f"C{c['class']}"]).lower()})
    rows = []
    counts = {"ok": 0, "bad": 0, "none": 0}
    for i, a in enumerate(enis):
        cells = []
        for j, b in enumerate(enis):
            if i == j:
                cells.append({"col": j, "state": "self", "symbol": "—", "word": "same ENI",
                              "title": f"{a['eni']} → itself: not a question"})
                continue
            pair = pairs.get((a["class"], b["class"]))
            if pair is None:
                state, symbol, word, detail = "none", "·", "not asked", "no answer in the JSON"
            elif pair["reachable"]:
                state, symbol, word, detail = "ok", "✓", "reachable", "reachable"
            else:
                codes = list(dict.fromkeys(short(x["code"]) for x in pair["blockers"]))
                state, symbol, word = "bad", "✗", " ".join(codes) or "blocked"
                detail = "blocked by " + ("; ".join(blocker_text(x) for x in pair["blockers"]) or "—")
            counts[state] += 1
            cells.append({"col": j, "state": state, "symbol": symbol, "word": word,
                          "title": f"{a['eni']} → {b['eni']}: {detail} (class C{a['class']} → C{b['class']})"})
        rows.append({"eni": a, "cells": cells})
    blocked = [{"from": p["from"], "to": p["to"], "eni_pairs": p["eni_pairs"],
                "blockers": [blocker_text(b) for b in p["blockers"]]}
               for p in sorted(data["pairs"], key=lambda p: (p["from"], p["to"])) if not p["reachable"]]
    what = f"{data['proto']}/{data['port']}" if data.get("port") is not None else str(data["proto"])
    n = len(enis)
    return {"title": f"Reach matrix: {what} between {n} ENIs", "kind": "matrix",
            "subtitle": f"{data['reachable_eni_pairs']} of {n * (n - 1)} ordered ENI pairs reachable; "
                        f"{len(classes)} equivalence classes, {data['questions']} reach questions asked",
            "what": what, "enis": enis, "rows": rows, "counts": counts, "classes": data["classes"],
            "blocked": blocked, "has_vpc": any(e["vpc"] for e in enis),
            "reachable_eni_pairs": data["reachable_eni_pairs"], "questions": data["questions"]}
