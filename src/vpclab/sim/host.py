"""A simulated host's network stack: TCP sockets and listeners, UDP, ICMP echo, and what it received."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vpclab.engine.packet import ACK, FIN, PSH, RST, SYN, Packet
from vpclab.engine.ports import EphemeralPorts
from vpclab.model.network import Host
from vpclab.model.protocols import ICMP, ICMP_QUERY_REPLY, ICMPV6, ICMPV6_QUERY_REPLY, TCP, UDP
from vpclab.sim.sockets import SocketKey, TcpSocket, TcpState, arriving_key

Send = Callable[[Packet, bytes, str], None]


@dataclass(frozen=True, slots=True)
class Received:
    """A packet as the receiving host saw it, and when."""

    time: float
    packet: Packet
    data: bytes = b""


class Stack:
    """What every endpoint (lab host or Amazon service) shares: TCP sockets found by protocol, family and 4-tuple,
    listeners, the TCP state machine, what it received. It sends through `send` (the engine judges every packet)."""

    def __init__(self, name: str, send: Send, clock_now: Callable[[], float]) -> None:
        self.name = name
        self._send = send
        self._now = clock_now
        self.tcp_listeners: set[int] = set()
        self.udp_listeners: dict[int, bool] = {}  # port -> answers each datagram with the same data
        self.sockets: dict[SocketKey, TcpSocket] = {}
        self.udp_inbox: list[Received] = []
        self.icmp_inbox: list[Received] = []
        self.other_inbox: list[Received] = []  # packets of other IP protocols (GRE, ESP…)

    # ---- sending -------------------------------------------------------------------------------------

    def emit(self, packet: Packet, data: bytes = b"") -> None:
        self._send(packet, data, self.name)

    def send_data(self, sock: TcpSocket, data: bytes) -> None:
        sock.sent += 1
        self._tcp(sock, PSH | ACK, data)

    def close(self, sock: TcpSocket) -> None:
        if sock.state is TcpState.ESTABLISHED:
            sock.state = TcpState.FIN_WAIT
            self._tcp(sock, FIN | ACK)

    def abort(self, sock: TcpSocket) -> None:
        """Forget a socket without sending anything (a connect given up on)."""
        sock.state = TcpState.ABORTED
        self.sockets.pop(sock.key, None)

    def _tcp(self, sock: TcpSocket, flags: int, data: bytes = b"") -> None:
        packet = Packet(sock.local, sock.remote, TCP, sock.lport, sock.rport, flags, size=len(data), v6=sock.v6)
        self.emit(packet, data)

    # ---- receiving -----------------------------------------------------------------------------------

    def receive(self, packet: Packet, data: bytes) -> None:
        """Handle a packet the network delivered here (each kind of endpoint says what it answers)."""
        raise NotImplementedError

    def _receive_udp(self, p: Packet, data: bytes) -> None:
        """Take a datagram; a replying listener answers it with the same data."""
        self.udp_inbox.append(Received(self._now(), p, data))
        if self.udp_listeners.get(p.dport):
            self.emit(Packet(p.dst, p.src, UDP, p.dport, p.sport, size=len(data), v6=p.v6), data)

    def _receive_tcp(self, p: Packet, data: bytes) -> None:
        sock = self.sockets.get(arriving_key(p))
        flags = p.flags
        if sock is None:
            if flags & SYN and not flags & ACK and p.dport in self.tcp_listeners:
                sock = TcpSocket(self.name, p.dst, p.dport, p.src, p.sport, p.v6, TcpState.SYN_RECEIVED)
                self.sockets[sock.key] = sock
                self._tcp(sock, SYN | ACK)
            elif not flags & RST:
                self.emit(Packet(p.dst, p.src, TCP, p.dport, p.sport, RST | ACK, v6=p.v6))
            return
        if flags & RST:
            sock.state = TcpState.REFUSED if sock.state is TcpState.SYN_SENT else TcpState.CLOSED
            self.sockets.pop(sock.key, None)
            return
        state = sock.state
        if state is TcpState.SYN_SENT:
            if flags & SYN and flags & ACK:
                sock.state = TcpState.ESTABLISHED
                sock.established_at = self._now()
                self._tcp(sock, ACK)
            return
        if state is TcpState.SYN_RECEIVED and flags & ACK:
            sock.state = TcpState.ESTABLISHED
            sock.established_at = self._now()
        if data:
            sock.received.append(data)
            self._tcp(sock, ACK)
            return
        if flags & FIN:
            if sock.state is TcpState.FIN_WAIT:  # both sides closed: last ACK
                sock.state = TcpState.CLOSED
                self._tcp(sock, ACK)
                self.sockets.pop(sock.key, None)
            else:  # peer closed first: close too, as nc does
                sock.state = TcpState.LAST_ACK
                self._tcp(sock, FIN | ACK)
            return
        if flags & ACK:
            if sock.state is TcpState.LAST_ACK:
                sock.state = TcpState.CLOSED
                self.sockets.pop(sock.key, None)
            elif sock.state is TcpState.ESTABLISHED and sock.sent > sock.acked:
                sock.acked += 1


class SimHost(Stack):
    """A lab host's stack: a Stack that also opens connections, sends UDP and ICMP, and answers echo requests."""

    def __init__(self, host: Host, send: Send, clock_now: Callable[[], float]) -> None:
        super().__init__(host.name, send, clock_now)
        self.model = host
        self._ports = EphemeralPorts(host.ephemeral_ports)

    # ---- addresses and ports -------------------------------------------------------------------------

    def source_for(self, v6: bool) -> int:
        """The address this host sends from: its private IPv4 (or its IPv6), never its public IP."""
        if v6:
            if self.model.ipv6 is None:
                raise ValueError(f"{self.name} has no IPv6 address")
            return int(self.model.ipv6)
        return int(self.model.ip)

    def ephemeral_port(self) -> int:
        """The next free port of the host's ephemeral range, in order (deterministic)."""
        return self._ports.take({sock.lport for sock in self.sockets.values()})

    # ---- sending -------------------------------------------------------------------------------------

    def connect(self, dst: int, dport: int, v6: bool, sport: int | None = None) -> TcpSocket:
        sock = TcpSocket(self.name, self.source_for(v6), sport or self.ephemeral_port(), dst, dport, v6,
                         TcpState.SYN_SENT)
        self.sockets[sock.key] = sock
        self._tcp(sock, SYN)
        return sock

    def send_udp(self, dst: int, dport: int, data: bytes, v6: bool, sport: int | None = None) -> int:
        sport = sport if sport is not None else self.ephemeral_port()
        self.emit(Packet(self.source_for(v6), dst, UDP, sport, dport, size=len(data), v6=v6), data)
        return sport

    def send_other(self, dst: int, v6: bool, proto: int) -> None:
        """One packet of another IP protocol: no ports, tracked by addresses and protocol."""
        self.emit(Packet(self.source_for(v6), dst, proto, v6=v6))

    def send_icmp(self, dst: int, v6: bool, icmp_type: int, code: int = 0, ident: int = 0, seq: int = 0) -> None:
        proto = ICMPV6 if v6 else ICMP
        self.emit(Packet(self.source_for(v6), dst, proto, icmp_type=icmp_type, icmp_code=code, ident=ident,
                         seq=seq, v6=v6))

    # ---- receiving -----------------------------------------------------------------------------------

    def receive(self, packet: Packet, data: bytes) -> None:
        """Handle a packet the network delivered to this host."""
        if packet.proto == TCP:
            self._receive_tcp(packet, data)
        elif packet.proto == UDP:
            self._receive_udp(packet, data)
        elif packet.proto in (ICMP, ICMPV6):
            self.icmp_inbox.append(Received(self._now(), packet))
            replies = ICMPV6_QUERY_REPLY if packet.proto == ICMPV6 else ICMP_QUERY_REPLY
            if packet.icmp_type in (8, 128) and not self.model.icmp_echo_ignore:
                self.emit(Packet(packet.dst, packet.src, packet.proto, icmp_type=replies[packet.icmp_type],
                                 ident=packet.ident, seq=packet.seq, size=packet.size, v6=packet.v6))
        else:  # another IP protocol: recorded, never answered (nothing speaks GRE or ESP in a lab)
            self.other_inbox.append(Received(self._now(), packet))
