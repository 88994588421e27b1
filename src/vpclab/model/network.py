"""The VPC, its subnets and hosts (one ENI each), and the whole network as one immutable, validated value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from vpclab.errors import Origin
from vpclab.model.addresses import IPAddress
from vpclab.model.errors import ModelError, Problem
from vpclab.model.frozen import FrozenMap
from vpclab.model.policy import NetworkAcl, PrefixList, SecurityGroup
from vpclab.model.protocols import PortRange
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
    """The VPC: an IPv4 CIDR and an optional IPv6 CIDR."""

    cidr: IPv4Network
    ipv6_cidr: IPv6Network | None = None
    id: str = "vpc"
    origin: Origin | None = field(default=None, compare=False, repr=False)

    @property
    def dns_address(self) -> IPv4Address:
        """Amazon DNS at the VPC base + 2, which neither SGs nor NACLs filter."""
        return self.cidr.network_address + 2


@dataclass(frozen=True, slots=True)
class Subnet:
    """A subnet: CIDRs, the NACL associated with it, and whether it routes 0.0.0.0/0 to an internet gateway."""

    name: str
    cidr: IPv4Network
    ipv6_cidr: IPv6Network | None = None
    nacl: str = DEFAULT_NACL
    public: bool = False
    origin: Origin | None = field(default=None, compare=False, repr=False)


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

    @property
    def addresses(self) -> tuple[IPAddress, ...]:
        """Every address this host answers to."""
        return tuple(a for a in (self.ip, self.public_ip, self.ipv6) if a is not None)


@dataclass(frozen=True, slots=True)
class Network:
    """A whole VPC: immutable and hashable; each change method returns a new, validated version."""

    vpc: Vpc
    subnets: FrozenMap[str, Subnet] = field(default_factory=FrozenMap)
    hosts: FrozenMap[str, Host] = field(default_factory=FrozenMap)
    security_groups: FrozenMap[str, SecurityGroup] = field(default_factory=FrozenMap)
    nacls: FrozenMap[str, NetworkAcl] = field(default_factory=FrozenMap)
    prefix_lists: FrozenMap[str, PrefixList] = field(default_factory=FrozenMap)

    @classmethod
    def build(cls, vpc: Vpc, subnets: Iterable[Subnet] = (), hosts: Iterable[Host] = (),
              security_groups: Iterable[SecurityGroup] = (), nacls: Iterable[NetworkAcl] = (),
              prefix_lists: Iterable[PrefixList] = ()) -> "Network":
        """Assemble and validate a network; the default NACL (allow all) is added unless given."""
        nacl_map = {n.id: n for n in nacls}
        nacl_map.setdefault(DEFAULT_NACL, NetworkAcl.default(DEFAULT_NACL, ipv6=vpc.ipv6_cidr is not None))
        network = cls(vpc, _by_name(subnets, "name"), _by_name(hosts, "name"),
                      _by_name(security_groups, "id"), FrozenMap(nacl_map), _by_name(prefix_lists, "id"))
        network.validate()
        return network

    # ---- queries -------------------------------------------------------------------------------------

    def vpc_hosts(self) -> list[Host]:
        return [h for h in self.hosts.values() if not h.internet]

    def group_members(self, group: str) -> list[IPAddress]:
        """Private addresses of the ENIs carrying `group` (what a group reference matches; never public IPs)."""
        members: list[IPAddress] = []
        for host in self.vpc_hosts():
            if group in host.security_groups:
                members.append(host.ip)
                if host.ipv6 is not None:
                    members.append(host.ipv6)
        return members

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
        problems = list(self._subnet_problems()) + list(self._host_problems()) + list(self._rule_problems())
        if problems:
            raise ModelError(problems)

    def _subnet_problems(self) -> Iterable[Problem]:
        seen: list[tuple[str, IPv4Network]] = []
        for name, subnet in self.subnets.items():
            where = f"subnets.{name}"
            if not subnet.cidr.subnet_of(self.vpc.cidr):
                yield Problem(f"{where}.cidr", f"{subnet.cidr} is not inside the VPC CIDR {self.vpc.cidr}")
            for other, cidr in seen:
                if subnet.cidr.overlaps(cidr):
                    yield Problem(f"{where}.cidr", f"{subnet.cidr} overlaps subnet {other} ({cidr})")
            seen.append((name, subnet.cidr))
            if subnet.ipv6_cidr is not None:
                if self.vpc.ipv6_cidr is None:
                    yield Problem(f"{where}.ipv6_cidr", "the VPC has no IPv6 CIDR: expected vpc.ipv6_cidr first")
                elif not subnet.ipv6_cidr.subnet_of(self.vpc.ipv6_cidr):
                    yield Problem(f"{where}.ipv6_cidr", f"{subnet.ipv6_cidr} is not inside {self.vpc.ipv6_cidr}")
            if subnet.nacl not in self.nacls:
                yield Problem(f"{where}.nacl", f"unknown network ACL {subnet.nacl!r}: expected one of {_names(self.nacls)}")

    def _host_problems(self) -> Iterable[Problem]:
        owners: dict[IPAddress, str] = {}
        for name, host in self.hosts.items():
            where = f"hosts.{name}"
            for address in host.addresses:
                if address in owners:
                    yield Problem(f"{where}", f"address {address} is already used by host {owners[address]}")
                owners[address] = name
            if host.internet:
                if isinstance(host.ip, IPv4Address) and host.ip in self.vpc.cidr:
                    yield Problem(f"{where}.ip", f"internet host {host.ip} is inside the VPC CIDR {self.vpc.cidr}")
                continue
            yield from self._vpc_host_problems(where, host)

    def _vpc_host_problems(self, where: str, host: Host) -> Iterable[Problem]:
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
        if host.public_ip is not None and host.public_ip in self.vpc.cidr:
            yield Problem(f"{where}.public_ip", f"{host.public_ip} is inside the VPC CIDR: expected a public address")
        if host.ipv6 is not None:
            if subnet is None or subnet.ipv6_cidr is None:
                yield Problem(f"{where}.ipv6", "the host's subnet has no IPv6 CIDR")
            elif host.ipv6 not in subnet.ipv6_cidr:
                yield Problem(f"{where}.ipv6", f"{host.ipv6} is not inside {subnet.ipv6_cidr}")
        if not 1 <= len(host.security_groups) <= 16:
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
