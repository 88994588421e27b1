"""Pure renderers: the model → nftables JSON for each namespace. No I/O here.

ENI namespace (`inet vpc_sg`): `ct state established accept`, then packets from the host go to `sg_out` and
packets to it to `sg_in`, where every new, invalid or untracked packet is judged by the allow rules; policy drop
(which also drops spoofed sources, like EC2's source/destination check). Untracked flows get `notrack` in a
raw-priority prerouting chain, by the same rule the engine applies (docs/assumptions.md U1-U2).

Router namespace (`ip vpc_router`): the subnets' NACLs as a stateless forward chain, the route table's limits
(private subnets, hosts without a public IP), and the internet gateway's stateless 1:1 translation.
"""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

from vpclab.kernel.plan import INTERNET_WILDCARD, Plan
from vpclab.model.addresses import IPNetwork
from vpclab.model.network import Host, Network
from vpclab.model.policy import NetworkAcl
from vpclab.model.protocols import ALL, ICMP, ICMPV6, TCP, UDP, protocol_name
from vpclab.model.rules import Action, CidrPeer, Direction, GroupPeer, NaclEntry, PrefixListPeer, SgRule

Json = dict[str, Any]
SG_TABLE = "vpc_sg"
ROUTER_TABLE = "vpc_router"


# ---- expression helpers -----------------------------------------------------------------------------------

def _match(left: Json, right: Any, op: str = "==") -> Json:
    return {"match": {"op": op, "left": left, "right": right}}


def _payload(protocol: str, field: str) -> Json:
    return {"payload": {"protocol": protocol, "field": field}}


def _meta(key: str) -> Json:
    return {"meta": {"key": key}}


def _addr(network: IPNetwork) -> Any:
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return {"prefix": {"addr": str(network.network_address), "len": network.prefixlen}}


def _addr_set(networks: list[IPNetwork]) -> Any:
    return _addr(networks[0]) if len(networks) == 1 else {"set": [_addr(n) for n in networks]}


def _range(first: int, last: int) -> Any:
    return first if first == last else {"range": [first, last]}


def _port_set(spans: list[tuple[int, int]]) -> Any:
    return _range(*spans[0]) if len(spans) == 1 else {"set": [_range(a, b) for a, b in spans]}


def _l4(protocol: int, ports: tuple[int, int] | None, icmp: tuple[int, int] | None,
        port_field: str = "dport") -> list[Json]:
    """Match a protocol and, for TCP/UDP, a destination (or source) port range; for ICMP, type and code."""
    if protocol == ALL:
        return []
    if protocol in (TCP, UDP):
        name = protocol_name(protocol)
        if ports is None or ports == (0, 65535):
            return [_match(_meta("l4proto"), protocol)]
        return [_match(_payload(name, port_field), _range(*ports))]
    exprs = [_match(_meta("l4proto"), protocol)]
    if protocol in (ICMP, ICMPV6) and icmp is not None:
        name = "icmp" if protocol == ICMP else "icmpv6"
        icmp_type, code = icmp
        if icmp_type != ALL:
            exprs.append(_match(_payload(name, "type"), icmp_type))
            if code != ALL:
                exprs.append(_match(_payload(name, "code"), code))
    return exprs


def _rule(family: str, table: str, chain: str, exprs: list[Json], comment: str | None = None) -> Json:
    rule: Json = {"family": family, "table": table, "chain": chain, "expr": exprs}
    if comment:
        rule["comment"] = comment[:128]
    return {"add": {"rule": rule}}


def _chain(family: str, table: str, name: str, hook: str | None = None, prio: int = 0,
           policy: str = "accept") -> Json:
    chain: Json = {"family": family, "table": table, "name": name}
    if hook:
        chain.update(type="filter", hook=hook, prio=prio, policy=policy)
    return {"add": {"chain": chain}}


def _flush(family: str, table: str, name: str) -> Json:
    return {"flush": {"chain": {"family": family, "table": table, "name": name}}}


# ---- security groups (ENI namespace) -------------------------------------------------------------------------

def _peer_networks(network: Network, rule: SgRule) -> list[IPNetwork]:
    peer = rule.peer
    if isinstance(peer, CidrPeer):
        return [peer.cidr]
    if isinstance(peer, PrefixListPeer):
        return list(network.prefix_lists[peer.prefix_list].cidrs)
    assert isinstance(peer, GroupPeer)
    return [ip_network(a) for a in network.group_members(peer.group)]


def _rules(network: Network, host: Host, direction: Direction) -> list[tuple[str, SgRule]]:
    return [(f"{gid} {direction} rule {n}", rule)
            for gid in host.security_groups
            for n, rule in enumerate(network.security_groups[gid].rules(direction), start=1)]


