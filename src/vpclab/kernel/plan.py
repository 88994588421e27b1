"""Names of everything a kernel lab creates: namespaces with a per-run prefix, interfaces within them."""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass

from vpclab.model.network import Network
from vpclab.model.routing import TargetKind

#: every namespace of a run starts with `vl` + 6 hex digits + `-`; sweeps only ever touch names of this shape
PREFIX_PATTERN = re.compile(r"^(vl[0-9a-f]{6})-")
INTERNET_WILDCARD = "i*"


def new_prefix() -> str:
    return "vl" + secrets.token_hex(3)


@dataclass(frozen=True, slots=True)
class Plan:
    """Where each part of a network lives in a run with prefix `prefix`.

    Router namespace: one bridge per built subnet (`br-N`), one uplink port per ENI (`eN`) and per NAT gateway
    (`nN`), one point-to-point link per internet host (`iN`) and one to the IGW namespace (`igw`). ENI namespace per
    VPC host (its security groups), host namespace per host, NAT namespace per NAT gateway a built subnet routes to,
    and the IGW namespace that sends back what VPC hosts address to public IPs (hairpin, aws-routing-terraform.md §2). A lab on a snapshot builds
    only the hosts its steps use; the others stay in the model (as group members) but get no namespace.
    """

    prefix: str
    router: str
    bridges: dict[str, str]
    enis: dict[str, str]
    hosts: dict[str, str]
    uplinks: dict[str, str]
    internet_links: dict[str, str]
    nats: dict[str, str]
    nat_uplinks: dict[str, str]
    igw: str  # the internet gateway's bounce namespace: a VPC host's packets to a public IP go out and come back

    #: the router's link to the IGW namespace: its name matches INTERNET_WILDCARD, so what comes back meets the IGW's
    #: inbound translation and the destination subnet's NACL like any packet from the internet
    IGW_LINK = "igw"
    IGW_ROUTER_ADDRESS = "169.254.0.1"  # a /30 inside the lab's own namespaces, never routed anywhere else
    IGW_ADDRESS = "169.254.0.2"

    @classmethod
    def make(cls, network: Network, prefix: str, only: Collection[str] | None = None) -> "Plan":
        """The plan for `network`, building every host, or only the hosts named in `only` (and what they need)."""
        nat_ips = {str(n.private_ip) for n in network.nat_gateways.values()}
        built = [h for h in network.hosts.values() if (only is None or h.name in only)
                 and not (h.interface_type == "nat_gateway" or (not h.security_groups and str(h.ip) in nat_ips))]
        subnets = list(dict.fromkeys(h.subnet for h in built if not h.internet and h.subnet))
        nats = _nat_gateways(network, subnets)
        subnets += [network.nat_gateways[n].subnet for n in nats
                    if network.nat_gateways[n].subnet not in subnets]
        bridges = {name: f"br-{i}" for i, name in enumerate(n for n in network.subnets if n in subnets)}
        enis: dict[str, str] = {}
        hosts: dict[str, str] = {}
        uplinks: dict[str, str] = {}
        internet: dict[str, str] = {}
        names = {h.name for h in built}
        for i, host in enumerate(network.hosts.values()):
            if host.name not in names:
                continue
            hosts[host.name] = f"{prefix}-h{i}"
            if host.internet:
                internet[host.name] = f"i{i}"
            else:
                enis[host.name] = f"{prefix}-e{i}"
                uplinks[host.name] = f"e{i}"
        nat_ns = {nat: f"{prefix}-n{i}" for i, nat in enumerate(nats)}
        nat_links = {nat: f"n{i}" for i, nat in enumerate(nats)}
        return cls(prefix, f"{prefix}-rtr", bridges, enis, hosts, uplinks, internet, nat_ns, nat_links, f"{prefix}-igw")

    @property
    def namespaces(self) -> list[str]:
        return [self.router, *self.enis.values(), *self.hosts.values(), *self.nats.values(), self.igw]


def _nat_gateways(network: Network, subnets: list[str]) -> list[str]:
    """The NAT gateways the route tables of `subnets` send traffic to (each is built as a namespace)."""
    found: list[str] = []
    for subnet in subnets:
        table = network.route_table_of(subnet)
        if table is None:
            continue
        for route in table.targets(TargetKind.NAT_GATEWAY):
            if route.target in network.nat_gateways and route.target not in found:
                found.append(route.target)
    return found
