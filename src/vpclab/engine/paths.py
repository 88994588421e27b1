"""Which filters a packet meets between two addresses: same subnet, across subnets, or through the IGW."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network

from vpclab.engine import codes
from vpclab.model.network import Host, Network, Vpc


@dataclass(frozen=True, slots=True)
class Service:
    """An Amazon service every VPC host reaches unfiltered (aws-semantics.md §0.11, §4.2): where it listens and
    which ports it answers, so the simulator can answer there as AWS does."""

    name: str
    addresses: tuple[str, ...]
    tcp: frozenset[int] = frozenset()
    udp: frozenset[int] = frozenset()


#: The Amazon services neither security groups nor NACLs filter: the one place their addresses and ports are written.
AMAZON_DNS = Service("Amazon DNS", ("169.254.169.253", "fd00:ec2::253"), tcp=frozenset({53}), udp=frozenset({53}))
SERVICES: tuple[Service, ...] = (
    AMAZON_DNS,
    Service("instance metadata (IMDS)", ("169.254.169.254", "fd00:ec2::254"), tcp=frozenset({80})),
    Service("Amazon Time Sync", ("169.254.169.123", "fd00:ec2::123"), udp=frozenset({123})),
)


def service_map(vpc: Vpc) -> dict[int, Service]:
    """Every address an Amazon service answers at in `vpc`: the fixed ones and Amazon DNS at the VPC base + 2."""
    services = {int(ipaddress.ip_address(a)): s for s in SERVICES for a in s.addresses}
    services[int(vpc.dns_address)] = replace(AMAZON_DNS, name=f"{AMAZON_DNS.name} (VPC base + 2)",
                                             addresses=(str(vpc.dns_address),))
    return services


@dataclass(frozen=True, slots=True)
class Route:
    """The path between two addresses: the ENIs and subnet NACLs on it, and any IGW translation.

    `sender`/`receiver` name VPC hosts whose security groups apply; `nacl_out`/`nacl_in` are the subnets
    whose NACLs apply (None within a subnet). A route with `drop_code` set cannot be taken at all; `facts`
    say why (rendered by `vpclab.report.explain`).
    """

    sender: str | None = None
    receiver: str | None = None
    delivered_to: str | None = None
    nacl_out: str | None = None
    nacl_in: str | None = None
    same_subnet: str | None = None
    new_src: int | None = None
    new_dst: int | None = None
    igw: bool = False
    service: str | None = None
    drop_code: str | None = None
    facts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GatewayFacts:
    """What the route tables and the internet gateway allow, published for renderers (the kernel's router).

    `translations` are the IGW's 1:1 mappings (host, private IPv4, public IPv4); `private_subnets` have no
    route to an internet gateway; `untranslatable` hosts (host, private IPv4) have no public IP to leave with.
    """

    vpc_cidr: IPv4Network
    translations: tuple[tuple[str, IPv4Address, IPv4Address], ...]
    private_subnets: tuple[str, ...]
    untranslatable: tuple[tuple[str, IPv4Address], ...]


class Router:
    """Resolves routes from a network's address plan; results are cached per (src, dst)."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.private: dict[int, Host] = {}
        self.public: dict[int, Host] = {}
        self.internet: dict[int, Host] = {}
        for host in network.hosts.values():
            if host.internet:
                self.internet[int(host.ip)] = host
                continue
            self.private[int(host.ip)] = host
            if host.ipv6 is not None:
                self.private[int(host.ipv6)] = host
            if host.public_ip is not None:
                self.public[int(host.public_ip)] = host
        vpc = network.vpc
        self.services = service_map(vpc)
        self.vpc_v4 = (int(vpc.cidr.network_address), int(vpc.cidr.broadcast_address))
        self.vpc_v6 = ((int(vpc.ipv6_cidr.network_address), int(vpc.ipv6_cidr.broadcast_address))
                       if vpc.ipv6_cidr is not None else None)
        self._cache: dict[tuple[int, int, bool], Route] = {}

    def route(self, src: int, dst: int, v6: bool) -> Route:
        key = (src, dst, v6)
        route = self._cache.get(key)
        if route is None:
            route = self._cache[key] = self._resolve(src, dst, v6)
        return route

    def owner(self, address: int) -> str | None:
        """The host that holds `address` (private, IPv6, public or internet), or None."""
        host = self.private.get(address) or self.public.get(address) or self.internet.get(address)
        return host.name if host is not None else None

    def source_seen(self, src: int, dst: int, v6: bool) -> int:
        """The source address a receiver at `dst` sees for packets from `src` (the IGW's translation)."""
        return self.seen(src, dst, v6)[0]

    def seen(self, src: int, dst: int, v6: bool) -> tuple[int, int]:
        """The (source, destination) a receiver sees for packets from `src` to `dst` (after the IGW's translation),
        so a socket can be found by the addresses its own host knows."""
        route = self.route(src, dst, v6)
        return (route.new_src if route.new_src is not None else src,
                route.new_dst if route.new_dst is not None else dst)

    def gateway_facts(self) -> GatewayFacts:
        """The route tables' and the internet gateway's facts, for renderers that must not re-derive them."""
        hosts = self.network.vpc_hosts()
        return GatewayFacts(
            self.network.vpc.cidr,
            tuple((h.name, h.ip, h.public_ip) for h in hosts  # type: ignore[misc]
                  if h.public_ip is not None and isinstance(h.ip, IPv4Address)),
            tuple(name for name, subnet in self.network.subnets.items() if not subnet.public),
            tuple((h.name, h.ip) for h in hosts if h.public_ip is None and isinstance(h.ip, IPv4Address)))

    def in_vpc(self, address: int, v6: bool) -> bool:
        block = self.vpc_v6 if v6 else self.vpc_v4
        return block is not None and block[0] <= address <= block[1]

    def _resolve(self, src: int, dst: int, v6: bool) -> Route:
        sender = self.private.get(src)
        if sender is not None:
            return self._from_vpc(sender, dst, v6)
        outsider = self.internet.get(src)
        if outsider is not None:
            return self._from_internet(outsider, dst, v6)
        if src in self.services and dst in self.private:
            return Route(delivered_to=self.private[dst].name, service=self.services[src].name)
        return Route(drop_code=codes.SOURCE_DEST_CHECK, facts={"address": _ip(src, v6)})

    def _from_vpc(self, sender: Host, dst: int, v6: bool) -> Route:
        network = self.network
        src_subnet = network.subnets[sender.subnet or ""]
        if dst in self.services:
            return Route(sender=None, service=self.services[dst].name)
        receiver = self.private.get(dst)
        if receiver is not None:
            dst_subnet = network.subnets[receiver.subnet or ""]
            if dst_subnet.name == src_subnet.name:
                return Route(sender=sender.name, receiver=receiver.name, delivered_to=receiver.name,
                             same_subnet=src_subnet.name)
            return Route(sender=sender.name, receiver=receiver.name, delivered_to=receiver.name,
                         nacl_out=src_subnet.name, nacl_in=dst_subnet.name)
        if self.in_vpc(dst, v6):
            return Route(drop_code=codes.NO_HOST_AT_DESTINATION, facts={"address": _ip(dst, v6)})
        # leaves the VPC: needs a public subnet (0.0.0.0/0 → IGW) and, for IPv4, a public IP to translate to
        if not src_subnet.public:
            return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION,
                         facts={"why": "private-subnet", "subnet": src_subnet.name, "address": _ip(dst, v6)})
        new_src = None
        if not v6:
            if sender.public_ip is None:
                return Route(drop_code=codes.IGW_PRIVATE_IP_ASSOCIATION, facts={"host": sender.name})
            new_src = int(sender.public_ip)
        target = self.public.get(dst) if not v6 else None
        if target is not None:  # hairpin: out through the IGW and back in to another host's public IP
            target_subnet = network.subnets[target.subnet or ""]
            if not target_subnet.public:
                return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION,
                             facts={"why": "target-subnet-private", "host": target.name,
                                    "subnet": target_subnet.name})
            return Route(sender=sender.name, receiver=target.name, delivered_to=target.name,
                         nacl_out=src_subnet.name, nacl_in=target_subnet.name,
                         new_src=new_src, new_dst=int(target.ip), igw=True)
        outsider = self.internet.get(dst)
        return Route(sender=sender.name, delivered_to=outsider.name if outsider else None,
                     nacl_out=src_subnet.name, new_src=new_src, igw=True)

    def _from_internet(self, outsider: Host, dst: int, v6: bool) -> Route:
        network = self.network
        target = self.private.get(dst) if v6 else self.public.get(dst)
        if target is None:
            if dst in self.internet:
                return Route(delivered_to=self.internet[dst].name)
            if self.in_vpc(dst, v6) or dst in self.private:
                return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION,
                             facts={"why": "private-address", "address": _ip(dst, v6)})
            return Route(delivered_to=None)
        subnet = network.subnets[target.subnet or ""]
        if not subnet.public:
            return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION,
                         facts={"why": "target-subnet-private", "host": target.name, "subnet": subnet.name})
        return Route(receiver=target.name, delivered_to=target.name, nacl_in=subnet.name,
                     new_dst=None if v6 else int(target.ip), igw=True)


def _ip(value: int, v6: bool) -> str:
    return str(ipaddress.IPv6Address(value) if v6 else ipaddress.IPv4Address(value))
