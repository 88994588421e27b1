"""Route tables and the gateways routes point at (aws-routing-terraform.md §1-§6), as immutable values.

A route's target is an AWS id; its kind comes from the id's prefix, as AWS's own `GatewayId` is overloaded
(`local`, `igw-`, `vgw-`, `vpce-`) and tools classify by prefix (§1.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address

from vpclab.errors import Origin
from vpclab.model.addresses import WORLD_V4, WORLD_V6, IPAddress, IPNetwork


class TargetKind(str, Enum):
    """What a route sends traffic to (§1.3)."""

    LOCAL = "local"
    INTERNET_GATEWAY = "internet-gateway"
    EGRESS_ONLY_GATEWAY = "egress-only-internet-gateway"
    NAT_GATEWAY = "nat-gateway"
    PEERING = "vpc-peering-connection"
    TRANSIT_GATEWAY = "transit-gateway"
    VPN_GATEWAY = "virtual-private-gateway"
    ENDPOINT = "vpc-endpoint"
    NETWORK_INTERFACE = "network-interface"
    INSTANCE = "instance"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


_PREFIXES = (("igw-", TargetKind.INTERNET_GATEWAY), ("eigw-", TargetKind.EGRESS_ONLY_GATEWAY),
             ("nat-", TargetKind.NAT_GATEWAY), ("pcx-", TargetKind.PEERING), ("tgw-", TargetKind.TRANSIT_GATEWAY),
             ("vgw-", TargetKind.VPN_GATEWAY), ("vpce-", TargetKind.ENDPOINT), ("eni-", TargetKind.NETWORK_INTERFACE),
             ("i-", TargetKind.INSTANCE))


def target_kind(target: str) -> TargetKind:
    """The kind of a route target by its id's prefix (`local`, `igw-…`, `pcx-…`); OTHER when unknown."""
    if target == "local":
        return TargetKind.LOCAL
    return next((kind for prefix, kind in _PREFIXES if target.startswith(prefix)), TargetKind.OTHER)


@dataclass(frozen=True, slots=True)
class Route:
    """One route: a destination (CIDR, or a prefix list id for gateway endpoints), a target id, a state.

    `blackhole` routes still win the longest-prefix match and drop (§1.4). `propagated` routes lose ties to static
    ones (§1.2).
    """

    destination: IPNetwork | str
    target: str
    state: str = "active"
    propagated: bool = False
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def kind(self) -> TargetKind:
        return target_kind(self.target)

    @property
    def blackhole(self) -> bool:
        return self.state == "blackhole"

    def __str__(self) -> str:
        state = " (blackhole)" if self.blackhole else ""
        return f"{self.destination} → {self.target}{state}"


@dataclass(frozen=True, slots=True)
class RouteTable:
    """A route table of one VPC: its routes and the subnets explicitly associated with it.

    The VPC's `main` table governs every subnet without an explicit association (§1.1); `gateways` are edge
    associations (an IGW or VGW whose incoming traffic the table routes).
    """

    id: str
    vpc: str
    routes: tuple[Route, ...] = ()
    main: bool = False
    subnets: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def targets(self, kind: TargetKind) -> list[Route]:
        """The active routes whose target is of `kind`."""
        return [r for r in self.routes if r.kind is kind and not r.blackhole]


@dataclass(frozen=True, slots=True)
class Gateway:
    """An internet gateway, egress-only internet gateway or virtual private gateway, and the VPC it is attached to
    (None when detached)."""

    id: str
    kind: TargetKind
    vpc: str | None
    origin: Origin | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NatGateway:
    """A NAT gateway in a subnet: source NAT to its address (public: its Elastic IP at the IGW), no security group,
    flows through it always tracked (§3)."""

    id: str
    subnet: str
    private_ip: IPv4Address
    public_ip: IPv4Address | None = None
    connectivity: str = "public"
    eni: str | None = None
    origin: Origin | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Peering:
    """A VPC peering connection; only `active` connections carry traffic (§4). The CIDRs describe a peer VPC
    that may be absent from the snapshot."""

    id: str
    requester: str
    accepter: str
    state: str = "active"
    requester_cidrs: tuple[IPNetwork, ...] = ()
    accepter_cidrs: tuple[IPNetwork, ...] = ()
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def other(self, vpc: str) -> str:
        """The VPC on the other side of the connection from `vpc`."""
        return self.accepter if vpc == self.requester else self.requester


@dataclass(frozen=True, slots=True)
class VpcEndpoint:
    """A VPC endpoint: a gateway endpoint (a prefix-list route to an AWS service) or an interface endpoint (ENIs
    with security groups) (§6)."""

    id: str
    vpc: str
    type: str
    service: str = ""
    route_tables: tuple[str, ...] = ()
    subnets: tuple[str, ...] = ()
    enis: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    origin: Origin | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TgwRoute:
    """A transit gateway route: a destination CIDR to an attachment, or a blackhole."""

    destination: IPNetwork
    attachment: str | None
    state: str = "active"
    propagated: bool = False
    origin: Origin | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TgwAttachment:
    """A transit gateway attachment: its resource (a VPC and one subnet per zone, or a VPN…) and the one route
    table it is associated with (§5.1)."""

    id: str
    type: str
    resource: str
    subnets: tuple[str, ...] = ()
    route_table: str | None = None
    state: str = "available"
    origin: Origin | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TransitGateway:
    """A transit gateway: attachments and route tables (enough for a reachability question, §5)."""

    id: str
    attachments: tuple[TgwAttachment, ...] = ()
    route_tables: tuple[tuple[str, tuple[TgwRoute, ...]], ...] = ()
    origin: Origin | None = field(default=None, compare=False, repr=False)


def local_routes(cidrs: tuple[IPNetwork, ...], origin: Origin | None = None) -> tuple[Route, ...]:
    """The `local` route AWS adds to every table for each VPC CIDR (§1.2)."""
    return tuple(Route(cidr, "local", origin=origin) for cidr in cidrs)


def default_routes(gateway: str, ipv6: bool, origin: Origin | None = None) -> tuple[Route, ...]:
    """0.0.0.0/0 (and ::/0) to `gateway`: what a lab's `public: true` subnet gets."""
    routes = [Route(WORLD_V4, gateway, origin=origin)]
    if ipv6:
        routes.append(Route(WORLD_V6, gateway, origin=origin))
    return tuple(routes)


def covers(route: Route, address: IPAddress, prefix_lists: dict[str, tuple[IPNetwork, ...]]) -> int:
    """The prefix length by which `route` covers `address` (-1 when it does not); prefix-list routes count
    each of their CIDRs."""
    destination = route.destination
    blocks = prefix_lists.get(destination, ()) if isinstance(destination, str) else (destination,)
    best = -1
    for block in blocks:
        if block.version == address.version and address in block:
            best = max(best, block.prefixlen)
    return best


__all__ = ["Gateway", "NatGateway", "Peering", "Route", "RouteTable", "TargetKind", "TgwAttachment", "TgwRoute",
           "TransitGateway", "VpcEndpoint", "covers", "default_routes", "local_routes", "target_kind"]
