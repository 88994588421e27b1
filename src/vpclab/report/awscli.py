"""AWS CLI text for security-group rules: the `--ip-permissions` shorthand, one definition for every command vpclab
prints (reach's fixes, audit's fixes). Pure: nothing here runs a command."""

from __future__ import annotations

from vpclab.model.protocols import ALL, ICMP, ICMPV6, TCP, UDP, has_ports, protocol_name
from vpclab.model.rules import CidrPeer, GroupPeer, PrefixListPeer, SgRule

#: the protocols the EC2 API takes by name; any other is given by its number (aws-semantics.md §1.1 IpProtocol)
NAMED = frozenset({TCP, UDP, ICMP, ICMPV6})


def ip_protocol(protocol: int) -> str:
    """`IpProtocol` as the API takes it: `tcp|udp|icmp|icmpv6`, `-1` for all, else the number."""
    if protocol == ALL:
        return "-1"
    return protocol_name(protocol) if protocol in NAMED else str(protocol)


def ip_permissions(rule: SgRule, description: bool = False) -> str:
    """The `--ip-permissions` shorthand naming exactly `rule` (with its description when asked, for an authorize)."""
    parts = [f"IpProtocol={ip_protocol(rule.protocol)}"]
    if has_ports(rule.protocol):
        parts.append(f"FromPort={rule.ports.first},ToPort={rule.ports.last}")
    elif rule.protocol in (ICMP, ICMPV6):
        parts.append(f"FromPort={rule.icmp.type},ToPort={rule.icmp.code}")
    said = f',Description="{rule.description}"' if description and rule.description else ""
    peer = rule.peer
    if isinstance(peer, CidrPeer):
        key = "IpRanges=[{CidrIp=" if peer.cidr.version == 4 else "Ipv6Ranges=[{CidrIpv6="
        parts.append(f"{key}{peer.cidr}{said}}}]")
    elif isinstance(peer, GroupPeer):
        parts.append(f"UserIdGroupPairs=[{{GroupId={peer.group}{said}}}]")
    elif isinstance(peer, PrefixListPeer):
        parts.append(f"PrefixListIds=[{{PrefixListId={peer.prefix_list}{said}}}]")
    return ",".join(parts)
