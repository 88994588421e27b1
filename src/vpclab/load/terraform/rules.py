"""Terraform's rule attributes → the network document's rules: security-group rules one per peer and NACL
entries, protocols normalised as the provider stores them (§9.5-9.6)."""

from __future__ import annotations

from typing import Any

from vpclab.model.protocols import PROTOCOL_NUMBERS

#: Protocol numbers the provider writes back as names in security-group state (`protocolForValue`).
SG_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1", "ipv6-icmp": "icmpv6"}


def sg_protocol(value: Any) -> str:
    """`tcp`, `6`, `TCP` → `tcp`; `all`/`-1` → `-1`; other numbers stay numeric strings."""
    text = str(value).strip().lower()
    return SG_NAMES.get(text, text)


def sg_match(protocol: Any, from_port: Any, to_port: Any) -> dict[str, Any]:
    """The protocol part of a security-group rule: ports for TCP and UDP, type and code for ICMP, nothing for
    `-1` (all traffic, whatever ports are given: §9.6) and other protocols."""
    proto = sg_protocol(protocol)
    match: dict[str, Any] = {"proto": proto}
    if proto in ("tcp", "udp") and from_port is not None and to_port is not None:
        match["ports"] = ports(from_port, to_port)
    elif proto in ("icmp", "icmpv6") and from_port is not None:
        kind = number(from_port)
        match["icmp"] = {"type": kind, "code": -1 if kind == -1 or to_port is None else number(to_port)}
    return match


def sg_rules(match: dict[str, Any], peers: list[dict[str, str]], description: Any) -> list[dict[str, Any]]:
    """One rule per peer, as AWS lists them."""
    extra = {"description": description} if isinstance(description, str) and description else {}
    return [{**match, **peer, **extra} for peer in peers]


def sg_peers(cidrs: Any = (), ipv6_cidrs: Any = (), prefix_lists: Any = (), groups: Any = ()) -> list[dict[str, str]]:
    """The peers of a rule: CIDRs (IPv4 and IPv6 alike), prefix lists and groups, in that order."""
    return ([{"cidr": c} for c in _strings(cidrs)] + [{"cidr": c} for c in _strings(ipv6_cidrs)]
            + [{"prefix_list": p} for p in _strings(prefix_lists)] + [{"sg": g} for g in _strings(groups)])


def rule_key(rule: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """What makes two rules the same rule for AWS (the description does not)."""
    return tuple(sorted((k, repr(v)) for k, v in rule.items() if k != "description"))


def nacl_protocol(value: Any) -> int | str:
    """A NACL protocol as its number: `"6"`, `tcp` → 6; `all`, `-1` → -1; `ipv6-icmp` → 58 (§9.6)."""
    text = str(value).strip().lower()
    if text.lstrip("-").isdigit():
        return int(text)
    return PROTOCOL_NUMBERS.get(text, text)


def nacl_entry(rule_no: Any, action: Any, protocol: Any, cidr: Any, from_port: Any, to_port: Any,
               icmp_type: Any, icmp_code: Any) -> dict[str, Any]:
    """A NACL entry: ports for TCP and UDP only, ICMP type and code (an unset one is 0, as the provider sends
    it: §9.6), nothing for the others."""
    proto = nacl_protocol(protocol)
    entry: dict[str, Any] = {"rule": number(rule_no), "action": str(action).lower(), "proto": proto, "cidr": cidr}
    if proto in (6, 17) and from_port is not None and to_port is not None:
        entry["ports"] = ports(from_port, to_port)
    elif proto in (1, 58):
        entry["icmp"] = {"type": number(icmp_type or 0), "code": number(icmp_code or 0)}
    return entry


def ports(first: Any, last: Any) -> int | str:
    """One port as a number, a range as `FROM-TO` (a value that is no number is passed on as written, for the
    document's check to report with the resource's address)."""
    low, high = number(first), number(last)
    return low if low == high else f"{low}-{high}"


def number(value: Any) -> Any:
    """An integer attribute as an int (`22`, `"22"`, `"-1"`); anything else unchanged, so that the network
    document's validation rejects it with the resource's address instead of a crash here."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.lstrip("-").isdigit() and text.count("-") <= 1 and not text.endswith("-") else value


def _strings(values: Any) -> list[str]:
    if isinstance(values, str):
        return [values] if values else []
    return [v for v in values or () if isinstance(v, str) and v]
