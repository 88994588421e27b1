"""Egress open to everything on groups whose ENIs never need it (the first seed article: an ENI needs an egress
rule only for connections it starts; replies leave by connection tracking).

The snapshot cannot say what an ENI starts — flow logs can, so the fix is `vpclab tighten` with them — but it shows
some needs: other groups' ingress rules that admit this group, each checked with a real reach. Severity follows
what the open rule allows, by reach from the ENI to `internet` on a port nothing needs: medium when that path is
open (anything can leave), low when the route or a NACL already keeps it inside. "Open to everything" is the
engine's compiled fact (`SgPolicy.all_ports_world`: one rule admits every port to 0.0.0.0/0), and the rule cited is
the one the engine admits the probe with.
A group on no ENI sends nothing and is not reported here (see `sg-unused`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from vpclab.analysis.audit.commands import revoke
from vpclab.analysis.audit.context import EGRESS, Context
from vpclab.analysis.audit.evidence import path_data, rule_data
from vpclab.analysis.audit.finding import Check, Finding, Fix, Severity
from vpclab.analysis.endpoints import Endpoint
from vpclab.analysis.reach import ReachAnswer
from vpclab.model.network import Host
from vpclab.model.protocols import ALL, TCP, UDP, protocol_name
from vpclab.engine.matcher import lowest_bit
from vpclab.engine.verdict import RuleRef
from vpclab.model.rules import GroupPeer, SgRule

#: the port an exfiltration probe uses: one no ENI of a well-kept network needs to open to the internet
PROBE_PORT = 4444
#: at most this many needs are checked and listed per group
MAX_NEEDS = 20


def run(check: Check, ctx: Context) -> Iterator[Finding]:
    """For each set of groups ENIs carry: does its compiled egress policy admit every TCP or UDP port to 0.0.0.0/0
    (`SgPolicy.all_ports_world`, the engine's own fact)? Then the rule the engine admits an outbound probe with is
    the open one; it is reported once for its group with every ENI it opens."""
    referenced = _references(ctx)
    outward: dict[tuple[object, ...], ReachAnswer] = {}
    opened: dict[tuple[RuleRef, int, int], list[Host]] = {}
    for union, hosts in ctx.unions.items():
        policy = ctx.engine.sg_policy(hosts[0].name, EGRESS)
        for version, standin in ((4, int(ctx.standin)), (6, int(ctx.standin6))):
            senders = hosts if version == 4 else [h for h in hosts if h.ipv6 is not None]
            proto = next((p for p in (TCP, UDP) if policy.all_ports_world(version, p)), None)
            if proto is None or not senders:
                continue
            mask = policy.index.match(version, proto, standin, PROBE_PORT)
            if mask:
                opened.setdefault((policy.rules[lowest_bit(mask)], version, proto), []).extend(senders)
    for (ref, version, proto), members in opened.items():
        rule = ref.rule
        assert isinstance(rule, SgRule)
        gid, number = ref.owner, ref.number
        group = ctx.network.security_groups[gid]
        answers = [_outward(ctx, host, outward, proto, version == 6) for host in members]
        leaving = [a for a in answers if a.reachable]
        needs = _needs(ctx, gid, members[0], referenced.get(gid, []))
        severity = Severity.MEDIUM if leaving else Severity.LOW
        sample = leaving[0] if leaving else answers[0]
        shown = "; ".join(n["text"] for n in needs) or "none (no other group's rule admits it)"
        message = (f"{gid} egress rule {number} ({rule.text(EGRESS)}) lets {len(members)} ENI(s) open any "
                   + ("connection to the internet" if leaving else "connection the route allows (not the "
                      "internet today)") + f"; what the snapshot shows they need: {shown}")
        evidence = {"group": gid, "enis": [h.name for h in members], "rule": rule_data(ref),
                    "probe": path_data(sample), "needs": needs,
                    "enis_reaching_internet": sum(1 for a in answers if a.reachable)}
        keep = f" (keep at least: {shown})" if needs else ""
        fix = Fix(f"run `vpclab tighten SNAPSHOT --flows FLOWS` with these ENIs' VPC Flow Logs to derive the "
                  f"egress they initiate, then replace this rule with it{keep}", revoke(gid, EGRESS, rule))
        yield check.finding(gid, message, evidence, rule.origin or group.origin, fix, severity)


def _outward(ctx: Context, host: Host, cache: dict[tuple[object, ...], ReachAnswer], proto: int = TCP,
             v6: bool = False) -> ReachAnswer:
    """Reach from the ENI (its IPv6 address with `v6`) to `internet` on PROBE_PORT, once per subnet and set of
    groups."""
    key = (host.subnet, host.security_groups, host.ephemeral_ports, proto, v6)
    answer = cache.get(key)
    if answer is None:
        source = Endpoint(host.name, host.name, address=host.ipv6 if v6 else None)
        answer = cache[key] = ctx.reacher.reach(source, Endpoint("internet", internet=True), proto, PROBE_PORT)
    return answer


def _references(ctx: Context) -> dict[str, list[tuple[str, SgRule]]]:
    """For each group, the ingress rules of groups that name it as their peer (group, rule)."""
    found: dict[str, list[tuple[str, SgRule]]] = defaultdict(list)
    for gid, group in ctx.network.security_groups.items():
        for rule in group.ingress:
            if isinstance(rule.peer, GroupPeer):
                found[rule.peer.group].append((gid, rule))
    return found


def _needs(ctx: Context, gid: str, sender: Host, rules: list[tuple[str, SgRule]]) -> list[dict[str, object]]:
    """The connections the snapshot says this group's ENIs are meant to start: another group's ingress rule admits
    them, and reach from one of them to one of that group's ENIs says the path is open (tighten keeps these)."""
    needs: list[dict[str, object]] = []
    seen: set[tuple[object, ...]] = set()
    for target, rule in rules:
        receivers = [h for h in ctx.members.get(target, []) if h.name != sender.name]
        key = (target, rule.protocol, rule.ports, rule.icmp)
        if not receivers or key in seen or len(needs) >= MAX_NEEDS:
            continue
        seen.add(key)
        proto = rule.protocol if rule.protocol in (TCP, UDP) else TCP
        port = rule.ports.first if rule.protocol in (TCP, UDP) else (443 if rule.protocol == ALL else None)
        if port is None:
            continue
        answer = ctx.reach(sender, receivers[0], proto, port)
        if answer.reachable:
            what = rule.what() if rule.protocol != ALL else "all traffic"
            needs.append({"text": f"{what} to {target}", "group": target, "proto": protocol_name(rule.protocol),
                          "ports": str(rule.ports) if rule.protocol in (TCP, UDP) else "all",
                          "checked": f"{sender.name} → {receivers[0].name} {protocol_name(proto)}/{port}"})
    return needs
