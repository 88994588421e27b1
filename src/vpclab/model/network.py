"""VPCs, their subnets, hosts (one ENI each), route tables and gateways: the whole network as one immutable,
validated value."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, collapse_addresses

from vpclab.errors import Origin
from vpclab.model.addresses import IPAddress
from vpclab.model.errors import ModelError, Problem
from vpclab.model.frozen import FrozenMap
from vpclab.model.policy import NetworkAcl, PrefixList, SecurityGroup
from vpclab.model.protocols import PortRange
from vpclab.model.routing import (Gateway, NatGateway, Peering, RouteTable, TargetKind, TransitGateway, VpcEndpoint,
                                  default_routes, local_routes)
from vpclab.model.rules import Direction, GroupPeer, NaclEntry, PrefixListPeer, SgRule

DEFAULT_NACL = "default"
LINUX_EPHEMERAL = PortRange(32768, 60999)

#: AWS's documented ranges for per-ENI conntrack timeouts, and vpclab's own bounds for the rest.
CONNTRACK_RANGES: dict[str, tuple[int, int]] = {
    "tcp_established": (60, 432000),
    "udp": (30, 60),
    "udp_stream": (60, 180),
    "icmp": (1, 3600),
}


@dataclass(frozen=True, slots=True)
class ConntrackSettings:
    """Per-ENI idle timeouts (seconds) and table capacity.

    TCP established, UDP and UDP stream follow AWS's ConnectionTrackingSpecification ranges;
    `icmp` and `max_entries` are vpclab's own (AWS documents neither).
    """

    tcp_established: int = 432000
    udp: int = 30
    udp_stream: int = 180
    icmp: int = 30
    max_entries: int | None = None

    def __post_init__(self) -> None:
        problems = []
        for name, (low, high) in CONNTRACK_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(Problem(name, f"{value!r} is out of range: expected {low}-{high} seconds"))
        if self.max_entries is not None and (isinstance(self.max_entries, bool)
                                             or not isinstance(self.max_entries, int) or self.max_entries < 1):
            problems.append(Problem("max_entries", f"{self.max_entries!r} is not valid: expected a positive number"))
        if problems:
            raise ModelError(problems)


@dataclass(frozen=True, slots=True)
class Vpc:
    """A VPC: its primary IPv4 CIDR, an optional IPv6 CIDR, and any secondary CIDRs (associated ones only)."""

    cidr: IPv4Network
    ipv6_cidr: IPv6Network | None = None
    id: str = "vpc"
    origin: Origin | None = field(default=None, compare=False, repr=False)
    secondary_cidrs: tuple[IPv4Network, ...] = ()
    secondary_ipv6_cidrs: tuple[IPv6Network, ...] = ()
    account: str = ""
    region: str = ""
    label: str = ""  # the Name tag

    @property
    def cidrs(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """Every CIDR of the VPC, IPv4 first (each gets a `local` route)."""
        v6 = ((self.ipv6_cidr,) if self.ipv6_cidr is not None else ()) + self.secondary_ipv6_cidrs
        return (self.cidr,) + self.secondary_cidrs + v6

    def holds(self, address: IPAddress) -> bool:
        """True when `address` is inside one of the VPC's CIDRs."""
        return any(address.version == c.version and address in c for c in self.cidrs)

    @property
    def dns_address(self) -> IPv4Address:
        """Amazon DNS at the VPC base + 2, which neither SGs nor NACLs filter."""
        return self.cidr.network_address + 2


@dataclass(frozen=True, slots=True)
class Subnet:
    """A subnet of a VPC: CIDRs and the NACL associated with it.

    `public` is the lab file's shortcut: a network given without route tables routes such subnets to an internet
    gateway (see `Network.build`); routing itself always comes from route tables.
    """

    name: str
    cidr: IPv4Network
    ipv6_cidr: IPv6Network | None = None
    nacl: str = DEFAULT_NACL
    public: bool = False
    origin: Origin | None = field(default=None, compare=False, repr=False)
    vpc: str = "vpc"
    zone: str = ""
    label: str = ""


