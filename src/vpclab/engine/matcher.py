"""Compiled rule lookup: rules become bitmasks over elementary address and port intervals.

A packet's (address, port) falls in one address interval and one port interval; the AND of their masks
is the set of matching rules, and its lowest bit is the first rule in order (what a NACL needs). Cost per
lookup is two binary searches and one AND, whatever the number of rules. `LinearIndex` is the plain scan
with the same interface, kept as the reference that property tests and benchmarks compare against.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from vpclab.model.protocols import ALL, ICMP, ICMPV6, IcmpMatch, PortRange, has_ports, is_icmp

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class MatchItem:
    """One rule flattened for matching: its bit, protocol, address spans per family and port-dimension span."""

    bit: int
    proto: int
    v4: tuple[Span, ...]
    v6: tuple[Span, ...]
    first: int = 0
    last: int = 0xFFFF

    def spans(self, version: int) -> tuple[Span, ...]:
        return self.v4 if version == 4 else self.v6

    def matches(self, version: int, proto: int, addr: int, key: int) -> bool:
        """The plain definition of a match, used by the reference scan."""
        if self.proto != ALL and self.proto != proto:
            return False
        if not self.first <= key <= self.last:
            return False
        return any(lo <= addr <= hi for lo, hi in self.spans(version))


def port_span(proto: int, ports: PortRange, icmp: IcmpMatch) -> Span:
    """The rule's span on the port dimension: TCP/UDP ports, or ICMP `type << 8 | code`."""
    if has_ports(proto):
        return ports.first, ports.last
    if is_icmp(proto) and not icmp.is_all:
        if icmp.code == ALL:
            return icmp.type << 8, icmp.type << 8 | 0xFF
        value = icmp.type << 8 | icmp.code
        return value, value
    return 0, 0xFFFF


def packet_key(proto: int, dport: int, icmp_type: int, icmp_code: int) -> int:
    """The packet's value on the port dimension (destination port, or ICMP type/code)."""
    if proto == 6 or proto == 17:
        return dport
    if proto == ICMP or proto == ICMPV6:
        return icmp_type << 8 | icmp_code
    return 0


def merge_spans(spans: list[Span]) -> list[Span]:
    """Sorted, with overlapping and adjacent spans joined."""
    spans.sort()
    merged: list[list[int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def _intervals(per_bit: dict[int, list[Span]]) -> tuple[list[int], list[int]]:
    """Sweep each bit's spans into sorted interval starts and the mask of bits covering each interval."""
    adds: dict[int, int] = {}
    removes: dict[int, int] = {}
    for bit, bit_spans in per_bit.items():
        flag = 1 << bit
        for lo, hi in bit_spans if len(bit_spans) == 1 else merge_spans(bit_spans):
            adds[lo] = adds.get(lo, 0) | flag
            removes[hi + 1] = removes.get(hi + 1, 0) | flag
    bounds: list[int] = []
    masks: list[int] = []
    current = 0
    for point in sorted(adds.keys() | removes.keys() | {0}):
        current = (current & ~removes.get(point, 0)) | adds.get(point, 0)
        if masks and masks[-1] == current:
            continue
        bounds.append(point)
        masks.append(current)
    return bounds, masks


class RuleIndex:
    """Bitmask lookup over (family, protocol) → address intervals × port intervals."""

    __slots__ = ("_tables", "size")

    def __init__(self, items: list[MatchItem]) -> None:
        self.size = len(items)
        self._tables: dict[tuple[int, int], tuple[list[int], list[int], list[int], list[int]]] = {}
        protocols = {item.proto for item in items if item.proto != ALL} | {ALL}
        for version in (4, 6):
            for proto in protocols:
                addresses: dict[int, list[Span]] = {}
                ports: dict[int, list[Span]] = {}
                for i in items:
                    if (i.proto == proto or i.proto == ALL) and (spans := i.spans(version)):
                        addresses.setdefault(i.bit, []).extend(spans)
                        ports.setdefault(i.bit, []).append((i.first, i.last))
                if addresses:
                    self._tables[(version, proto)] = (*_intervals(addresses), *_intervals(ports))

    def address_bounds(self, version: int, proto: int) -> tuple[int, ...]:
        """The starts of the address intervals `match` distinguishes for (family, protocol): two addresses in the
        same interval get the same mask for every key (the compiled fact callers may memoise on)."""
        table = self._tables.get((version, proto)) or self._tables.get((version, ALL))
        return tuple(table[0]) if table is not None else (0,)

    def match(self, version: int, proto: int, addr: int, key: int) -> int:
        """The mask of matching rules (bit i = rule i); 0 when none match."""
        table = self._tables.get((version, proto))
        if table is None:
            table = self._tables.get((version, ALL))
            if table is None:
                return 0
        abounds, amasks, pbounds, pmasks = table
        return amasks[bisect_right(abounds, addr) - 1] & pmasks[bisect_right(pbounds, key) - 1]


class LinearIndex:
    """The reference: scan every rule. Same interface as RuleIndex."""

    __slots__ = ("_items", "size")

    def __init__(self, items: list[MatchItem]) -> None:
        self._items = list(items)
        self.size = len(items)

    def address_bounds(self, version: int, proto: int) -> tuple[int, ...]:
        """Every rule's address span edges for (family, protocol): RuleIndex's intervals, possibly finer."""
        edges = {0}
        for item in self._items:
            if item.proto == proto or item.proto == ALL:
                for lo, hi in item.spans(version):
                    edges.update((lo, hi + 1))
        return tuple(sorted(edges))

    def match(self, version: int, proto: int, addr: int, key: int) -> int:
        mask = 0
        for item in self._items:
            if item.matches(version, proto, addr, key):
                mask |= 1 << item.bit
        return mask


def lowest_bit(mask: int) -> int:
    """Index of the lowest set bit (the first matching rule); mask must be non-zero."""
    return (mask & -mask).bit_length() - 1
