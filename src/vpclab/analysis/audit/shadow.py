"""Rules that change nothing: security group rules covered by other rules of the same ENIs' union, and NACL
entries that never match because earlier entries decide every packet they would.

Coverage is computed on the engine's compiled facts — each rule as a `MatchItem` (protocol, address spans per
family, port or ICMP type/code span; group references expanded to today's members, prefix lists to their CIDRs),
the same items the matcher looks packets up in — never by comparing rule text. A box (addresses × ports) is covered
when, cut at every port boundary of the rules overlapping it, each slice's addresses lie in the union of theirs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vpclab.analysis.audit.commands import delete_nacl_entry, revoke
from vpclab.analysis.audit.context import EGRESS, INGRESS, Context
from vpclab.analysis.audit.evidence import rule_data
from vpclab.analysis.audit.finding import Check, Finding, Fix, Severity
from vpclab.engine.matcher import MatchItem, Span, merge_spans, port_span
from vpclab.engine.nacl import NaclPolicy
from vpclab.engine.sg import SgPolicy, match_items
from vpclab.engine.verdict import RuleRef
from vpclab.model.addresses import span
from vpclab.model.protocols import ALL
from vpclab.model.rules import Action, SgRule


def _protocol_covers(outer: int, inner: int) -> bool:
    return outer == ALL or outer == inner


def covered(item: MatchItem, others: Sequence[MatchItem]) -> bool:
    """True when every (protocol, address, port) `item` matches is matched by one of `others` too."""
    candidates = [o for o in others if _protocol_covers(o.proto, item.proto)
                  and o.first <= item.last and item.first <= o.last]
    if not candidates:
        return False
    for version in (4, 6):
        mine = item.spans(version)
        if not mine:
            continue
        theirs = [o for o in candidates if o.spans(version)]
        cuts = sorted({item.first, item.last + 1} | {b for o in theirs for b in (o.first, o.last + 1)
                                                      if item.first < b <= item.last})
        for lo, hi in zip(cuts, cuts[1:]):
            spans = merge_spans([s for o in theirs if o.first <= lo and hi - 1 <= o.last for s in o.spans(version)])
            if not all(_inside(s, spans) for s in mine):
                return False
    return bool(item.v4 or item.v6)


def overlaps(item: MatchItem, other: MatchItem) -> bool:
    """True when `other` matches some packet `item` matches (the only rules that can help cover it)."""
    if not (_protocol_covers(other.proto, item.proto) and other.first <= item.last and item.first <= other.last):
        return False
    return any(lo <= b_hi and b_lo <= hi for v in (4, 6) for lo, hi in item.spans(v) for b_lo, b_hi in other.spans(v))


def _inside(s: Span, merged: list[Span]) -> bool:
    return any(lo <= s[0] and s[1] <= hi for lo, hi in merged)


# ---- security groups ---------------------------------------------------------------------------------------


def run_sg(check: Check, ctx: Context) -> Iterator[Finding]:
    """A rule is redundant when it is covered in every union of groups that carries its group (or in its group
    alone, when no ENI carries it). Within a union the reported rules can all be removed together: rules are
    judged narrowest first, and a rule already reported no longer covers the others."""
    unions = list(ctx.unions) + [(gid,) for gid, hosts in ctx.members.items() if not hosts]
    per_rule: dict[tuple[str, object, int], list[RuleRef | None]] = {}
    for union in unions:
        for direction in (INGRESS, EGRESS):
            policy = _policy(ctx, union, direction)
            if len(policy.rules) < 2:
                verdicts: dict[int, RuleRef] = {}
            else:
                verdicts = _redundant(policy, match_items(policy.rules, policy.peers))
            for i, ref in enumerate(policy.rules):
                per_rule.setdefault((ref.owner, direction, ref.number or 0), []).append(verdicts.get(i))
    for gid, group in ctx.network.security_groups.items():
        for direction in (INGRESS, EGRESS):
            rules = group.rules(direction)
            for number, rule in enumerate(rules, start=1):
                seen = per_rule.get((gid, direction, number), [])
                if seen and all(by is not None for by in seen):
                    yield _sg_finding(check, gid, direction, number, rule, seen[0], len(ctx.unions_of(gid)))  # type: ignore[arg-type]


def _size(item: MatchItem) -> int:
    return (item.last - item.first + 1) * sum(hi - lo + 1 for v in (4, 6) for lo, hi in item.spans(v))


def _redundant(policy: SgPolicy, items: list[MatchItem]) -> dict[int, RuleRef]:
    """The rules of one compiled policy that the others cover, each with a rule to cite; narrowest first."""
    removed: set[int] = set()
    found: dict[int, RuleRef] = {}
    for i in sorted(range(len(items)), key=lambda k: (_size(items[k]), k)):
        item = items[i]
        others = [o for j, o in enumerate(items) if j != i and j not in removed and overlaps(item, o)
                  and not _twin_later(items, i, j, policy)]
        if others and covered(item, others):
            removed.add(i)
            found[i] = _coverer(items[i], items, i, policy, removed)
    return found


def _policy(ctx: Context, union: tuple[str, ...], direction: object) -> SgPolicy:
    hosts = ctx.unions.get(union)
    if hosts:
        return ctx.engine.sg_policy(hosts[0].name, direction)  # type: ignore[arg-type]
    from vpclab.engine.sg import compile_policy  # a group on no ENI: compiled alone, as the engine would

    return compile_policy(ctx.network, union, direction)  # type: ignore[arg-type]


def _twin_later(items: list[MatchItem], i: int, j: int, policy: SgPolicy) -> bool:
    """Of two rules matching exactly the same packets, the first is kept: the later one is not counted as covering
    the earlier (else each would be reported as covered by the other)."""
    a, b = items[i], items[j]
    return j > i and (a.proto, a.v4, a.v6, a.first, a.last) == (b.proto, b.v4, b.v6, b.first, b.last)


def _coverer(item: MatchItem, items: list[MatchItem], i: int, policy: SgPolicy, removed: set[int]) -> RuleRef:
    """The rule to cite: one kept rule that covers `item` alone if any, else the first kept overlapping one."""
    for j, other in enumerate(items):
        if j not in removed and not _twin_later(items, i, j, policy) and covered(item, [other]):
            return policy.rules[j]
    for j, other in enumerate(items):
        if j not in removed and _protocol_covers(other.proto, item.proto) and other.first <= item.last and item.first <= other.last:
            return policy.rules[j]
    return policy.rules[i]


def _sg_finding(check: Check, gid: str, direction: object, number: int, rule: SgRule, by: RuleRef,
                unions: int) -> Finding:
    where = "its group" if by.owner == gid else f"group {by.owner}, carried with it"
    scope = f"on every one of the {unions} sets of groups its ENIs carry" if unions else "(the group is on no ENI)"
    covering = by.rule.text(by.direction) if isinstance(by.rule, SgRule) else ""
    return check.finding(
        gid, f"{gid} {direction} rule {number} ({rule.text(direction)}) is covered by {by.owner} {by.ref} "
        f"({covering}) of {where} {scope}: removing it changes no decision",
        {"rule": {"owner": gid, "direction": str(direction), "number": number, "rule": rule.text(direction),
                  "source": str(rule.origin) if rule.origin else ""}, "covered_by": rule_data(by)},
        rule.origin, Fix(f"remove {gid} {direction} rule {number}", revoke(gid, direction, rule)))  # type: ignore[arg-type]


# ---- network ACLs ------------------------------------------------------------------------------------------


def nacl_items(policy: NaclPolicy) -> list[MatchItem]:
    """A NACL direction's entries as the matcher's items, in number order (bit i = entry i)."""
    items = []
    for bit, entry in enumerate(policy.entries):
        cidr = (span(entry.cidr),)
        v4, v6 = (cidr, ()) if entry.cidr.version == 4 else ((), cidr)
        items.append(MatchItem(bit, entry.protocol, v4, v6, *port_span(entry.protocol, entry.ports, entry.icmp)))
    return items


def run_nacl(check: Check, ctx: Context) -> Iterator[Finding]:
    used = {s.nacl for s in ctx.network.subnets.values()}
    for acl_id in sorted(used):
        subnet = next(name for name, s in ctx.network.subnets.items() if s.nacl == acl_id)
        for direction in (INGRESS, EGRESS):
            policy = ctx.engine.nacl_policy(subnet, direction)
            items = nacl_items(policy)
            for i, item in enumerate(items):
                if i and covered(item, items[:i]):
                    yield _nacl_finding(check, policy, i, items)


def _nacl_finding(check: Check, policy: NaclPolicy, i: int, items: list[MatchItem]) -> Finding:
    entry = policy.entries[i]
    deciders = [j for j in range(i) if _protocol_covers(items[j].proto, items[i].proto)
                and items[j].first <= items[i].last and items[i].first <= items[j].last
                and any(_overlap(a, b) for v in (4, 6) for a in items[i].spans(v) for b in items[j].spans(v))]
    contrary = [j for j in deciders if policy.entries[j].action is not entry.action]
    severity = Severity.MEDIUM if contrary and entry.action is Action.DENY else Severity.LOW
    by = [policy.refs[j] for j in (contrary or deciders)]
    lead = ("earlier allow entries decide every packet it would match, so the deny never applies"
            if severity is Severity.MEDIUM else "earlier entries decide every packet it would match")
    message = (f"{policy.id} {policy.direction} {entry.text(policy.direction)} can never match: {lead} "
               f"({', '.join('rule ' + str(r.number) for r in by)})")
    return check.finding(policy.id, message, {"entry": rule_data(policy.refs[i]), "decided_by": [rule_data(r) for r in by]},
                         entry.origin or policy.star.origin,
                         Fix(f"remove {policy.id} {policy.direction} rule {entry.number}"
                             + (", or renumber it below the allow entries it must precede" if severity is Severity.MEDIUM
                                else ""), delete_nacl_entry(policy.id, policy.direction, entry)), severity)


def _overlap(a: Span, b: Span) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]