@dataclass(frozen=True, slots=True)
class Host:
    """A host with one network interface (ENI) in a subnet, or a host on the internet (`internet=True`)."""

    name: str
    ip: IPAddress
    subnet: str | None = None
    security_groups: tuple[str, ...] = ()
    public_ip: IPv4Address | None = None
    ipv6: IPv6Address | None = None
    conntrack: ConntrackSettings = field(default_factory=ConntrackSettings)
    icmp_echo_ignore: bool = False
    ephemeral_ports: PortRange = LINUX_EPHEMERAL
    internet: bool = False
    origin: Origin | None = field(default=None, compare=False, repr=False)
    instance: str | None = None  # several ENIs may belong to one instance; each keeps its own groups and conntrack
    interface_type: str = "interface"
    source_dest_check: bool = True
    label: str = ""
    secondary_ips: tuple[IPAddress, ...] = ()
    secondary_public_ips: tuple[tuple[IPv4Address, IPv4Address], ...] = ()  # (secondary private, its Elastic IP)

    @property
    def public_map(self) -> dict[IPv4Address, IPv4Address]:
        """Each private IPv4 address with a public one → that public address (the IGW's 1:1 mappings, §2)."""
        pairs = dict(self.secondary_public_ips)
        if self.public_ip is not None and isinstance(self.ip, IPv4Address):
            pairs[self.ip] = self.public_ip
        return pairs

    @property
    def private_addresses(self) -> tuple[IPAddress, ...]:
        """The ENI's private addresses: primary, secondary, IPv6 (what a group reference matches)."""
        return tuple(a for a in (self.ip, *self.secondary_ips, self.ipv6) if a is not None)

    @property
    def addresses(self) -> tuple[IPAddress, ...]:
        """Every address this host answers to."""
        return tuple(a for a in (self.ip, *self.secondary_ips, self.public_ip, *(p for _, p in self.secondary_public_ips),
                                 self.ipv6) if a is not None)


