"""Peers generalised to CIDRs under a rule limit: the most specific common prefix length that fits.

Pure functions over addresses (no rule semantics): `fit` finds the longest prefix length L (down to a stated
floor) such that the peers, grouped by their /L supernet, make few enough rules; each group becomes the smallest
CIDR that covers its members (a lone peer stays a /32 or /128). docs/assumptions.md T6. Integer arithmetic, so a
fleet's worth of peers costs milliseconds.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=1 << 17)
def parse(address: str) -> Address:
    """An address from its text, remembered (a log names the same few thousand addresses millions of times)."""
    return ipaddress.ip_address(address)


@lru_cache(maxsize=1 << 17)
def host_net(address: str) -> Net:
    """An address as its single-address CIDR (`/32`, `/128`)."""
    ip = parse(address)
    return ipaddress.ip_network((int(ip), ip.max_prefixlen))


def _net(lo: int, prefix: int, bits: int) -> Net:
    cls = ipaddress.IPv4Network if bits == 32 else ipaddress.IPv6Network
    return cls((lo >> (bits - prefix) << (bits - prefix), prefix))


def covering(members: Sequence[Net]) -> Net:
    """The smallest CIDR holding every member (all of one family)."""
    lo = min(int(m.network_address) for m in members)
    hi = max(int(m.broadcast_address) for m in members)
    bits = members[0].max_prefixlen
    return _net(lo, bits - (lo ^ hi).bit_length(), bits)


def _decompose(lo: int, hi: int, bits: int) -> list[tuple[int, int, int]]:
    """The fewest aligned CIDRs that make up [lo, hi], as (first, last, prefix length)."""
    out = []
    while lo <= hi:
        size = (lo & -lo).bit_length() - 1 if lo else bits
        while (1 << size) - 1 > hi - lo:
            size -= 1
        out.append((lo, lo + (1 << size) - 1, bits - size))
        lo += 1 << size
    return out


def _collapse(ranges: list[tuple[int, int]], bits: int) -> list[tuple[int, int, int]]:
    """Ranges merged where they touch or overlap, then cut into aligned CIDRs (ipaddress.collapse_addresses, on
    integers)."""
    out: list[tuple[int, int, int]] = []
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    for lo, hi in merged:
        out += _decompose(lo, hi, bits)
    return out


def _spans(nets: Iterable[Net]) -> list[tuple[int, int, int]]:
    """(first, last, prefix length) of each net, collapsed."""
    listed = list(nets)
    if not listed:
        return []
    return _collapse([(int(n.network_address), int(n.broadcast_address)) for n in listed], listed[0].max_prefixlen)


def _group_spans(spans: list[tuple[int, int, int]], prefix: int, bits: int) -> list[tuple[int, int, int]]:
    """Spans sharing a /prefix become the smallest CIDR covering them; the result collapsed."""
    shift = bits - prefix
    groups: dict[object, list[int]] = {}
    for lo, hi, p in spans:
        key = (lo >> shift) if p > prefix else (lo, p, 0)
        found = groups.get(key)
        if found is None:
            groups[key] = [lo, hi]
        else:
            found[0], found[1] = min(found[0], lo), max(found[1], hi)
    covers = []
    for lo, hi in groups.values():
        size = (lo ^ hi).bit_length()
        first = lo >> size << size
        covers.append((first, first + (1 << size) - 1))
    return _collapse(covers, bits)


def _group(spans: list[tuple[int, int, int]], prefix: int, bits: int) -> list[Net]:
    return [_net(lo, p, bits) for lo, _hi, p in _group_spans(spans, prefix, bits)]


def group_at(nets: Iterable[Net], prefix: int) -> list[Net]:
    """The nets grouped by their /`prefix` supernet, each group as the smallest CIDR covering it, collapsed."""
    listed = list(nets)
    if not listed:
        return []
    return _group(_spans(listed), prefix, listed[0].max_prefixlen)


def fit(keys: dict[object, list[Net]], budget: int, floor: int) -> tuple[dict[object, list[Net]], int | None]:
    """Generalise every key's peers at one prefix length so that the total count is at most `budget`.

    Returns the nets per key and the prefix length used (None when nothing had to be merged). When even `floor`
    does not fit, the nets at `floor` are returned and the caller reports the excess. The count only falls as the
    prefix shortens, so the longest fitting prefix is found by bisection.
    """
    spans = {k: _spans(v) for k, v in keys.items() if v}
    bits = max((n.max_prefixlen for v in keys.values() for n in v), default=32)
    if sum(len(v) for v in spans.values()) <= budget:
        return {k: [_net(lo, p, bits) for lo, _hi, p in v] for k, v in spans.items()}, None

    def total(prefix: int) -> int:  # exact: the groups after collapsing (adjacent groups may merge)
        return sum(len(_group_spans(v, prefix, bits)) for v in spans.values())

    lo, hi = floor, bits - 1  # find the largest prefix in [floor, bits-1] with total <= budget
    if total(floor) > budget:
        return {k: _group(v, floor, bits) for k, v in spans.items()}, floor
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if total(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return {k: _group(v, lo, bits) for k, v in spans.items()}, lo


def locate(nets: Sequence[Net]) -> "Locator":
    """An index to find which of disjoint `nets` holds an address."""
    return Locator(nets)


class Locator:
    """Which of a set of disjoint nets holds an address (bisection on their first addresses)."""

    def __init__(self, nets: Sequence[Net]) -> None:
        self.nets = sorted(nets, key=lambda n: (n.version, int(n.network_address)))
        self.starts = [(n.version, int(n.network_address)) for n in self.nets]

    def position(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
        """The index in `nets` of the net holding `address`, -1 when none does."""
        i = bisect.bisect_right(self.starts, (address.version, int(address))) - 1
        return i if i >= 0 and address in self.nets[i] else -1

    def find(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Net | None:
        i = self.position(address)
        return self.nets[i] if i >= 0 else None
