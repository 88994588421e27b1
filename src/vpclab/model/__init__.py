"""The vpclab model: immutable, validated values for a VPC, its filters and its hosts."""

from vpclab.model.addresses import IPAddress, IPNetwork, parse_cidr, parse_ip
from vpclab.model.errors import ModelError, Problem
from vpclab.model.network import ConntrackSettings, Host, Network, Subnet, Vpc
from vpclab.model.policy import NetworkAcl, PrefixList, SecurityGroup
from vpclab.model.protocols import ALL, ICMP, ICMPV6, TCP, UDP, IcmpMatch, PortRange, parse_protocol
from vpclab.model.rules import Action, CidrPeer, Direction, GroupPeer, NaclEntry, PrefixListPeer, SgRule

__all__ = [
    "ALL", "ICMP", "ICMPV6", "TCP", "UDP", "Action", "CidrPeer", "ConntrackSettings", "Direction", "GroupPeer",
    "Host", "IPAddress", "IPNetwork", "IcmpMatch", "ModelError", "NaclEntry", "Network", "NetworkAcl",
    "PortRange", "PrefixList", "PrefixListPeer", "Problem", "SecurityGroup", "SgRule", "Subnet", "Vpc",
    "parse_cidr", "parse_ip", "parse_protocol",
]
