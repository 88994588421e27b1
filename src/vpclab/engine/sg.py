"""Security group policies compiled per ENI: the union of its groups' rules, one gate per direction.

Also the compiled facts other parts render rather than re-derive: each rule's peer as address blocks (group
references expanded to members' private IPs, prefix lists to their CIDRs) and AWS's untracked-flow rule as
port spans (`untracked_matches`), which the engine itself decides with and the kernel renders as `notrack`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from vpclab.engine.matcher import LinearIndex, MatchItem, RuleIndex, Span, merge_spans, port_span
from vpclab.engine.verdict import RuleRef
from vpclab.errors import Origin
from vpclab.model.addresses import IPNetwork, span
from vpclab.model.network import Network
from vpclab.model.protocols import ALL, TCP, UDP
from vpclab.model.rules import CidrPeer, Direction, GroupPeer, PrefixListPeer, SgRule

#: the protocols AWS's untracked-flow rule concerns
UNTRACKED_PROTOCOLS = (TCP, UDP)


class SgPolicy:
    """One direction of one ENI's security groups, compiled for lookup.

    `rules[i]` cites rule i (bit i of a match mask) and `peers[i]` holds its peer as address blocks.
    `world_ports[(version, proto)]` are the port spans that rules with peer 0.0.0.0/0 (::/0) admit for TCP/UDP;
    `all_world` the (version, proto) pairs for which one such rule admits every port — the two facts AWS's
    untracked rule needs.
    """

    __slots__ = ("groups", "origin", "direction", "rules", "peers", "index", "world_mask", "world_ports", "all_world")

    def __init__(self, groups: tuple[str, ...], direction: Direction, rules: list[RuleRef],
                 peers: list[tuple[IPNetwork, ...]], items: list[MatchItem], linear: bool = False,
                 origin: Origin | None = None) -> None:
        self.groups = groups
        self.origin = origin  # the first group's: where a missing rule would be added
        self.direction = direction
        self.rules = rules
        self.peers = peers
        self.index: RuleIndex | LinearIndex = LinearIndex(items) if linear else RuleIndex(items)
        world: dict[tuple[int, int], list[Span]] = {}
        all_world: set[tuple[int, int]] = set()
        self.world_mask = 0  # bit i set: rule i's peer is 0.0.0.0/0 or ::/0
        for bit, ref in enumerate(rules):
            rule = ref.rule
            assert isinstance(rule, SgRule)
            if isinstance(rule.peer, CidrPeer) and rule.peer.is_world:
                self.world_mask |= 1 << bit
                for proto in UNTRACKED_PROTOCOLS:
                    if rule.protocol in (ALL, proto):
                        pair = (rule.peer.cidr.version, proto)
                        world.setdefault(pair, []).append((rule.ports.first, rule.ports.last))
                        if rule.all_ports:
                            all_world.add(pair)
        self.world_ports = {pair: tuple(merge_spans(spans)) for pair, spans in world.items()}
        self.all_world = frozenset(all_world)

    @property
    def label(self) -> str:
        return ", ".join(self.groups)

    def all_ports_world(self, version: int, proto: int) -> bool:
        """True when one rule admits every port of `proto` to/from 0.0.0.0/0 (or ::/0)."""
        return (version, proto) in self.all_world


@dataclass(frozen=True, slots=True)
class UntrackedMatch:
    """Packets of one ENI that belong to untracked flows (AWS: a 0.0.0.0/0 rule admits the flow and the
    other direction allows 0.0.0.0/0 on all ports; docs/assumptions.md U1-U2).

    `role` is `first` (the packet crosses `direction` as its flow's first packet: its destination port is in
    `ports`) or `response` (it answers a flow opened the other way: its source port is in `ports`; a pure TCP
    SYN always opens a flow, so it never is a response).
    """

    direction: Direction
    version: int
    proto: int
    role: str
    ports: tuple[Span, ...]


def untracked_matches(ingress: SgPolicy, egress: SgPolicy) -> tuple[UntrackedMatch, ...]:
    """Every untracked-flow match of an ENI with these two policies."""
    matches = []
    for policy, other in ((ingress, egress), (egress, ingress)):
        for (version, proto), ports in policy.world_ports.items():
            if other.all_ports_world(version, proto):
                matches.append(UntrackedMatch(policy.direction, version, proto, "first", ports))
        for (version, proto), ports in other.world_ports.items():
            if policy.all_ports_world(version, proto):
                matches.append(UntrackedMatch(policy.direction, version, proto, "response", ports))
    return tuple(matches)


def peer_blocks(network: Network, rule: SgRule) -> tuple[IPNetwork, ...]:
    """A rule's peer as address blocks: a CIDR, a prefix list's CIDRs, or the private IPs (/32, /128) of the
    ENIs carrying the referenced group (AWS: never their public IPs)."""
    peer = rule.peer
    if isinstance(peer, CidrPeer):
        return (peer.cidr,)
    if isinstance(peer, PrefixListPeer):
        return network.prefix_lists[peer.prefix_list].cidrs
    return tuple(ipaddress.ip_network(address) for address in network.group_members(peer.group))


#: a peer as address blocks, with their spans: IPv4, IPv6
Expanded = tuple[tuple[IPNetwork, ...], tuple[Span, ...], tuple[Span, ...]]


def expanded(blocks: tuple[IPNetwork, ...]) -> Expanded:
    """`blocks` with their IPv4 and their IPv6 spans."""
    return blocks, tuple(span(b) for b in blocks if b.version == 4), tuple(span(b) for b in blocks if b.version == 6)


class PeerCache:
    """Rules' peers on one network, `expanded`; each referenced group's members once, however many ENIs' policies
    cite the group."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self._groups: dict[str, Expanded] = {}

    def __call__(self, rule: SgRule) -> Expanded:
        if not isinstance(rule.peer, GroupPeer):
            return expanded(peer_blocks(self.network, rule))
        found = self._groups.get(rule.peer.group)
        if found is None:
            found = self._groups[rule.peer.group] = expanded(peer_blocks(self.network, rule))
        return found


