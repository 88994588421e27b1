"""The simulator: hosts exchanging packets on a virtual clock, every packet judged by the engine.

A small API for the lab runner and tests: `listen`, `connect`, `send`, `close`, `udp`, `ping`, `icmp`,
`wait`, `apply` (a configuration change). Each action settles the network and returns what happened,
with the packets it caused (time, packet, verdict).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vpclab.engine import Engine, EngineConfig, Packet, Verdict, codes
from vpclab.engine.conntrack import Entry
from vpclab.engine.paths import service_map
from vpclab.model.addresses import parse_ip
from vpclab.model.network import Network
from vpclab.model.protocols import ICMPV6, TCP, parse_icmp_type
from vpclab.sim.clock import VirtualClock
from vpclab.sim.host import SimHost, Stack
from vpclab.sim.services import ServiceStack
from vpclab.sim.sockets import TcpSocket, TcpState, arriving_key

#: one-way delay of every packet, in virtual seconds
LATENCY = 0.001
#: how long an action waits for the network to settle (no retransmissions exist, so this is generous)
SETTLE = 3.0


@dataclass(frozen=True, slots=True)
class PacketRecord:
    """One packet the network carried: when, from which host, and the engine's verdict on it."""

    time: float
    sender: str
    packet: Packet
    verdict: Verdict


@dataclass(slots=True)
class Exchange:
    """What an action caused: its outcome word and the packets sent meanwhile."""

    outcome: str
    packets: list[PacketRecord] = field(default_factory=list)
    detail: str = ""


@dataclass(eq=False)
class Connection:
    """A TCP connection made by `Simulator.connect`: its client socket and, once accepted, the server's."""

    client: TcpSocket
    server_host: str
    server: TcpSocket | None = None

    @property
    def outcome(self) -> str:
        """`established`, `refused` (RST) or `blocked` (no answer)."""
        if self.client.state is TcpState.REFUSED:
            return "refused"
        if self.client.established_at is not None:
            return "established"
        return "blocked"


