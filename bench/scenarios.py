"""The networks and rule sets the benchmarks run against. Everything is deterministic (fixed seeds)."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from vpclab.engine.packet import Packet
from vpclab.load import Assembler, assemble
from vpclab.model import Network, SgRule

VPC_CIDR = "10.0.0.0/16"
APP_SUBNET, DB_SUBNET = "10.0.1.0/24", "10.0.2.0/24"
WEB_IP, DB_IP = "10.0.1.10", "10.0.2.20"
DB_PORT = 5432
EPHEMERAL = (32768, 60999)  # Linux's default, as in vpclab.model.network.LINUX_EPHEMERAL


# ---- benchmark 1: a realistic two-tier path --------------------------------------------------------------

_ENTRY_KEYS = ("rule", "action", "proto", "cidr", "ports", "icmp")


def _acl(ingress: list[tuple], egress: list[tuple]) -> dict[str, object]:
    """A NACL in the lab file's shape from (rule, action, proto, cidr, ports[, icmp]) tuples."""
    return {direction: [dict(zip(_ENTRY_KEYS, e)) for e in entries]
            for direction, entries in (("ingress", ingress), ("egress", egress))}


def app_nacl() -> dict[str, object]:
    """The web tier's NACL: 10 entries per direction, deny rules first, ephemeral-port allows for replies."""
    ingress = [
        (50, "deny", "tcp", "198.51.100.0/24", "0-65535"),   # a blocked range
        (60, "deny", "tcp", "0.0.0.0/0", "23"),              # no telnet
        (70, "deny", "udp", "0.0.0.0/0", "161-162"),         # no SNMP
        (100, "allow", "tcp", "0.0.0.0/0", "443"),
        (110, "allow", "tcp", "0.0.0.0/0", "80"),
        (120, "allow", "tcp", "10.0.0.0/24", "22"),           # bastion subnet
        (130, "allow", "tcp", DB_SUBNET, "32768-60999"),     # replies from the database tier
        (140, "allow", "tcp", "0.0.0.0/0", "1024-65535"),    # replies from the internet
        (150, "allow", "udp", VPC_CIDR, "32768-60999"),      # DNS replies
        (160, "allow", "icmp", VPC_CIDR, None, {"type": 0}),
    ]
    egress = [
        (50, "deny", "tcp", "198.51.100.0/24", "0-65535"),
        (60, "deny", "tcp", "0.0.0.0/0", "25"),              # no SMTP out
        (100, "allow", "tcp", DB_SUBNET, str(DB_PORT)),
        (110, "allow", "tcp", "0.0.0.0/0", "443"),
        (120, "allow", "tcp", "0.0.0.0/0", "80"),
        (130, "allow", "udp", VPC_CIDR, "53"),
        (140, "allow", "tcp", "10.0.0.0/24", "32768-60999"),  # replies to the bastion
        (150, "allow", "tcp", "0.0.0.0/0", "1024-65535"),     # replies to clients
        (160, "allow", "udp", "10.0.0.0/8", "123"),
        (170, "allow", "icmp", VPC_CIDR, None, {"type": 8}),
    ]
    return _acl(ingress, egress)


def db_nacl() -> dict[str, object]:
    """The database tier's NACL: only the app tier and the bastion get in; replies on ephemeral ports."""
    ingress = [
        (50, "deny", "tcp", "198.51.100.0/24", "0-65535"),
        (60, "deny", "tcp", "0.0.0.0/0", "23"),
        (100, "allow", "tcp", APP_SUBNET, str(DB_PORT)),
        (110, "allow", "tcp", "10.0.0.0/24", "22"),
        (120, "allow", "tcp", "10.0.0.0/24", str(DB_PORT)),
        (130, "allow", "tcp", "10.0.3.0/24", "9187"),        # metrics scraper
        (140, "allow", "tcp", "0.0.0.0/0", "32768-60999"),   # replies (package mirrors etc.)
        (150, "allow", "udp", VPC_CIDR, "32768-60999"),
        (160, "allow", "icmp", VPC_CIDR, None, {"type": 8}),
        (170, "allow", "icmp", VPC_CIDR, None, {"type": 0}),
    ]
    egress = [
        (50, "deny", "tcp", "198.51.100.0/24", "0-65535"),
        (60, "deny", "tcp", "0.0.0.0/0", "25"),
        (100, "allow", "tcp", APP_SUBNET, "32768-60999"),    # replies to the app tier
        (110, "allow", "tcp", "10.0.0.0/24", "1024-65535"),  # replies to the bastion
        (120, "allow", "tcp", "10.0.3.0/24", "1024-65535"),
        (130, "allow", "tcp", "0.0.0.0/0", "443"),
        (140, "allow", "udp", VPC_CIDR, "53"),
        (150, "allow", "udp", "10.0.0.0/8", "123"),
        (160, "allow", "icmp", VPC_CIDR, None, {"type": 0}),
        (170, "allow", "icmp", VPC_CIDR, None, {"type": 8}),
    ]
    return _acl(ingress, egress)