def _sg_rule_exprs(network: Network, rule: SgRule, direction: Direction) -> list[Json] | None:
    """One SG rule as match expressions on IPv4 (None when it can match nothing here, e.g. an empty group)."""
    networks = [n for n in _peer_networks(network, rule) if n.version == 4]
    if not networks:
        return None
    field = "saddr" if direction is Direction.INGRESS else "daddr"
    exprs = [_match(_payload("ip", field), _addr_set(networks))]
    ports = (rule.ports.first, rule.ports.last)
    return exprs + _l4(rule.protocol, ports, (rule.icmp.type, rule.icmp.code))


def _world_ports(network: Network, host: Host, direction: Direction, protocol: int) -> list[tuple[int, int]]:
    """Port spans of `direction` rules with peer 0.0.0.0/0 admitting `protocol` (all ports for -1)."""
    spans = []
    for _, rule in _rules(network, host, direction):
        if isinstance(rule.peer, CidrPeer) and rule.peer.is_world and rule.peer.cidr.version == 4:
            if rule.protocol == ALL:
                spans.append((0, 65535))
            elif rule.protocol == protocol:
                spans.append((rule.ports.first, rule.ports.last))
    return spans


def _notrack_rules(network: Network, host: Host) -> list[list[Json]]:
    """AWS's untracked flows (docs/assumptions.md U1-U2), as notrack matches on the ENI's traffic."""
    ip = str(host.ip)
    result = []
    for protocol in (TCP, UDP):
        name = protocol_name(protocol)
        world = {d: _world_ports(network, host, d, protocol) for d in Direction}
        all_ports = {d: (0, 65535) in world[d] for d in Direction}
        for direction in Direction:
            own_field = "daddr" if direction is Direction.INGRESS else "saddr"
            other = direction.opposite
            if world[direction] and all_ports[other]:  # the flow's first packet and its direction's followers
                result.append([_match(_payload("ip", own_field), ip),
                               _match(_payload(name, "dport"), _port_set(world[direction]))])
            if all_ports[direction] and world[other]:  # responses of flows opened the other way
                response = [_match(_payload("ip", own_field), ip),
                            _match(_payload(name, "sport"), _port_set(world[other]))]
                if protocol == TCP:  # a pure SYN opens a flow: it is never a response
                    response.append(_match({"&": [_payload("tcp", "flags"), ["syn", "ack"]]}, "syn", "!="))
                result.append(response)
    return result


def sg_ruleset(network: Network, host: Host, max_entries: int | None = None) -> Json:
    """The nftables JSON for one ENI namespace: create if missing, then replace the rules atomically."""
    family, table = "inet", SG_TABLE
    ip = str(host.ip)
    commands: list[Json] = [
        {"add": {"table": {"family": family, "name": table}}},
        _chain(family, table, "raw_pre", "prerouting", -300),
        _chain(family, table, "eni", "forward", 0, "drop"),
        _chain(family, table, "sg_in"),
        _chain(family, table, "sg_out"),
    ]
    for chain in ("raw_pre", "eni", "sg_in", "sg_out"):
        commands.append(_flush(family, table, chain))
    for exprs in _notrack_rules(network, host):
        commands.append(_rule(family, table, "raw_pre", exprs + [{"notrack": None}], "untracked flow"))
    commands.append(_rule(family, table, "eni", [_match({"ct": {"key": "state"}}, "established", "in"),
                                                 {"accept": None}], "tracked connection"))
    if max_entries is not None:
        commands.append(_rule(family, table, "eni", [_match({"ct": {"key": "state"}}, "new", "in"),
                                                     {"ct count": {"val": max_entries, "inv": True}},
                                                     {"counter": None}, {"drop": None}], "conntrack table full"))
    commands.append(_rule(family, table, "eni", [_match(_payload("ip", "saddr"), ip), {"jump": {"target": "sg_out"}}]))
    commands.append(_rule(family, table, "eni", [_match(_payload("ip", "daddr"), ip), {"jump": {"target": "sg_in"}}]))
    for direction, chain in ((Direction.INGRESS, "sg_in"), (Direction.EGRESS, "sg_out")):
        for label, rule in _rules(network, host, direction):
            exprs = _sg_rule_exprs(network, rule, direction)
            if exprs is not None:
                commands.append(_rule(family, table, chain, exprs + [{"counter": None}, {"accept": None}], label))
    return {"nftables": commands}


# ---- network ACLs, routes and the internet gateway (router namespace) --------------------------------------------

