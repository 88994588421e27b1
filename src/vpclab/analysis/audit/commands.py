"""AWS CLI commands for the fixes the checks propose (text only; nothing here runs them)."""

from __future__ import annotations

from vpclab.model.rules import Direction, NaclEntry, SgRule
from vpclab.report.awscli import ip_permissions


def permission(rule: SgRule) -> str:
    """The `--ip-permissions` shorthand naming exactly `rule`."""
    return ip_permissions(rule)


def revoke(group: str, direction: Direction, rule: SgRule) -> str:
    """`aws ec2 revoke-security-group-{ingress,egress}` for one rule."""
    return f"aws ec2 revoke-security-group-{direction} --group-id {group} --ip-permissions '{permission(rule)}'"


def delete_nacl_entry(nacl: str, direction: Direction, entry: NaclEntry) -> str:
    flag = "--egress" if direction is Direction.EGRESS else "--ingress"
    return f"aws ec2 delete-network-acl-entry --network-acl-id {nacl} {flag} --rule-number {entry.number}"


def nacl_allow(nacl: str, direction: Direction, number: int, proto: str, cidr: str, ports: str = "",
               icmp: str = "") -> str:
    """`aws ec2 create-network-acl-entry` for one allow entry (`ports` as `A-B`, `icmp` as `Type=3,Code=4`)."""
    flag = "--egress" if direction is Direction.EGRESS else "--ingress"
    command = (f"aws ec2 create-network-acl-entry --network-acl-id {nacl} {flag} --rule-number {number} "
               f"--protocol {proto} --rule-action allow --{'ipv6-' if ':' in cidr else ''}cidr-block {cidr}")
    if ports:
        first, _, last = ports.partition("-")
        command += f" --port-range From={first},To={last or first}"
    if icmp:
        command += f" --icmp-type-code {icmp}"
    return command


def free_number(taken: set[int], below: int) -> int | None:
    """The highest entry number under `below` not in use (so a new entry is judged just before it)."""
    for number in range(below - 1, 0, -1):
        if number not in taken:
            return number
    return None


def conntrack_timeout(eni: str, seconds: int) -> str:
    """`aws ec2 modify-network-interface-attribute` lowering an ENI's TCP established idle timeout."""
    return (f"aws ec2 modify-network-interface-attribute --network-interface-id {eni} "
            f"--connection-tracking-specification TcpEstablishedTimeout={seconds}")
