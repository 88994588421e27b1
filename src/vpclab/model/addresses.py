"""IP addresses and CIDRs in AWS's canonical form (host bits cleared, as AWS canonicalises them)."""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from vpclab.model.errors import ModelError

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

WORLD_V4 = IPv4Network("0.0.0.0/0")
WORLD_V6 = IPv6Network("::/0")


def parse_cidr(value: object) -> IPNetwork:
    """A CIDR such as `198.18.0.0/16`; host bits are cleared as AWS does (`100.68.0.18/18` → `100.68.0.0/18`).

    A bare address means a single host (/32 or /128).
    """
    if isinstance(value, (IPv4Network, IPv6Network)):
        return value
    if not isinstance(value, str):
        raise ModelError(f"{value!r} is not a CIDR: expected an address block such as 198.18.0.0/16")
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ModelError(f"{value!r} is not a valid CIDR: expected an address block such as 198.18.0.0/16 "
                         "or 2001:db8::/64") from None


def parse_ip(value: object) -> IPAddress:
    """A single IPv4 or IPv6 address."""
    if isinstance(value, (IPv4Address, IPv6Address)):
        return value
    if not isinstance(value, str):
        raise ModelError(f"{value!r} is not an IP address: expected an address such as 198.18.1.10")
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        raise ModelError(f"{value!r} is not a valid IP address: expected an address such as 198.18.1.10") from None


def is_world(network: IPNetwork) -> bool:
    """True for 0.0.0.0/0 and ::/0, the peers that make a flow eligible to be untracked."""
    return network.prefixlen == 0


def span(network: IPNetwork) -> tuple[int, int]:
    """The first and last address of a network as integers."""
    return int(network.network_address), int(network.broadcast_address)
