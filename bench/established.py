"""Benchmark 1: data packets of established TCP flows through the full cross-subnet path.

web (subnet app, NACL acl-app) → db:5432 (subnet db, NACL acl-db). Each packet meets web's SG (egress),
acl-app egress, acl-db ingress and db's SG (ingress), or the reverse for replies; both ENIs hold a
conntrack entry for every flow, so each SG gate is a conntrack hit and each NACL gate a rule lookup.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from bench import scenarios
from bench.timing import measure_interleaved
from vpclab.engine import ACK, PSH, SYN, Engine, Packet

TARGET_PPS = 200_000
PAYLOAD = 1200


class Clock:
    """Virtual time: strictly increasing across every pass, 1 µs per packet."""

    def __init__(self) -> None:
        self.now = 1.0


@dataclass
class Setup:
    engine: Engine
    clock: Clock
    flows: int
    data: list[Packet]


def establish(flows: int, packets: int) -> Setup:
    """Build the network, complete `flows` SYN / SYN-ACK / ACK handshakes through Engine.evaluate, and
    prepare `packets` PSH-ACK data packets alternating direction and flow (flows in a shuffled order)."""
    engine = Engine(scenarios.two_tier_network())
    clock = Clock()
    web, db = int(ipaddress.IPv4Address(scenarios.WEB_IP)), int(ipaddress.IPv4Address(scenarios.DB_IP))
    sports = [scenarios.EPHEMERAL[0] + i for i in range(flows)]
    assert sports[-1] <= scenarios.EPHEMERAL[1], "too many flows for one client address"
    for sport in sports:
        for p in (Packet(web, db, 6, sport, scenarios.DB_PORT, SYN),
                  Packet(db, web, 6, scenarios.DB_PORT, sport, SYN | ACK),
                  Packet(web, db, 6, sport, scenarios.DB_PORT, ACK)):
            clock.now += 1e-4
            verdict = engine.evaluate(p, clock.now, explain=False)
            if not verdict.allowed:
                raise AssertionError(f"handshake packet dropped: {p.describe()}: {verdict.code}")
    for host in ("web", "db"):
        table = engine.conntrack(host)
        states = {e.state for e in table.entries()}
        if table.count != flows or states != {"ESTABLISHED"}:
            raise AssertionError(f"{host}: expected {flows} ESTABLISHED entries, got {table.count} in {states}")

    order = list(range(flows))
    random.Random("vpclab-established").shuffle(order)
    forward = [Packet(web, db, 6, sports[i], scenarios.DB_PORT, PSH | ACK, size=PAYLOAD) for i in order]
    reverse = [Packet(db, web, 6, scenarios.DB_PORT, sports[i], PSH | ACK, size=PAYLOAD) for i in order]
    data: list[Packet] = []
    k = 0
    while len(data) < packets:  # f0 → , f0 ←, f1 →, f1 ←, … (then around again)
        data.append(forward[k % flows])
        data.append(reverse[k % flows])
        k += 1
    return Setup(engine, clock, flows, data[:packets])


def run_pass(setup: Setup, explain: bool) -> None:
    """One pass over the data packets; every verdict is checked to be an allow (cheap: one attribute)."""
    evaluate = setup.engine.evaluate
    now = setup.clock.now
    dropped = 0
    for p in setup.data:
        now += 1e-6
        if not evaluate(p, now, explain).allowed:
            dropped += 1
    setup.clock.now = now
    if dropped:
        raise AssertionError(f"{dropped} established data packets were dropped")


def harness_pass(setup: Setup) -> None:
    """The same loop with a no-op in place of Engine.evaluate: the harness's own cost per packet."""
    def evaluate(p: Packet, now: float, explain: bool) -> "_Ok":
        return _OK
    now = setup.clock.now
    dropped = 0
    for p in setup.data:
        now += 1e-6
        if not evaluate(p, now, False).allowed:
            dropped += 1


class _Ok:
    allowed = True


_OK = _Ok()


def run(quick: bool = False, flows: int | None = None) -> dict[str, object]:
    flows = flows or (200 if quick else 1000)
    fast_packets = 20_000 if quick else 100_000
    slow_packets = 2_000 if quick else 10_000
    rounds = 3 if quick else 15

    setup = establish(flows, fast_packets)
    slow_setup = Setup(setup.engine, setup.clock, flows, setup.data[:slow_packets])
    timings = measure_interleaved({
        "explain_false": (lambda: run_pass(setup, False), len(setup.data)),
        "explain_true": (lambda: run_pass(slow_setup, True), len(slow_setup.data)),
        "harness_only": (lambda: harness_pass(setup), len(setup.data)),
    }, rounds)

    for host in ("web", "db"):
        table = setup.engine.conntrack(host)
        if table.count != flows or {e.state for e in table.entries()} != {"ESTABLISHED"}:
            raise AssertionError(f"{host}: flows left ESTABLISHED during the run")
    fast = timings["explain_false"]
    return {
        "flows": flows,
        "path": "web SG egress → acl-app egress → acl-db ingress → db SG ingress (and back)",
        "nacl_entries_ingress_egress": {acl.id: [len(acl.ingress), len(acl.egress)]
                                        for acl in setup.engine.network.nacls.values() if acl.id != "default"},
        "target_per_s": TARGET_PPS,
        **{name: t.to_dict() for name, t in timings.items()},
        "meets_target": fast.median_rate >= TARGET_PPS,
        "best_meets_target": fast.best_rate >= TARGET_PPS,
    }
