"""Pure renderers: the engine's compiled facts → nftables JSON for each namespace. No I/O, and no semantics:
which flows are untracked, what a group reference or prefix list covers, which subnets reach the internet
gateway and how it translates all come from the engine (`Engine.sg_policy`, `Engine.untracked`,
`Engine.nacl_policy`, `Router.gateway_facts`); this module only formats them.

ENI namespace (`inet vpc_sg`): `ct state established accept`, then packets from the host go to `sg_out` and
packets to it to `sg_in`, where every new, invalid or untracked packet is judged by the allow rules; policy drop
(which also drops spoofed sources, like EC2's source/destination check). Untracked flows get `notrack` in a
raw-priority prerouting chain (docs/assumptions.md U1-U2).

Router namespace (`ip vpc_router`): the subnets' NACLs as a stateless forward chain, the route table's limits
(private subnets, hosts without a public IP), and the internet gateway's stateless 1:1 translation.
Rule comments cite the model's rule and where it was written (`sg-b ingress rule 1 @ lab.yaml:14`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from vpclab.engine import Engine, RuleRef
from vpclab.engine.matcher import Span
from vpclab.engine.nacl import NaclPolicy
from vpclab.kernel.plan import INTERNET_WILDCARD, Plan
from vpclab.model.addresses import IPNetwork
from vpclab.model.protocols import ALL, ICMP, ICMPV6, TCP, UDP, protocol_name
from vpclab.model.rules import Action, Direction, NaclEntry, SgRule

Json = dict[str, Any]
SG_TABLE = "vpc_sg"
ROUTER_TABLE = "vpc_router"
ROUTER6_TABLE = "vpc_router6"


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


def _port_set(spans: tuple[Span, ...]) -> Any:
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

def _label(ref: RuleRef) -> str:
    """`sg-b ingress rule 1 @ lab.yaml:14`: the rule the nftables rule renders, and where it was written."""
    where = f" @ {ref.source}" if ref.source else ""
    return f"{ref.owner} {ref.ref}{where}"


#: the IP header's name in nftables per address family
IP_HEADER = {4: "ip", 6: "ip6"}
#: neighbour discovery and multicast listener messages: AWS's network answers them, no security group sees them
ICMPV6_LINK = [130, 131, 132, 133, 134, 135, 136, 137, 143]


def _sg_rule_exprs(rule: SgRule, blocks: tuple[IPNetwork, ...], direction: Direction) -> list[list[Json]]:
    """One SG rule as match expressions, one list per address family its peers have (none for an empty group)."""
    field = "saddr" if direction is Direction.INGRESS else "daddr"
    result = []
    for version in (4, 6):
        networks = [n for n in blocks if n.version == version]
        if networks and rule.protocol != (ICMPV6 if version == 4 else ICMP):  # ICMP of the other family: never
            result.append([_match(_payload(IP_HEADER[version], field), _addr_set(networks))]
                          + _l4(rule.protocol, (rule.ports.first, rule.ports.last), (rule.icmp.type, rule.icmp.code)))
    return result


def _own(addresses: list[str]) -> Any:
    return addresses[0] if len(addresses) == 1 else {"set": addresses}


def _notrack_rules(engine: Engine, host: str, own: dict[int, list[str]]) -> list[list[Json]]:
    """The engine's untracked-flow matches for this ENI, as notrack matches on its traffic (each family)."""
    result = []
    for match in engine.untracked(host):
        if not own.get(match.version):
            continue
        own_field = "daddr" if match.direction is Direction.INGRESS else "saddr"
        port_field = "dport" if match.role == "first" else "sport"
        exprs = [_match(_payload(IP_HEADER[match.version], own_field), _own(own[match.version])),
                 _match(_payload(protocol_name(match.proto), port_field), _port_set(match.ports))]
        if match.role == "response" and match.proto == TCP:  # a pure SYN opens a flow: it is never a response
            exprs.append(_match({"&": [_payload("tcp", "flags"), ["syn", "ack"]]}, "syn", "!="))
        result.append(exprs)
    return result


