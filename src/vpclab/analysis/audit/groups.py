"""Groups themselves: groups on no ENI, default groups in use or with rules, rules naming a deleted group."""

from __future__ import annotations

from collections.abc import Iterator

from vpclab.analysis.audit.commands import revoke
from vpclab.analysis.audit.context import EGRESS, INGRESS, Context
from vpclab.analysis.audit.finding import Check, Finding, Fix, Severity
from vpclab.model.rules import GroupPeer


def run_unused(check: Check, ctx: Context) -> Iterator[Finding]:
    """A group no ENI carries (a default group cannot be deleted and is left out). It filters nothing, so it is
    never an exposure (scanners that flag its 0.0.0.0/0 rules report a false positive: prowler #2069,
    checkov #1203); it is clutter, and a rule that may be attached to something by mistake later."""
    referencing: dict[str, list[str]] = {}
    for gid, group in ctx.network.security_groups.items():
        for rule in group.ingress + group.egress:
            if isinstance(rule.peer, GroupPeer) and rule.peer.group != gid:
                referencing.setdefault(rule.peer.group, []).append(gid)
    for gid, group in ctx.network.security_groups.items():
        info = ctx.groups.get(gid)
        if ctx.members.get(gid) or info is not None and (info.default or info.used_by):
            continue  # a group a resource vpclab does not model names (a Terraform instance left out, …) is in use
        users = sorted(set(referencing.get(gid, [])))
        named = ctx.groups[gid].name if gid in ctx.groups else ""
        message = f"{gid}{f' ({named})' if named and named != gid else ''} is attached to no ENI"
        if users:
            message += f"; rules of {', '.join(users)} name it, and admit no one through it"
        yield check.finding(gid, message, {"group": gid, "referenced_by": users, "rules": len(group.ingress)
                                           + len(group.egress)}, group.origin,
                            Fix(f"delete {gid} (after removing the rules that name it)" if users else f"delete {gid}",
                                f"aws ec2 delete-security-group --group-id {gid}"))


def run_default(check: Check, ctx: Context) -> Iterator[Finding]:
    """The VPC's default group: ENIs launched without a group get it, so it should carry no rules and no ENI
    (CIS AWS Foundations 5.4; aws-semantics.md §1.3)."""
    for gid, info in ctx.groups.items():
        group = ctx.network.security_groups.get(gid)
        if group is None or not info.default:
            continue
        members = ctx.members.get(gid, [])
        rules = len(group.ingress) + len(group.egress)
        if not members and not rules:
            continue
        parts = []
        if members:
            parts.append(f"carried by {len(members)} ENI(s) ({', '.join(h.name for h in members[:5])}"
                         f"{', …' if len(members) > 5 else ''})")
        if rules:
            parts.append(f"has {len(group.ingress)} ingress and {len(group.egress)} egress rule(s)")
        severity = Severity.MEDIUM if members and rules else Severity.LOW
        commands = [revoke(gid, d, r) for d in (INGRESS, EGRESS) for r in group.rules(d)]
        yield check.finding(gid, f"default group {gid} " + " and ".join(parts), {
            "group": gid, "enis": [h.name for h in members],
            "rules": [r.text(d) for d in (INGRESS, EGRESS) for r in group.rules(d)]}, group.origin,
            Fix("give its ENIs groups of their own and remove the default group's rules (it cannot be deleted)",
                " && ".join(commands)), severity)


def run_missing(check: Check, ctx: Context) -> Iterator[Finding]:
    """Rules naming a group the snapshot does not hold: AWS marks a reference stale when the referenced group (or the
    peering it was reached by) is deleted (aws-semantics.md §1.4); it admits no one and hides what was meant."""
    for ref in ctx.input.missing:
        direction = INGRESS if ref.direction == "ingress" else EGRESS
        proto = ref.rule.get("proto", "-1")
        ports = ref.rule.get("ports")
        what = f"{proto} {ports}" if ports is not None else str(proto)
        yield check.finding(ref.group, f"{ref.group} {ref.direction} rule {ref.index + 1} ({what} "
                            f"{'from' if direction is INGRESS else 'to'} {ref.missing}) names {ref.missing}, a group "
                            "the snapshot does not hold (deleted, or across a deleted peering): it admits no one",
                            {"group": ref.group, "direction": ref.direction, "missing_group": ref.missing,
                             "rule": dict(ref.rule)}, ref.origin,
                            Fix(f"remove the rule, or point it at the group or CIDR it was meant for",
                                f"aws ec2 revoke-security-group-{ref.direction} --group-id {ref.group} "
                                f"--ip-permissions 'IpProtocol={proto},"
                                + (f"FromPort={str(ports).split('-')[0]},ToPort={str(ports).split('-')[-1]},"
                                   if ports is not None else "")
                                + f"UserIdGroupPairs=[{{GroupId={ref.missing}}}]'"))
