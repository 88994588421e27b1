"""Compact network builders for tests, in the shape of the lab file (dicts of rules)."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from vpclab.model import (ConntrackSettings, Direction, Host, NaclEntry, Network, NetworkAcl, PortRange, PrefixList,
                          SecurityGroup, SgRule, Subnet, Vpc)


def rule(spec: dict) -> SgRule:
    spec = dict(spec)
    return SgRule.make(spec.pop("proto"), spec.pop("ports", None), **spec)


def entry(spec: dict) -> NaclEntry:
    spec = dict(spec)
    return NaclEntry.make(spec.pop("rule"), spec.pop("action"), spec.pop("proto"), spec.pop("cidr"),
                          spec.pop("ports", None), spec.pop("icmp", None))


def group(gid: str, ingress: list[dict] = (), egress: list[dict] | None = None, ipv6: bool = False) -> SecurityGroup:
    """A group; `egress=None` means AWS's default allow-all egress."""
    out = SecurityGroup.new(gid, ipv6=ipv6).egress if egress is None else tuple(rule(r) for r in egress)
    return SecurityGroup(gid, tuple(rule(r) for r in ingress), out)


def build(groups: dict[str, dict], hosts: dict[str, dict], subnets: dict[str, dict] | None = None,
          nacls: dict[str, dict] | None = None, prefix_lists: dict[str, list[str]] | None = None,
          vpc: str = "198.18.0.0/16", ipv6_cidr: str | None = None) -> Network:
    subnets = subnets if subnets is not None else {"a": {"cidr": "198.18.1.0/24"}, "b": {"cidr": "198.18.2.0/24"}}
    subnet_objs = [Subnet(name, ip_network(s["cidr"]), ip_network(s["ipv6_cidr"]) if s.get("ipv6_cidr") else None,
                          s.get("nacl", "default"), s.get("public", False)) for name, s in subnets.items()]
    group_objs = [group(gid, g.get("ingress", []), g.get("egress"), ipv6=ipv6_cidr is not None)
                  for gid, g in groups.items()]
    acl_objs = []
    for nid, n in (nacls or {}).items():
        acl = NetworkAcl.custom(nid)
        for direction in Direction:
            for e in n.get(direction.value, []):
                acl = acl.with_entry(direction, entry(e))
        acl_objs.append(acl)
    host_objs = []
    for name, h in hosts.items():
        h = dict(h)
        host_objs.append(Host(
            name, ip_address(h["ip"]), h.get("subnet"), tuple(h.get("security_groups", ())),
            ip_address(h["public_ip"]) if h.get("public_ip") else None,
            ip_address(h["ipv6"]) if h.get("ipv6") else None,
            ConntrackSettings(**h.get("conntrack", {})), h.get("icmp_echo_ignore", False),
            PortRange.parse(h.get("ephemeral_ports", "32768-60999")), h.get("internet", False)))
    pls = [PrefixList.make(pid, cidrs) for pid, cidrs in (prefix_lists or {}).items()]
    return Network.build(Vpc(ip_network(vpc), ip_network(ipv6_cidr) if ipv6_cidr else None), subnet_objs, host_objs,
                         group_objs, acl_objs, pls)


ALL_OUT = [{"proto": "-1", "cidr": "0.0.0.0/0"}]
