"""Security group rules and network ACL entries, in canonical form with their provenance for explanations."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Network

from vpclab.errors import Origin
from vpclab.model.addresses import IPNetwork, is_world, parse_cidr
from vpclab.model.errors import ModelError
from vpclab.model.protocols import (
    ALL, ALL_ICMP, ALL_PORTS, ICMP, ICMPV6, IcmpMatch, PortRange, has_ports, is_icmp, parse_protocol, protocol_name,
)


class Direction(str, Enum):
    """Which way a packet crosses an ENI or a subnet boundary."""

    INGRESS = "ingress"
    EGRESS = "egress"

    @property
    def opposite(self) -> "Direction":
        return Direction.EGRESS if self is Direction.INGRESS else Direction.INGRESS

    def __str__(self) -> str:
        return self.value


class Action(str, Enum):
    """A network ACL entry's action."""

    ALLOW = "allow"
    DENY = "deny"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class CidrPeer:
    """A rule peer given as an IPv4 or IPv6 CIDR."""

    cidr: IPNetwork

    @property
    def is_world(self) -> bool:
        return is_world(self.cidr)

    def __str__(self) -> str:
        return str(self.cidr)


@dataclass(frozen=True, slots=True)
class PrefixListPeer:
    """A rule peer given as a managed prefix list id."""

    prefix_list: str

    is_world = False

    def __str__(self) -> str:
        return self.prefix_list


@dataclass(frozen=True, slots=True)
class GroupPeer:
    """A rule peer given as a security group: matches the private IPs of ENIs carrying that group."""

    group: str

    is_world = False

    def __str__(self) -> str:
        return self.group


Peer = CidrPeer | PrefixListPeer | GroupPeer


def make_peer(cidr: object = None, sg: object = None, prefix_list: object = None) -> Peer:
    """Exactly one of a CIDR, a security group id or a prefix list id (AWS: 'exactly one of the following')."""
    given = [name for name, value in (("cidr", cidr), ("sg", sg), ("prefix_list", prefix_list)) if value is not None]
    if len(given) != 1:
        raise ModelError("a rule needs exactly one peer: cidr, sg or prefix_list"
                         + (f" (got {', '.join(given)})" if given else ""))
    if cidr is not None:
        return CidrPeer(parse_cidr(cidr))
    if sg is not None:
        if not isinstance(sg, str) or not sg:
            raise ModelError(f"{sg!r} is not a security group name")
        return GroupPeer(sg)
    if not isinstance(prefix_list, str) or not prefix_list:
        raise ModelError(f"{prefix_list!r} is not a prefix list name")
    return PrefixListPeer(prefix_list)


def _canonical_match(protocol: int, ports: PortRange | None, icmp: IcmpMatch | None,
                     ports_required: bool) -> tuple[PortRange, IcmpMatch]:
    """AWS: ports only for TCP/UDP, type/code only for ICMP; any other protocol matches all ports."""
    if has_ports(protocol):
        if ports is None:
            if ports_required:
                raise ModelError(f"{protocol_name(protocol)} rules need ports: expected a port or FROM-TO")
            ports = ALL_PORTS
        return ports, ALL_ICMP
    if is_icmp(protocol):
        return ALL_PORTS, icmp if icmp is not None else ALL_ICMP
    return ALL_PORTS, ALL_ICMP