def sg_ruleset(engine: Engine, host: str) -> Json:
    """The nftables JSON for one ENI namespace: create if missing, then replace the rules atomically."""
    family, table = "inet", SG_TABLE
    model = engine.network.hosts[host]
    if not model.security_groups:  # an ENI AWS gives no group: no SG gate and no tracking (engine.update)
        return {"nftables": [{"add": {"table": {"family": family, "name": table}}},
                             _chain(family, table, "eni", "forward", 0, "accept"), _flush(family, table, "eni")]}
    own = {v: [str(a) for a in model.private_addresses if a.version == v] for v in (4, 6)}
    max_entries = model.conntrack.max_entries
    commands: list[Json] = [
        {"add": {"table": {"family": family, "name": table}}},
        _chain(family, table, "raw_pre", "prerouting", -300),
        _chain(family, table, "eni", "forward", 0, "drop"),
        _chain(family, table, "sg_in"),
        _chain(family, table, "sg_out"),
    ]
    for chain in ("raw_pre", "eni", "sg_in", "sg_out"):
        commands.append(_flush(family, table, chain))
    for exprs in _notrack_rules(engine, host, own):
        commands.append(_rule(family, table, "raw_pre", exprs + [{"notrack": None}], "untracked flow"))
    if own[6]:
        commands.append(_rule(family, table, "eni", [_match(_payload("icmpv6", "type"), {"set": ICMPV6_LINK}),
                                                     {"accept": None}], "neighbour discovery is not filtered"))
    commands.append(_rule(family, table, "eni", [_match({"ct": {"key": "state"}}, "established", "in"),
                                                 {"accept": None}], "tracked connection"))
    if max_entries is not None:
        commands.append(_rule(family, table, "eni", [_match({"ct": {"key": "state"}}, "new", "in"),
                                                     {"ct count": {"val": max_entries, "inv": True}},
                                                     {"counter": None}, {"drop": None}], "conntrack table full"))
    for version, addresses in own.items():
        if addresses:
            header = IP_HEADER[version]
            commands.append(_rule(family, table, "eni", [_match(_payload(header, "saddr"), _own(addresses)),
                                                         {"jump": {"target": "sg_out"}}]))
            commands.append(_rule(family, table, "eni", [_match(_payload(header, "daddr"), _own(addresses)),
                                                         {"jump": {"target": "sg_in"}}]))
    for direction, chain in ((Direction.INGRESS, "sg_in"), (Direction.EGRESS, "sg_out")):
        policy = engine.sg_policy(host, direction)
        for ref, blocks in zip(policy.rules, policy.peers):
            assert isinstance(ref.rule, SgRule)
            for exprs in _sg_rule_exprs(ref.rule, blocks, direction):
                commands.append(_rule(family, table, chain, exprs + [{"counter": None}, {"accept": None}],
                                      _label(ref)))
    return {"nftables": commands}


# ---- network ACLs, routes and the internet gateway (router namespace) --------------------------------------------

def _nacl_entry_exprs(entry: NaclEntry, direction: Direction, version: int) -> list[Json] | None:
    if entry.cidr.version != version:
        return None
    field = "saddr" if direction is Direction.INGRESS else "daddr"
    exprs = [_match(_payload(IP_HEADER[version], field), _addr(entry.cidr))]
    return exprs + _l4(entry.protocol, (entry.ports.first, entry.ports.last), (entry.icmp.type, entry.icmp.code))


def _nacl_chain(policy: NaclPolicy, chain: str, version: int = 4) -> list[Json]:
    """A NACL direction as a chain of one family's entries in number order (allow returns, deny drops), then the
    `*` drop (IPv4 and IPv6 entries are independent, aws-semantics.md §3)."""
    family, table = ("ip", ROUTER_TABLE) if version == 4 else ("ip6", ROUTER6_TABLE)
    rules = []
    for ref in policy.refs:
        entry = ref.rule
        assert isinstance(entry, NaclEntry)
        exprs = _nacl_entry_exprs(entry, policy.direction, version)
        if exprs is None:
            continue
        verdict = {"return": None} if entry.action is Action.ALLOW else {"drop": None}
        rules.append(_rule(family, table, chain, exprs + [{"counter": None}, verdict], _nacl_label(ref)))
    rules.append(_rule(family, table, chain, [{"counter": None}, {"drop": None}], _nacl_label(policy.star)))
    return rules


def _nacl_label(ref: RuleRef) -> str:
    """`rule 100 @ lab.yaml:12` or `rule * @ lab.yaml:8` (the NACL's own line)."""
    return f"rule {ref.ref}" + (f" @ {ref.source}" if ref.source else "")


