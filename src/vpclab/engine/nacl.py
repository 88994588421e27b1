"""Network ACLs compiled per (ACL, direction): lowest number first, first match wins, then the `*` deny."""

from __future__ import annotations

from vpclab.model.addresses import span
from vpclab.model.policy import NetworkAcl
from vpclab.model.rules import Action, Direction, NaclEntry
from vpclab.engine.matcher import LinearIndex, MatchItem, RuleIndex, lowest_bit, port_span
from vpclab.engine.verdict import RuleRef


class NaclPolicy:
    """One direction of one network ACL; bit i of a match mask is the i-th entry in number order.

    `refs[i]` cites entry i; `star` cites the final `*` deny (with the NACL's own origin).
    """

    __slots__ = ("id", "direction", "entries", "refs", "star", "allow", "index", "_memo")

    #: decisions remembered per policy (a policy is rebuilt on every change, so the memo never goes stale)
    MEMO_SIZE = 65536

    def __init__(self, acl: NetworkAcl, direction: Direction, linear: bool = False) -> None:
        self.id = acl.id
        self.direction = direction
        self.entries: tuple[NaclEntry, ...] = acl.entries(direction)  # sorted by number
        self.refs = tuple(RuleRef(acl.id, direction, e.number, e, e.origin) for e in self.entries)
        self.star = RuleRef(acl.id, direction, None, None, acl.origin)
        self.allow = tuple(e.action is Action.ALLOW for e in self.entries)
        items = []
        for bit, entry in enumerate(self.entries):
            cidr_span = (span(entry.cidr),)
            first, last = port_span(entry.protocol, entry.ports, entry.icmp)
            v4, v6 = (cidr_span, ()) if entry.cidr.version == 4 else ((), cidr_span)
            items.append(MatchItem(bit, entry.protocol, v4, v6, first, last))
        self.index: RuleIndex | LinearIndex = LinearIndex(items) if linear else RuleIndex(items)
        self._memo: dict[tuple[int, int, int, int], int] = {}

    def decide(self, version: int, proto: int, addr: int, key: int) -> int:
        """The position of the deciding entry, or -1 for the `*` deny."""
        memo_key = (version, proto, addr, key)
        position = self._memo.get(memo_key)
        if position is None:
            mask = self.index.match(version, proto, addr, key)
            position = lowest_bit(mask) if mask else -1
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            self._memo[memo_key] = position
        return position

    def ref(self, position: int) -> RuleRef:
        """The entry at `position` as `decide` returned it (-1: the `*` deny)."""
        return self.star if position < 0 else self.refs[position]
