"""A NAT gateway's translations (aws-routing-terraform.md §3): source NAT to its address, only for flows started
inside, forgotten after 350 s idle; TCP, UDP and ICMP only.

A mapping keeps the flow's source port (ICMP: identifier) when no other flow through the gateway uses it for
the same peer, else takes the next free one of 1024-65535, the ports AWS documents for NAT gateways.
"""

from __future__ import annotations

import itertools

from vpclab.engine.packet import Packet
from vpclab.model.protocols import ICMP, ICMPV6, TCP, UDP

#: AWS: a NAT gateway drops a connection idle for 350 seconds (§3)
NAT_IDLE_TIMEOUT = 350.0
NAT_PORTS = (1024, 65535)
NAT_PROTOCOLS = frozenset({TCP, UDP, ICMP})

Inside = tuple[int, int, int, int, int]   # (proto, private source, source port or ICMP id, peer, peer port)
Outside = tuple[int, int, int, int]       # (proto, gateway port or ICMP id, peer, peer port)


def _ports(p: Packet) -> tuple[int, int]:
    """(source port, destination port) of a flow, ICMP queries keyed by their identifier."""
    if p.proto in (ICMP, ICMPV6):
        return p.ident, 0
    return p.sport, p.dport


class NatTable:
    """One NAT gateway's live translations, both ways, with their idle timers."""

    __slots__ = ("address", "_out", "_back", "_seen")

    def __init__(self, address: int) -> None:
        self.address = address  # the gateway's private IPv4, the source the outside sees before the IGW
        self._out: dict[Inside, int] = {}
        self._back: dict[Outside, tuple[int, int]] = {}
        self._seen: dict[Inside, float] = {}

    def outbound(self, p: Packet, now: float) -> Packet:
        """`p` as it leaves the gateway: from its address, on the flow's gateway port (a mapping made if new)."""
        sport, dport = _ports(p)
        inside = (p.proto, p.src, sport, p.dst, dport)
        port = self._out.get(inside)
        if port is None or now - self._seen[inside] >= NAT_IDLE_TIMEOUT:
            port = self._free(p.proto, sport, p.dst, dport, now)
            self._out[inside] = port
            self._back[(p.proto, port, p.dst, dport)] = (p.src, sport)
        self._seen[inside] = now
        if p.proto in (ICMP, ICMPV6):
            return p._replace(src=self.address, ident=port)
        return p._replace(src=self.address, sport=port)

    def inbound(self, p: Packet, now: float) -> Packet | None:
        """A reply arriving at the gateway translated back to the flow's inside host; None when it answers no
        live mapping (the gateway does not forward unsolicited inbound traffic, §3)."""
        port, peer_port = (p.ident, 0) if p.proto in (ICMP, ICMPV6) else (p.dport, p.sport)
        found = self._back.get((p.proto, port, p.src, peer_port))
        if found is None:
            return None
        src, sport = found
        inside = (p.proto, src, sport, p.src, peer_port)
        if now - self._seen.get(inside, float("-inf")) >= NAT_IDLE_TIMEOUT:
            return None
        self._seen[inside] = now
        if p.proto in (ICMP, ICMPV6):
            return p._replace(dst=src, ident=sport)
        return p._replace(dst=src, dport=sport)

    def _free(self, proto: int, wanted: int, peer: int, peer_port: int, now: float) -> int:
        """The flow's own port when free for this peer, else the next free gateway port."""
        first, last = NAT_PORTS
        candidates = (wanted,) if first <= wanted <= last or proto in (ICMP, ICMPV6) else ()
        for port in itertools.chain(candidates, range(first, last + 1)):  # lazily: the flow's own port is usually free
            taken = self._back.get((proto, port, peer, peer_port))
            if taken is None or now - self._seen.get((proto, *taken, peer, peer_port), float("-inf")) \
                    >= NAT_IDLE_TIMEOUT:
                return port
        raise RuntimeError("the NAT gateway has no free port for this peer")
