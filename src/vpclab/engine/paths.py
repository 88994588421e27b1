"""Which filters a packet meets between two addresses: same subnet, across subnets, or through the IGW."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network

from vpclab.engine import codes
from vpclab.engine.routing import RouteLookup
from vpclab.errors import Origin
from vpclab.model.routing import Route as ModelRoute
from vpclab.model.routing import TargetKind
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
    table_route: ModelRoute | None = None  # the route table entry the path took (None within a subnet)
    via: str | None = None  # a gateway the packet leaves the modelled network through (vgw-…, vpce-…, pcx-…)
    nat: str | None = None  # a NAT gateway on the path: outbound (source NAT), or `nat_inbound` (a reply to it)
    nat_inbound: bool = False
    tracked_only: bool = False  # through an egress-only gateway: always tracked out, only tracked replies in

    @property
    def origin(self) -> Origin | None:
        """Where the deciding route was written (for a route drop: the route to change)."""
        return self.table_route.origin if self.table_route is not None else None


@dataclass(frozen=True, slots=True)
class GatewayFacts:
    """What the route tables and the internet gateway allow, published for renderers (the kernel's router).

    `translations` are the IGW's 1:1 mappings (host or NAT gateway, private IPv4, public IPv4); `private_subnets`
    have no route to an internet gateway; `untranslatable` hosts (host, private IPv4) have no public IP to leave
    with; `vpc_cidrs` are every VPC's IPv4 blocks (unreachable from outside, §2); `private_subnets_v6` have no
    `::/0` route to an internet gateway (IPv6 addresses are public, reachability is by route, §2).
    """

    vpc_cidrs: tuple[IPv4Network, ...]
    translations: tuple[tuple[str, IPv4Address, IPv4Address], ...]
    private_subnets: tuple[str, ...]
    untranslatable: tuple[tuple[str, IPv4Address], ...]
    private_subnets_v6: tuple[str, ...] = ()  # no ::/0 route to an internet gateway


class Router:
    """Resolves the path between two addresses through the route tables; results are cached per (src, dst).

    Addresses are looked up per VPC (VPCs may overlap); a packet's sender is the VPC host holding its source
    address (the first one indexed if overlapping VPCs share it).
    """

    def __init__(self, network: Network) -> None:
        self.network = network
        self.private: dict[int, Host] = {}
        self.by_vpc: dict[str, dict[int, Host]] = {vpc: {} for vpc in network.vpcs}
        self.public: dict[int, Host] = {}
        self.private_of: dict[int, int] = {}  # public IPv4 → the private address the IGW maps it to
        self.public_of: dict[int, int] = {}   # private IPv4 → its public address
        self.internet: dict[int, Host] = {}
        for host in network.hosts.values():
            if host.internet:  # reached at its IPv4 address, and at its IPv6 one when it has one
                for address in (host.ip, host.ipv6):
                    if address is not None:
                        self.internet[int(address)] = host
                continue
            local = self.by_vpc[network.subnets[host.subnet or ""].vpc]
            for address in host.private_addresses:
                local.setdefault(int(address), host)
                self.private.setdefault(int(address), host)
            for private, public in host.public_map.items():  # the IGW's 1:1 mappings, one per private address (§2)
                self.public[int(public)] = host
                self.private_of[int(public)] = int(private)
                self.public_of[int(private)] = int(public)
        self.nat_public = {int(n.public_ip): n for n in network.nat_gateways.values() if n.public_ip is not None}
        self.services = service_map(network.vpc)
        prefix_lists = {pid: pl.cidrs for pid, pl in network.prefix_lists.items()}
        self.tables = {t.id: RouteLookup(t, prefix_lists) for t in network.route_tables.values()}
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
        network = self.network
        hosts = network.vpc_hosts()
        nat_ips = {n.private_ip for n in network.nat_gateways.values()}
        return GatewayFacts(
            tuple(c for v in network.vpcs.values() for c in v.cidrs if isinstance(c, IPv4Network)),
            tuple((h.name, private, public) for h in hosts for private, public in h.public_map.items()
                  if private not in nat_ips)
            + tuple((n.id, n.private_ip, n.public_ip) for n in network.nat_gateways.values()
                    if n.public_ip is not None and n.connectivity == "public"),
            tuple(name for name in network.subnets if not network.routes_to_internet(name)),
            tuple((h.name, a) for h in hosts for a in (h.ip, *h.secondary_ips)
                  if isinstance(a, IPv4Address) and a not in h.public_map),
            tuple(name for name in network.subnets if not network.routes_to_internet(name, 6)))

    def in_vpc(self, address: int, v6: bool, vpc: str | None = None) -> bool:
        """True when `address` is inside a VPC's CIDRs (`vpc`'s, or any VPC's)."""
        ip = _address(address, v6)
        return any(v.holds(ip) for v in self.network.vpcs.values() if vpc is None or v.id == vpc)

    def _table_route(self, subnet: str, dst: int, v6: bool) -> ModelRoute | None:
        table = self.network.route_table_of(subnet)
        return self.tables[table.id].lookup(dst, v6) if table is not None else None

    def _internet_ok(self, subnet: str, v6: bool) -> bool:
        """Whether a host of `subnet` can be reached from, and answer to, the internet: its table routes the
        family to an internet gateway (aws-routing-terraform.md §2)."""
        return self.network.routes_to_internet(subnet, 6 if v6 else 4)

    def _egress_only(self, subnet: str) -> bool:
        """Whether the subnet routes IPv6 to an egress-only internet gateway (replies may come back through it)."""
        table = self.network.route_table_of(subnet)
        return table is not None and bool(table.targets(TargetKind.EGRESS_ONLY_GATEWAY))

    def _resolve(self, src: int, dst: int, v6: bool) -> Route:
        sender = self.private.get(src)
        if sender is not None:
            return self._from_vpc(sender, dst, v6, src)
        outsider = self.internet.get(src)
        if outsider is not None:
            return self._from_internet(outsider, dst, v6)
        if src in self.services and dst in self.private:
            return Route(delivered_to=self.private[dst].name, service=self.services[src].name)
        return Route(drop_code=codes.SOURCE_DEST_CHECK, facts={"address": _ip(src, v6)})

    def _from_vpc(self, sender: Host, dst: int, v6: bool, src: int = 0) -> Route:
        network = self.network
        src_subnet = network.subnets[sender.subnet or ""]
        if dst in self.services:
            return Route(sender=None, service=self.services[dst].name)
        receiver = self.by_vpc[src_subnet.vpc].get(dst)
        if receiver is not None and receiver.subnet == src_subnet.name:  # layer 2: no route table, no NACL (§0.3)
            return Route(sender=sender.name, receiver=receiver.name, delivered_to=receiver.name,
                         same_subnet=src_subnet.name)
        chosen = self._table_route(src_subnet.name, dst, v6)
        if chosen is None:
            why = "private-subnet" if not self.in_vpc(dst, v6, src_subnet.vpc) else "no-route"
            return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION,
                         facts={"why": why, "subnet": src_subnet.name, "address": _ip(dst, v6)})
        if chosen.blackhole:
            return Route(drop_code=codes.BLACKHOLE_ROUTE, table_route=chosen,
                         facts={"subnet": src_subnet.name, "address": _ip(dst, v6), "target": chosen.target,
                                "destination": str(chosen.destination)})
        kind = chosen.kind
        if kind is TargetKind.LOCAL:
            if receiver is None:
                return Route(drop_code=codes.NO_HOST_AT_DESTINATION, table_route=chosen,
                             facts={"address": _ip(dst, v6)})
            return Route(sender=sender.name, receiver=receiver.name, delivered_to=receiver.name,
                         nacl_out=src_subnet.name, nacl_in=receiver.subnet, table_route=chosen)
        if kind is TargetKind.INTERNET_GATEWAY:
            return self._to_internet(sender, src_subnet.name, chosen, dst, v6, src)
        if kind is TargetKind.EGRESS_ONLY_GATEWAY and v6:  # §2: IPv6 out, stateful; aws-semantics.md §2.3 tracked
            outsider = self.internet.get(dst)
            return Route(sender=sender.name, delivered_to=outsider.name if outsider else None, nacl_out=src_subnet.name,
                         table_route=chosen, via=chosen.target, tracked_only=True)
        if kind is TargetKind.PEERING:
            return self._to_peer(sender, src_subnet.name, chosen, dst, v6)
        if kind is TargetKind.TRANSIT_GATEWAY:
            return self._to_transit_gateway(sender, src_subnet.name, chosen, dst, v6)
        if kind is TargetKind.NAT_GATEWAY and not v6 and chosen.target in network.nat_gateways:
            return self._to_nat(sender, src_subnet.name, chosen, dst)
        if kind in (TargetKind.NETWORK_INTERFACE, TargetKind.INSTANCE):
            return self._to_appliance(sender, src_subnet.name, chosen, dst, v6)
        if kind in (TargetKind.VPN_GATEWAY, TargetKind.ENDPOINT):  # leaves the modelled network (§1.3, §6)
            return Route(sender=sender.name, nacl_out=src_subnet.name, table_route=chosen, via=chosen.target)
        return Route(drop_code=codes.ROUTE_TARGET_NOT_MODELLED, table_route=chosen,
                     facts={"subnet": src_subnet.name, "address": _ip(dst, v6), "target": chosen.target,
                            "kind": str(kind)})

    def _to_internet(self, sender: Host, subnet: str, chosen: ModelRoute, dst: int, v6: bool, src: int) -> Route:
        """Out through the internet gateway: IPv4 needs a public IP for the source address to translate to (§2: the
        primary's, or a secondary address's Elastic IP); an IGW route to another host's public IP comes back in
        (hairpin)."""
        new_src = None
        if not v6:
            new_src = self.public_of.get(src or int(sender.ip))
            if new_src is None:
                return Route(drop_code=codes.IGW_PRIVATE_IP_ASSOCIATION, table_route=chosen,
                             facts={"host": sender.name})
        nat = self.nat_public.get(dst) if not v6 else None
        if nat is not None:  # back in to a NAT gateway's Elastic IP (a reply to a flow it translated: hairpin)
            return Route(sender=sender.name, nacl_out=subnet, new_src=new_src, new_dst=int(nat.private_ip),
                         nat=nat.id, nat_inbound=True, igw=True, table_route=chosen)
        target = self.public.get(dst) if not v6 else None
        if target is not None:  # hairpin: out through the IGW and back in to another host's public IP
            if not self._internet_ok(target.subnet or "", v6):
                return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION, table_route=chosen,
                             facts={"why": "target-subnet-private", "host": target.name, "subnet": target.subnet or ""})
            return Route(sender=sender.name, receiver=target.name, delivered_to=target.name,
                         nacl_out=subnet, nacl_in=target.subnet, new_src=new_src, new_dst=self.private_of[dst],
                         igw=True, table_route=chosen)
        outsider = self.internet.get(dst)
        return Route(sender=sender.name, delivered_to=outsider.name if outsider else None,
                     nacl_out=subnet, new_src=new_src, igw=True, table_route=chosen)

    def _appliance(self, target: str) -> Host | None:
        """The ENI a route names (an ENI id), or an instance's first ENI (an instance id)."""
        host = self.network.hosts.get(target)
        if host is not None and not host.internet:
            return host
        return next((h for h in self.network.vpc_hosts() if h.instance == target), None)

    def _to_appliance(self, sender: Host, subnet: str, chosen: ModelRoute, dst: int, v6: bool) -> Route:
        """To a network interface (a NAT instance, firewall or router appliance, §1.3): the packet reaches that ENI,
        whose subnet's NACL (unless it is the sender's subnet) and security groups apply. With its source/destination
        check on, the ENI drops what is not addressed to it (§7); with it off, what the appliance's software does
        next is not in the snapshot: the path leaves through it (assumptions P17)."""
        facts = {"subnet": subnet, "address": _ip(dst, v6), "target": chosen.target}
        appliance = self._appliance(chosen.target)
        if appliance is None:
            return Route(drop_code=codes.ROUTE_TARGET_MISSING, table_route=chosen, facts=facts)
        if appliance.source_dest_check and all(int(a) != dst for a in appliance.addresses):
            return Route(drop_code=codes.SOURCE_DEST_CHECK, table_route=chosen,
                         facts=facts | {"appliance": appliance.name})
        same = appliance.subnet == subnet
        return Route(sender=sender.name, receiver=appliance.name, nacl_out=None if same else subnet,
                     nacl_in=None if same else appliance.subnet, same_subnet=subnet if same else None,
                     table_route=chosen, via=chosen.target)

    def _to_peer(self, sender: Host, subnet: str, chosen: ModelRoute, dst: int, v6: bool) -> Route:
        """Across an active peering connection into the peer VPC (§4): no translation; the peer's host, or out of
        the snapshot when the peer VPC is not in it. Routes back are the responder's own (no uRPF)."""
        peering = self.network.peerings.get(chosen.target)
        facts = {"subnet": subnet, "address": _ip(dst, v6), "target": chosen.target}
        if peering is None or peering.state != "active":
            return Route(drop_code=codes.PEERING_NOT_ACTIVE, table_route=chosen,
                         facts=facts | {"state": peering.state if peering else "unknown"})
        peer_vpc = peering.other(self.network.subnets[subnet].vpc)
        if peer_vpc not in self.by_vpc:
            return Route(sender=sender.name, nacl_out=subnet, table_route=chosen, via=chosen.target)
        receiver = self.by_vpc[peer_vpc].get(dst)
        if receiver is None:
            return Route(drop_code=codes.NO_HOST_AT_DESTINATION, table_route=chosen, facts={"address": _ip(dst, v6)})
        return Route(sender=sender.name, receiver=receiver.name, delivered_to=receiver.name, nacl_out=subnet,
                     nacl_in=receiver.subnet, table_route=chosen, via=chosen.target)

    def _to_transit_gateway(self, sender: Host, subnet: str, chosen: ModelRoute, dst: int, v6: bool) -> Route:
        """Through a transit gateway (§5): the source VPC's attachment (with a subnet in the source subnet's zone,
        §5.2), the TGW route table that attachment is associated with (longest prefix), then the target attachment:
        a VPC's host, or out of the snapshot (VPN, Direct Connect, peering, a VPC not in it)."""
        network = self.network
        facts = {"subnet": subnet, "address": _ip(dst, v6), "target": chosen.target}
        tgw = network.transit_gateways.get(chosen.target)
        source = network.subnets[subnet]
        attachment = None if tgw is None else next(
            (a for a in tgw.attachments if a.type == "vpc" and a.resource == source.vpc and a.state == "available"),
            None)
        if tgw is None or attachment is None:
            return Route(drop_code=codes.TGW_NO_ATTACHMENT, table_route=chosen, facts=facts | {"vpc": source.vpc})
        zones = {network.subnets[s].zone for s in attachment.subnets if s in network.subnets}
        if source.zone and zones and source.zone not in zones:
            return Route(drop_code=codes.TGW_NO_ATTACHMENT, table_route=chosen,
                         facts=facts | {"vpc": source.vpc, "zone": source.zone, "attachment": attachment.id})
        routes = dict(tgw.route_tables).get(attachment.route_table or "", ())
        address = _address(dst, v6)
        best = max((r for r in routes if address.version == r.destination.version and address in r.destination),
                   key=lambda r: (r.destination.prefixlen, not r.propagated), default=None)
        facts |= {"attachment": attachment.id, "tgw_route_table": attachment.route_table or ""}
        if best is None:
            return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION, table_route=chosen, facts=facts | {"why": "tgw"})
        if best.state == "blackhole" or best.attachment is None:
            return Route(drop_code=codes.BLACKHOLE_ROUTE, table_route=chosen,
                         facts=facts | {"destination": str(best.destination), "target": chosen.target})
        target = next((a for a in tgw.attachments if a.id == best.attachment), None)
        if target is None or target.type != "vpc" or target.resource not in self.by_vpc:
            return Route(sender=sender.name, nacl_out=subnet, table_route=chosen, via=chosen.target)
        receiver = self.by_vpc[target.resource].get(dst)
        if receiver is None:
            return Route(drop_code=codes.NO_HOST_AT_DESTINATION, table_route=chosen, facts={"address": _ip(dst, v6)})
        return Route(sender=sender.name, receiver=receiver.name, delivered_to=receiver.name, nacl_out=subnet,
                     nacl_in=receiver.subnet, table_route=chosen, via=chosen.target)

    def _to_nat(self, sender: Host, subnet: str, chosen: ModelRoute, dst: int) -> Route:
        """Through a NAT gateway (§3): on to what the NAT subnet's table routes the destination to — the internet
        gateway for a public NAT gateway (source NAT to its Elastic IP), or a VPN/transit gateway or peering."""
        nat = self.network.nat_gateways[chosen.target]
        onward = self._table_route(nat.subnet, dst, False)
        facts = {"subnet": nat.subnet, "address": _ip(dst, False), "target": chosen.target}
        if onward is None:
            return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION, table_route=chosen, facts=facts | {"why": "no-route"})
        if onward.blackhole:
            return Route(drop_code=codes.BLACKHOLE_ROUTE, table_route=onward,
                         facts=facts | {"destination": str(onward.destination), "target": onward.target})
        if onward.kind is TargetKind.INTERNET_GATEWAY:
            if nat.connectivity != "public" or nat.public_ip is None:  # §3: a private NAT GW to an IGW is dropped
                return Route(drop_code=codes.NAT_PRIVATE_TO_IGW, table_route=onward, facts=facts)
            target = self.public.get(dst)
            if target is not None:  # out through the IGW and back in to a public IP of the VPC (hairpin, §2-§3)
                if not self._internet_ok(target.subnet or "", False):
                    return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION, table_route=chosen,
                                 facts={"why": "target-subnet-private", "host": target.name,
                                        "subnet": target.subnet or ""})
                return Route(sender=sender.name, receiver=target.name, delivered_to=target.name, nacl_out=subnet,
                             nacl_in=target.subnet, nat=nat.id, new_src=int(nat.public_ip),
                             new_dst=self.private_of[dst], igw=True, table_route=chosen)
            outsider = self.internet.get(dst)
            return Route(sender=sender.name, delivered_to=outsider.name if outsider else None, nacl_out=subnet,
                         nat=nat.id, new_src=int(nat.public_ip), igw=True, table_route=chosen)
        if onward.kind in (TargetKind.VPN_GATEWAY, TargetKind.TRANSIT_GATEWAY, TargetKind.PEERING):
            return Route(sender=sender.name, nacl_out=subnet, nat=nat.id, via=onward.target, table_route=chosen)
        return Route(drop_code=codes.ROUTE_TARGET_NOT_MODELLED, table_route=onward,
                     facts=facts | {"target": onward.target, "kind": str(onward.kind)})

    def _from_internet(self, outsider: Host, dst: int, v6: bool) -> Route:
        nat = self.nat_public.get(dst) if not v6 else None
        if nat is not None:  # a reply to a NAT gateway's Elastic IP: the IGW maps it to the gateway's private IP
            return Route(nat=nat.id, nat_inbound=True, igw=True, new_dst=int(nat.private_ip))
        target = self.private.get(dst) if v6 else self.public.get(dst)
        if target is None:
            if dst in self.internet:
                return Route(delivered_to=self.internet[dst].name)
            if self.in_vpc(dst, v6) or dst in self.private:
                return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION,
                             facts={"why": "private-address", "address": _ip(dst, v6)})
            return Route(delivered_to=None)
        subnet = target.subnet or ""
        if v6 and not self._internet_ok(subnet, v6) and self._egress_only(subnet):
            return Route(receiver=target.name, delivered_to=target.name, nacl_in=subnet, tracked_only=True)
        if not self._internet_ok(subnet, v6):
            return Route(drop_code=codes.NO_ROUTE_TO_DESTINATION,
                         facts={"why": "target-subnet-private", "host": target.name, "subnet": subnet})
        return Route(receiver=target.name, delivered_to=target.name, nacl_in=subnet,
                     new_dst=None if v6 else self.private_of[dst], igw=True)


def _address(value: int, v6: bool) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.IPv6Address(value) if v6 else ipaddress.IPv4Address(value)


def _ip(value: int, v6: bool) -> str:
    return str(_address(value, v6))