@dataclass(frozen=True, slots=True)
class Network:
    """VPCs and everything in them: immutable and hashable; each change method returns a new, validated version.

    `vpcs` may be given as a single Vpc. A VPC without a main route table gets AWS's defaults (see
    `_with_default_routing`): a main table with the `local` routes, and for the lab's `public` subnets an
    internet gateway and a table routing 0.0.0.0/0 (and ::/0) to it.
    """

    vpcs: FrozenMap[str, Vpc]
    subnets: FrozenMap[str, Subnet] = field(default_factory=FrozenMap)
    hosts: FrozenMap[str, Host] = field(default_factory=FrozenMap)
    security_groups: FrozenMap[str, SecurityGroup] = field(default_factory=FrozenMap)
    nacls: FrozenMap[str, NetworkAcl] = field(default_factory=FrozenMap)
    prefix_lists: FrozenMap[str, PrefixList] = field(default_factory=FrozenMap)
    route_tables: FrozenMap[str, RouteTable] = field(default_factory=FrozenMap)
    gateways: FrozenMap[str, Gateway] = field(default_factory=FrozenMap)
    nat_gateways: FrozenMap[str, NatGateway] = field(default_factory=FrozenMap)
    peerings: FrozenMap[str, Peering] = field(default_factory=FrozenMap)
    vpc_endpoints: FrozenMap[str, VpcEndpoint] = field(default_factory=FrozenMap)
    transit_gateways: FrozenMap[str, TransitGateway] = field(default_factory=FrozenMap)
    _members: dict[str, list[IPAddress]] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.vpcs, Vpc):
            object.__setattr__(self, "vpcs", FrozenMap({self.vpcs.id: self.vpcs}))
        _with_default_routing(self)

    @classmethod
    def build(cls, vpc: Vpc | Iterable[Vpc], subnets: Iterable[Subnet] = (), hosts: Iterable[Host] = (),
              security_groups: Iterable[SecurityGroup] = (), nacls: Iterable[NetworkAcl] = (),
              prefix_lists: Iterable[PrefixList] = (), route_tables: Iterable[RouteTable] = (),
              gateways: Iterable[Gateway] = (), peerings: Iterable[Peering] = (),
              transit_gateways: Iterable[TransitGateway] = ()) -> "Network":
        """Assemble and validate a network; the default NACL (allow all) is added unless given."""
        vpcs = [vpc] if isinstance(vpc, Vpc) else list(vpc)
        nacl_map = {n.id: n for n in nacls}
        ipv6 = any(v.ipv6_cidr is not None for v in vpcs)
        nacl_map.setdefault(DEFAULT_NACL, NetworkAcl.default(DEFAULT_NACL, ipv6=ipv6, origin=vpcs[0].origin))
        network = cls(_by_name(vpcs, "id"), _by_name(subnets, "name"), _by_name(hosts, "name"),
                      _by_name(security_groups, "id"), FrozenMap(nacl_map), _by_name(prefix_lists, "id"),
                      _by_name(route_tables, "id"), _by_name(gateways, "id"), peerings=_by_name(peerings, "id"),
                      transit_gateways=_by_name(transit_gateways, "id"))
        network.validate()
        return network

    # ---- queries -------------------------------------------------------------------------------------

    @property
    def vpc(self) -> Vpc:
        """The first VPC (a lab has exactly one)."""
        return next(iter(self.vpcs.values()))

    def vpc_of(self, subnet: str) -> Vpc:
        """The VPC a subnet belongs to."""
        return self.vpcs[self.subnets[subnet].vpc]

    def route_table_of(self, subnet: str) -> RouteTable | None:
        """The subnet's route table: its explicit association, else its VPC's main table (§1.1)."""
        vpc = self.subnets[subnet].vpc
        main = None
        for table in self.route_tables.values():
            if table.vpc != vpc:
                continue
            if subnet in table.subnets:
                return table
            if table.main:
                main = table
        return main

    def routes_to_internet(self, subnet: str, version: int = 4) -> bool:
        """True when the subnet's table has an active route of that family to an internet gateway (a public
        subnet, aws-routing-terraform.md §2)."""
        table = self.route_table_of(subnet)
        return table is not None and any(not isinstance(r.destination, str) and r.destination.version == version
                                          for r in table.targets(TargetKind.INTERNET_GATEWAY))

    def vpc_hosts(self) -> list[Host]:
        return [h for h in self.hosts.values() if not h.internet]

    def group_members(self, group: str) -> list[IPAddress]:
        """Private addresses of the ENIs carrying `group` (what a group reference matches; never public IPs)."""
        if self._members is None:  # every group's members in one pass over the hosts, kept: the network is immutable
            members: dict[str, list[IPAddress]] = {}
            for host in self.vpc_hosts():
                for carried in dict.fromkeys(host.security_groups):
                    members.setdefault(carried, []).extend(host.private_addresses)
            object.__setattr__(self, "_members", members)
        return list(self._members.get(group, ()))  # type: ignore[union-attr]

    def subnet_of(self, host: str) -> Subnet | None:
        name = self.hosts[host].subnet
        return self.subnets[name] if name is not None else None

    # ---- changes (each returns a new validated Network) ------------------------------------------------

    def authorize(self, group: str, direction: Direction, rule: SgRule) -> "Network":
        sg = self._group(group)
        return self._changed(security_groups=self.security_groups.replace(group, sg.authorize(direction, rule)))

    def revoke(self, group: str, direction: Direction, rule: SgRule) -> "Network":
        sg = self._group(group)
        return self._changed(security_groups=self.security_groups.replace(group, sg.revoke(direction, rule)))

    def add_nacl_entry(self, nacl: str, direction: Direction, entry: NaclEntry) -> "Network":
        acl = self._nacl(nacl)
        return self._changed(nacls=self.nacls.replace(nacl, acl.with_entry(direction, entry)))

    def delete_nacl_entry(self, nacl: str, direction: Direction, number: int) -> "Network":
        acl = self._nacl(nacl)
        return self._changed(nacls=self.nacls.replace(nacl, acl.without_entry(direction, number)))

    def associate_nacl(self, subnet: str, nacl: str) -> "Network":
        if subnet not in self.subnets:
            raise ModelError(f"unknown subnet {subnet!r}: expected one of {_names(self.subnets)}", "subnet")
        self._nacl(nacl)
        return self._changed(subnets=self.subnets.replace(subnet, replace(self.subnets[subnet], nacl=nacl)))

    def set_security_groups(self, host: str, groups: Iterable[str]) -> "Network":
        if host not in self.hosts or self.hosts[host].internet:
            raise ModelError(f"unknown VPC host {host!r}: expected one of {_names(self.vpc_hosts())}", "host")
        return self._changed(hosts=self.hosts.replace(host, replace(self.hosts[host], security_groups=tuple(groups))))

    def _changed(self, **changes: object) -> "Network":
        network = replace(self, **changes)  # type: ignore[arg-type]
        network.validate()
        return network

    def _group(self, group: str) -> SecurityGroup:
        if group not in self.security_groups:
            raise ModelError(f"unknown security group {group!r}: expected one of {_names(self.security_groups)}", "sg")
        return self.security_groups[group]

    def _nacl(self, nacl: str) -> NetworkAcl:
        if nacl not in self.nacls:
            raise ModelError(f"unknown network ACL {nacl!r}: expected one of {_names(self.nacls)}", "nacl")
        return self.nacls[nacl]

    # ---- validation ----------------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise ModelError listing every inconsistency (references, addresses, ranges)."""
        problems = list(self._subnet_problems()) + list(self._host_problems()) + list(self._rule_problems()) \
            + list(self._routing_problems())
        if problems:
            raise ModelError(problems)

    def _subnet_problems(self) -> Iterable[Problem]:
        seen: list[tuple[str, str, IPv4Network]] = []
        for name, subnet in self.subnets.items():
            where = f"subnets.{name}"
            vpc = self.vpcs.get(subnet.vpc)
            if vpc is None:
                yield Problem(f"{where}.vpc", f"unknown VPC {subnet.vpc!r}: expected one of {_names(self.vpcs)}")
                continue
            if not any(subnet.cidr.subnet_of(c) for c in vpc.cidrs if c.version == 4):
                yield Problem(f"{where}.cidr", f"{subnet.cidr} is not inside the VPC CIDR "
                              f"{', '.join(str(c) for c in vpc.cidrs if c.version == 4)}")
            for other, other_vpc, cidr in seen:  # subnets of different VPCs may overlap (so may the VPCs)
                if other_vpc == subnet.vpc and subnet.cidr.overlaps(cidr):
                    yield Problem(f"{where}.cidr", f"{subnet.cidr} overlaps subnet {other} ({cidr})")
            seen.append((name, subnet.vpc, subnet.cidr))
            if subnet.ipv6_cidr is not None:
                v6 = [c for c in vpc.cidrs if c.version == 6]
                if not v6:
                    yield Problem(f"{where}.ipv6_cidr", "the VPC has no IPv6 CIDR: expected vpc.ipv6_cidr first")
                elif not any(subnet.ipv6_cidr.subnet_of(c) for c in v6):  # type: ignore[arg-type]
                    yield Problem(f"{where}.ipv6_cidr", f"{subnet.ipv6_cidr} is not inside {', '.join(map(str, v6))}")
            if subnet.nacl not in self.nacls:
                yield Problem(f"{where}.nacl", f"unknown network ACL {subnet.nacl!r}: expected one of {_names(self.nacls)}")

    def _host_problems(self) -> Iterable[Problem]:
        owners: dict[tuple[str, IPAddress], str] = {}  # private addresses are unique per VPC, public ones globally
        space = _AddressSpace(c for v in self.vpcs.values() for c in v.cidrs)
        for name, host in self.hosts.items():
            where = f"hosts.{name}"
            vpc = self.subnets[host.subnet].vpc if host.subnet in self.subnets else ""
            for address in host.addresses:
                scope = "" if host.internet or address in host.public_map.values() else vpc
                if (scope, address) in owners:
                    yield Problem(f"{where}", f"address {address} is already used by host {owners[(scope, address)]}")
                owners[(scope, address)] = name
            if host.internet:
                for key, address in (("ip", host.ip), ("ipv6", host.ipv6)):
                    inside = next((v for v in self.vpcs.values() if address is not None and v.holds(address)), None)
                    if inside is not None:
                        block = next(c for c in inside.cidrs if c.version == address.version and address in c)
                        yield Problem(f"{where}.{key}", f"internet host {address} is inside the VPC CIDR {block}")
                continue
            yield from self._vpc_host_problems(where, host, space)

    def _vpc_host_problems(self, where: str, host: Host, vpc_space: _AddressSpace) -> Iterable[Problem]:
        subnet = self.subnets.get(host.subnet) if host.subnet else None
        if subnet is None:
            yield Problem(f"{where}.subnet", f"unknown subnet {host.subnet!r}: expected one of {_names(self.subnets)}")
        elif not isinstance(host.ip, IPv4Address) or host.ip not in subnet.cidr:
            yield Problem(f"{where}.ip", f"{host.ip} is not inside subnet {subnet.name} ({subnet.cidr})")
        else:
            offset = int(host.ip) - int(subnet.cidr.network_address)
            if offset <= 3 or host.ip == subnet.cidr.broadcast_address:
                yield Problem(f"{where}.ip", f"{host.ip} is reserved by AWS in {subnet.cidr} (the first four "
                              "addresses and the last): expected another address")
        if host.public_ip is not None and vpc_space.holds(host.public_ip):
            yield Problem(f"{where}.public_ip", f"{host.public_ip} is inside the VPC CIDR: expected a public address")
        for private, public in host.secondary_public_ips:
            if private not in host.secondary_ips:
                yield Problem(f"{where}.public_ips", f"{private} is not one of the host's secondary addresses")
            if vpc_space.holds(public):
                yield Problem(f"{where}.public_ips", f"{public} is inside the VPC CIDR: expected a public address")
        if host.ipv6 is not None:
            if subnet is None or subnet.ipv6_cidr is None:
                yield Problem(f"{where}.ipv6", "the host's subnet has no IPv6 CIDR")
            elif host.ipv6 not in subnet.ipv6_cidr:
                yield Problem(f"{where}.ipv6", f"{host.ipv6} is not inside {subnet.ipv6_cidr}")
        if len(host.security_groups) > 16 or (not host.security_groups and host.interface_type == "interface"):
            # ENIs of some services (NAT gateway, Gateway Load Balancer) have none (aws-routing-terraform.md §7)
            yield Problem(f"{where}.security_groups", "expected 1 to 16 security groups (AWS's per-ENI limit)")
        for group in host.security_groups:
            if group not in self.security_groups:
                yield Problem(f"{where}.security_groups",
                              f"unknown security group {group!r}: expected one of {_names(self.security_groups)}")
        if len(set(host.security_groups)) != len(host.security_groups):
            yield Problem(f"{where}.security_groups", "a security group is listed twice")

    def _rule_problems(self) -> Iterable[Problem]:
        for gid, group in self.security_groups.items():
            for direction in Direction:
                for index, rule in enumerate(group.rules(direction), start=1):
                    where = f"security_groups.{gid}.{direction}[{index}]"
                    if isinstance(rule.peer, GroupPeer) and rule.peer.group not in self.security_groups:
                        yield Problem(f"{where}.sg", f"unknown security group {rule.peer.group!r}: "
                                      f"expected one of {_names(self.security_groups)}")
                    if isinstance(rule.peer, PrefixListPeer) and rule.peer.prefix_list not in self.prefix_lists:
                        yield Problem(f"{where}.prefix_list", f"unknown prefix list {rule.peer.prefix_list!r}: "
                                      f"expected one of {_names(self.prefix_lists)}")


    def _routing_problems(self) -> Iterable[Problem]:
        """Route tables name known VPCs and subnets of theirs; one main table per VPC; a subnet in one table."""
        associated: dict[str, str] = {}
        mains: dict[str, str] = {}
        for tid, table in self.route_tables.items():
            where = f"route_tables.{tid}"
            if table.vpc not in self.vpcs:
                yield Problem(f"{where}.vpc", f"unknown VPC {table.vpc!r}: expected one of {_names(self.vpcs)}")
            if table.main:
                if table.vpc in mains:
                    yield Problem(f"{where}.main", f"VPC {table.vpc} already has main route table {mains[table.vpc]}")
                mains[table.vpc] = tid
            for subnet in table.subnets:
                if subnet not in self.subnets:
                    yield Problem(f"{where}.subnets", f"unknown subnet {subnet!r}: expected one of "
                                  f"{_names(self.subnets)}")
                elif self.subnets[subnet].vpc != table.vpc:
                    yield Problem(f"{where}.subnets", f"subnet {subnet} is in VPC {self.subnets[subnet].vpc}, "
                                  f"not {table.vpc}")
                elif subnet in associated:
                    yield Problem(f"{where}.subnets", f"subnet {subnet} is already associated with route table "
                                  f"{associated[subnet]}: a subnet has one route table")
                associated[subnet] = tid


