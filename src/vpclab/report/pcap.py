"""A simulated lab run's packets as pcapng for Wireshark (issue 12): pure encoding with scapy, one file per run.

Each packet of the run's JSON (what `lab run --json` prints) becomes one Ethernet frame as its sender sent it:
IPv4 or IPv6 with valid checksums, TCP with sequence and acknowledgement numbers kept per connection (so Wireshark
follows each as a stream), UDP and ICMP as summarised, other protocols by number. Timestamps are a fixed epoch plus
the run's virtual seconds, so the same run gives the same bytes. A dropped packet is still written (it was sent)
with a pcapng comment giving its drop code and reason.
"""

from __future__ import annotations

import ast
import hashlib
import re
import zlib
from dataclasses import dataclass, field
from ipaddress import IPv6Address, ip_address
from pathlib import Path
from typing import Any

from scapy.layers.inet import ICMP as ICMPLayer
from scapy.layers.inet import IP, TCP as TCPLayer, UDP as UDPLayer
from scapy.layers.inet6 import IPv6, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6Unknown, icmp6typescls
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import PcapNgWriter

from vpclab.model.protocols import ICMP, ICMPV6, TCP, UDP, parse_icmp_type, parse_protocol

#: the virtual clock's zero in the file: 2026-01-01T00:00:00Z (a fixed epoch, so output is deterministic)
EPOCH = 1_767_225_600
#: TCP flag names in summaries (`SYN-ACK`, `PSH-ACK 3 bytes`, `RST`) → scapy's letters
_FLAG_LETTERS = {"SYN": "S", "FIN": "F", "RST": "R", "PSH": "P", "ACK": "A"}
_TCP_SUMMARY = re.compile(r"^(none|[A-Z]+(?:-[A-Z]+)*)(?: (\d+) bytes?)?$")
_UDP_SUMMARY = re.compile(r"^udp (\d+) bytes?$")
_ICMP_SUMMARY = re.compile(r"^(.+?) (?:id (\d+) seq (\d+)|code (\d+))$")
#: the data of a `send` or `udp` step, as its description quotes it (`send 'abc' on c1`)
_QUOTED = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


@dataclass(slots=True)
class _Side:
    """One end of a TCP connection: the next sequence number it sends, the next it expects from the peer."""

    snd_next: int | None = None
    rcv_next: int | None = None


@dataclass(slots=True)
class _Connection:
    """A TCP connection's two ends; `answered` once the responder's first packet was seen (its tuple is known)."""

    key: str
    sides: tuple[_Side, _Side] = field(default_factory=lambda: (_Side(), _Side()))
    ports: tuple[int, int] = (0, 0)  # the initiator's (source, destination) ports
    answered: bool = False


class _TcpState:
    """Sequence numbers per connection, as a real stack would choose them, from the packets in order.

    A connection is found by its 4-tuple as sent; a reply whose tuple was translated on the way (a public IP, a NAT
    gateway) is matched to the unanswered connection whose ports it reverses, so its numbers still continue.
    """

    def __init__(self) -> None:
        self.by_tuple: dict[tuple[str, int, str, int], tuple[_Connection, int]] = {}
        self.connections: list[_Connection] = []

    def _find(self, t: tuple[str, int, str, int], syn_only: bool) -> tuple[_Connection, int]:
        src, sport, dst, dport = t
        if syn_only or t not in self.by_tuple:
            if not syn_only:
                for conn in reversed(self.connections):  # a translated reply: the unanswered connection it reverses
                    if not conn.answered and conn.ports == (dport, sport):
                        self.by_tuple[t] = (conn, 1)
                        return conn, 1
            conn = _Connection(f"{src}|{sport}|{dst}|{dport}|{len(self.connections)}", ports=(sport, dport))
            self.connections.append(conn)
            self.by_tuple[t] = (conn, 0)
            self.by_tuple[(dst, dport, src, sport)] = (conn, 1)
        return self.by_tuple[t]

    def segment(self, t: tuple[str, int, str, int], flags: str, size: int, delivered: bool) -> tuple[int, int]:
        """The (seq, ack) of one segment from the 4-tuple `t`, and what it changes at both ends."""
        conn, side = self._find(t, syn_only="S" in flags and "A" not in flags)
        if side == 1:
            conn.answered = True
        me, peer = conn.sides[side], conn.sides[1 - side]
        if me.snd_next is None:  # the initial sequence number: from the connection (deterministic), 0 for a RST
            # answering a SYN (RFC 793)
            me.snd_next = 0 if "R" in flags else zlib.crc32(f"{conn.key}|{side}".encode())
        seq = me.snd_next
        length = size + ("S" in flags) + ("F" in flags)
        ack = me.rcv_next if "A" in flags and me.rcv_next is not None else 0
        me.snd_next = (seq + length) % 2**32
        if delivered and (peer.rcv_next is None or peer.rcv_next == seq):
            peer.rcv_next = (seq + length) % 2**32
        return seq, ack


def _endpoint(text: str, ported: bool) -> tuple[str, int]:
    """`198.18.1.10:80`, `[2001:db8::1]:80`, or a bare address → (address, port)."""
    if not ported:
        return str(ip_address(text)), 0
    host, _, port = text.rpartition(":")
    return str(ip_address(host.strip("[]"))), int(port)


