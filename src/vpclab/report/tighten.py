"""`vpclab tighten` as JSON (DESIGN.md "Flow logs" contract) and as Rich text: pure functions of a TightenResult."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vpclab.analysis.flowrows import iso
from vpclab.analysis.tighten import GroupPlan, NaclPlan, Proposed, TightenResult
from vpclab.model.protocols import ICMP, ICMPV6, TCP, UDP, has_ports
from vpclab.model.rules import CidrPeer, NaclEntry, SgRule

_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6", -1: "-1"}


def proto(protocol: int) -> str:
    """The contract's protocol word: tcp, udp, icmp, icmpv6, -1 or the number."""
    return _NAMES.get(protocol, str(protocol))


def ports(rule: SgRule | NaclEntry) -> str:
    """`443`, `1024-65535` or `all`."""
    if not has_ports(rule.protocol) or rule.ports.is_all:
        return "all"
    r = rule.ports
    return str(r.first) if r.first == r.last else f"{r.first}-{r.last}"


def rule_dict(p: Proposed) -> dict[str, Any]:
    """A RULE of the contract: proto, ports, peer, and the evidence (flows, bytes, last seen)."""
    rule = p.rule
    out: dict[str, Any] = {"proto": proto(rule.protocol), "ports": ports(rule)}
    if isinstance(rule, SgRule):
        out["peer"] = str(rule.peer)
        if rule.protocol in (ICMP, ICMPV6) and not rule.icmp.is_all:
            out["icmp"] = {"type": rule.icmp.type, "code": rule.icmp.code}
    else:
        out = {"rule": rule.number, "action": str(rule.action), **out, "cidr": str(rule.cidr)}
    out.update({"flows": p.evidence.flows, "bytes": p.evidence.bytes, "last_seen": iso(p.evidence.last_seen)})
    if p.why:
        out["why"] = p.why
    if p.evidence.unknown_initiator:
        out["initiator_unknown"] = True
    if isinstance(rule, SgRule) and rule.description:
        out["description"] = rule.description
    if rule.origin:  # a rule of today's (kept or removed): where it is written
        out["source"] = str(rule.origin)
    return out


def _with_direction(p: Proposed) -> dict[str, Any]:
    return {"direction": str(p.direction), **rule_dict(p)}


def group_dict(g: GroupPlan) -> dict[str, Any]:
    return {"group": g.group, "enis": g.enis, "enis_without_records": g.enis_without_records,
            "ingress": [rule_dict(p) for p in g.ingress], "egress": [rule_dict(p) for p in g.egress],
            "add": [_with_direction(p) for p in g.add], "remove": [_with_direction(p) for p in g.remove],
            "keep": [_with_direction(p) for p in g.keep],
            "generalised_to": {k: v for k, v in g.prefix.items() if v is not None}, "warnings": g.warnings}


def nacl_dict(n: NaclPlan) -> dict[str, Any]:
    return {"nacl": n.nacl, "subnets": n.subnets, "ingress": [rule_dict(p) for p in n.ingress],
            "egress": [rule_dict(p) for p in n.egress], "warnings": n.warnings, "numbers_today": n.today}


def to_dict(result: TightenResult) -> dict[str, Any]:
    """`{"groups": [...], "nacls": [...], "summary": {...}}` (+ the user prefix lists the rules name)."""
    summary = dict(result.summary)
    first, last = summary.pop("time_range", [None, None])
    summary["first_seen"], summary["last_seen"] = iso(first), iso(last)
    return {"snapshot": result.snapshot, "groups": [group_dict(g) for g in result.groups],
            "nacls": [nacl_dict(n) for n in result.nacls], "prefix_lists": result.prefix_lists, "summary": summary}


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _rule_text(p: Proposed) -> str:
    rule = p.rule
    assert isinstance(rule, SgRule)
    return rule.text(p.direction)


