"""Send and receive single ICMP messages on the real kernel: the `vpclab icmp` tool.

The seed article "AWS Security Groups: Stateful Statelessness" probed security groups with a
hand-made script that sent echo requests and unsolicited echo replies, but computed a dummy
checksum, so a correct receiver had to drop its packets. This module does the same job right:
RFC 1071 checksums, IPv4 headers of any length (IHL), filters, and a receive that never
blocks forever.

Pure functions (`checksum`, `build`, `parse`) need no privilege. `send` and `receive` use a
raw socket (AF_INET, SOCK_RAW, IPPROTO_ICMP), which needs root or CAP_NET_RAW.
`run_icmp_command` is the command-line behaviour; it returns the exit status:

    0  done: packet sent, and/or `count` matching messages received
    1  runtime failure: fewer than `count` matching messages before the timeout, or send failed
    2  bad input (one-line error)
    3  no privilege for a raw socket (root or CAP_NET_RAW needed)
"""

from __future__ import annotations

import ipaddress
import math
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from vpclab.model.protocols import ICMP, ICMP_ID_TYPES, ICMP_TYPES, icmp_type_name

ECHO_REPLY = ICMP_TYPES["echo-reply"]
DEST_UNREACHABLE = ICMP_TYPES["destination-unreachable"]
ECHO_REQUEST = ICMP_TYPES["echo-request"]
TIME_EXCEEDED = ICMP_TYPES["time-exceeded"]

_ICMP_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_IP_PROTO_ICMP = 1
_MAX_PACKET = 65535

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_PRIVILEGE = 3


@dataclass(frozen=True)
class IcmpMessage:
    """One ICMP message. `src` is the IPv4 source, or None when parsed without an IP header.

    `ident` and `seq` are the header's bytes 4-7 read as two 16-bit numbers; they mean
    identifier and sequence only for echo and timestamp types (see `has_ident`).
    """

    src: str | None
    type: int
    code: int
    ident: int
    seq: int
    payload: bytes
    checksum_ok: bool

    @property
    def type_name(self) -> str:
        """A readable name such as "echo-reply", or "type N" for types without one."""
        return icmp_type_name(ICMP, self.type)

    @property
    def has_ident(self) -> bool:
        """Whether `ident`/`seq` really are an identifier and sequence number for this type."""
        return self.type in ICMP_ID_TYPES


def checksum(data: bytes) -> int:
    """The RFC 1071 internet checksum of `data`: one's complement of the one's-complement sum.

    An odd trailing byte is padded with a zero byte. Over a message that already carries a
    correct checksum the result is 0, which is how `parse` checks received messages.
    """
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _check_u16(name: str, value: int) -> None:
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{name} must be 0-65535, got {value}")


def build(icmp_type: int, code: int = 0, ident: int = 0, seq: int = 0, payload: bytes = b"") -> bytes:
    """An ICMP message (no IP header: the kernel adds it) with a correct checksum."""
    for name, value, limit in (("type", icmp_type, 0xFF), ("code", code, 0xFF)):
        if not 0 <= value <= limit:
            raise ValueError(f"ICMP {name} must be 0-{limit}, got {value}")
    _check_u16("id", ident)
    _check_u16("seq", seq)
    unsummed = _ICMP_HEADER.pack(icmp_type, code, 0, ident, seq) + payload
    return _ICMP_HEADER.pack(icmp_type, code, checksum(unsummed), ident, seq) + payload