def match_items(rules: list[RuleRef], peers: list[tuple[IPNetwork, ...]]) -> list[MatchItem]:
    """Rules flattened for matching (bit i = rule i): protocol, address spans per family, port span."""
    return [_item(bit, ref, *expanded(blocks)[1:]) for bit, (ref, blocks) in enumerate(zip(rules, peers))]


def _item(bit: int, ref: RuleRef, v4: tuple[Span, ...], v6: tuple[Span, ...]) -> MatchItem:
    """The rule `ref` cites as match item `bit`, its peer's spans given."""
    rule = ref.rule
    assert isinstance(rule, SgRule)
    return MatchItem(bit, rule.protocol, v4, v6, *port_span(rule.protocol, rule.ports, rule.icmp))


def compile_policy(network: Network, groups: tuple[str, ...], direction: Direction,
                   linear: bool = False, cache: PeerCache | None = None) -> SgPolicy:
    """Compile the union of `groups`' rules in `direction`, in group order then rule order; `cache` shares the
    expanded group references between the policies of one network."""
    rules = [RuleRef(gid, direction, n, rule, rule.origin)
             for gid in groups
             for n, rule in enumerate(network.security_groups[gid].rules(direction), start=1)]
    expand = cache or PeerCache(network)
    peers = [expand(ref.rule) for ref in rules]  # type: ignore[arg-type]
    items = [_item(bit, ref, v4, v6) for bit, (ref, (_, v4, v6)) in enumerate(zip(rules, peers))]
    origin = network.security_groups[groups[0]].origin if groups else None
    return SgPolicy(groups, direction, rules, [blocks for blocks, _, _ in peers], items, linear, origin)