@dataclass(frozen=True, slots=True)
class SgRule:
    """One security group rule: protocol, ports or ICMP type/code, one peer, and a description.

    Rules are compared without their description, as AWS does when revoking.
    """

    protocol: int
    peer: Peer
    ports: PortRange = ALL_PORTS
    icmp: IcmpMatch = ALL_ICMP
    description: str = field(default="", compare=False)
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        ports, icmp = _canonical_match(self.protocol, self.ports, self.icmp, ports_required=False)
        object.__setattr__(self, "ports", ports)
        object.__setattr__(self, "icmp", icmp)
        if len(self.description) > 255:
            raise ModelError("description is longer than 255 characters")

    @classmethod
    def make(cls, proto: object, ports: object = None, *, cidr: object = None, sg: object = None,
             prefix_list: object = None, icmp: object = None, description: str = "",
             origin: Origin | None = None) -> "SgRule":
        """Build a rule from user-level values (`proto="tcp", ports="20-21", cidr="0.0.0.0/0"`)."""
        protocol = parse_protocol(proto)
        port_range = PortRange.parse(ports) if ports is not None else None
        icmp_match = IcmpMatch.parse(icmp, protocol) if icmp is not None else None
        if icmp_match is not None and not is_icmp(protocol):
            raise ModelError(f"icmp type/code given for a {protocol_name(protocol)} rule: expected proto icmp or icmpv6")
        port_range, icmp_match = _canonical_match(protocol, port_range, icmp_match, ports_required=True)
        peer = make_peer(cidr=cidr, sg=sg, prefix_list=prefix_list)
        if protocol == ICMPV6 and isinstance(peer, CidrPeer) and peer.cidr.version == 4:
            raise ModelError("icmpv6 rules need an IPv6 peer")
        return cls(protocol, peer, port_range, icmp_match, description, origin)

    @property
    def all_ports(self) -> bool:
        """True when the rule covers every port of its protocol (AWS's 0-65535 for the untracked test)."""
        return self.ports.is_all and self.icmp.is_all

    def what(self) -> str:
        """Protocol and ports, e.g. `tcp 4321`, `icmp echo-request`, `all`."""
        if self.protocol == ALL:
            return "all traffic"
        if has_ports(self.protocol):
            return f"{protocol_name(self.protocol)} {self.ports}"
        if is_icmp(self.protocol):
            return f"{protocol_name(self.protocol)} {self.icmp.describe(self.protocol)}"
        return f"protocol {protocol_name(self.protocol)}"

    def text(self, direction: Direction) -> str:
        """A one-line description such as `tcp 4321 from 198.18.0.0/16 (app)`."""
        preposition = "from" if direction is Direction.INGRESS else "to"
        extra = f" ({self.description})" if self.description else ""
        return f"{self.what()} {preposition} {self.peer}{extra}"


#: The number the API shows for the `*` deny of IPv4 and IPv6 entries.
STAR_V4, STAR_V6 = 32767, 32768


@dataclass(frozen=True, slots=True, order=True)
class NaclEntry:
    """One numbered network ACL entry (1-32766), evaluated lowest number first."""

    number: int
    action: Action
    protocol: int
    cidr: IPNetwork
    ports: PortRange = ALL_PORTS
    icmp: IcmpMatch = ALL_ICMP
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 32766:
            raise ModelError(f"rule number {self.number} is out of range: expected 1-32766 "
                             "(32767 and above are reserved for the * rule)")
        if self.protocol == ICMP and self.cidr.version == 6:
            raise ModelError("protocol icmp (1) needs an IPv4 CIDR: use icmpv6 (58) for IPv6")
        ports, icmp = _canonical_match(self.protocol, self.ports, self.icmp, ports_required=False)
        if self.protocol == ICMPV6 and self.cidr.version == 4:
            icmp = ALL_ICMP  # AWS: 58 with an IPv4 CIDR allows all ICMP types and codes
        object.__setattr__(self, "ports", ports)
        object.__setattr__(self, "icmp", icmp)

    @classmethod
    def make(cls, rule: object, action: object, proto: object, cidr: object, ports: object = None,
             icmp: object = None, origin: Origin | None = None) -> "NaclEntry":
        """Build an entry from user-level values."""
        if isinstance(rule, bool) or not isinstance(rule, int):
            raise ModelError(f"rule number {rule!r} is not valid: expected 1-32766")
        if action not in ("allow", "deny", Action.ALLOW, Action.DENY):
            raise ModelError(f"action {action!r} is not valid: expected allow or deny")
        protocol = parse_protocol(proto)
        port_range = PortRange.parse(ports) if ports is not None else None
        icmp_match = IcmpMatch.parse(icmp, protocol) if icmp is not None else None
        if icmp_match is not None and not is_icmp(protocol):
            raise ModelError(f"icmp type/code given for a {protocol_name(protocol)} entry")
        port_range, icmp_match = _canonical_match(protocol, port_range, icmp_match, ports_required=True)
        return cls(rule, Action(action), protocol, parse_cidr(cidr), port_range, icmp_match, origin)

    def what(self) -> str:
        if self.protocol == ALL:
            return "all traffic"
        if has_ports(self.protocol):
            return f"{protocol_name(self.protocol)} {self.ports}"
        if is_icmp(self.protocol):
            return f"{protocol_name(self.protocol)} {self.icmp.describe(self.protocol)}"
        return f"protocol {protocol_name(self.protocol)}"

    def text(self, direction: Direction) -> str:
        """E.g. `rule 100: allow tcp 22 from 0.0.0.0/0`."""
        preposition = "from" if direction is Direction.INGRESS else "to"
        return f"rule {self.number}: {self.action} {self.what()} {preposition} {self.cidr}"


def star_text(direction: Direction, version: int) -> str:
    """The text of the final `*` deny entry."""
    preposition = "from" if direction is Direction.INGRESS else "to"
    world = IPv4Network("0.0.0.0/0") if version == 4 else "::/0"
    return f"rule *: deny all traffic {preposition} {world}"