class _AddressSpace:
    """A union of CIDRs of both families, merged and sorted once so that `holds` is a binary search."""

    def __init__(self, cidrs: Iterable[IPv4Network | IPv6Network]) -> None:
        blocks = list(cidrs)
        self._spans: dict[int, tuple[list[int], list[int]]] = {}
        for version in (4, 6):
            merged = list(collapse_addresses(c for c in blocks if c.version == version))  # type: ignore[misc]
            self._spans[version] = ([int(c.network_address) for c in merged],
                                    [int(c.broadcast_address) for c in merged])

    def holds(self, address: IPAddress) -> bool:
        """True when `address` is inside one of the CIDRs."""
        firsts, lasts = self._spans[address.version]
        index = bisect_right(firsts, int(address)) - 1
        return index >= 0 and int(address) <= lasts[index]


def _with_default_routing(network: Network) -> None:
    """AWS's defaults for each VPC without a main route table: a main table with the local routes and, for the lab's
    `public` subnets, an internet gateway and a table routing 0.0.0.0/0 (and ::/0) to it. Cited at the VPC."""
    tables = dict(network.route_tables)
    gateways = dict(network.gateways)
    for vpc in network.vpcs.values():
        if any(t.vpc == vpc.id and t.main for t in tables.values()):
            continue
        local = local_routes(vpc.cidrs, vpc.origin)
        tables[f"{vpc.id}-main"] = RouteTable(f"{vpc.id}-main", vpc.id, local, main=True, origin=vpc.origin)
        public = tuple(s.name for s in network.subnets.values() if s.public and s.vpc == vpc.id)
        if public:
            igw = f"igw-{vpc.id}"  # the id prefix gives the route target its kind
            gateways.setdefault(igw, Gateway(igw, TargetKind.INTERNET_GATEWAY, vpc.id, vpc.origin))
            routes = local + default_routes(igw, vpc.ipv6_cidr is not None, vpc.origin)
            tables[f"{vpc.id}-public"] = RouteTable(f"{vpc.id}-public", vpc.id, routes, subnets=public,
                                                    origin=vpc.origin)
    if len(tables) != len(network.route_tables):
        object.__setattr__(network, "route_tables", FrozenMap(tables))
        object.__setattr__(network, "gateways", FrozenMap(gateways))


def _by_name(items: Iterable[object], key: str) -> FrozenMap:
    result: dict[str, object] = {}
    for item in items:
        name = getattr(item, key)
        if name in result:
            raise ModelError(f"{name!r} is defined twice")
        result[name] = item
    return FrozenMap(result)


def _names(items: Mapping[str, object] | Iterable[object]) -> str:
    names = list(items) if isinstance(items, Mapping) else [getattr(i, "name") for i in items]
    return ", ".join(map(str, names)) or "(none defined)"
