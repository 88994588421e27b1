"""Network ACLs and security groups: one document rule per NACL entry and per security-group peer
(aws-semantics.md §1.1, §3.1, §6.1-§6.3)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from vpclab.errors import Origin
from vpclab.load.aws.records import Record, present
from vpclab.load.document import Document
from vpclab.load.problems import Path

#: RuleNumber of the `*` deny entries (IPv4 32767, IPv6 32768): AWS adds them, so the document leaves them out
#: (those two numbers only, and only as denies: 40000 is an error, not a `*` entry).
STAR = 32767
#: The peers of an IpPermission: list key, value key, document key.
PEERS = (("IpRanges", "CidrIp", "cidr"), ("Ipv6Ranges", "CidrIpv6", "cidr"),
         ("PrefixListIds", "PrefixListId", "prefix_list"))


def read_nacls(doc: Document, nacls: list[Record]) -> None:
    """`nacls`: entries by direction (`Egress`), protocol numbers as AWS writes them, the `*` entries left out."""
    for acl in nacls:
        path = ("nacls", acl.data["NetworkAclId"])
        doc.put(path, {"vpc": acl.text("VpcId"), "default": acl.data.get("IsDefault") is True, "ingress": [],
                       "egress": [], **acl.common()}, acl.origin)
        for entry in acl.children("Entries"):
            number, egress = entry.data.get("RuleNumber"), entry.data.get("Egress")
            if number in (STAR, STAR + 1) and entry.data.get("RuleAction") == "deny":
                continue  # any other number out of 1-32766 goes on, for the document's check to refuse at its path
            cidr = entry.text("CidrBlock") or entry.text("Ipv6CidrBlock")
            if not isinstance(egress, bool) or cidr is None:
                doc.warn(entry.origin, "NACL entry without Egress or CIDR: skipped")
                continue
            ports, icmp = entry.data.get("PortRange"), entry.data.get("IcmpTypeCode")
            rule = {"rule": number, "action": entry.data.get("RuleAction"),
                    **match(entry.data.get("Protocol"),
                            (ports.get("From"), ports.get("To")) if isinstance(ports, dict) else None,
                            (icmp.get("Type"), icmp.get("Code")) if isinstance(icmp, dict) else None),
                    "cidr": cidr}
            doc.append(path + ("egress" if egress else "ingress",), rule, entry.origin)


def read_security_groups(doc: Document, groups: list[Record], rules: list[Record]) -> None:
    """`security_groups` from SecurityGroups; SecurityGroupRules (describe-security-group-rules) only for groups
    SecurityGroups does not describe, since both list the same rules."""
    for group in groups:
        path = ("security_groups", group.data["GroupId"])
        value = {"vpc": group.text("VpcId"), **present(name=group.text("GroupName"), account=group.account,
                                                        region=group.region),
                 "description": group.text("Description") or "", "ingress": []}
        if group.text("GroupName") == "default":  # the name AWS reserves for the VPC's default group (§1.3)
            value["default"] = True
        if "IpPermissionsEgress" in group.data:
            value["egress"] = []
        else:
            doc.warn(group.origin, "no IpPermissionsEgress: AWS's default allow-all egress assumed")
        doc.put(path, value, group.origin)
        owner = group.text("OwnerId") or group.account
        for key, direction in (("IpPermissions", "ingress"), ("IpPermissionsEgress", "egress")):
            for permission in group.children(key):
                for rule, origin in _permission_rules(doc, permission, owner):
                    _append_rule(doc, path + (direction,), rule, origin, permission)
    _groups_from_rules(doc, rules)


def _groups_from_rules(doc: Document, rules: list[Record]) -> None:
    """Groups SecurityGroups does not describe, from their SecurityGroupRules (one peer each, §1.7, §6.2)."""
    by_group: dict[str, list[Record]] = defaultdict(list)
    for rule in rules:
        group = rule.text("GroupId")
        if group and group not in doc.data.get("security_groups", {}):
            by_group[group].append(rule)
    for ident, group_rules in by_group.items():
        first = group_rules[0]
        owner = first.text("GroupOwnerId") or first.account
        doc.put(("security_groups", ident), {**present(account=owner, region=first.region), "ingress": [],
                                             "egress": []}, first.origin)
        doc.warn(first.origin, f"{ident} is known only from SecurityGroupRules (not in SecurityGroups): "
                               "its VPC and name are unknown")
        for rule in group_rules:
            peer = _rule_peer(rule, owner)
            if peer is None:
                doc.warn(rule.origin, "security group rule without a peer: skipped")
                continue
            direction = "egress" if rule.data.get("IsEgress") is True else "ingress"
            _append_rule(doc, ("security_groups", ident, direction), {**_ports_of(rule), **peer}, rule.origin, rule)


def _append_rule(doc: Document, path: Path, rule: dict[str, Any], origin: Origin, ports_at: Record) -> None:
    """Append a rule located at its peer, its ports or ICMP type at the record holding FromPort/ToPort (for an
    IpPermission not the peer but the permission: an error in its ports points there)."""
    index = doc.append(path, rule, origin)
    for key in ("ports", "icmp"):
        if key in rule:
            doc.origins[path + (index, key)] = ports_at.origin


def match(proto: Any, ports: tuple[Any, Any] | None, icmp: tuple[Any, Any] | None) -> dict[str, Any]:
    """`proto` as AWS writes it, with `ports` (TCP/UDP only) or ICMP `{type, code}` (ICMP/ICMPv6 only, -1 all):
    AWS ignores ports and types for other protocols (aws-semantics.md §1.1, §3.1)."""
    number = protocol_number(proto)
    result: dict[str, Any] = {"proto": proto}
    if number in (6, 17) and ports is not None and ports != (None, None):
        first, last = ports
        result["ports"] = first if last is None or first == last else f"{first}-{last}"
    elif number in (1, 58) and icmp is not None:
        kind, code = icmp
        result["icmp"] = {"type": -1 if kind is None else kind, "code": -1 if code is None or kind in (None, -1)
                          else code}
    return result


def protocol_number(proto: Any) -> int | None:
    """The number of an IpProtocol/Protocol value (`tcp`, `"6"`, `-1`), or None for an unknown name."""
    text = str(proto).strip().lower()
    named = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "all": -1}
    return named.get(text, int(text) if text.lstrip("-").isdigit() else None)


def _permission_rules(doc: Document, permission: Record, owner: str | None) -> list[tuple[dict[str, Any], Origin]]:
    """One rule per peer of an IpPermission, each located at its peer (docs/network-data.md, rules for importers)."""
    base = _ports_of(permission)
    rules = []
    for list_key, value_key, key in PEERS:
        for peer in permission.children(list_key):
            if peer.text(value_key):
                rules.append(({**base, key: peer.text(value_key), **_description(peer)}, peer.origin))
    for pair in permission.children("UserIdGroupPairs"):
        reference = _group_reference(pair.text("GroupId"), pair.text("UserId"), owner)
        if reference is None:
            doc.warn(pair.origin, "group reference without GroupId: skipped")
            continue
        if pair.text("PeeringStatus") not in (None, "active"):
            doc.warn(pair.origin, f"stale reference to {reference}: peering {pair.text('PeeringStatus')}")
        rules.append(({**base, "sg": reference, **_description(pair)}, pair.origin))
    if not rules:
        doc.warn(permission.origin, "permission without a peer: allows nothing: skipped")
    return rules


def _rule_peer(rule: Record, owner: str | None) -> dict[str, Any] | None:
    """The peer of a SecurityGroupRule (exactly one of CIDR, prefix list, referenced group), with its description."""
    referenced = rule.child("ReferencedGroupInfo")
    peers = {"cidr": rule.text("CidrIpv4") or rule.text("CidrIpv6"), "prefix_list": rule.text("PrefixListId"),
             "sg": _group_reference(referenced.text("GroupId"), referenced.text("UserId"), owner)
             if referenced else None}
    key = next((key for key, value in peers.items() if value), None)
    return {key: peers[key], **_description(rule)} if key else None


def _ports_of(record: Record) -> dict[str, Any]:
    """Protocol and ports/ICMP of an IpPermission or SecurityGroupRule: ICMP's FromPort/ToPort are type/code."""
    ports = (record.data.get("FromPort"), record.data.get("ToPort"))
    return match(record.data.get("IpProtocol"), ports, ports)


def _group_reference(group: str | None, user: str | None, owner: str | None) -> str | None:
    """`sg-…`, or `account/sg-…` for a group of another account (aws-semantics.md §1.4)."""
    if group is None:
        return None
    return f"{user}/{group}" if user and owner and user != owner else group


def _description(peer: Record) -> dict[str, str]:
    text = peer.text("Description")
    return {"description": text} if text else {}
