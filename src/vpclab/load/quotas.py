"""AWS's default quotas a network exceeds: warnings, not errors, since users model what-ifs (a raised quota).

Sources: reference/aws-semantics.md §1.6 (security groups; Amazon VPC quotas) and §3.6 (network ACLs).
"""

from __future__ import annotations

from vpclab.errors import Problem
from vpclab.model import CidrPeer, Direction, GroupPeer, Network, NetworkAcl, SecurityGroup

SG_RULES = 60  # inbound or outbound rules per security group, per family (adjustable)
SGS_PER_ENI = 5  # security groups per network interface (adjustable up to 16)
NACL_RULES = 20  # rules per network ACL, per direction and family, counting the * deny (adjustable up to 40)

#: What exceeds a quota: ("security_groups", id, direction, family), ("hosts", name), ("nacls", id, direction,
#: family). A change step reports only the keys that the network before it did not have.
Key = tuple[str, ...]


def quota_warnings(network: Network) -> dict[Key, Problem]:
    """Every default quota the network exceeds, each a warning placed where the object is written."""
    warnings: dict[Key, Problem] = {}
    for group in network.security_groups.values():
        for direction in Direction:
            for family, count in _sg_rule_counts(network, group, direction).items():
                if count > SG_RULES:
                    warnings[("security_groups", group.id, direction.value, family)] = Problem(
                        f"security_groups.{group.id}.{direction.value}",
                        f"{group.id} has {count} {_way(direction)} {family} rules, more than AWS's quota 'Inbound or "
                        f"outbound rules per security group' allows ({SG_RULES} by default, counted separately for "
                        "IPv4 and IPv6, adjustable; aws-semantics.md §1.6): loaded anyway", group.origin, "warning")
    for host in network.vpc_hosts():
        if len(host.security_groups) > SGS_PER_ENI:
            warnings[("hosts", host.name)] = Problem(
                f"hosts.{host.name}.security_groups",
                f"{host.name} has {len(host.security_groups)} security groups, more than AWS's quota 'Security "
                f"groups per network interface' allows ({SGS_PER_ENI} by default, adjustable up to 16 as long as "
                "it times the rules per group stays ≤ 1,000; aws-semantics.md §1.6): loaded anyway", host.origin,
                "warning")
    for acl in network.nacls.values():
        for direction in Direction:
            for family, count in _nacl_rule_counts(acl, direction).items():
                if count > NACL_RULES:
                    warnings[("nacls", acl.id, direction.value, family)] = Problem(
                        f"nacls.{acl.id}.{direction.value}",
                        f"{acl.id} has {count} {_way(direction)} {family} rules with the * deny, more than AWS's "
                        f"quota 'Rules per network ACL' allows ({NACL_RULES} by default per direction and family, the "
                        "* deny included, adjustable up to 40; aws-semantics.md §3.6): loaded anyway", acl.origin,
                        "warning")
    return warnings


def _sg_rule_counts(network: Network, group: SecurityGroup, direction: Direction) -> dict[str, int]:
    """Rules by family as AWS counts them: a CIDR rule counts in its family; a group reference counts once in
    each; a prefix list counts as many rules as it has entries (AWS: its maximum entries), in each."""
    counts = {"IPv4": 0, "IPv6": 0}
    for rule in group.rules(direction):
        if isinstance(rule.peer, CidrPeer):
            counts[f"IPv{rule.peer.cidr.version}"] += 1
            continue
        weight = 1 if isinstance(rule.peer, GroupPeer) else len(network.prefix_lists[rule.peer.prefix_list].cidrs)
        for family in counts:
            counts[family] += weight
    return counts


def _nacl_rule_counts(acl: NetworkAcl, direction: Direction) -> dict[str, int]:
    """Entries by family, each with its * deny (only families that have entries)."""
    counts: dict[str, int] = {}
    for entry in acl.entries(direction):
        family = f"IPv{entry.cidr.version}"
        counts[family] = counts.get(family, 1) + 1
    return counts


def _way(direction: Direction) -> str:
    return "inbound" if direction is Direction.INGRESS else "outbound"
