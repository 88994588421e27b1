"""Protocols, port ranges and ICMP type/code matches, parsed into AWS's canonical forms."""

from __future__ import annotations

from dataclasses import dataclass

from vpclab.model.errors import ModelError

ALL = -1
ICMP, TCP, UDP, ICMPV6 = 1, 6, 17, 58
PORTED = frozenset({TCP, UDP})

#: Names accepted for protocols (AWS's names first, then common IANA keywords).
PROTOCOL_NUMBERS: dict[str, int] = {
    "all": ALL, "-1": ALL, "tcp": TCP, "udp": UDP, "icmp": ICMP, "icmpv6": ICMPV6, "ipv6-icmp": ICMPV6,
    "igmp": 2, "ipip": 4, "gre": 47, "esp": 50, "ah": 51, "ospf": 89, "pim": 103, "vrrp": 112, "sctp": 132,
}
PROTOCOL_NAMES: dict[int, str] = {ALL: "all", TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6",
                                  2: "igmp", 4: "ipip", 47: "gre", 50: "esp", 51: "ah", 89: "ospf",
                                  103: "pim", 112: "vrrp", 132: "sctp"}

ICMP_TYPES: dict[str, int] = {
    "echo-reply": 0, "dest-unreachable": 3, "destination-unreachable": 3, "source-quench": 4, "redirect": 5,
    "echo-request": 8, "router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11,
    "parameter-problem": 12, "timestamp-request": 13, "timestamp-reply": 14, "info-request": 15,
    "info-reply": 16, "address-mask-request": 17, "address-mask-reply": 18,
}
ICMPV6_TYPES: dict[str, int] = {
    "dest-unreachable": 1, "destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3,
    "parameter-problem": 4, "echo-request": 128, "echo-reply": 129,
}
ICMP_TYPE_NAMES: dict[int, str] = {v: k for k, v in reversed(ICMP_TYPES.items())}
ICMPV6_TYPE_NAMES: dict[int, str] = {v: k for k, v in reversed(ICMPV6_TYPES.items())}

#: ICMP types whose 4 "rest of header" bytes are an identifier and a sequence number (RFC 792, RFC 950).
ICMP_ID_TYPES = frozenset({0, 8, 13, 14, 15, 16, 17, 18})

#: ICMP query types that open a conntrack entry, and the reply type each expects (as Linux's `invmap`).
ICMP_QUERY_REPLY: dict[int, int] = {8: 0, 13: 14, 15: 16, 17: 18}
ICMPV6_QUERY_REPLY: dict[int, int] = {128: 129}


def parse_protocol(value: object) -> int:
    """A protocol name (tcp, udp, icmp, icmpv6, all), `-1` or a number 0-255 → its number (-1 = all)."""
    if isinstance(value, bool):
        raise ModelError(f"{value!r} is not a protocol: expected tcp, udp, icmp, icmpv6, all, -1 or 0-255")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in PROTOCOL_NUMBERS:
            return PROTOCOL_NUMBERS[text]
        try:
            number = int(text)
        except ValueError:
            raise ModelError(f"unknown protocol {value!r}: expected tcp, udp, icmp, icmpv6, all, -1 "
                             "or a protocol number 0-255") from None
    else:
        raise ModelError(f"{value!r} is not a protocol: expected tcp, udp, icmp, icmpv6, all, -1 or 0-255")
    if number == ALL or 0 <= number <= 255:
        return number
    raise ModelError(f"protocol number {number} is out of range: expected -1 or 0-255")


def protocol_name(number: int) -> str:
    """The display name of a protocol number (`tcp`, `all`, or the number itself)."""
    return PROTOCOL_NAMES.get(number, str(number))


def has_ports(protocol: int) -> bool:
    """True for TCP and UDP, whose rules carry a port range (AWS: others match all ports)."""
    return protocol in PORTED


def is_icmp(protocol: int) -> bool:
    """True for ICMP and ICMPv6, whose rules carry a type/code."""
    return protocol in (ICMP, ICMPV6)


def icmp_type_name(protocol: int, icmp_type: int) -> str:
    names = ICMPV6_TYPE_NAMES if protocol == ICMPV6 else ICMP_TYPE_NAMES
    return names.get(icmp_type, f"type {icmp_type}")


def parse_icmp_type(value: object, protocol: int = ICMP) -> int:
    """An ICMP type given as a number (0-255, -1 = all) or a name such as `echo-request`."""
    names = ICMPV6_TYPES if protocol == ICMPV6 else ICMP_TYPES
    if isinstance(value, str) and value.strip().lower() in names:
        return names[value.strip().lower()]
    number = _int(value, "ICMP type", f"a number 0-255, -1 or a name ({', '.join(sorted(set(names)))})")
    if number == ALL or 0 <= number <= 255:
        return number
    raise ModelError(f"ICMP type {number} is out of range: expected -1 or 0-255")


