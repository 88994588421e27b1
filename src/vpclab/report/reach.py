"""Reach answers as JSON (DESIGN.md, "Questions") and as Rich text: pure functions of `ReachAnswer`s.

Sentences come from `report.explain` (the one place steps become words); only the two steps reach adds — a
security group gate passed by a rule alone, and a reply passed by the forward flow's conntrack entry — are
worded here.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vpclab.analysis.reach import Hop, ReachAnswer, Side
from vpclab.engine import codes
from vpclab.engine.verdict import Step
from vpclab.model.protocols import ICMP, ICMPV6, TCP, UDP, protocol_name
from vpclab.report.explain import cited, rule_text, step_reason


def hop_reason(step: Step) -> str:
    """One sentence for a hop."""
    if step.component == "sg" and step.decision == "allow" and step.rule is not None:
        text = rule_text(step.rule)
        role = step.facts.get("untracked")
        if step.code == codes.SG_RULE_MATCH_UNTRACKED:
            return text + ("; untracked flow (a 0.0.0.0/0 rule and all ports the other way): every packet is judged "
                           "by the rules" if role == "first" else "; the reply of an untracked flow, judged by the rules")
        return text + ("; the reply, judged by the rules" if role == "response" else "; a tracked flow opens")
    if step.code == codes.CONNTRACK_MATCH and step.flow is None:
        opener = step.facts.get("opened_by")
        if opener is None:
            return ("the reply, as if the forward path passed: the conntrack entry the request would open lets it "
                    "through whatever the rules say")
        return (f"the reply of the tracked flow ({cited(opener)} admitted the request {step.facts.get('opened_at', '')}"
                "): the ENI's conntrack entry lets it through whatever the rules say")
    if step.code == "ROUTE_MISSES_DESTINATION":
        f = step.facts
        via = f" ({f['destination']} → {f['target']})" if f.get("target") else ""
        return (f"subnet {f['subnet']}'s route for {f['address']}{via} does not lead to it: the packet reaches "
                f"{f['delivered'] or 'no one (the internet holds no private address)'}")
    if step.code == codes.ROUTE_LOCAL:
        if step.facts.get("destination"):
            return f"route {step.facts['destination']} → {step.facts['target']}: delivered within the VPC"
        return "delivered within the VPC"
    return step_reason(step)


def _side(side: Side) -> dict[str, Any]:
    data: dict[str, Any] = {"eni": side.eni, "address": str(side.address)}
    if side.token != (side.eni or ""):
        data["named"] = side.token
    if side.internet:
        data["internet"] = True
    return data


def hop_dict(hop: Hop) -> dict[str, Any]:
    """A hop in DESIGN.md's shape: component, id, eni or subnet, direction, decision, code, reason, source."""
    s = hop.step
    data: dict[str, Any] = {"component": s.component, "id": s.id}
    if s.host is not None:
        data["eni"] = s.host
    if s.component == "nacl" and s.facts.get("subnet"):
        data["subnet"] = s.facts["subnet"]
    if s.direction is not None:
        data["direction"] = s.direction
    data.update(decision=s.decision, code=s.code, reason=hop_reason(s))
    if s.rule is not None:
        data["rule"] = s.rule.ref
    if s.source:
        data["source"] = s.source
    if s.packet is not None:
        data["packet"] = s.packet.describe()
    return data


def what(answer: ReachAnswer) -> str:
    """`tcp/22`, `icmp echo`, `protocol 47`."""
    if answer.proto in (TCP, UDP):
        return f"{protocol_name(answer.proto)}/{answer.port}"
    if answer.proto in (ICMP, ICMPV6):
        return f"{protocol_name(answer.proto)} echo"
    return f"protocol {protocol_name(answer.proto)}"


