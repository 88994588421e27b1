"""The audit's coverage checks against the engine, on random rule sets (hypothesis): revoking every rule
`sg-redundant-rule` reports, and deleting every entry `nacl-shadowed-entry` reports, changes no decision the engine's
compiled matcher makes at any boundary of any rule (aws-semantics.md §1.2: groups are unioned; §3.1: first match
wins). And a rule is only reported when some other rule overlaps it (nothing is covered by nothing)."""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netbuild import build
from vpclab.analysis.audit import CHECKS_BY_ID, AuditInput, audit
from vpclab.engine.engine import Engine
from vpclab.load.snapshot import Snapshot
from vpclab.model import Direction, Network
from vpclab.model.protocols import TCP, UDP

INGRESS = Direction.INGRESS
CIDRS = ["10.0.0.0/24", "10.0.0.0/25", "10.0.0.128/25", "10.0.0.0/26", "10.0.0.64/26", "10.0.0.5/32", "10.0.0.0/16",
         "0.0.0.0/0"]
PORTS = ["20-30", "22", "25-40", "0-65535", "30", "10-22"]
PROTOS = ["tcp", "udp", "-1"]
SUBNETS = {"a": {"cidr": "198.18.1.0/24"}}


def sg_rule() -> st.SearchStrategy[dict]:
    def make(proto: str, ports: str, cidr: str) -> dict:
        return {"proto": proto, "cidr": cidr, **({"ports": ports} if proto != "-1" else {})}
    return st.builds(make, st.sampled_from(PROTOS), st.sampled_from(PORTS), st.sampled_from(CIDRS))


def key(rule: dict) -> tuple:
    return (rule["proto"], rule.get("ports"), rule["cidr"])


def probes(network: Network) -> list[tuple[int, int, int]]:
    """(protocol, address, port) at every boundary of every rule and entry."""
    addresses, ports = {0, 0xFFFFFFFF}, {0, 65535}
    for cidr in CIDRS:
        net = ipaddress.ip_network(cidr)
        lo, hi = int(net.network_address), int(net.broadcast_address)
        addresses |= {lo, hi, max(lo - 1, 0), min(hi + 1, 0xFFFFFFFF)}
    for text in PORTS:
        first, _, last = text.partition("-")
        for p in (int(first), int(last or first)):
            ports |= {p, max(p - 1, 0), min(p + 1, 65535)}
    return [(proto, a, p) for proto in (TCP, UDP) for a in sorted(addresses) for p in sorted(ports)]


def run(network: Network, check: str) -> list:
    return list(audit(AuditInput(Snapshot("fixture", "lab", network)), [CHECKS_BY_ID[check]]).findings)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sg_rule(), min_size=1, max_size=6, unique_by=key), st.lists(sg_rule(), max_size=4, unique_by=key),
       st.booleans())
def test_revoking_every_redundant_rule_changes_no_decision(first: list[dict], second: list[dict],
                                                          alone: bool) -> None:
    groups = {"g1": {"ingress": first, "egress": []}, "g2": {"ingress": second, "egress": []}}
    hosts = {"h": {"subnet": "a", "ip": "198.18.1.10", "security_groups": ["g1", "g2"]}}
    if alone:  # another ENI carries g2 alone: g2's rules must be covered there too
        hosts["k"] = {"subnet": "a", "ip": "198.18.1.11", "security_groups": ["g2"]}
    network = build(groups, hosts, SUBNETS)
    found = run(network, "sg-redundant-rule")
    reduced = network
    for f in found:
        rule = f.evidence["rule"]
        group = network.security_groups[f.resource]
        reduced = reduced.revoke(f.resource, INGRESS, group.ingress[rule["number"] - 1])
        assert f.evidence["covered_by"]["owner"] in ("g1", "g2")
    before, after = Engine(network), Engine(reduced)
    for host in hosts:
        old, new = before.sg_policy(host, INGRESS), after.sg_policy(host, INGRESS)
        for proto, address, port in probes(network):
            assert bool(old.index.match(4, proto, address, port)) == bool(new.index.match(4, proto, address, port))


def nacl_entry() -> st.SearchStrategy[dict]:
    def make(action: str, proto: str, ports: str, cidr: str) -> dict:
        return {"action": action, "proto": proto, "cidr": cidr, **({"ports": ports} if proto != "-1" else {})}
    return st.builds(make, st.sampled_from(["allow", "deny"]), st.sampled_from(PROTOS), st.sampled_from(PORTS),
                     st.sampled_from(CIDRS))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(nacl_entry(), min_size=1, max_size=7))
def test_deleting_every_shadowed_entry_changes_no_decision(entries: list[dict]) -> None:
    ingress = [{"rule": 10 * (i + 1), **e} for i, e in enumerate(entries)]
    nacls = {"n": {"ingress": ingress, "egress": []}}
    network = build({"g": {"ingress": []}}, {"h": {"subnet": "a", "ip": "198.18.1.10", "security_groups": ["g"]}},
                    {"a": {**SUBNETS["a"], "nacl": "n"}}, nacls)
    found = run(network, "nacl-shadowed-entry")
    reduced = network
    for f in found:
        reduced = reduced.delete_nacl_entry("n", INGRESS, f.evidence["entry"]["number"])
        assert f.evidence["decided_by"] and all(d["number"] < f.evidence["entry"]["number"]
                                                for d in f.evidence["decided_by"])
    old, new = Engine(network).nacl_policy("a", INGRESS), Engine(reduced).nacl_policy("a", INGRESS)
    for proto, address, port in probes(network):
        a, b = old.decide(4, proto, address, port), new.decide(4, proto, address, port)
        assert old.ref(a).number == new.ref(b).number
        assert (a >= 0 and old.allow[a]) == (b >= 0 and new.allow[b])