def two_tier_network() -> Network:
    """web (10.0.1.10, subnet app) → db (10.0.2.20:5432, subnet db), each subnet with its own custom NACL.

    The SG rules use VPC-internal peers (or a group reference) so both ENIs track every flow: no flow
    here qualifies for AWS's untracked-flow exception.
    """
    return assemble({
        "vpc": {"cidr": VPC_CIDR},
        "subnets": {"app": {"cidr": APP_SUBNET, "nacl": "acl-app"}, "db": {"cidr": DB_SUBNET, "nacl": "acl-db"}},
        "nacls": {"acl-app": app_nacl(), "acl-db": db_nacl()},
        "security_groups": {
            "sg-web": {
                "ingress": [{"proto": "tcp", "ports": 443, "cidr": VPC_CIDR},
                            {"proto": "tcp", "ports": 80, "cidr": VPC_CIDR},
                            {"proto": "tcp", "ports": 22, "cidr": "10.0.0.0/24"}],
                "egress": [{"proto": "tcp", "ports": DB_PORT, "sg": "sg-db"},
                           {"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"},
                           {"proto": "udp", "ports": 53, "cidr": "10.0.0.2/32"},
                           {"proto": "udp", "ports": 123, "cidr": "169.254.169.123/32"}]},
            "sg-db": {
                "ingress": [{"proto": "tcp", "ports": DB_PORT, "sg": "sg-web"},
                            {"proto": "tcp", "ports": 22, "cidr": "10.0.0.0/24"},
                            {"proto": "tcp", "ports": DB_PORT, "cidr": "10.0.0.0/24"},
                            {"proto": "tcp", "ports": 9187, "cidr": "10.0.3.0/24"}],
                "egress": [{"proto": "tcp", "ports": 443, "cidr": "0.0.0.0/0"},
                           {"proto": "udp", "ports": 53, "cidr": "10.0.0.2/32"}]},
        },
        "hosts": {"web": {"subnet": "app", "ip": WEB_IP, "security_groups": ["sg-web"]},
                  "db": {"subnet": "db", "ip": DB_IP, "security_groups": ["sg-db"]}},
    })


# ---- benchmark 2: large random security groups -------------------------------------------------------------

#: Where random rule CIDRs are drawn from: VPC-internal space, RFC 1918 neighbours, and public blocks.
_BASES = [("10.0.0.0", 16), ("10.0.0.0", 8), ("172.16.0.0", 12), ("192.168.0.0", 16),
          ("100.64.0.0", 10), ("0.0.0.0", 0)]
#: Prefix lengths, weighted towards the /16-/32 range real groups use; never /0 (that would make flows
#: eligible for AWS's untracked-flow exception and change what is measured).
_PREFIXES = [8, 12, 16, 16, 20, 22, 24, 24, 24, 26, 28, 28, 30, 32, 32, 32]
_COMMON_PORTS = [22, 25, 53, 80, 123, 389, 443, 636, 1433, 3306, 3389, 5432, 5672, 6379, 8080, 8443, 9090,
                 9200, 11211, 27017]


@dataclass(frozen=True)
class RuleSet:
    """`count` random ingress rules, as data and as model rules, and those covering the app subnet."""

    specs: tuple[dict[str, object], ...]  # the rules in the lab file's shape, for assembling the group
    rules: tuple[SgRule, ...]
    covering: tuple[SgRule, ...]  # TCP rules whose CIDR covers the app subnet (for engine SYNs that pass)


def random_cidr(rng: random.Random) -> str:
    base, base_len = rng.choice(_BASES)
    prefix = rng.choice([p for p in _PREFIXES if p >= max(base_len, 8)])
    start = int(ipaddress.IPv4Address(base))
    size = 1 << (32 - base_len)
    address = start + rng.randrange(size)
    return str(ipaddress.IPv4Network((address, prefix), strict=False))