def to_dict(answer: ReachAnswer) -> dict[str, Any]:
    """One answer as DESIGN.md's reach JSON object."""
    explanations = []
    fixes = []
    for b in answer.blockers:
        s = b.hop.step
        item: dict[str, Any] = {"code": b.code, "ra": b.ra, "path": b.hop.path, "component": s.component, "id": s.id}
        if s.host is not None:
            item["eni"] = s.host
        if s.direction is not None:
            item["direction"] = s.direction
        item["reason"] = hop_reason(s)
        if s.source:
            item["source"] = s.source
        explanations.append(item)
        if b.fix is not None:
            fixes.append({"for": f"{b.hop.path} {s.component} {s.id}" + (f" {s.direction}" if s.direction else ""),
                          "text": b.fix.text, "cli": b.fix.cli})
    data: dict[str, Any] = {
        "from": _side(answer.src), "to": _side(answer.dst), "proto": protocol_name(answer.proto), "port": answer.port,
        "reachable": answer.reachable, "forward": [hop_dict(h) for h in answer.forward],
        "return": [hop_dict(h) for h in answer.ret], "explanations": explanations, "fix": fixes}
    if answer.sport is not None:
        data["source_port"] = answer.sport
        data["source_ports_checked"] = list(answer.ports_checked)
        if answer.blocked_ports:
            data["source_ports_blocked"] = [f"{a}-{b}" if a != b else str(a) for a, b in answer.blocked_ports]
    if answer.notes:
        data["notes"] = list(answer.notes)
    return data


def answers_dict(answers: list[ReachAnswer]) -> dict[str, Any]:
    """One object for one answer; for several (an instance with several ENIs), `answers` and `reachable` (any)."""
    if len(answers) == 1:
        return to_dict(answers[0])
    return {"reachable": any(a.reachable for a in answers), "answers": [to_dict(a) for a in answers]}


def _end(side: Side) -> str:
    if side.eni is None:
        return f"internet ({side.address})" if side.internet else str(side.address)
    return f"{side.eni} ({side.address})" + (f" [{side.token}]" if side.token not in (side.eni, str(side.address))
                                               else "")


def render(answer: ReachAnswer) -> RenderableType:
    """Rich text: the verdict, both paths hop by hop, every blocker with its fix."""
    parts: list[RenderableType] = []
    verdict = Text.assemble((f"{_end(answer.src)} → {_end(answer.dst)} {what(answer)}: ", "bold"),
                            ("reachable", "bold green") if answer.reachable else ("not reachable", "bold red"))
    parts.append(verdict)
    for title, hops in (("forward", answer.forward), ("return", answer.ret)):
        if not hops:
            continue
        parts.append(Text(f"{title} path", style="bold underline"))
        for hop in hops:
            s = hop.step
            at = " ".join(x for x in (s.host or s.facts.get("subnet", ""), s.direction or "") if x)
            style = {"allow": "green", "deny": "bold red"}.get(s.decision, "dim")
            parts.append(Text.assemble("  ", (f"{s.decision:<5}", style), f" {s.component} {s.id}",
                                       (f" at {at}" if at else "", "dim"), f": {hop_reason(s)}"))
            if s.source:
                parts.append(Text(f"        {s.source}", style="dim"))
    if answer.blockers:
        parts.append(Text(f"blocked by {len(answer.blockers)} component{'s' if len(answer.blockers) != 1 else ''}:",
                          style="bold"))
        for i, b in enumerate(answer.blockers, 1):
            s = b.hop.step
            where = " ".join(x for x in (s.host or s.facts.get("subnet", ""), s.direction or "") if x)
            parts.append(Text.assemble(f"{i}. ", (b.code, "bold red"), f" {b.hop.path} {s.component} {s.id}",
                                       f" ({where})" if where else "", f": {hop_reason(s)}"))
            if s.source:
                parts.append(Text(f"   source: {s.source}", style="dim"))
            if b.fix is not None:
                parts.append(Text(f"   fix: {b.fix.text}", style="yellow"))
                if b.fix.cli:
                    parts.append(Text(f"   $ {b.fix.cli}", style="cyan"))
    for note in answer.notes:
        parts.append(Text(f"note: {note}", style="italic"))
    return Group(*parts)


def render_all(answers: list[ReachAnswer]) -> RenderableType:
    return Group(*[item for a in answers for item in (render(a), Text(""))])
