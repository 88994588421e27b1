"""Connection tracking and revocation (the second seed article, aws-semantics.md §2.2, §2.4, §2.5).

Untracked flows (a 0.0.0.0/0 rule admits them and the other direction allows 0.0.0.0/0 on all ports) are judged by
the rules on every packet: revoking the rule cuts them at once. Tracked flows outlive the rule that admitted them
until they are idle for the ENI's TCP established timeout (432,000 s, five days, by default): revoking a rule
does not end an intruder's live connection. Both come from the engine's facts (`Engine.untracked`, and
`Engine.decide`'s security group gate saying whether it admits a packet as untracked).
"""

from __future__ import annotations

from collections.abc import Iterator

from vpclab.analysis.audit.commands import conntrack_timeout
from vpclab.analysis.audit.context import EGRESS, INGRESS, Context
from vpclab.analysis.audit.evidence import packet_data, path_data, rule_data
from vpclab.analysis.audit.exposure import exposed
from vpclab.analysis.audit.finding import Check, Finding, Fix, Severity
from vpclab.engine.packet import Packet
from vpclab.model.protocols import ALL, TCP, protocol_name
from vpclab.model.rules import SgRule

#: the TCP established timeout the fix proposes: AWS's own default for Nitro v6 instance types (§2.5)
PROPOSED_TIMEOUT = 350
#: ENIs whose TCP established timeout is at most this are not reported (revocation takes effect soon enough)
SHORT_TIMEOUT = 3600


