"""Evidence as plain data: a reach answer's hops, a packet, a rule with its provenance (renderers format these)."""

from __future__ import annotations

import ipaddress
from typing import Any

from vpclab.analysis.reach import Hop, ReachAnswer
from vpclab.engine.packet import Packet
from vpclab.engine.verdict import RuleRef
from vpclab.model.protocols import protocol_name
from vpclab.model.rules import NaclEntry, SgRule


def address_text(address: object) -> str:
    """An address as text (IPv4 or IPv6, from an address object or its integer)."""
    return str(ipaddress.ip_address(address))  # type: ignore[arg-type]


def rule_data(ref: RuleRef | None) -> dict[str, Any] | None:
    """A deciding rule: owner, direction, number, its text and where it was written."""
    if ref is None:
        return None
    if isinstance(ref.rule, (SgRule, NaclEntry)):
        text = ref.rule.text(ref.direction)
    else:
        text = "* deny (no numbered entry matched)"
    return {"owner": ref.owner, "direction": str(ref.direction), "number": ref.number, "rule": text,
            "source": ref.source}


def packet_data(p: Packet) -> dict[str, Any]:
    """A packet as `src`, `dst`, protocol and ports or ICMP type/code."""
    data: dict[str, Any] = {"src": address_text(p.src_ip), "dst": address_text(p.dst_ip), "proto": protocol_name(p.proto)}
    if p.has_ports:
        data.update(sport=p.sport, dport=p.dport)
    elif p.is_icmp:
        data.update(icmp_type=p.icmp_type, icmp_code=p.icmp_code)
    return data


def hop_data(hop: Hop) -> dict[str, Any]:
    """One component on a path with its decision and the rule behind it."""
    step = hop.step
    data: dict[str, Any] = {"path": hop.path, "component": step.component, "id": step.id, "decision": step.decision,
                            "code": step.code}
    if step.host:
        data["eni"] = step.host
    if step.direction:
        data["direction"] = step.direction
    if step.rule is not None:
        data["rule"] = rule_data(step.rule)
    if step.source:
        data["source"] = step.source
    return data


def path_data(answer: ReachAnswer) -> dict[str, Any]:
    """A reach answer as evidence: the question, the verdict, both paths and the blocking codes."""
    data: dict[str, Any] = {
        "from": address_text(answer.src.address) if answer.src.eni is None else answer.src.eni,
        "to": answer.dst.eni or address_text(answer.dst.address), "address": address_text(answer.dst.address),
        "proto": protocol_name(answer.proto), "port": answer.port, "reachable": answer.reachable,
        "forward": [hop_data(h) for h in answer.forward], "return": [hop_data(h) for h in answer.ret],
        "blockers": [b.code for b in answer.blockers]}
    if answer.blocked_ports:
        data["blocked_source_ports"] = [list(r) for r in answer.blocked_ports]
    return data
