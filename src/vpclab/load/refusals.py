"""Forms of a rule or an entry that AWS's API refuses although their meaning would be clear: errors, as AWS answers.

Each check takes the rule as written and as built, and returns the key at fault with the message, or None.
Sources: reference/aws-semantics.md §1.1 (IpPermission: CidrIp, FromPort/ToPort) and §3.1 (NetworkAclEntry).
"""

from __future__ import annotations

from vpclab.load.spec import NaclRuleSpec, SgRuleSpec
from vpclab.model import ICMP, ICMPV6, CidrPeer, NaclEntry, SgRule

ALL_ICMP = "write icmp: {type: -1} for every type and code, or a type such as {type: echo-request}"


def sg_rule_refusal(spec: SgRuleSpec, rule: SgRule) -> tuple[str, str] | None:
    """AWS wants a prefix length on every CIDR (`/32` for one address) and a type/code on icmp rules."""
    if isinstance(rule.peer, CidrPeer) and isinstance(spec.cidr, str) and "/" not in spec.cidr:
        single = "/32" if rule.peer.cidr.version == 4 else "/128"
        return "cidr", (f"{spec.cidr} has no prefix length, and AWS refuses a CIDR without one (InvalidParameterValue;"
                        f" aws-semantics.md §1.1): expected {spec.cidr.strip()}{single} for this one address")
    if rule.protocol == ICMP and spec.icmp is None:
        return "icmp", ("AWS requires a type and code (FromPort/ToPort) for an icmp rule (aws-semantics.md §1.1): "
                        + ALL_ICMP)
    return None


def nacl_entry_refusal(spec: NaclRuleSpec, entry: NaclEntry) -> tuple[str, str] | None:
    """AWS wants a type/code (IcmpTypeCode) on icmp entries, and on icmpv6 entries with an IPv6 CIDR."""
    if spec.icmp is None and (entry.protocol == ICMP or (entry.protocol == ICMPV6 and entry.cidr.version == 6)):
        what = "an icmp entry" if entry.protocol == ICMP else "an icmpv6 entry with an IPv6 CIDR"
        return "icmp", f"AWS requires a type and code (IcmpTypeCode) for {what} (aws-semantics.md §3.1): " + ALL_ICMP
    return None
