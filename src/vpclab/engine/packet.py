"""Packets as the engine sees them: small tuples with integer addresses, cheap to create in bulk."""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from vpclab.model.addresses import IPAddress, parse_ip
from vpclab.model.protocols import ICMP, ICMP_ID_TYPES, ICMPV6, TCP, UDP, icmp_type_name, parse_icmp_type, protocol_name

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
_FLAG_LETTERS = {"F": FIN, "S": SYN, "R": RST, "P": PSH, "A": ACK}
_FLAG_NAMES = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK"))


def parse_flags(flags: str | int) -> int:
    """TCP flags from letters (`"S"`, `"SA"`, `"FA"`, `"R"`, `"PA"`) or an integer."""
    if isinstance(flags, int):
        return flags
    value = 0
    for letter in flags.upper():
        if letter not in _FLAG_LETTERS:
            raise ValueError(f"unknown TCP flag {letter!r}: expected letters from F S R P A")
        value |= _FLAG_LETTERS[letter]
    return value


def flags_text(flags: int) -> str:
    """`SYN`, `SYN-ACK`, `PSH-ACK`, `FIN-ACK`, `RST`…"""
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    return "-".join(names) or "none"


class Packet(NamedTuple):
    """One IP packet. Addresses are integers (`v6` tells the family); ICMP carries type, code and identifier."""

    src: int
    dst: int
    proto: int
    sport: int = 0
    dport: int = 0
    flags: int = 0
    icmp_type: int = 0
    icmp_code: int = 0
    ident: int = 0
    seq: int = 0
    size: int = 0
    v6: bool = False

    # ---- constructors -------------------------------------------------------------------------------

    @classmethod
    def tcp(cls, src: str | IPAddress, sport: int, dst: str | IPAddress, dport: int,
            flags: str | int = "S", size: int = 0) -> "Packet":
        s, d, v6 = _pair(src, dst)
        return cls(s, d, TCP, sport, dport, parse_flags(flags), size=size, v6=v6)

    @classmethod
    def udp(cls, src: str | IPAddress, sport: int, dst: str | IPAddress, dport: int, size: int = 0) -> "Packet":
        s, d, v6 = _pair(src, dst)
        return cls(s, d, UDP, sport, dport, size=size, v6=v6)

    @classmethod
    def icmp(cls, src: str | IPAddress, dst: str | IPAddress, type: int | str = 8, code: int = 0,
             ident: int = 0, seq: int = 0) -> "Packet":
        s, d, v6 = _pair(src, dst)
        proto = ICMPV6 if v6 else ICMP
        return cls(s, d, proto, icmp_type=parse_icmp_type(type, proto), icmp_code=code, ident=ident, seq=seq, v6=v6)

    @classmethod
    def other(cls, src: str | IPAddress, dst: str | IPAddress, proto: int) -> "Packet":
        s, d, v6 = _pair(src, dst)
        return cls(s, d, proto, v6=v6)

    # ---- views --------------------------------------------------------------------------------------

    @property
    def src_ip(self) -> IPAddress:
        return ipaddress.IPv6Address(self.src) if self.v6 else ipaddress.IPv4Address(self.src)

    @property
    def dst_ip(self) -> IPAddress:
        return ipaddress.IPv6Address(self.dst) if self.v6 else ipaddress.IPv4Address(self.dst)

    @property
    def has_ports(self) -> bool:
        return self.proto == TCP or self.proto == UDP

    @property
    def is_icmp(self) -> bool:
        return self.proto == ICMP or self.proto == ICMPV6

    def endpoint(self, which: str) -> str:
        """`198.18.1.10:40001` for TCP/UDP, the bare address otherwise (IPv6 in brackets)."""
        ip, port = (self.src_ip, self.sport) if which == "src" else (self.dst_ip, self.dport)
        text = f"[{ip}]" if self.v6 and self.has_ports else str(ip)
        return f"{text}:{port}" if self.has_ports else text

    def summary(self) -> str:
        """A short description: `SYN`, `PSH-ACK 3 bytes`, `echo-request id 7 seq 1`, `udp 1 byte`."""
        if self.proto == TCP:
            text = flags_text(self.flags)
            return f"{text} {self.size} byte{'s' if self.size != 1 else ''}" if self.size else text
        if self.proto == UDP:
            return f"udp {self.size} byte{'s' if self.size != 1 else ''}"
        if self.is_icmp:
            name = icmp_type_name(self.proto, self.icmp_type)
            if (self.proto == ICMP and self.icmp_type in ICMP_ID_TYPES) or \
                    (self.proto == ICMPV6 and self.icmp_type in (128, 129)):
                return f"{name} id {self.ident} seq {self.seq}"
            return f"{name} code {self.icmp_code}"
        return f"protocol {protocol_name(self.proto)}"

    def describe(self) -> str:
        """`tcp 198.18.1.10:40001 → 198.18.2.20:4321 SYN`."""
        return f"{protocol_name(self.proto)} {self.endpoint('src')} → {self.endpoint('dst')} {self.summary()}"


def _pair(src: str | IPAddress, dst: str | IPAddress) -> tuple[int, int, bool]:
    s, d = parse_ip(src), parse_ip(dst)
    if s.version != d.version:
        raise ValueError(f"{s} and {d} are not of the same IP family")
    return int(s), int(d), s.version == 6