def _int(value: object, what: str, expected: str) -> int:
    if isinstance(value, bool):
        raise ModelError(f"{what} {value!r} is not valid: expected {expected}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ModelError(f"{what} {value!r} is not valid: expected {expected}")


@dataclass(frozen=True, slots=True, order=True)
class PortRange:
    """An inclusive range of TCP/UDP ports, 0-65535."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if not (0 <= self.first <= 65535 and 0 <= self.last <= 65535):
            raise ModelError(f"port range {self.first}-{self.last} is outside 0-65535")
        if self.first > self.last:
            raise ModelError(f"port range {self.first}-{self.last} is reversed: expected FROM-TO with FROM <= TO")

    @classmethod
    def parse(cls, value: object) -> "PortRange":
        """`80`, `"80"`, `"20-21"`, `"all"` or `"-1"` (all ports) → a PortRange."""
        if isinstance(value, PortRange):
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("all", "-1", "any", "0-65535"):
                return ALL_PORTS
            if "-" in text.lstrip("-"):
                lo, _, hi = text.partition("-")
                try:
                    a = _int(lo, "port", "a number 0-65535 or a range FROM-TO")
                    b = _int(hi, "port", "a number 0-65535 or a range FROM-TO")
                except ModelError:
                    if text.count("-") == 1:
                        raise  # the one bad side: port 'abc'
                    # more dashes than FROM-TO has: name the whole value ('twenty-two-22' is no port 'twenty')
                    raise ModelError(f"ports {value!r} is not valid: expected a number 0-65535 or a range "
                                     "FROM-TO") from None
                return cls._checked(a, b, value)
        if value == -1:
            return ALL_PORTS
        port = _int(value, "port", "a number 0-65535 or a range FROM-TO")
        return cls._checked(port, port, value)

    @classmethod
    def _checked(cls, a: int, b: int, raw: object) -> "PortRange":
        if not (0 <= a <= 65535 and 0 <= b <= 65535):
            raise ModelError(f"port {raw} is out of range: expected 0-65535")
        if a > b:
            raise ModelError(f"port range {raw} is reversed: expected FROM-TO with FROM <= TO")
        return cls(a, b)

    @property
    def is_all(self) -> bool:
        return self.first == 0 and self.last == 65535

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.first <= port <= self.last

    def __str__(self) -> str:
        if self.is_all:
            return "all ports"
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


ALL_PORTS = PortRange(0, 65535)


@dataclass(frozen=True, slots=True, order=True)
class IcmpMatch:
    """An ICMP type and code to match; -1 means all (AWS: type -1 requires code -1)."""

    type: int = ALL
    code: int = ALL

    def __post_init__(self) -> None:
        if not (self.type == ALL or 0 <= self.type <= 255):
            raise ModelError(f"ICMP type {self.type} is out of range: expected -1 or 0-255")
        if not (self.code == ALL or 0 <= self.code <= 255):
            raise ModelError(f"ICMP code {self.code} is out of range: expected -1 or 0-255")
        if self.type == ALL and self.code != ALL:
            raise ModelError("ICMP type -1 (all types) requires code -1 (all codes)")

    @classmethod
    def parse(cls, value: object, protocol: int = ICMP) -> "IcmpMatch":
        """`{type: 8, code: -1}`, `{type: echo-request}`, a type alone, or `all`."""
        if isinstance(value, IcmpMatch):
            return value
        if value is None or (isinstance(value, str) and value.strip().lower() in ("all", "-1")):
            return ALL_ICMP
        if isinstance(value, dict):
            unknown = set(value) - {"type", "code"}
            if unknown:
                raise ModelError(f"unknown ICMP key(s) {', '.join(sorted(map(str, unknown)))}: expected type, code")
            icmp_type = parse_icmp_type(value.get("type", ALL), protocol)
            code = _int(value.get("code", ALL), "ICMP code", "a number 0-255 or -1")
            return cls(icmp_type, code)
        return cls(parse_icmp_type(value, protocol), ALL)

    @property
    def is_all(self) -> bool:
        return self.type == ALL

    def matches(self, icmp_type: int, code: int) -> bool:
        return (self.type == ALL or self.type == icmp_type) and (self.code == ALL or self.code == code)

    def describe(self, protocol: int = ICMP) -> str:
        if self.type == ALL:
            return "all types"
        name = icmp_type_name(protocol, self.type)
        return name if self.code == ALL else f"{name} code {self.code}"


ALL_ICMP = IcmpMatch()
