"""Simulated TCP sockets: a real three-way handshake, data with ACKs, FIN close and RST, as packets."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from vpclab.engine.packet import Packet
from vpclab.model.protocols import TCP

#: How a host finds a socket: protocol, family (True for IPv6), local address and port, remote address and port.
SocketKey = tuple[int, bool, int, int, int, int]


def arriving_key(p: Packet) -> SocketKey:
    """The key of the socket an arriving packet belongs to: the full 4-tuple as the receiver sees it, with protocol
    and family, so two peers using the same source port never share a socket."""
    return (p.proto, p.v6, p.dst, p.dport, p.src, p.sport)


class TcpState(str, Enum):
    """States a simulated socket moves through (a subset of RFC 793's, enough for the labs)."""

    SYN_SENT = "SYN_SENT"
    SYN_RECEIVED = "SYN_RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT = "FIN_WAIT"
    LAST_ACK = "LAST_ACK"
    CLOSED = "CLOSED"
    REFUSED = "REFUSED"
    ABORTED = "ABORTED"


@dataclass(eq=False)
class TcpSocket:
    """One end of a TCP connection: addresses as this host sees them, state, and bytes received."""

    host: str
    local: int
    lport: int
    remote: int
    rport: int
    v6: bool
    state: TcpState
    received: list[bytes] = field(default_factory=list)
    acked: int = 0  # data segments this end sent that the peer acknowledged
    sent: int = 0
    established_at: float | None = None

    @property
    def key(self) -> SocketKey:
        return (TCP, self.v6, self.local, self.lport, self.remote, self.rport)

    @property
    def open(self) -> bool:
        return self.state in (TcpState.ESTABLISHED, TcpState.SYN_RECEIVED)
