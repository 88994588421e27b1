"""Admin and database ports reachable from the internet, decided by a real reach from `internet` (public IP, route,
NACLs both ways, security groups) — not by spotting a 0.0.0.0/0 rule.

A rule that admits the internet on an ENI nothing outside can reach today (no public IP, no route) is a
lower-severity finding: attaching a public IP or a route would expose it. A NACL that refuses the request or its
reply makes it no finding at all: the NACL is a deliberate second wall (prowler #2910, trivy #7006).
"""

from __future__ import annotations

from collections.abc import Iterator

from vpclab.analysis.audit.commands import revoke
from vpclab.analysis.audit.context import EGRESS, INGRESS, Context
from vpclab.analysis.audit.evidence import path_data, rule_data
from vpclab.analysis.audit.finding import Check, Finding, Fix, Severity
from vpclab.analysis.reach import ReachAnswer
from vpclab.engine.matcher import lowest_bit
from vpclab.engine.verdict import RuleRef
from vpclab.model.network import Host
from vpclab.model.protocols import TCP
from vpclab.model.rules import SgRule

#: the admin and database ports the check asks about (TCP), with their service names
ADMIN_PORTS: dict[int, str] = {
    21: "FTP", 22: "SSH", 23: "Telnet", 445: "SMB", 1433: "SQL Server", 1521: "Oracle", 2375: "Docker API",
    3306: "MySQL", 3389: "RDP", 5432: "PostgreSQL", 5601: "Kibana", 5900: "VNC", 6379: "Redis", 9200: "Elasticsearch",
    11211: "Memcached", 27017: "MongoDB"}


def run(check: Check, ctx: Context) -> Iterator[Finding]:
    for host in ctx.hosts:
        if not host.security_groups:
            continue
        policy = ctx.engine.sg_policy(host.name, INGRESS)
        families = [(4, int(ctx.standin))] + ([(6, int(ctx.standin6))] if host.ipv6 is not None else [])
        for version, standin in families:
            by_rule: dict[RuleRef, list[int]] = {}
            for port in ADMIN_PORTS:
                mask = policy.index.match(version, TCP, standin, port)
                if mask:  # a rule admits the internet's SYN: ask whether anything lets it arrive, and its reply leave
                    by_rule.setdefault(policy.rules[lowest_bit(mask)], []).append(port)
            for ref, ports in by_rule.items():
                finding = (_exposure(check, ctx, host, ref, ports) if version == 4
                           else _exposure6(check, ctx, host, ref, ports))
                if finding is not None:
                    yield finding


def _exposure(check: Check, ctx: Context, host: Host, ref: RuleRef, ports: list[int]) -> Finding | None:
    rule = ref.rule
    assert isinstance(rule, SgRule)
    names = ", ".join(f"{p} ({ADMIN_PORTS[p]})" for p in ports)
    fix = Fix(f"restrict {ref.owner} {ref.ref} ({rule.text(INGRESS)}) to the addresses that administer these ENIs, "
              "or remove it and use AWS Systems Manager Session Manager", revoke(ref.owner, INGRESS, rule))
    evidence: dict[str, object] = {"eni": host.name, "ports": ports, "rule": rule_data(ref)}
    if host.public_ip is not None:
        reachable = [p for p in ports if exposed(ctx.from_internet(host, TCP, p))]
        if reachable:
            answer = ctx.from_internet(host, TCP, reachable[0])
            evidence.update(ports=reachable, path=path_data(answer))
            return check.finding(host.name, f"{host.name} ({host.public_ip}) accepts TCP "
                                 + ", ".join(f"{p} ({ADMIN_PORTS[p]})" for p in reachable)
                                 + f" from the internet: the whole path is open both ways ({ref.owner} {ref.ref})",
                                 evidence, ref.origin, fix)
        answer = ctx.from_internet(host, TCP, ports[0])
        if any(b.hop.step.component == "nacl" for b in answer.blockers):
            return None  # a NACL refuses it: the second wall works
        evidence["path"] = path_data(answer)
        return check.finding(host.name, f"{ref.owner} {ref.ref} admits the internet to {names} on {host.name}, but "
                             f"nothing outside reaches it today ({', '.join(answer.codes)})", evidence, ref.origin,
                             fix, Severity.LOW)
    if _nacl_refuses(ctx, host, ports[0]):
        return None
    evidence["reason"] = "no public IP"
    return check.finding(host.name, f"{ref.owner} {ref.ref} admits the internet to {names} on {host.name}, which has "
                         "no public IP: unreachable from the internet today, exposed as soon as one is attached",
                         evidence, ref.origin, fix, Severity.LOW)