def random_ports(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        return str(rng.choice(_COMMON_PORTS))
    if kind < 0.75:
        return str(rng.randrange(1, 65536))
    if kind < 0.95:
        first = rng.randrange(1, 65000)
        return f"{first}-{min(65535, first + rng.choice([1, 9, 99, 999]))}"
    first = rng.randrange(1024, 40000)
    return f"{first}-{min(65535, first + rng.randrange(1000, 25000))}"


def random_rules(count: int, seed: int = 1) -> RuleSet:
    """`count` distinct tcp/udp rules with varied CIDRs and port ranges, reproducible from `seed`.

    One rule in 20 is a TCP rule from a block containing the app subnet (10.0.1.0/24), so engine SYNs
    from web can be made to match a real rule of the set.
    """
    rng = random.Random(f"vpclab-bench-{seed}-{count}")
    assembler = Assembler()
    seen: set[SgRule] = set()
    specs: list[dict[str, object]] = []
    rules: list[SgRule] = []
    covering: list[SgRule] = []
    while len(rules) < count:
        covers = len(rules) % 20 == 7
        if covers:
            prefix = rng.choice([8, 16, 17, 20, 22, 23, 24])
            cidr = str(ipaddress.IPv4Network((WEB_IP, prefix), strict=False))
            spec: dict[str, object] = {"proto": "tcp", "ports": random_ports(rng), "cidr": cidr}
        else:
            spec = {"proto": rng.choice(["tcp", "tcp", "udp"]), "ports": random_ports(rng), "cidr": random_cidr(rng)}
        rule = assembler.result(assembler.sg_rule((), spec))
        if rule in seen:
            continue
        seen.add(rule)
        specs.append(spec)
        rules.append(rule)
        if covers:
            covering.append(rule)
    return RuleSet(tuple(specs), tuple(rules), tuple(covering))


def big_group_network(rule_set: RuleSet) -> Network:
    """web (10.0.1.10) → target (10.0.2.20) whose one security group holds the random rules as ingress.

    Both subnets keep the default NACL (allow all), so the measured difference between sizes is the
    security group alone; web's egress allows all TCP/UDP to the VPC (tracked: not a 0.0.0.0/0 rule).
    """
    return assemble({
        "vpc": {"cidr": VPC_CIDR},
        "subnets": {"app": {"cidr": APP_SUBNET}, "db": {"cidr": DB_SUBNET}},
        "security_groups": {
            "sg-client": {"egress": [{"proto": "tcp", "ports": "0-65535", "cidr": VPC_CIDR},
                                     {"proto": "udp", "ports": "0-65535", "cidr": VPC_CIDR}]},
            "sg-big": {"ingress": list(rule_set.specs), "egress": []},
        },
        "hosts": {"web": {"subnet": "app", "ip": WEB_IP, "security_groups": ["sg-client"]},
                  "target": {"subnet": "db", "ip": DB_IP, "security_groups": ["sg-big"]}},
    })


def random_lookups(rule_set: RuleSet, count: int, seed: int = 2) -> list[tuple[int, int, int, int]]:
    """`count` (version, proto, peer address, port) lookups: half aimed inside a random rule's CIDR and
    port range (likely hits), half uniform over the address space and ports (mostly misses)."""
    rng = random.Random(f"vpclab-lookups-{seed}-{len(rule_set.rules)}")
    rules = rule_set.rules
    out = []
    for i in range(count):
        if i % 2 == 0:
            rule = rng.choice(rules)
            net = rule.peer.cidr
            addr = int(net.network_address) + rng.randrange(net.num_addresses)
            port = rng.randint(rule.ports.first, rule.ports.last)
            proto = rule.protocol if rng.random() < 0.9 else rng.choice([6, 17])
        else:
            addr = rng.randrange(1 << 32)
            port = rng.randrange(65536)
            proto = rng.choice([6, 17])
        out.append((4, proto, addr, port))
    return out


def fresh_syns(rule_set: RuleSet, count: int, round_: int) -> list[Packet]:
    """`count` SYNs web → target, each a new flow; the destination port lies in a covering rule's range,
    so every SYN is admitted by some rule of the big group (as a legitimate new connection would be)."""
    rng = random.Random(f"vpclab-syns-{len(rule_set.rules)}-{round_}")
    web, db = int(ipaddress.IPv4Address(WEB_IP)), int(ipaddress.IPv4Address(DB_IP))
    out = []
    span = EPHEMERAL[1] - EPHEMERAL[0] + 1
    assert count <= span, "one source port per SYN keeps every flow new"
    for i in range(count):
        rule = rng.choice(rule_set.covering)
        dport = rng.randint(rule.ports.first, rule.ports.last)
        sport = EPHEMERAL[0] + (i % span)
        out.append(Packet(web, db, 6, sport, dport, 0x02))
    return out