def parse(packet: bytes, has_ip_header: bool = True) -> IcmpMessage:
    """Decode an ICMP message, by default preceded by its IPv4 header (as a raw socket gives it).

    The IP header's length comes from its IHL field (options make it longer than 20 bytes),
    and bytes past the IP total length are ignored. Raises ValueError for truncated or non-ICMP
    data, so callers can skip junk instead of crashing.
    """
    src: str | None = None
    icmp = bytes(packet)
    if has_ip_header:
        if len(icmp) < 20:
            raise ValueError(f"truncated IPv4 header: {len(icmp)} bytes, need at least 20")
        version, ihl = icmp[0] >> 4, icmp[0] & 0x0F
        if version != 4:
            raise ValueError(f"not an IPv4 packet (version {version})")
        header_len = ihl * 4
        if ihl < 5:
            raise ValueError(f"bad IPv4 header length: IHL {ihl} (< 5)")
        if len(icmp) < header_len:
            raise ValueError(f"truncated IPv4 header: {len(icmp)} bytes, IHL says {header_len}")
        total_len = struct.unpack_from("!H", icmp, 2)[0]
        if icmp[9] != _IP_PROTO_ICMP:
            raise ValueError(f"not ICMP: IP protocol {icmp[9]}")
        # Linux raw sockets hand over the datagram as received; trust total length only when
        # it is consistent, so a header rewritten by the stack cannot make us drop good data.
        end = total_len if header_len <= total_len <= len(icmp) else len(icmp)
        src = socket.inet_ntoa(icmp[12:16])
        icmp = icmp[header_len:end]
    if len(icmp) < _ICMP_HEADER.size:
        raise ValueError(f"truncated ICMP message: {len(icmp)} bytes, need at least {_ICMP_HEADER.size}")
    icmp_type, code, _sum, ident, seq = _ICMP_HEADER.unpack_from(icmp)
    return IcmpMessage(src=src, type=icmp_type, code=code, ident=ident, seq=seq,
                       payload=icmp[_ICMP_HEADER.size:], checksum_ok=checksum(icmp) == 0)


def open_socket() -> socket.socket:
    """A raw ICMP socket. Raises PermissionError without root or CAP_NET_RAW."""
    return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)


def send(dst: str, icmp_type: int, code: int = 0, ident: int = 0, seq: int = 0, payload: bytes = b"",
         *, sock: socket.socket | None = None) -> bytes:
    """Send one ICMP message to IPv4 `dst` and return the bytes sent (without IP header).

    Pass `sock` to reuse an open raw socket (so a reply cannot arrive before we listen);
    otherwise one is opened and closed here.
    """
    message = build(icmp_type, code, ident, seq, payload)
    own = sock is None
    sock = open_socket() if sock is None else sock
    try:
        sock.sendto(message, (dst, 0))
    finally:
        if own:
            sock.close()
    return message


def _matches(msg: IcmpMessage, ident: int | None, seq: int | None, types: set[int] | None,
             src: str | None) -> bool:
    if types is not None and msg.type not in types:
        return False
    if src is not None and msg.src != src:
        return False
    if (ident is not None or seq is not None) and not msg.has_ident:
        return False  # an id/seq filter only makes sense for echo-like messages
    return (ident is None or msg.ident == ident) and (seq is None or msg.seq == seq)


def receive(timeout: float, count: int = 1, ident: int | None = None, seq: int | None = None,
            types: set[int] | None = None, *, src: str | None = None,
            sock: socket.socket | None = None) -> list[IcmpMessage]:
    """Collect up to `count` incoming ICMP messages that pass the filters, for at most `timeout` s.

    Filters (None = any): `ident`, `seq` (echo-like types only), `types`, source address `src`.
    Returns early once `count` messages matched; returns what it has at the deadline. Each
    wait is a select() bounded by the remaining time, so it never blocks forever. Packets
    that do not parse are skipped.
    """
    own = sock is None
    sock = open_socket() if sock is None else sock
    found: list[IcmpMessage] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            readable, _, _ = select.select([sock], [], [], remaining)
            if not readable:
                break
            data = sock.recv(_MAX_PACKET)
            try:
                msg = parse(data, has_ip_header=True)
            except ValueError:
                continue
            if _matches(msg, ident, seq, types, src):
                found.append(msg)
    finally:
        if own:
            sock.close()
    return found


_receive = receive  # run_icmp_command's `receive` flag shadows the function name


def describe(msg: IcmpMessage) -> str:
    """One line for a received message, e.g. 'received echo-reply from 198.18.2.20 id 7 seq 1 (checksum ok)'."""
    fields = f"id {msg.ident} seq {msg.seq}" if msg.has_ident else f"code {msg.code}"
    if msg.has_ident and msg.code:
        fields += f" code {msg.code}"
    origin = f" from {msg.src}" if msg.src else ""
    return f"received {msg.type_name}{origin} {fields} (checksum {'ok' if msg.checksum_ok else 'BAD'})"


