"""Peers generalised to CIDRs under a rule limit: the most specific common prefix length that fits.

Pure functions over addresses (no rule semantics): `fit` finds the longest prefix length L (down to a stated
floor) such that the peers, grouped by their /L supernet, make few enough rules; each group becomes the smallest
CIDR that covers its members (a lone peer stays a /32 or /128). docs/assumptions.md T6.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def host_net(address: str) -> Net:
    """An address as its single-address CIDR (`/32`, `/128`)."""
    ip = ipaddress.ip_address(address)
    return ipaddress.ip_network(f"{ip}/{ip.max_prefixlen}")


def covering(members: Sequence[Net]) -> Net:
    """The smallest CIDR holding every member (all of one family)."""
    lo = min(int(m.network_address) for m in members)
    hi = max(int(m.broadcast_address) for m in members)
    bits = members[0].max_prefixlen
    prefix = bits - (lo ^ hi).bit_length()
    cls = ipaddress.IPv4Network if bits == 32 else ipaddress.IPv6Network
    return cls((lo >> (bits - prefix) << (bits - prefix), prefix))


def group_at(nets: Iterable[Net], prefix: int) -> list[Net]:
    """The nets grouped by their /`prefix` supernet, each group as the smallest CIDR covering it, collapsed."""
    groups: dict[Net, list[Net]] = {}
    for net in nets:
        top = net if net.prefixlen <= prefix else net.supernet(new_prefix=prefix)
        groups.setdefault(top, []).append(net)
    merged = [covering(members) if len(members) > 1 else members[0] for members in groups.values()]
    return list(ipaddress.collapse_addresses(merged)) if merged else []


def fit(keys: dict[object, list[Net]], budget: int, floor: int) -> tuple[dict[object, list[Net]], int | None]:
    """Generalise every key's peers at one prefix length so that the total count is at most `budget`.

    Returns the nets per key and the prefix length used (None when nothing had to be merged). When even `floor`
    does not fit, the nets at `floor` are returned and the caller reports the excess.
    """
    exact = {k: list(ipaddress.collapse_addresses(v)) for k, v in keys.items()}
    if sum(len(v) for v in exact.values()) <= budget:
        return exact, None
    bits = max((n.max_prefixlen for v in exact.values() for n in v), default=32)
    best: dict[object, list[Net]] = {}
    for prefix in range(bits - 1, floor - 1, -1):
        best = {k: group_at(v, prefix) for k, v in exact.items()}
        if sum(len(v) for v in best.values()) <= budget:
            return best, prefix
    return best or exact, floor
