"""Random small labs for the differential test: groups, NACL entries, hosts in one or two subnets, and steps
(connects, sends, udp, pings, crafted ICMP, revokes, authorizations, NACL changes), written as lab YAML so a
failing one can be saved and replayed with `vpclab lab diff FILE`."""

from __future__ import annotations

import copy

import yaml
from hypothesis import strategies as st

SUBNETS = {"a": "198.18.1.0/24", "b": "198.18.2.0/24"}
HOSTS = {"h1": ("a", "198.18.1.11"), "h2": ("a", "198.18.1.12"), "h3": ("b", "198.18.2.13")}
#: public IPs some hosts get (in subnets that may route to the IGW): steps to them go out and back (hairpin)
PUBLIC = {"h1": "198.51.100.11", "h3": "198.51.100.13"}
CIDRS = ["0.0.0.0/0", "198.18.0.0/16", "198.18.1.0/24", "198.18.2.0/24", "198.18.1.11/32", "198.18.2.13/32",
         "198.51.100.11/32", "198.51.100.0/24"]
#: a dual-stack variant: each subnet a /64 of the VPC's /56, each host an IPv6 address, rules and entries for ::/0
SUBNETS6 = {"a": "2001:db8:0:1::/64", "b": "2001:db8:0:2::/64"}
HOSTS6 = {"h1": "2001:db8:0:1::11", "h2": "2001:db8:0:1::12", "h3": "2001:db8:0:2::13"}
CIDRS6 = ["::/0", "2001:db8::/56", "2001:db8:0:1::/64", "2001:db8:0:1::11/128"]
TCP_PORTS = [22, 80]
PORT_RANGES = [22, 80, "20-90", "1-1024", "32768-60999", "1024-65535", "0-65535", 53]


@st.composite
def sg_rule(draw, ipv6: bool = False):
    if ipv6 and draw(st.integers(0, 2)) == 0:
        proto6 = draw(st.sampled_from(["tcp", "udp", "icmpv6", "-1"]))
        rule6: dict = {"proto": proto6, "cidr": draw(st.sampled_from(CIDRS6))}
        if proto6 in ("tcp", "udp"):
            rule6["ports"] = draw(st.sampled_from(PORT_RANGES))
        elif proto6 == "icmpv6":
            rule6["icmp"] = draw(st.sampled_from([{"type": -1}, {"type": 128}, {"type": 129}]))
        return rule6
    proto = draw(st.sampled_from(["tcp", "udp", "icmp", "-1"]))
    rule: dict = {"proto": proto}
    if proto in ("tcp", "udp"):
        rule["ports"] = draw(st.sampled_from(PORT_RANGES))
    elif proto == "icmp":
        rule["icmp"] = draw(st.sampled_from([{"type": -1}, {"type": 8}, {"type": 0}, {"type": 8, "code": 0}]))
    if draw(st.integers(0, 5)) == 0:
        rule["sg"] = draw(st.sampled_from([f"sg-{h}" for h in HOSTS]))
    else:
        rule["cidr"] = draw(st.sampled_from(CIDRS))
    return rule


@st.composite
def nacl_entry(draw, number, ipv6: bool = False):
    v6 = ipv6 and draw(st.booleans())
    proto = draw(st.sampled_from(["tcp", "udp", "icmpv6" if v6 else "icmp", "-1"]))
    entry: dict = {"rule": number, "action": draw(st.sampled_from(["allow", "allow", "deny"])), "proto": proto,
                   "cidr": draw(st.sampled_from(CIDRS6 if v6 else CIDRS))}
    if proto in ("tcp", "udp"):
        entry["ports"] = draw(st.sampled_from(PORT_RANGES))
    elif proto in ("icmp", "icmpv6"):
        entry["icmp"] = {"type": -1, "code": -1} if v6 else {"type": -1}
    return entry


def _unique(rules: list[dict]) -> list[dict]:
    seen, result = set(), []
    for rule in rules:
        key = yaml.safe_dump(rule, sort_keys=True)
        if key not in seen:
            seen.add(key)
            result.append(rule)
    return result