def router_ruleset(engine: Engine, plan: Plan) -> Json:
    """The router's nftables JSON: route limits and NACLs in `forward`, the IGW's translation around it, and a
    drop for every pair of built endpoints the engine's route tables give no path (blackholes, missing routes,
    inactive peerings…), matched before any translation."""
    family, table = "ip", ROUTER_TABLE
    facts = engine.router.gateway_facts()
    subnets = list(plan.bridges)
    built = set(plan.hosts) | set(plan.nats)
    internet = _match(_meta("iifname"), INTERNET_WILDCARD)
    to_internet = _match(_meta("oifname"), INTERNET_WILDCARD)
    chains = ["pre", "post", "forward"] + [f"{c}_{i}" for i in range(len(subnets)) for c in ("in", "out")]
    commands: list[Json] = [
        {"add": {"table": {"family": family, "name": table}}},
        _chain(family, table, "pre", "prerouting", -300),
        _chain(family, table, "post", "postrouting", 300),
        _chain(family, table, "forward", "forward", 0),
    ]
    commands += [_chain(family, table, c) for c in chains[3:]]
    commands += [_flush(family, table, c) for c in chains]
    for link, src, dst, label in route_drops(engine, plan):
        commands.append(_rule(family, table, "pre", [_match(_meta("iifname"), link),
                                                     _match(_payload("ip", "saddr"), src),
                                                     _match(_payload("ip", "daddr"), dst), {"drop": None}], label))
    # internet gateway: private addresses are unreachable from outside; public ones translate 1:1, statelessly
    if facts.vpc_cidrs:
        commands.append(_rule(family, table, "pre", [internet, _match(_payload("ip", "daddr"),
                                                                      _addr_set(list(facts.vpc_cidrs))),
                                                     {"drop": None}], "no route to private addresses"))
    for name, private, public in facts.translations:
        if name not in built:
            continue
        commands.append(_rule(family, table, "pre", [internet, _match(_payload("ip", "daddr"), str(public)),
                                                     {"mangle": {"key": _payload("ip", "daddr"),
                                                                 "value": str(private)}}], f"igw to {name}"))
        commands.append(_rule(family, table, "post", [to_internet, _match(_payload("ip", "saddr"), str(private)),
                                                      {"mangle": {"key": _payload("ip", "saddr"),
                                                                  "value": str(public)}}], f"igw from {name}"))
    # route tables: private subnets have no route to the IGW; hosts without a public IP cannot use it
    commands += _private_subnets(family, table, plan, facts.private_subnets, "is private")
    for name, private in facts.untranslatable:
        if name in plan.enis:
            commands.append(_rule(family, table, "forward", [to_internet, _match(_payload("ip", "saddr"),
                                                                                 str(private)),
                                                             {"drop": None}], f"{name} has no public IP"))
    commands += _nacls(engine, plan, 4)
    return {"nftables": commands}


def _private_subnets(family: str, table: str, plan: Plan, names: tuple[str, ...], why: str) -> list[Json]:
    """Built subnets with no route of this family to an internet gateway: nothing from them reaches an internet
    link, nothing from one reaches them (aws-routing-terraform.md §2)."""
    internet = _match(_meta("iifname"), INTERNET_WILDCARD)
    to_internet = _match(_meta("oifname"), INTERNET_WILDCARD)
    rules = []
    for name in (n for n in names if n in plan.bridges):
        bridge = plan.bridges[name]
        rules.append(_rule(family, table, "forward", [_match(_meta("iifname"), bridge), to_internet, {"drop": None}],
                           f"subnet {name} {why}"))
        rules.append(_rule(family, table, "forward", [internet, _match(_meta("oifname"), bridge), {"drop": None}],
                           f"subnet {name} {why}"))
    return rules


def _nacls(engine: Engine, plan: Plan, version: int) -> list[Json]:
    """The NACLs' entries of one family: leaving a subnet, then entering one (never within a subnet: bridged, not
    routed), each direction a chain ending in its `*` drop."""
    family, table = ("ip", ROUTER_TABLE) if version == 4 else ("ip6", ROUTER6_TABLE)
    subnets = list(plan.bridges)
    rules = []
    for i, name in enumerate(subnets):
        rules.append(_rule(family, table, "forward", [_match(_meta("iifname"), plan.bridges[name]),
                                                      {"jump": {"target": f"out_{i}"}}], f"subnet {name} egress"))
    for i, name in enumerate(subnets):
        rules.append(_rule(family, table, "forward", [_match(_meta("oifname"), plan.bridges[name]),
                                                      {"jump": {"target": f"in_{i}"}}], f"subnet {name} ingress"))
    for i, name in enumerate(subnets):
        rules += _nacl_chain(engine.nacl_policy(name, Direction.EGRESS), f"out_{i}", version)
        rules += _nacl_chain(engine.nacl_policy(name, Direction.INGRESS), f"in_{i}", version)
    return rules