class Simulator:
    """A network of simulated hosts on a virtual clock, filtered by one Engine."""

    def __init__(self, network: Network, config: EngineConfig | None = None, latency: float = LATENCY,
                 explain: bool = True) -> None:
        self.clock = VirtualClock()
        self.engine = Engine(network, config)
        self.explain = explain
        self.latency = latency
        self.records: list[PacketRecord] = []
        self.hosts: dict[str, SimHost] = {
            name: SimHost(host, self._send, lambda: self.clock.now) for name, host in network.hosts.items()}
        self._services = self._responders(network)
        self._endpoints: dict[str, Stack] = {**{s.name: s for s in self._services.values()}, **self.hosts}

    # ---- plumbing ------------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.clock.now

    @property
    def network(self) -> Network:
        return self.engine.network

    def _responders(self, network: Network) -> dict[int, ServiceStack]:
        """Amazon DNS, IMDS and Time Sync, one responder per service, by every address it answers at."""
        services = service_map(network.vpc)
        stacks = {s: ServiceStack(s, self._send, lambda: self.clock.now) for s in set(services.values())}
        return {address: stacks[service] for address, service in services.items()}

    def _send(self, packet: Packet, data: bytes, sender: str) -> None:
        verdict = self.engine.evaluate(packet, self.clock.now, self.explain)
        self.records.append(PacketRecord(self.clock.now, sender, packet, verdict))
        receiver = self._receiver(verdict)
        if receiver is not None:
            delivered = verdict.delivered
            self.clock.schedule(self.latency, lambda: receiver.receive(delivered, data))

    def _receiver(self, verdict: Verdict) -> Stack | None:
        """Who an allowed packet reaches: the host the engine delivered it to, or the Amazon service it was sent
        to (the engine lets it through unfiltered; the service itself is the simulator's)."""
        if not verdict.allowed or verdict.delivered is None:
            return None
        if verdict.receiver is not None:
            return self.hosts[verdict.receiver]
        if verdict.code == codes.NOT_FILTERED_SERVICE:
            return self._services.get(verdict.delivered.dst)
        return None

    def settle(self, limit: float = SETTLE) -> None:
        """Let in-flight packets arrive and be answered."""
        self.clock.run_pending(limit)

    def _exchange(self, start: int, outcome: str, detail: str = "") -> Exchange:
        return Exchange(outcome, self.records[start:], detail)

    def address(self, target: str, v6: bool = False) -> tuple[int, bool]:
        """A host name (its private address, or IPv6 if `v6`) or a literal address → (int, is_v6)."""
        if target in self.hosts:
            model = self.hosts[target].model
            if v6:
                if model.ipv6 is None:
                    raise ValueError(f"{target} has no IPv6 address")
                return int(model.ipv6), True
            return int(model.ip), model.ip.version == 6
        ip = parse_ip(target)
        return int(ip), ip.version == 6

    # ---- configuration and time ----------------------------------------------------------------------

    def apply(self, network: Network) -> None:
        """A configuration change (authorize, revoke, NACL entry, association, group set) takes effect now."""
        self.engine.update(network)
        for name, host in network.hosts.items():
            if name in self.hosts:
                self.hosts[name].model = host

    def wait(self, seconds: float) -> Exchange:
        start = len(self.records)
        self.clock.advance(seconds)
        return self._exchange(start, "waited")

    def conntrack(self, host: str) -> list[Entry]:
        """Live conntrack entries of a VPC host's ENI."""
        return self.engine.conntrack(host).entries(self.now)

    # ---- actions -------------------------------------------------------------------------------------

    def listen(self, host: str, proto: str, port: int, reply: bool = False) -> None:
        """Open a TCP listener, or a UDP socket (answering each datagram with its data when `reply`)."""
        if proto == "tcp":
            self.hosts[host].tcp_listeners.add(port)
        elif proto == "udp":
            self.hosts[host].udp_listeners[port] = reply
        else:
            raise ValueError(f"cannot listen on {proto!r}: expected tcp or udp")

    def connect(self, src: str, dst: str, port: int, sport: int | None = None) -> tuple[Connection, Exchange]:
        """A TCP three-way handshake; a connection that gets no answer is given up (`blocked`)."""
        start = len(self.records)
        address, v6 = self.address(dst)
        client = self.hosts[src].connect(address, port, v6, sport)
        self.settle()
        server = self._endpoint(address)
        conn = Connection(client, server.name if server is not None else "")
        conn.server = self._find_server(conn)
        if conn.outcome == "blocked":
            self.hosts[src].abort(client)
        return conn, self._exchange(start, conn.outcome)

    def _endpoint(self, address: int) -> Stack | None:
        """The host holding `address` (any of its addresses), or the Amazon service answering there."""
        for host in self.hosts.values():
            if address in (int(a) for a in host.model.addresses):
                return host
        return self._services.get(address)

    def _find_server(self, conn: Connection) -> TcpSocket | None:
        """The server's socket of `conn`: by protocol, family and the 4-tuple as the server sees it (after the
        IGW's translation), since several clients may use the same source port."""
        server = self._endpoints.get(conn.server_host)
        if server is None:
            return None
        c = conn.client
        src, dst = self.engine.router.seen(c.local, c.remote, c.v6)
        return server.sockets.get(arriving_key(Packet(src, dst, TCP, c.lport, c.rport, v6=c.v6)))

    def send(self, conn: Connection, data: bytes, side: str = "client") -> Exchange:
        """Send data on a connection: `delivered` if the peer's socket received it, else `dropped`."""
        start = len(self.records)
        if conn.server is None:
            conn.server = self._find_server(conn)
        sender, receiver = (conn.client, conn.server) if side == "client" else (conn.server, conn.client)
        if sender is None or receiver is None or not sender.open:
            return self._exchange(start, "dropped", "the connection is not established")
        before = len(receiver.received)
        self._endpoints[sender.host].send_data(sender, data)
        self.settle()
        delivered = len(receiver.received) > before and receiver.received[-1] == data
        return self._exchange(start, "delivered" if delivered else "dropped")

    def close(self, conn: Connection, side: str = "client") -> Exchange:
        """Close a connection with FIN (the peer closes too, as `nc` does)."""
        start = len(self.records)
        sock = conn.client if side == "client" else conn.server
        if sock is not None:
            if sock.state is TcpState.ESTABLISHED:
                self._endpoints[sock.host].close(sock)
                self.settle()
            else:
                self._endpoints[sock.host].abort(sock)
        return self._exchange(start, "closed")

    def udp(self, src: str, dst: str, port: int, data: bytes, sport: int | None = None,
            reply: bool = False) -> Exchange:
        """One UDP datagram: `delivered` if it reached the destination host (or an Amazon service on its port);
        with `reply`, `reply` if the listener's answer (the same data, from that port) came back to the sender."""
        start = len(self.records)
        address, v6 = self.address(dst)
        receiver = self._endpoint(address)
        sender = self.hosts[src]
        before = len(receiver.udp_inbox) if receiver else 0
        answers = len(sender.udp_inbox)
        sport = sender.send_udp(address, port, data, v6, sport)
        self.settle()
        delivered = receiver is not None and len(receiver.udp_inbox) > before
        detail = ""
        if isinstance(receiver, ServiceStack) and port not in receiver.udp_listeners:
            detail = f"{receiver.name} does not answer UDP port {port}"
        if not reply:
            return self._exchange(start, "delivered" if delivered else "dropped", detail)
        answered = any(r.packet.sport == port and r.packet.dport == sport and r.data == data
                       for r in sender.udp_inbox[answers:])
        if not answered:
            detail = detail or ("the answer did not come back" if delivered else "the datagram did not arrive")
        return self._exchange(start, "reply" if answered else "no-reply", detail)

    def ip(self, src: str, dst: str, proto: int) -> Exchange:
        """One packet of another IP protocol (GRE, ESP…): `delivered` if it reached the destination host."""
        start = len(self.records)
        address, v6 = self.address(dst)
        receiver = self._endpoint(address)
        before = len(receiver.other_inbox) if receiver else 0
        self.hosts[src].send_other(address, v6, proto)
        self.settle()
        delivered = receiver is not None and any(r.packet.proto == proto for r in receiver.other_inbox[before:])
        return self._exchange(start, "delivered" if delivered else "dropped")

    def ping(self, src: str, dst: str, ident: int = 1, seq: int = 1) -> Exchange:
        """An echo request; `reply` if the matching echo reply came back."""
        start = len(self.records)
        address, v6 = self.address(dst)
        pinger = self.hosts[src]
        before = len(pinger.icmp_inbox)
        pinger.send_icmp(address, v6, 128 if v6 else 8, 0, ident, seq)
        self.settle()
        reply_type = 129 if v6 else 0
        got = any(r.packet.icmp_type == reply_type and r.packet.ident == ident and r.packet.seq == seq
                  for r in pinger.icmp_inbox[before:])
        return self._exchange(start, "reply" if got else "no-reply")

    def icmp(self, src: str, dst: str, icmp_type: int | str, code: int = 0, ident: int = 0,
             seq: int = 0) -> Exchange:
        """One crafted ICMP packet of any type; `delivered` if it reached the destination host."""
        start = len(self.records)
        address, v6 = self.address(dst)
        number = parse_icmp_type(icmp_type, ICMPV6 if v6 else 1)
        receiver = self._endpoint(address)
        before = len(receiver.icmp_inbox) if receiver else 0
        self.hosts[src].send_icmp(address, v6, number, code, ident, seq)
        self.settle()
        delivered = receiver is not None and any(
            r.packet.icmp_type == number and r.packet.ident == ident for r in receiver.icmp_inbox[before:])
        return self._exchange(start, "delivered" if delivered else "dropped")
