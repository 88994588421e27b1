"""Security group policies compiled per ENI: the union of its groups' rules, one gate per direction."""

from __future__ import annotations

from dataclasses import dataclass

from vpclab.model.addresses import span
from vpclab.model.network import Network
from vpclab.model.protocols import ALL, TCP, UDP, protocol_name
from vpclab.model.rules import CidrPeer, Direction, GroupPeer, PrefixListPeer, SgRule
from vpclab.engine.matcher import LinearIndex, MatchItem, RuleIndex, port_span


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its provenance: the group, direction and 1-based position it has there."""

    group: str
    direction: Direction
    number: int
    rule: SgRule

    @property
    def ref(self) -> str:
        return f"{self.direction} rule {self.number}"

    def text(self) -> str:
        return f"{self.ref}: {self.rule.text(self.direction)}"

    def __str__(self) -> str:
        return f"{self.group} {self.text()}"


class SgPolicy:
    """One direction of one ENI's security groups, compiled for lookup.

    `world_mask` marks rules whose peer is 0.0.0.0/0 or ::/0; `all_ports_world` holds the (family, protocol)
    pairs for which some rule admits every port to/from the world — the two facts AWS's untracked rule needs.
    """

    __slots__ = ("groups", "direction", "rules", "index", "world_mask", "all_ports_world")

    def __init__(self, groups: tuple[str, ...], direction: Direction, rules: list[CompiledRule],
                 items: list[MatchItem], linear: bool = False) -> None:
        self.groups = groups
        self.direction = direction
        self.rules = rules
        self.index: RuleIndex | LinearIndex = LinearIndex(items) if linear else RuleIndex(items)
        self.world_mask = 0
        pairs: set[tuple[int, int]] = set()
        for bit, compiled in enumerate(rules):
            peer = compiled.rule.peer
            if isinstance(peer, CidrPeer) and peer.is_world:
                self.world_mask |= 1 << bit
                if compiled.rule.all_ports:
                    version = peer.cidr.version
                    for proto in ((TCP, UDP) if compiled.rule.protocol == ALL else (compiled.rule.protocol,)):
                        pairs.add((version, proto))
        self.all_ports_world = frozenset(pairs)

    @property
    def label(self) -> str:
        return ", ".join(self.groups)

    def describe_miss(self, proto: int, what: str, peer: str) -> str:
        """Why no rule matched: `sg-b has no ingress rule for tcp/4321 from 198.18.1.10`."""
        verb = "has" if len(self.groups) == 1 else "have"
        preposition = "from" if self.direction is Direction.INGRESS else "to"
        return f"{self.label} {verb} no {self.direction} rule for {what} {preposition} {peer}"


def rule_items(rules: list[CompiledRule], network: Network) -> list[MatchItem]:
    """Flatten rules for matching: prefix lists become their CIDRs, group references their members' private IPs."""
    items = []
    for bit, compiled in enumerate(rules):
        rule = compiled.rule
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        peer = rule.peer
        if isinstance(peer, CidrPeer):
            cidrs = [peer.cidr]
        elif isinstance(peer, PrefixListPeer):
            cidrs = list(network.prefix_lists[peer.prefix_list].cidrs)
        else:
            cidrs = []
            for address in network.group_members(peer.group):
                value = int(address)
                (v4 if address.version == 4 else v6).append((value, value))
        for cidr in cidrs:
            (v4 if cidr.version == 4 else v6).append(span(cidr))
        first, last = port_span(rule.protocol, rule.ports, rule.icmp)
        items.append(MatchItem(bit, rule.protocol, tuple(v4), tuple(v6), first, last))
    return items


def compile_policy(network: Network, groups: tuple[str, ...], direction: Direction,
                   linear: bool = False) -> SgPolicy:
    """Compile the union of `groups`' rules in `direction`, in group order then rule order."""
    rules = [CompiledRule(gid, direction, n, rule)
             for gid in groups
             for n, rule in enumerate(network.security_groups[gid].rules(direction), start=1)]
    return SgPolicy(groups, direction, rules, rule_items(rules, network), linear)


def referenced_groups(network: Network, groups: tuple[str, ...]) -> frozenset[str]:
    """Groups whose membership a policy depends on (through group references)."""
    return frozenset(rule.peer.group for gid in groups for d in Direction
                     for rule in network.security_groups[gid].rules(d) if isinstance(rule.peer, GroupPeer))


def what_text(proto: int, dport: int, icmp_name: str) -> str:
    """`tcp/4321`, `udp/53`, `icmp echo-reply`, `protocol gre`."""
    if proto in (TCP, UDP):
        return f"{protocol_name(proto)}/{dport}"
    if icmp_name:
        return f"{protocol_name(proto)} {icmp_name}"
    return f"protocol {protocol_name(proto)}"