def _seconds(value: float) -> str:
    return f"{value:g}"


def _usage_error(
    send_request: str | None, send_reply: str | None, receive_: bool,
    ident: int | None, seq: int | None, count: int, timeout: float,
) -> str | None:
    """The one-line problem with these arguments, or None when they are usable."""
    targets = [t for t in (send_request, send_reply) if t is not None]
    if len(targets) > 1:
        return "give only one of --send-request and --send-reply"
    if not targets and not receive_:
        return "give one of --send-request IP, --send-reply IP or --receive"
    if send_reply is not None and receive_:
        return ("--receive cannot follow --send-reply: nothing answers an echo-reply; "
                "run --receive on the other host instead")
    if targets:
        try:
            ipaddress.IPv4Address(targets[0])
        except ValueError:
            return f"not a valid IPv4 address: {targets[0]!r}"
    for name, value in (("--id", ident), ("--seq", seq)):
        if value is not None and not 0 <= value <= 0xFFFF:
            return f"{name} must be 0-65535, got {value}"
    if count < 1:
        return f"--count must be at least 1, got {count}"
    if not (math.isfinite(timeout) and timeout > 0):
        return f"--timeout must be a positive number of seconds, got {timeout}"
    return None


def run_icmp_command(
    send_request: str | None,
    send_reply: str | None,
    receive: bool,
    ident: int | None = None,
    seq: int | None = None,
    count: int = 1,
    timeout: float = 2.0,
    echo: Callable[[str], object] = print,
) -> int:
    """`vpclab icmp`: send an echo-request or echo-reply, and/or receive ICMP; returns the exit status.

    Modes:
      --send-request IP            send one echo-request (id/seq default 0), exit 0
      --send-reply IP              send one unsolicited echo-reply, exit 0
      --receive                    print up to --count messages passing --id/--seq filters
      --send-request IP --receive  ping-like: listen first, send, then wait for echo-replies
                                   from IP with the same id and seq
    With --receive, exit 1 if fewer than --count messages matched within --timeout.
    """
    problem = _usage_error(send_request, send_reply, receive, ident, seq, count, timeout)
    if problem is not None:
        echo(f"error: {problem}")
        return EXIT_USAGE

    dst = send_request if send_request is not None else send_reply
    try:
        sock = open_socket()
    except PermissionError:
        echo("error: vpclab icmp needs root or CAP_NET_RAW to open a raw ICMP socket "
             "(try: sudo vpclab icmp ...)")
        return EXIT_NO_PRIVILEGE

    with sock:
        if dst is not None:
            icmp_type = ECHO_REQUEST if send_request is not None else ECHO_REPLY
            out_id, out_seq = ident or 0, seq or 0
            try:
                send(dst, icmp_type, 0, out_id, out_seq, sock=sock)
            except OSError as exc:
                echo(f"error: cannot send {icmp_type_name(ICMP, icmp_type)} to {dst}: {exc.strerror or exc}")
                return EXIT_FAILED
            echo(f"sent {icmp_type_name(ICMP, icmp_type)} to {dst} id {out_id} seq {out_seq}")
            if not receive:
                return EXIT_OK
            got = _receive(timeout, count, out_id, out_seq, {ECHO_REPLY}, src=dst, sock=sock)
        else:
            got = _receive(timeout, count, ident, seq, None, sock=sock)

    for msg in got:
        echo(describe(msg))
    if not got:
        echo(f"no ICMP received within {_seconds(timeout)} s")
        return EXIT_FAILED
    if len(got) < count:
        echo(f"only {len(got)} of {count} ICMP messages received within {_seconds(timeout)} s")
        return EXIT_FAILED
    return EXIT_OK


__all__ = [
    "IcmpMessage", "checksum", "build", "parse", "open_socket", "send", "receive", "describe",
    "run_icmp_command", "ECHO_REPLY", "ECHO_REQUEST", "DEST_UNREACHABLE", "TIME_EXCEEDED",
]
