"""Route tables compiled for lookup: longest prefix match per address family (aws-routing-terraform.md §1.2).

Ties between identical prefixes: a static CIDR route beats a prefix-list route, which beats a propagated route;
a blackhole route still wins its match and drops (§1.4). Prefix-list destinations (gateway endpoints) count each
of the list's CIDRs.
"""

from __future__ import annotations

from collections.abc import Mapping

from vpclab.model.addresses import IPNetwork, span
from vpclab.model.routing import Route, RouteTable


def _rank(route: Route) -> int:
    """Among routes of the same prefix length, lower wins: static CIDR, prefix list, propagated."""
    if route.propagated:
        return 2
    return 1 if isinstance(route.destination, str) else 0


class RouteLookup:
    """One route table, its routes flattened to (family, first, last) spans ordered by precedence."""

    __slots__ = ("table", "_entries")

    def __init__(self, table: RouteTable, prefix_lists: Mapping[str, tuple[IPNetwork, ...]]) -> None:
        self.table = table
        entries: list[tuple[int, int, int, int, int, int, Route]] = []
        for order, route in enumerate(table.routes):
            destination = route.destination
            blocks = prefix_lists.get(destination, ()) if isinstance(destination, str) else (destination,)
            for block in blocks:
                first, last = span(block)
                entries.append((-block.prefixlen, _rank(route), order, block.version, first, last, route))
        entries.sort(key=lambda e: e[:3])
        self._entries = [(version, first, last, route) for _, _, _, version, first, last, route in entries]

    def lookup(self, address: int, v6: bool) -> Route | None:
        """The route that wins for `address` (longest prefix, then precedence), or None when no route covers it."""
        version = 6 if v6 else 4
        for family, first, last, route in self._entries:
            if family == version and first <= address <= last:
                return route
        return None