def _spans(spans: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


def run_untracked(check: Check, ctx: Context) -> Iterator[Finding]:
    for union, hosts in ctx.unions.items():
        host = hosts[0]
        for match in ctx.engine.untracked(host.name):
            if match.role != "first":
                continue
            policy = ctx.engine.sg_policy(host.name, match.direction)
            world = [ref for bit, ref in enumerate(policy.rules) if policy.world_mask >> bit & 1
                     and isinstance(ref.rule, SgRule) and ref.rule.protocol in (ALL, match.proto)
                     and (ref.rule.peer.cidr.version == match.version)]  # type: ignore[union-attr]
            if not world:
                continue
            ref = world[0]
            other = EGRESS if match.direction is INGRESS else INGRESS
            opposite = ctx.engine.sg_policy(host.name, other)
            back = next((r for bit, r in enumerate(opposite.rules) if opposite.world_mask >> bit & 1
                         and isinstance(r.rule, SgRule) and r.rule.all_ports
                         and r.rule.protocol in (ALL, match.proto)
                         and r.rule.peer.cidr.version == match.version), None)  # type: ignore[union-attr]
            started = "from" if match.direction is INGRESS else "to"
            what = f"{protocol_name(match.proto)} {_spans(match.ports)} {started} "
            what += "0.0.0.0/0" if match.version == 4 else "::/0"
            yield check.finding(
                ref.owner, f"{what} on {len(hosts)} ENI(s) with {', '.join(union)} is untracked ({ref.owner} {ref.ref}"
                f" and {back.owner + ' ' + back.ref if back else 'an all-ports rule'} the other way): every packet is "
                "judged by the rules, so revoking the rule cuts these flows at once, and their replies need the "
                "other direction's rule", {"enis": [h.name for h in hosts], "direction": str(match.direction),
                                           "proto": protocol_name(match.proto), "ports": [list(s) for s in match.ports],
                                           "rule": rule_data(ref), "other_direction": rule_data(back)},
                ref.origin, Fix("nothing to change to cut them: revoking the rule ends them immediately; to have them "
                                "tracked instead, narrow the other direction's all-ports 0.0.0.0/0 rule"))


def run_revocation(check: Check, ctx: Context) -> Iterator[Finding]:
    """Low: ENIs the internet reaches on a TCP port whose flows are tracked, with a long TCP established timeout.
    Info: for the other ENIs with such a timeout, one finding per set of groups naming the ingress rules whose TCP
    flows are tracked (the second seed article: testa's connection to testb outlives testb's rule)."""
    reported: set[str] = set()
    for finding in _internet_revocation(check, ctx):
        reported.add(finding.resource)
        yield finding
    yield from _tracked_rules(check, ctx, reported)


def _tracked_rules(check: Check, ctx: Context, reported: set[str]) -> Iterator[Finding]:
    for union, hosts in ctx.unions.items():
        long = [h for h in hosts if h.conntrack.tcp_established > SHORT_TIMEOUT and h.name not in reported]
        if not long:
            continue
        untracked = [m.ports for m in ctx.engine.untracked(long[0].name)
                     if m.direction is INGRESS and m.role == "first" and m.proto == TCP and m.version == 4]
        spans = [span for ports in untracked for span in ports]
        policy = ctx.engine.sg_policy(long[0].name, INGRESS)
        tracked = [ref for ref in policy.rules if isinstance(ref.rule, SgRule) and ref.rule.protocol in (TCP, ALL)
                   and not _within_all(ref.rule.ports.first, ref.rule.ports.last, spans)]
        if not tracked:
            continue
        timeouts = sorted({h.conntrack.tcp_established for h in long})
        names = ", ".join(f"{r.owner} {r.ref} ({r.rule.text(INGRESS)})" for r in tracked[:5])  # type: ignore[union-attr]
        more = f" and {len(tracked) - 5} more" if len(tracked) > 5 else ""
        longest = timeouts[-1]
        yield check.finding(
            long[0].name if len(long) == 1 else ", ".join(union),
            f"TCP connections admitted by {names}{more} on {len(long)} ENI(s) are tracked: revoking the rule leaves "
            f"live ones open until idle for {longest:,} s (the TCP established timeout"
            f"{', the default' if longest == 432000 else ''})",
            {"enis": [h.name for h in long], "groups": list(union), "tcp_established_timeouts": timeouts,
             "tracked_rules": [rule_data(r) for r in tracked]}, tracked[0].origin,
            Fix("to end them when revoking, close the connections or add a NACL deny (NACLs cut them at once); lower "
                "the ENIs' TCP established idle timeout (60-432000 s) so they end sooner",
                conntrack_timeout(long[0].name, PROPOSED_TIMEOUT)), Severity.INFO)


def _within_all(first: int, last: int, spans: list[tuple[int, int]]) -> bool:
    """True when every port of [first, last] lies in `spans` (then its flows are untracked)."""
    port = first
    for lo, hi in sorted(spans):
        if lo <= port <= hi:
            port = hi + 1
            if port > last:
                return True
    return False


def _internet_revocation(check: Check, ctx: Context) -> Iterator[Finding]:
    standin = int(ctx.standin)
    for host in ctx.hosts:
        if not host.security_groups or host.public_ip is None \
                or host.conntrack.tcp_established <= SHORT_TIMEOUT:
            continue
        policy = ctx.engine.sg_policy(host.name, INGRESS)
        ports = sorted({r.rule.ports.first if r.rule.protocol == TCP else 443  # type: ignore[union-attr]
                        for r in policy.rules if isinstance(r.rule, SgRule) and r.rule.protocol in (TCP, ALL)})
        for port in ports:
            if not policy.index.match(4, TCP, standin, port):
                continue
            syn = Packet.tcp(ctx.standin, 40000, host.public_ip, port)
            gate = next((g for g in ctx.engine.decide(syn).gates if g.component == "sg" and g.where == host.name), None)
            if gate is None or not gate.allowed or gate.untracked:
                continue
            answer = ctx.from_internet(host, TCP, port)
            if not exposed(answer):
                continue
            timeout = host.conntrack.tcp_established
            yield check.finding(
                host.name, f"connections from the internet to {host.name} on tcp/{port} are tracked "
                f"({gate.rule.owner if gate.rule else gate.id} {gate.rule.ref if gate.rule else ''}): revoking the rule "
                f"does not end live ones, which last until idle for {timeout:,} s (the ENI's TCP established timeout"
                f"{', the default' if timeout == 432000 else ''})",
                {"eni": host.name, "port": port, "tcp_established_timeout": timeout, "packet": packet_data(syn),
                 "rule": rule_data(gate.rule), "path": path_data(answer)},
                gate.rule.origin if gate.rule and gate.rule.origin else host.origin,
                Fix(f"lower the ENI's TCP established idle timeout (60-432000 s) so revoked connections end sooner, "
                    f"and in an incident close live connections or add a NACL deny (NACLs cut them at once)",
                    conntrack_timeout(host.name, PROPOSED_TIMEOUT)))
            break
