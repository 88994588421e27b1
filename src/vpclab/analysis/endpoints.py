"""What `--from X` and `--to Y` name: an instance, an ENI, a Name tag, a private or public IP, `internet` or any
outside address, resolved to the ENIs (or the outside address) a reach question starts or ends at.

An instance (or a Name tag carried by one instance) with several ENIs gives one endpoint per ENI; a name that fits
several instances, or nothing, is refused with the candidates (exit 2 at the command line).
"""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import dataclass

from vpclab.engine.paths import service_map
from vpclab.errors import InputError, Problem
from vpclab.model.addresses import IPAddress
from vpclab.model.network import Host, Network

#: the stand-in for "anywhere on the internet" (TEST-NET-3, RFC 5737: routed nowhere, owned by no one);
#: docs/assumptions.md R1
INTERNET_V4 = ipaddress.IPv4Address("203.0.113.1")
INTERNET_V6 = ipaddress.IPv6Address("2001:db8::1")  # RFC 3849 documentation prefix
#: the stand-ins tried in order: the first that no route, rule, NACL entry, prefix list or VPC narrower than /0 holds
STAND_INS = {4: tuple(ipaddress.IPv4Address(a) for a in ("203.0.113.1", "198.51.100.1", "192.0.2.1",
                                                         "203.0.113.254", "198.51.100.254", "192.0.2.254")),
             6: tuple(ipaddress.IPv6Address(a) for a in ("2001:db8::1", "2001:db8:ffff::1", "3fff::1"))}
INTERNET = "internet"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a reach question: a VPC ENI (`eni` set, `address` the one it was named by, if any) or an address
    outside every VPC (`eni` None). `internet` marks the `internet` keyword (any outside address)."""

    token: str
    eni: str | None = None
    address: IPAddress | None = None
    internet: bool = False

    @property
    def outside(self) -> bool:
        return self.eni is None


def internet_address(network: Network, v6: bool = False) -> IPAddress:
    """The address that stands for `internet`: the first stand-in that nothing in the snapshot names more narrowly
    than 0.0.0.0/0 (::/0), so that only rules and routes for "anywhere" apply to it — the question's meaning. A
    snapshot that routes 203.0.113.0/24 to an on-premises network (pybatfish-hybrid-cloud) gets 198.51.100.1."""
    version = 6 if v6 else 4
    blocks = [b for b in _named_blocks(network) if b.version == version and b.prefixlen > 0]
    for candidate in STAND_INS[version]:
        if not any(candidate in b for b in blocks):
            return candidate
    return STAND_INS[version][0]


def _named_blocks(network: Network) -> set[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    from vpclab.model.rules import CidrPeer, Direction

    blocks: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
    for table in network.route_tables.values():
        blocks.update(r.destination for r in table.routes if not isinstance(r.destination, str))
    for sg in network.security_groups.values():
        for d in Direction:
            blocks.update(r.peer.cidr for r in sg.rules(d) if isinstance(r.peer, CidrPeer))
    for acl in network.nacls.values():
        for d in Direction:
            blocks.update(e.cidr for e in acl.entries(d))
    for pl in network.prefix_lists.values():
        blocks.update(pl.cidrs)
    for vpc in network.vpcs.values():
        blocks.update(vpc.cidrs)
    for tgw in network.transit_gateways.values():
        blocks.update(r.destination for _, routes in tgw.route_tables for r in routes)
    return blocks


def resolve(network: Network, token: str, field: str = "from") -> list[Endpoint]:
    """The endpoints `token` names in `network`; raises InputError naming the candidates when it names none or is
    ambiguous. Several endpoints only for the ENIs of one instance."""
    text = token.strip()
    if not text:
        raise _refused(field, "is empty: expected an instance id, ENI id, Name tag, IP address or internet")
    if not network.vpc_hosts():
        raise _refused(field, "the snapshot has no ENIs: nothing to answer (vpclab import shows what it holds)")
    if text.lower() == INTERNET:
        return [Endpoint(text, internet=True)]
    hosts = network.vpc_hosts()
    if text in network.hosts and not network.hosts[text].internet:
        return [Endpoint(text, text)]
    by_instance = [h for h in hosts if h.instance == text]
    if by_instance:
        return [Endpoint(text, h.name) for h in by_instance]
    address = _address(text)
    if address is not None:
        return _by_address(network, text, address, field)
    outsider = network.hosts.get(text)
    if outsider is not None and outsider.internet:  # a lab's internet host, by name
        return [Endpoint(text, address=outsider.ip)]
    named = [h for h in hosts if h.label == text]
    if named:
        instances = {h.instance or h.name for h in named}
        if len(instances) > 1:
            raise _refused(field, f"{text!r} is the Name tag of {len(instances)} instances or ENIs: expected one of "
                           + _list(named))
        return [Endpoint(text, h.name) for h in named]
    raise _refused(field, f"{text!r} names no instance, ENI, Name tag or address in the snapshot"
                   + _suggest(text, hosts))


def _by_address(network: Network, text: str, address: IPAddress, field: str) -> list[Endpoint]:
    hosts = network.vpc_hosts()
    private = [h for h in hosts if address in h.private_addresses]
    if len(private) > 1:
        raise _refused(field, f"{text} is a private address of {len(private)} ENIs (overlapping VPCs): expected "
                       "one of " + _list(private))
    if private:
        return [Endpoint(text, private[0].name, address)]
    nat = [n.id for n in network.nat_gateways.values() if n.public_ip == address]
    if nat:
        raise _refused(field, f"{text} is the Elastic IP of NAT gateway {nat[0]}, which accepts no connection "
                       "from outside and starts none: expected an ENI or an outside address")
    public = [h for h in hosts if h.public_ip == address]
    if public:
        return [Endpoint(text, public[0].name, address)]
    if any(int(address) in service_map(v) for v in network.vpcs.values()):
        return [Endpoint(text, address=address)]  # Amazon DNS at VPC base + 2: answered as not filtered (§1 (11))
    inside = [v.id for v in network.vpcs.values() if v.holds(address)]
    if inside:
        raise _refused(field, f"{text} is inside {', '.join(inside)} but no ENI of the snapshot holds it"
                       + _near(address, hosts))
    return [Endpoint(text, address=address)]


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def describe(host: Host) -> str:
    """`eni-0a… (i-0b…, "web", 10.0.1.5)`: how a candidate is listed."""
    parts = [p for p in (host.instance, f'"{host.label}"' if host.label else "", str(host.ip)) if p]
    return f"{host.name} ({', '.join(parts)})"


def _list(hosts: list[Host]) -> str:
    return "; ".join(describe(h) for h in hosts[:20]) + (f"; … {len(hosts) - 20} more" if len(hosts) > 20 else "")


def _suggest(text: str, hosts: list[Host]) -> str:
    names = {n for h in hosts for n in (h.name, h.instance, h.label) if n}
    close = difflib.get_close_matches(text, sorted(names), n=5, cutoff=0.6)
    if close:
        return f": did you mean {', '.join(close)}?"
    if not hosts:
        return ": the snapshot has no ENIs"
    return ": expected one of " + _list(hosts)


def _near(address: IPAddress, hosts: list[Host]) -> str:
    same = [h for h in hosts if h.ip.version == address.version]
    same.sort(key=lambda h: abs(int(h.ip) - int(address)))
    return ": the nearest ENIs are " + _list(same[:5]) if same else ""


def _refused(field: str, message: str) -> InputError:
    return InputError([Problem(f"--{field}", message)])