def _nacl_entry_exprs(entry: NaclEntry, direction: Direction) -> list[Json] | None:
    if entry.cidr.version != 4:
        return None
    field = "saddr" if direction is Direction.INGRESS else "daddr"
    exprs = [_match(_payload("ip", field), _addr(entry.cidr))]
    return exprs + _l4(entry.protocol, (entry.ports.first, entry.ports.last), (entry.icmp.type, entry.icmp.code))


def _nacl_chain(acl: NetworkAcl, direction: Direction, chain: str) -> list[Json]:
    rules = []
    for entry in acl.entries(direction):
        exprs = _nacl_entry_exprs(entry, direction)
        if exprs is None:
            continue
        verdict = {"return": None} if entry.action is Action.ALLOW else {"drop": None}
        rules.append(_rule("ip", ROUTER_TABLE, chain, exprs + [{"counter": None}, verdict], f"rule {entry.number}"))
    rules.append(_rule("ip", ROUTER_TABLE, chain, [{"counter": None}, {"drop": None}], "rule *"))
    return rules


def router_ruleset(network: Network, plan: Plan) -> Json:
    """The router's nftables JSON: route limits and NACLs in `forward`, the IGW's translation around it."""
    family, table = "ip", ROUTER_TABLE
    internet = _match(_meta("iifname"), INTERNET_WILDCARD)
    to_internet = _match(_meta("oifname"), INTERNET_WILDCARD)
    chains = ["pre", "post", "forward"] + [f"{c}_{i}" for i in range(len(plan.bridges)) for c in ("in", "out")]
    commands: list[Json] = [
        {"add": {"table": {"family": family, "name": table}}},
        _chain(family, table, "pre", "prerouting", -300),
        _chain(family, table, "post", "postrouting", 300),
        _chain(family, table, "forward", "forward", 0),
    ]
    commands += [_chain(family, table, c) for c in chains[3:]]
    commands += [_flush(family, table, c) for c in chains]
    # internet gateway: private addresses are unreachable from outside; public ones translate 1:1, statelessly
    commands.append(_rule(family, table, "pre", [internet, _match(_payload("ip", "daddr"), _addr(network.vpc.cidr)),
                                                 {"drop": None}], "no route to private addresses"))
    for host in network.vpc_hosts():
        if host.public_ip is None:
            continue
        commands.append(_rule(family, table, "pre", [internet, _match(_payload("ip", "daddr"), str(host.public_ip)),
                                                     {"mangle": {"key": _payload("ip", "daddr"),
                                                                 "value": str(host.ip)}}], f"igw to {host.name}"))
        commands.append(_rule(family, table, "post", [to_internet, _match(_payload("ip", "saddr"), str(host.ip)),
                                                      {"mangle": {"key": _payload("ip", "saddr"),
                                                                  "value": str(host.public_ip)}}],
                              f"igw from {host.name}"))
    # route table: private subnets have no route to the IGW; hosts without a public IP cannot use it
    for name, subnet in network.subnets.items():
        bridge = plan.bridges[name]
        if not subnet.public:
            commands.append(_rule(family, table, "forward", [_match(_meta("iifname"), bridge), to_internet,
                                                             {"drop": None}], f"subnet {name} is private"))
            commands.append(_rule(family, table, "forward", [internet, _match(_meta("oifname"), bridge),
                                                             {"drop": None}], f"subnet {name} is private"))
    for host in network.vpc_hosts():
        if host.public_ip is None:
            commands.append(_rule(family, table, "forward", [to_internet, _match(_payload("ip", "saddr"), str(host.ip)),
                                                             {"drop": None}], f"{host.name} has no public IP"))
    # network ACLs: leaving a subnet, then entering one (never within a subnet: bridged, not routed)
    for i, (name, subnet) in enumerate(network.subnets.items()):
        bridge = plan.bridges[name]
        commands.append(_rule(family, table, "forward", [_match(_meta("iifname"), bridge),
                                                         {"jump": {"target": f"out_{i}"}}], f"subnet {name} egress"))
    for i, (name, subnet) in enumerate(network.subnets.items()):
        bridge = plan.bridges[name]
        commands.append(_rule(family, table, "forward", [_match(_meta("oifname"), bridge),
                                                         {"jump": {"target": f"in_{i}"}}], f"subnet {name} ingress"))
    for i, (name, subnet) in enumerate(network.subnets.items()):
        acl = network.nacls[subnet.nacl]
        commands += _nacl_chain(acl, Direction.EGRESS, f"out_{i}")
        commands += _nacl_chain(acl, Direction.INGRESS, f"in_{i}")
    return {"nftables": commands}
