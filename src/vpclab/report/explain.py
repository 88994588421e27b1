"""Explanations in words: the one renderer that turns the engine's steps, verdicts and tracked flows into
sentences and JSON. Every caller (lab timeline, `--json`, reach, replay) goes through here.

Facts a step may carry (`Step.facts`), by code:
`route` denials: the route's facts (`address`, `subnet`, `host`, `why`); NOT_FILTERED_SERVICE: `service`;
NACL steps: `subnet`; ROUTE_IGW: `translated` (the packet after translation); SG_RULE_MATCH_UNTRACKED:
`untracked` (`first` or `response`); CONNTRACK_TABLE_FULL: `count`, `max_entries`; SG misses: `groups`,
`admitted_by` (the rule of an untracked flow), `tracked_echo_ids`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from vpclab.engine import codes
from vpclab.engine.conntrack import Entry
from vpclab.engine.packet import ACK, SYN, Packet
from vpclab.engine.verdict import RuleRef, Step, TrackedFlow, Verdict
from vpclab.model.protocols import ICMP, ICMPV6, TCP, UDP, icmp_type_name, protocol_name
from vpclab.model.rules import Direction, NaclEntry, SgRule, star_text

# ---- rules and tracked flows --------------------------------------------------------------------------------


def rule_text(ref: RuleRef) -> str:
    """`ingress rule 1: tcp 4321 from 198.18.0.0/16` or `rule 100: allow tcp 22 from 0.0.0.0/0`."""
    if isinstance(ref.rule, SgRule):
        return f"{ref.ref}: {ref.rule.text(ref.direction)}"
    if isinstance(ref.rule, NaclEntry):
        return ref.rule.text(ref.direction)
    return star_text(ref.direction, 4)


def cited(ref: RuleRef) -> str:
    """A rule with its owner: `sg-b ingress rule 1: tcp 4321 from 198.18.0.0/16`."""
    return f"{ref.owner} {rule_text(ref)}"


def flow_text(flow: TrackedFlow) -> str:
    """`tcp 198.18.1.10:40001 → 198.18.2.20:4321` or `icmp echo 198.18.1.10 → 198.18.2.20 id 7`."""
    src, dst, proto, a, b = flow.key
    address = ipaddress.IPv6Address if flow.v6 else ipaddress.IPv4Address
    s, d = address(src), address(dst)
    if proto in (TCP, UDP):
        return f"{protocol_name(proto)} {s}:{a} → {d}:{b}"
    if proto in (ICMP, ICMPV6):
        if b in (8, 128):
            return f"{protocol_name(proto)} echo {s} → {d} id {a}"
        return f"{protocol_name(proto)} query type {b} {s} → {d} id {a}"
    return f"{protocol_name(proto)} {s} → {d}"


def entry_text(flow: TrackedFlow) -> str:
    """`tcp 198.18.1.10:40001 → 198.18.2.20:4321 ESTABLISHED, idle timeout 432000 s`."""
    return f"{flow_text(flow)} {flow.state}, idle timeout {flow.timeout:g} s"


def entry_dict(entry: Entry, now: float) -> dict[str, Any]:
    """A live conntrack entry for `--verbose` and JSON: its flow, state, lifetime and the rule that opened it."""
    flow = entry.snapshot(now)
    data: dict[str, Any] = {"flow": flow_text(flow), "state": entry.state, "direction": entry.direction,
                            "created": entry.created, "last_seen": entry.last_seen, "timeout": entry.timeout,
                            "expires_in": round(entry.expires - now, 6),
                            "opened_by": cited(entry.opened_by) if entry.opened_by else ""}
    if entry.opened_by is not None and entry.opened_by.source:
        data["source"] = entry.opened_by.source
    return data


# ---- steps ------------------------------------------------------------------------------------------------


def step_reason(step: Step) -> str:
    """One sentence saying what the component decided and why."""
    if step.component == "route":
        return _route_reason(step)
    if step.component == "nacl":
        return _nacl_reason(step)
    code = step.code
    ref, p = step.rule, step.packet
    if code == codes.CONNTRACK_MATCH and step.flow is not None:
        opener = f" (opened by {cited(step.flow.opened_by)})" if step.flow.opened_by else ""
        return f"tracked connection {entry_text(step.flow)}{opener}"
    if code == codes.SG_RULE_MATCH and ref is not None and step.flow is not None:
        return f"{rule_text(ref)}; tracked as {entry_text(step.flow)}"
    if code == codes.SG_RULE_MATCH_UNTRACKED and ref is not None:
        why = ("untracked flow: a 0.0.0.0/0 rule admits it and the other direction allows 0.0.0.0/0 on all ports"
               if step.facts.get("untracked") == "first" else
               "the response of an untracked flow opened the other way (a 0.0.0.0/0 rule there admits its reverse, "
               "and this direction allows 0.0.0.0/0 on all ports)")
        return f"{rule_text(ref)}; {why}, so every packet is judged by the rules"
    if code == codes.SG_RULE_MATCH_STATELESS and ref is not None and p is not None:
        return (f"{rule_text(ref)}; this packet cannot open a tracked connection ({_why_stateless(p)}), "
                "so it passes on the rule alone")
    if code == codes.CONNTRACK_TABLE_FULL and ref is not None:
        return (f"{rule_text(ref)} admits it, but the connection tracking table is full ({step.facts['count']} of "
                f"{step.facts['max_entries']} entries): new flows are dropped")
    if step.decision == "deny" and p is not None:
        return _sg_miss_reason(step, p)
    return code


def _route_reason(step: Step) -> str:
    facts, code = step.facts, step.code
    if code == codes.NOT_FILTERED_SERVICE:
        return f"{facts['service']}: security groups and network ACLs do not filter it"
    if code == codes.ROUTE_IGW and step.packet is not None:
        before, after = step.packet, facts["translated"]
        changes = []
        if after.src != before.src:
            changes.append(f"source {before.src_ip} → {after.src_ip}")
        if after.dst != before.dst:
            changes.append(f"destination {before.dst_ip} → {after.dst_ip}")
        return "internet gateway: " + (", ".join(changes) if changes else "no translation (IPv6)")
    if code == codes.SOURCE_DEST_CHECK:
        if facts.get("appliance"):
            return (f"subnet {facts['subnet']} routes {facts['address']} to {facts['target']}, whose ENI "
                    f"{facts['appliance']} has its source/destination check on: it drops traffic not addressed to it "
                    "(turn the check off on a routing appliance)")
        return "the source address belongs to no host: the ENI's source/destination check drops it"
    if code == codes.NO_HOST_AT_DESTINATION:
        return f"no network interface in the VPC holds {facts['address']}"
    if code == codes.IGW_PRIVATE_IP_ASSOCIATION:
        return f"{facts['host']} has no public IP, so the internet gateway cannot translate its private address"
    if code == codes.ROUTE_VIA:
        where = f" to {facts['delivered']}" if facts.get("delivered") else ", leaving the modelled network"
        return f"route table sends it through {facts['target']}{where}"
    if code == codes.BLACKHOLE_ROUTE:
        return (f"subnet {facts['subnet']}'s route {facts['destination']} → {facts['target']} wins for "
                f"{facts['address']} but is a blackhole (its target is gone): the packet is dropped")
    if code == codes.PEERING_NOT_ACTIVE:
        return (f"subnet {facts['subnet']} routes {facts['address']} to {facts['target']}, which is not an active "
                f"peering connection (state {facts['state']})")
    if code == codes.NAT_TRANSLATION and step.packet is not None:
        before, after = step.packet, facts["translated"]
        return (f"NAT gateway {step.id}: {before.endpoint('src')} → {before.endpoint('dst')} becomes "
                f"{after.endpoint('src')} → {after.endpoint('dst')}")
    if code == codes.EIGW_INBOUND:
        return "an egress-only internet gateway lets replies in, but the internet cannot start a connection through it"
    if code == codes.NAT_NO_MAPPING:
        return f"NAT gateway {step.id} forwards only replies to flows started inside; this answers none"
    if code == codes.NAT_PROTOCOL:
        return f"NAT gateway {step.id} carries TCP, UDP and ICMP only"
    if code == codes.NAT_PRIVATE_TO_IGW:
        return (f"subnet {facts['subnet']} routes the private NAT gateway {facts['target']}'s traffic to an "
                "internet gateway, which drops it")
    if code == codes.TGW_NO_ATTACHMENT:
        if facts.get("zone"):
            return (f"{facts['target']}'s attachment {facts['attachment']} has no subnet in zone {facts['zone']}, "
                    f"so subnet {facts['subnet']} cannot use the transit gateway")
        return f"VPC {facts['vpc']} has no available attachment to {facts['target']}"
    if code == codes.ROUTE_TARGET_MISSING:
        return (f"subnet {facts['subnet']} routes {facts['address']} to {facts['target']}, which the snapshot does "
                "not hold: the verdict stops here")
    if code == codes.ROUTE_TARGET_NOT_MODELLED:
        return (f"subnet {facts['subnet']} routes {facts['address']} to {facts['target']} ({facts['kind']}), "
                "which vpclab does not model yet: the verdict stops here")
    why = facts.get("why")
    if why == "tgw":
        return (f"transit gateway route table {facts['tgw_route_table'] or '(none associated)'} of attachment "
                f"{facts['attachment']} has no route to {facts['address']}")
    if why == "no-route":
        return f"subnet {facts['subnet']}'s route table has no route to {facts['address']}"
    if why == "private-subnet":
        return (f"subnet {facts['subnet']} has no route to {facts['address']} "
                "(no 0.0.0.0/0 route to an internet gateway: the subnet is private)")
    if why == "target-subnet-private":
        return (f"{facts['host']}'s subnet {facts['subnet']} is private (no route to an internet gateway): "
                "its public IP is not reachable")
    if why == "private-address":
        return f"{facts['address']} is a private address: it is not reachable from the internet"
    return code


def _nacl_reason(step: Step) -> str:
    subnet = step.facts.get("subnet", "")
    if step.code == codes.NACL_NOT_EVALUATED:
        return f"same subnet {subnet}: network ACLs are not evaluated within a subnet"
    ref = step.rule
    if ref is None:
        return step.code
    if ref.number is None:
        version = 6 if step.packet is not None and step.packet.v6 else 4
        return f"subnet {subnet}: {star_text(ref.direction, version)} (no numbered entry matched)"
    return f"subnet {subnet}: {rule_text(ref)}"


def _sg_miss_reason(step: Step, p: Packet) -> str:
    groups = step.facts.get("groups", (step.id,))
    direction = Direction(step.direction)
    verb = "has" if len(groups) == 1 else "have"
    preposition = "from" if direction is Direction.INGRESS else "to"
    peer = p.src_ip if direction is Direction.INGRESS else p.dst_ip
    reason = f"{', '.join(groups)} {verb} no {direction} rule for {_what(p)} {preposition} {peer}"
    if step.code == codes.CONNTRACK_EXPIRED and step.flow is not None:
        return (reason + f", and its tracked connection ({flow_text(step.flow)}) expired after "
                f"{round(step.flow.idle, 3):g} s idle (timeout {step.flow.timeout:g} s)")
    admitted_by = step.facts.get("admitted_by")
    if admitted_by is not None:
        return (reason + f"; this flow was untracked (admitted by {cited(admitted_by)}), so it has no tracked "
                "connection and is cut as soon as its rule goes")
    if "tracked_echo_ids" in step.facts:
        live = step.facts["tracked_echo_ids"]
        return (reason + f", and no tracked echo request with identifier {p.ident} from {p.dst_ip} to {p.src_ip}"
                + (f" (tracked requests carry identifier {', '.join(map(str, live))}: a reply must carry "
                   "its request's identifier)" if live else ""))
    if p.proto == TCP and not (p.flags & SYN and not p.flags & ACK):
        return reason + ", and no tracked connection (only a SYN may open one)"
    return reason + " and no tracked connection"


def _what(p: Packet) -> str:
    """`tcp/4321`, `udp/53`, `icmp echo-reply`, `protocol gre`."""
    if p.proto in (TCP, UDP):
        return f"{protocol_name(p.proto)}/{p.dport}"
    if p.proto in (ICMP, ICMPV6):
        return f"{protocol_name(p.proto)} {icmp_type_name(p.proto, p.icmp_type)}"
    return f"protocol {protocol_name(p.proto)}"


def _why_stateless(p: Packet) -> str:
    if p.proto == TCP:
        return "only a SYN opens a TCP entry; this is a mid-stream segment with no entry"
    if p.proto in (ICMP, ICMPV6):
        return f"ICMP {icmp_type_name(p.proto, p.icmp_type)} is not a query type, and errors are not related"
    return "it is not a flow's first packet"


def step_dict(step: Step) -> dict[str, Any]:
    """The JSON shape of a trace step (DESIGN.md's `--json`), with `source` where the deciding rule was written."""
    data: dict[str, Any] = {"component": step.component, "id": step.id}
    if step.host is not None:
        data["host"] = step.host
    if step.direction is not None:
        data["direction"] = step.direction
    data.update(decision=step.decision, code=step.code, reason=step_reason(step))
    if step.rule is not None:
        data["rule"] = step.rule.ref
    if step.flow is not None:
        data["entry"] = entry_text(step.flow)
    if step.source:
        data["source"] = step.source
    return data


# ---- verdicts and packets -----------------------------------------------------------------------------------


def verdict_reason(verdict: Verdict) -> str:
    """One line: `dropped at testb ingress: sg-b has no ingress rule for tcp/4321 …` or `delivered to testb`."""
    if verdict.allowed:
        return "delivered" + (f" to {verdict.receiver}" if verdict.receiver else "")
    step = verdict.decisive
    if step is not None:
        detail = step_reason(step)
    elif verdict.rule is not None:
        detail = cited(verdict.rule)
    else:
        detail = verdict.code
    return f"dropped at {verdict.where}: {detail}" if verdict.where else f"dropped: {detail}"


def packet_dict(time: float, packet: Packet, verdict: Verdict) -> dict[str, Any]:
    """The JSON shape of one packet in a lab result (DESIGN.md, 'The lab file'), with its one-line reason."""
    return {"time": round(time, 6), "src": packet.endpoint("src"), "dst": packet.endpoint("dst"),
            "proto": protocol_name(packet.proto), "summary": packet.summary(),
            "verdict": "allowed" if verdict.allowed else "dropped", "code": verdict.code,
            "reason": verdict_reason(verdict), "trace": [step_dict(step) for step in verdict.trace]}