def route_drops(engine: Engine, plan: Plan, version: int = 4) -> list[tuple[str, str, str, str]]:
    """(link, source, destination, label) for every pair of built endpoints whose route the engine drops: each
    VPC host's addresses of one family (from its subnet's bridge) and each internet host (from its link) to every
    address a built host or NAT gateway answers at. The label names the code and the route that decided it."""
    network = engine.network
    targets: list[str] = []
    for name in plan.hosts:
        host = network.hosts[name]
        targets += [str(a) for a in host.addresses if a.version == version]
    for nat_id in plan.nats:
        nat = network.nat_gateways[nat_id]
        targets += [str(a) for a in (nat.private_ip, nat.public_ip) if a is not None and a.version == version]
    drops = []
    for name in plan.hosts:
        host = network.hosts[name]
        link = plan.internet_links[name] if host.internet else plan.bridges[host.subnet or ""]
        own = {str(a) for a in host.addresses}
        sources = host.private_addresses if not host.internet else (host.ip, host.ipv6)
        for src in (a for a in sources if a is not None and a.version == version):
            for dst in targets:
                if dst in own:
                    continue
                route = engine.router.route(int(src), int(ipaddress.ip_address(dst)), version == 6)
                where = f" @ {route.origin}" if route.origin else ""
                if route.drop_code is not None:
                    drops.append((link, str(src), dst, f"route: {route.drop_code}{where}"))
                elif route.delivered_to is None and route.nat is None and route.service is None:
                    # the engine's path leaves the snapshot (an appliance, a VPN): nothing built may receive it
                    drops.append((link, str(src), dst, f"route: leaves through {route.via}{where}"))
    return drops


def router6_ruleset(engine: Engine, plan: Plan) -> Json:
    """The router's IPv6 table: no translation (IPv6 addresses are public, aws-routing-terraform.md §2); subnets
    without a `::/0` route to an internet gateway neither reach nor are reached from the internet; the route drops
    between built endpoints; the NACLs' IPv6 entries, leaving a subnet and entering one."""
    family, table = "ip6", ROUTER6_TABLE
    facts = engine.router.gateway_facts()
    chains = ["forward"] + [f"{c}_{i}" for i in range(len(plan.bridges)) for c in ("in", "out")]
    commands: list[Json] = [{"add": {"table": {"family": family, "name": table}}},
                            _chain(family, table, "forward", "forward", 0)]
    commands += [_chain(family, table, c) for c in chains[1:]]
    commands += [_flush(family, table, c) for c in chains]
    for link, src, dst, label in route_drops(engine, plan, 6):
        commands.append(_rule(family, table, "forward", [_match(_meta("iifname"), link),
                                                         _match(_payload("ip6", "saddr"), src),
                                                         _match(_payload("ip6", "daddr"), dst), {"drop": None}], label))
    commands += _private_subnets(family, table, plan, facts.private_subnets_v6, "has no ::/0 to an IGW")
    commands += _nacls(engine, plan, 6)
    return {"nftables": commands}


def nat_ruleset(nat_ip: str) -> Json:
    """A NAT gateway's namespace (aws-routing-terraform.md §3): forwards new TCP, UDP and ICMP flows from the VPC
    and source-NATs them to its own address, lets back only what belongs to a flow it translated (conntrack), and
    accepts nothing addressed to itself — so the internet cannot start a connection through it."""
    family, table = "ip", "nat_gw"
    commands: list[Json] = [
        {"add": {"table": {"family": family, "name": table}}},
        {"add": {"chain": {"family": family, "table": table, "name": "post", "type": "nat", "hook": "postrouting",
                           "prio": 100, "policy": "accept"}}},
        _chain(family, table, "fwd", "forward", 0, "drop"),
        _chain(family, table, "in", "input", 0, "drop"),
    ]
    commands += [_flush(family, table, c) for c in ("post", "fwd", "in")]
    established = _match({"ct": {"key": "state"}}, ["established", "related"], "in")
    commands.append(_rule(family, table, "fwd", [established, {"accept": None}], "a translated flow"))
    commands.append(_rule(family, table, "fwd", [_match({"ct": {"key": "state"}}, "new", "in"),
                                                 _match(_payload("ip", "saddr"), nat_ip, "!="),
                                                 _match(_meta("l4proto"), {"set": [TCP, UDP, ICMP]}),
                                                 {"accept": None}], "a new flow from the VPC: TCP, UDP, ICMP only"))
    commands.append(_rule(family, table, "in", [established, {"accept": None}], "replies to the gateway itself"))
    commands.append(_rule(family, table, "post", [_match(_meta("iifname"), "eth0"),
                                                  _match(_payload("ip", "saddr"), nat_ip, "!="),
                                                  {"snat": {"addr": nat_ip}}], "source NAT to the gateway"))
    return {"nftables": commands}