@st.composite
def random_lab(draw) -> str:
    hosts = draw(st.sampled_from([["h1", "h3"], ["h1", "h2"], ["h1", "h2", "h3"]]))
    ipv6 = draw(st.integers(0, 3)) == 0  # a quarter of the labs are dual stack
    groups = {}
    for h in hosts:
        group: dict = {"ingress": _unique(draw(st.lists(sg_rule(ipv6), max_size=4)))}
        if draw(st.booleans()):
            group["egress"] = _unique(draw(st.lists(sg_rule(ipv6), max_size=3)))
        groups[f"sg-{h}"] = group
    for h in HOSTS:  # groups referenced by rules must exist even when their host is absent
        groups.setdefault(f"sg-{h}", {"ingress": []})
    nacls, subnets = {}, {}
    for name, cidr in SUBNETS.items():
        subnets[name] = {"cidr": cidr, "public": draw(st.booleans())}
        if ipv6:
            subnets[name]["ipv6_cidr"] = SUBNETS6[name]
        if draw(st.booleans()):
            numbers = draw(st.lists(st.sampled_from([50, 100, 150, 200]), max_size=4, unique=True))
            nacls[f"n-{name}"] = {"ingress": [draw(nacl_entry(n, ipv6)) for n in numbers],
                                  "egress": [draw(nacl_entry(n, ipv6)) for n in
                                             draw(st.lists(st.sampled_from([50, 100, 150, 200]), max_size=4,
                                                           unique=True))]}
            subnets[name]["nacl"] = f"n-{name}"
    vpc = {"cidr": "198.18.0.0/16", **({"ipv6_cidr": "2001:db8::/56"} if ipv6 else {})}
    lab = {"lab": "random", "title": "a random lab", "vpc": vpc, "subnets": subnets,
           "nacls": copy.deepcopy(nacls), "security_groups": copy.deepcopy(groups),
           "hosts": {h: {"subnet": HOSTS[h][0], "ip": HOSTS[h][1], "security_groups": [f"sg-{h}"],
                         "icmp_echo_ignore": draw(st.booleans())} for h in hosts}}
    if ipv6:
        for h in hosts:
            lab["hosts"][h]["ipv6"] = HOSTS6[h]
    public = {h: PUBLIC[h] for h in hosts if h in PUBLIC and draw(st.booleans())}
    for h, address in public.items():
        lab["hosts"][h]["public_ip"] = address
    steps: list[dict] = []
    for h in hosts:
        steps += [{"listen": {"host": h, "port": p}} for p in TCP_PORTS]
        steps.append({"listen": {"host": h, "proto": "udp", "port": 53, "reply": True}})
    connections: list[str] = []
    used_numbers = {n: {d: {e["rule"] for e in acl[d]} for d in ("ingress", "egress")} for n, acl in nacls.items()}
    for _ in range(draw(st.integers(3, 8))):
        src, dst = draw(st.lists(st.sampled_from(hosts), min_size=2, max_size=2, unique=True))
        if dst in public and draw(st.booleans()):
            dst = public[dst]  # by its public IP: out through the internet gateway and back in
        elif ipv6 and draw(st.booleans()):
            dst = f"{dst}@ipv6"
        kind = draw(st.sampled_from(["connect", "connect", "send", "udp", "ping", "icmp", "revoke", "authorize",
                                     "nacl"]))
        if kind == "connect":
            name = f"c{len(connections) + 1}"
            steps.append({"connect": {"from": src, "to": dst, "port": draw(st.sampled_from(TCP_PORTS + [23])),
                                      "as": name}})
            connections.append(name)
        elif kind == "send" and connections:
            steps.append({"send": {"conn": draw(st.sampled_from(connections)), "data": f"m{len(steps)}",
                                   "from": draw(st.sampled_from(["client", "server"]))}})
        elif kind == "udp":
            steps.append({"udp": {"from": src, "to": dst, "port": 53, "sport": draw(st.sampled_from([40000, 40001])),
                                  "data": f"d{len(steps)}"}})
        elif kind == "ping":
            steps.append({"ping": {"from": src, "to": dst, "id": draw(st.integers(1, 3))}})
        elif kind == "icmp":
            steps.append({"icmp": {"from": src, "to": dst, "type": draw(st.sampled_from(["echo-request", "echo-reply"])),
                                   "id": draw(st.integers(1, 3))}})
        elif kind == "revoke":
            candidates = [(g, d, r) for g, grp in groups.items() for d in ("ingress", "egress")
                          for r in grp.get(d, [])]
            if candidates:
                g, d, r = draw(st.sampled_from(candidates))
                groups[g][d] = [x for x in groups[g][d] if x is not r]
                steps.append({"revoke": {"sg": g, d: r}})
        elif kind == "authorize":
            g = f"sg-{draw(st.sampled_from(hosts))}"
            d = draw(st.sampled_from(["ingress", "egress"]))
            r = draw(sg_rule(ipv6))
            current = groups[g].get(d)
            if current is not None and all(yaml.safe_dump(r, sort_keys=True) != yaml.safe_dump(x, sort_keys=True)
                                           for x in current):
                current.append(r)
                steps.append({"authorize": {"sg": g, d: r}})
        elif kind == "nacl" and nacls:
            n = draw(st.sampled_from(sorted(nacls)))
            d = draw(st.sampled_from(["ingress", "egress"]))
            free = [x for x in (10, 60, 120, 300) if x not in used_numbers[n][d]]
            if free and draw(st.booleans()):
                number = draw(st.sampled_from(free))
                used_numbers[n][d].add(number)
                steps.append({"nacl_entry": {"nacl": n, d: draw(nacl_entry(number, ipv6))}})
            elif used_numbers[n][d]:
                number = draw(st.sampled_from(sorted(used_numbers[n][d])))
                used_numbers[n][d].discard(number)
                steps.append({"delete_nacl_entry": {"nacl": n, "direction": d, "rule": number}})
    lab["steps"] = steps
    return yaml.safe_dump(lab, sort_keys=False)
