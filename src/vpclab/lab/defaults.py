"""What AWS gives every lab VPC without being asked: its default security group, on every ENI launched without one.

AWS creates a VPC with a security group named `default` (inbound: all traffic from the group itself; outbound: all
traffic, and ::/0 too when the VPC has IPv6; aws-semantics.md §1.2), and an instance or ENI launched without groups
gets it. A lab file may write a `default` entry to change its rules (as one may in AWS); keys it leaves out keep
AWS's rules. Added entries are cited at the `vpc:` line, where AWS made them.
"""

from __future__ import annotations

from collections.abc import Callable

from vpclab.errors import Origin
from vpclab.load.problems import Path

DEFAULT_GROUP = "default"
#: AWS's inbound rule of the default group: all traffic from members of the group
SELF_REFERENCE = {"proto": "-1", "sg": DEFAULT_GROUP}


def with_default_group(data: dict[object, object]) -> dict[object, object]:
    """`data` (a lab file, before checking) with the VPC's default group, and that group on every VPC host that
    names none. Malformed sections are left as they are, for the checks to report."""
    groups = data.get("security_groups", {})
    hosts = data.get("hosts")
    if groups is None:
        groups = {}
    if not isinstance(groups, dict):
        return data
    groups = dict(groups)
    own = groups.get(DEFAULT_GROUP)
    if own is None:
        groups[DEFAULT_GROUP] = {"ingress": [dict(SELF_REFERENCE)]}
    elif isinstance(own, dict) and "ingress" not in own:
        groups[DEFAULT_GROUP] = {**own, "ingress": [dict(SELF_REFERENCE)]}
    changed: dict[object, object] = {**data, "security_groups": groups}
    if isinstance(hosts, dict):
        changed["hosts"] = {name: _with_group(host) for name, host in hosts.items()}
    return changed


def _with_group(host: object) -> object:
    """A VPC host without groups (no key, or an empty list) gets the default group, as AWS launches it."""
    if not isinstance(host, dict) or host.get("internet"):
        return host
    if host.get("security_groups") in (None, []):
        return {**host, "security_groups": [DEFAULT_GROUP]}
    return host


def default_group_origin(origin: Callable[[Path], Origin], lines: dict[Path, int]) -> Callable[[Path], Origin]:
    """A locator that places what this module added (the default group, its rules) at the `vpc:` line."""
    written = (("security_groups", DEFAULT_GROUP) in lines, ("security_groups", DEFAULT_GROUP, "ingress") in lines)

    def locate(path: Path) -> Origin:
        if path[:2] == ("security_groups", DEFAULT_GROUP) and not (written[1] if path[2:3] == ("ingress",)
                                                                   else written[0]):
            return origin(("vpc",))
        return origin(path)
    return locate