def _exposure6(check: Check, ctx: Context, host: Host, ref: RuleRef, ports: list[int]) -> Finding | None:
    """The same question over IPv6: the ENI's IPv6 address is global, so only the route (an internet gateway's ::/0;
    an egress-only gateway admits no connection from outside), the NACLs and the groups decide."""
    rule = ref.rule
    assert isinstance(rule, SgRule)
    fix = Fix(f"restrict {ref.owner} {ref.ref} ({rule.text(INGRESS)}) to the addresses that administer these ENIs, "
              "or remove it and use AWS Systems Manager Session Manager", revoke(ref.owner, INGRESS, rule))
    evidence: dict[str, object] = {"eni": host.name, "ports": ports, "rule": rule_data(ref), "family": "ipv6"}
    reachable = [p for p in ports if exposed(ctx.from_internet(host, TCP, p, v6=True))]
    if reachable:
        evidence.update(ports=reachable, path=path_data(ctx.from_internet(host, TCP, reachable[0], v6=True)))
        return check.finding(host.name, f"{host.name} ({host.ipv6}) accepts TCP "
                             + ", ".join(f"{p} ({ADMIN_PORTS[p]})" for p in reachable)
                             + f" from the internet over IPv6: the whole path is open both ways ({ref.owner} "
                             f"{ref.ref})", evidence, ref.origin, fix)
    answer = ctx.from_internet(host, TCP, ports[0], v6=True)
    if any(b.hop.step.component == "nacl" for b in answer.blockers):
        return None
    evidence["path"] = path_data(answer)
    names = ", ".join(f"{p} ({ADMIN_PORTS[p]})" for p in ports)
    return check.finding(host.name, f"{ref.owner} {ref.ref} admits the IPv6 internet to {names} on {host.name}, but "
                         f"nothing outside reaches it today ({', '.join(answer.codes)})", evidence, ref.origin, fix,
                         Severity.LOW)


def exposed(answer: ReachAnswer) -> bool:
    """Reachable, or reachable from some source ports: the forward path is open and only some of the client's
    ephemeral ports have their replies dropped (a client picks its source port)."""
    if answer.reachable:
        return True
    if not answer.blocked_ports or any(h.blocking for h in answer.forward):
        return False
    return any(not any(a <= p <= b for a, b in answer.blocked_ports) for p in answer.ports_checked)


def _nacl_refuses(ctx: Context, host: Host, port: int) -> bool:
    """True when the ENI's subnet NACL refuses an internet client's SYN to `port` or the reply to its first
    ephemeral port (the engine's compiled NACL, as a public IP's path would meet it)."""
    if host.subnet is None:
        return False
    syn = ctx.engine.nacl_policy(host.subnet, INGRESS)
    reply = ctx.engine.nacl_policy(host.subnet, EGRESS)
    sport = ctx.internet_host.ephemeral_ports.first
    inbound = syn.decide(4, TCP, int(ctx.standin), port)
    outbound = reply.decide(4, TCP, int(ctx.standin), sport)
    return not (inbound >= 0 and syn.allow[inbound]) or not (outbound >= 0 and reply.allow[outbound])