def _diff_table(g: GroupPlan) -> Table:
    table = Table(title=f"{g.group} — ENIs {', '.join(g.enis)}", title_justify="left", show_lines=False)
    for column in ("change", "direction", "rule", "flows", "bytes", "last seen", "why"):
        table.add_column(column, justify="right" if column in ("flows", "bytes") else "left")
    style = {"add": "green", "remove": "red", "keep": "dim"}
    for change, items in (("keep", g.keep), ("add", g.add), ("remove", g.remove)):
        for p in items:
            table.add_row(Text(change, style=style[change]), str(p.direction), _rule_text(p), f"{p.evidence.flows:,}",
                          _size(p.evidence.bytes), iso(p.evidence.last_seen) or "-", p.why)
    return table


def _nacl_table(n: NaclPlan) -> Table:
    table = Table(title=f"network ACL {n.nacl} (subnets {', '.join(n.subnets)}) — stateless: replies need entries",
                  title_justify="left")
    for column in ("direction", "entry", "flows", "for"):
        table.add_column(column, justify="right" if column == "flows" else "left")
    for p in [*n.ingress, *n.egress]:
        assert isinstance(p.rule, NaclEntry)
        table.add_row(str(p.direction), p.rule.text(p.direction), f"{p.evidence.flows:,}", p.why)
    table.add_row("both", "rule *: deny all traffic (AWS's, unchanged)", "", "")
    return table


def left_out(unreadable: list[str], malformed: int, what: str) -> list[Text]:
    """The input `what` was made without: files that could not be read, malformed lines (both counted, exit 0)."""
    lines = []
    if unreadable:
        names = ", ".join(unreadable[:3]) + (" …" if len(unreadable) > 3 else "")
        lines.append(Text(f"warning: {len(unreadable)} flow-log file(s) could not be read ({names}): their traffic is "
                          f"not in {what}", style="bold yellow"))
    if malformed:
        lines.append(Text(f"warning: {malformed:,} malformed line(s) are not in {what} (see the warnings above)",
                          style="yellow"))
    return lines


def render(result: TightenResult) -> RenderableType:
    """Per group the diff (keep, add, remove with evidence), its warnings, then the NACL entries and a summary."""
    s = result.summary
    parts: list[RenderableType] = [Text(
        f"{result.snapshot}: {s['records']:,} records; {s['enis_tightened']} ENIs in "
        f"{s['groups']} groups tightened from {s['needs']:,} observed needs ({s['engine']})", style="bold")]
    parts.extend(left_out(s.get("unreadable_files", []), s.get("malformed_lines", 0), "this proposal"))
    for g in result.groups:
        parts.append(_diff_table(g))
        for warning in g.warnings:
            parts.append(Text(f"  warning: {warning}", style="yellow"))
    for n in result.nacls:
        parts.append(_nacl_table(n))
        for warning in n.warnings:
            parts.append(Text(f"  warning: {warning}", style="yellow"))
    if s["enis_not_in_snapshot"]:
        names = ", ".join(list(s["enis_not_in_snapshot"])[:5])
        parts.append(Text(f"{len(s['enis_not_in_snapshot'])} ENI(s) in the logs are not in the snapshot ({names}): "
                          "their traffic is not used", style="yellow"))
    parts.append(Text(
        f"rules today {s['rules_today']}, proposed {s['rules_proposed']}: add {s['add']}, remove {s['remove']}, "
        f"keep {s['keep']}; NACL entries {s['nacl_entries']}. Not used: {s['rejected_records']:,} REJECT records, "
        f"{s['direction_unknown_records']:,} records of unknown direction; initiator unknown: "
        f"{s['initiator_unknown_records']:,} records ({'proposed both ways' if s['options']['unknown'] == 'propose' else 'skipped'})"
        + (f"; {s['accepted_but_refused_by_model']} accepted needs the model refuses today (see vpclab replay)"
           if s["accepted_but_refused_by_model"] else "")
        + (f"; {s['nacl_replies_not_seen_accepted']} NACL reply entries not proposed (no accepted reply in the logs)"
           if s.get("nacl_replies_not_seen_accepted") else ""), style="bold"))
    parts.append(Text("Check it: vpclab replay SNAPSHOT --flows … --proposal THIS.json", style="dim"))
    return Group(*parts)


def peer_is_cidr(rule: SgRule) -> bool:
    return isinstance(rule.peer, CidrPeer)