def _mac(address: str) -> str:
    """A locally administered MAC derived from an address: the same host has the same MAC in every file."""
    return "02:" + ":".join(f"{b:02x}" for b in hashlib.blake2b(address.encode(), digest_size=5).digest())


def _step_data(step: dict[str, Any]) -> bytes | None:
    """The bytes a `send` or `udp` step carried, read back from its description (which quotes them)."""
    if step["action"] not in ("send", "udp"):
        return None
    match = _QUOTED.search(step["description"])
    if match is None:
        return None
    value = ast.literal_eval(match.group(1))
    return value.encode() if isinstance(value, str) else None


def _payload(size: int, data: bytes | None) -> bytes:
    """The step's data when the packet carries that many bytes (a send, a datagram, its echo), else zeros."""
    return data if data is not None and len(data) == size else bytes(size)


def _icmp(proto: int, summary: str, v6: bool) -> Packet:
    match = _ICMP_SUMMARY.match(summary)
    if match is None:
        raise ValueError(f"unrecognised ICMP summary {summary!r}")
    name, ident, seq, code = match.groups()
    number = int(name[5:]) if name.startswith("type ") else parse_icmp_type(name, proto)
    ident_seq = {"id": int(ident), "seq": int(seq)} if ident is not None else {}
    if not v6:
        return ICMPLayer(type=number, code=int(code or 0), **ident_seq)
    if number in (128, 129):
        return (ICMPv6EchoRequest if number == 128 else ICMPv6EchoReply)(**ident_seq)
    layer = icmp6typescls.get(number)
    return (layer or ICMPv6Unknown)(type=number, code=int(code or 0))


def _frame(packet: dict[str, Any], data: bytes | None, tcp: _TcpState) -> Packet:
    """One packet of the JSON as an Ethernet frame (scapy computes lengths and checksums when it is built)."""
    proto = parse_protocol(packet["proto"])
    ported = proto in (TCP, UDP)
    src, sport = _endpoint(packet["src"], ported)
    dst, dport = _endpoint(packet["dst"], ported)
    v6 = isinstance(ip_address(src), IPv6Address)
    ip: Packet = IPv6(src=src, dst=dst) if v6 else IP(src=src, dst=dst)
    summary = packet["summary"]
    if proto == TCP:
        match = _TCP_SUMMARY.match(summary)
        if match is None:
            raise ValueError(f"unrecognised TCP summary {summary!r}")
        flags = "" if match.group(1) == "none" else "".join(_FLAG_LETTERS[f] for f in match.group(1).split("-"))
        size = int(match.group(2) or 0)
        seq, ack = tcp.segment((src, sport, dst, dport), flags, size, packet["verdict"] == "allowed")
        l4: Packet = TCPLayer(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=65535)
        if size:
            l4 = l4 / Raw(_payload(size, data))
    elif proto == UDP:
        match = _UDP_SUMMARY.match(summary)
        if match is None:
            raise ValueError(f"unrecognised UDP summary {summary!r}")
        l4 = UDPLayer(sport=sport, dport=dport) / Raw(_payload(int(match.group(1)), data))
    elif proto in (ICMP, ICMPV6):
        l4 = _icmp(proto, summary, v6)
    else:  # another IP protocol (ESP, AH, GRE…): its number in the IP header, no payload (the run sent none)
        if v6:
            ip.nh = proto
        else:
            ip.proto = proto
        return Ether(src=_mac(src), dst=_mac(dst)) / ip
    return Ether(src=_mac(src), dst=_mac(dst)) / ip / l4


def writer_time(micros: int) -> float:
    """A time in microseconds as the float scapy's pcapng writer takes, placed mid-microsecond so the writer's
    truncation to microseconds gives exactly `micros` (a float near 1.7e15 µs is exact to 0.25 µs)."""
    return (micros + 0.5) / 1_000_000


def _timestamp(seconds: float) -> float:
    """The fixed epoch + a packet's virtual seconds (the JSON's times have six decimals)."""
    return writer_time(EPOCH * 1_000_000 + round(seconds * 1_000_000))


def drop_comment(step: dict[str, Any], packet: dict[str, Any]) -> str:
    """The pcapng comment of a dropped packet: its code and reason, and the step that sent it."""
    return f"{packet['code']}: {packet['reason']} (step {step['index']}: {step['description']})"


def frames(run: dict[str, Any]) -> list[Packet]:
    """Every packet of a run (the JSON of `lab run --json`) as a built frame with its time and comments (pure)."""
    tcp = _TcpState()
    out: list[Packet] = []
    for step in run["steps"]:
        data = _step_data(step)
        for packet in step["packets"]:
            frame = Ether(bytes(_frame(packet, data, tcp)))  # built once: lengths and checksums fixed
            frame.time = _timestamp(packet["time"])
            if packet["verdict"] != "allowed":
                frame.comments = [drop_comment(step, packet).encode()]
            out.append(frame)
    return out


def write(run: dict[str, Any], path: Path) -> None:
    """Write a run's packets (its JSON) to `path` as pcapng."""
    writer = PcapNgWriter(str(path))
    try:
        writer.linktype = 1  # Ethernet
        writer.write_header(None)  # a run without packets is still a file Wireshark opens
        for frame in frames(run):
            writer.write(frame)
    finally:
        writer.close()


def write_run(result: Any, path: Path) -> None:
    """Write a lab run's (a `LabResult`) packets to `path` as pcapng."""
    write(result.to_dict(), path)
