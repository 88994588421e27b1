"""Benchmark 2: new-flow decisions against security groups of 100, 1,000 and 10,000 rules.

For each size, on the same seeded rule set and the same seeded lookups:

* compile time of `compile_policy` (compiled bitmask index) and of `compile_policy(..., linear=True)`;
* per-decision cost of `policy.index.match` for the compiled index and for the linear scan (the linear
  scan times a prefix of the same lookup list, since at 10,000 rules it costs milliseconds per lookup);
* per-packet cost of full `Engine.evaluate(syn, now, explain=False)` for SYNs that each open a new flow.
"""

from __future__ import annotations

import gc
import time

from bench import scenarios
from bench.timing import Timing, measure_interleaved
from vpclab.engine import Engine
from vpclab.engine.sg import compile_policy
from vpclab.model import Direction

SIZES = (100, 1_000, 10_000)


def _compile_time(network, linear: bool, repeats: int) -> tuple[Timing, object]:
    policy = None
    seconds = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        policy = compile_policy(network, ("sg-big",), Direction.INGRESS, linear=linear)
        seconds.append(time.perf_counter() - start)
    return Timing(1, tuple(seconds)), policy


def _lookup_pass(match, lookups) -> None:
    for version, proto, addr, port in lookups:
        match(version, proto, addr, port)


def _syn_round(engine: Engine, clock: list[float], syns) -> None:
    evaluate = engine.evaluate
    now = clock[0]
    dropped = 0
    for p in syns:
        now += 1e-6
        if not evaluate(p, now, False).allowed:
            dropped += 1
    if dropped:
        raise AssertionError(f"{dropped} new-flow SYNs were dropped")
    clock[0] = now


def run(quick: bool = False, sizes: tuple[int, ...] = SIZES) -> dict[str, object]:
    repeats = 3 if quick else 9
    rounds = 3 if quick else 9
    compiled_lookups = 5_000 if quick else 50_000
    syn_count = 2_000 if quick else 20_000
    results = []
    for size in sizes:
        rule_set = scenarios.random_rules(size)
        network = scenarios.big_group_network(rule_set)
        compile_fast, fast = _compile_time(network, False, repeats)
        compile_linear, slow = _compile_time(network, True, repeats)

        lookups = scenarios.random_lookups(rule_set, compiled_lookups)
        # linear scan: about the same total work per pass at every size, on a prefix of the same lookups
        linear_count = max(50, min(len(lookups), (20_000 if not quick else 2_000) * 100 // size))
        linear_lookups = lookups[:linear_count]

        mismatches = sum(fast.index.match(*q) != slow.index.match(*q) for q in linear_lookups)
        if mismatches:
            raise AssertionError(f"{size} rules: compiled and linear disagree on {mismatches} lookups")
        hits = sum(1 for q in lookups if fast.index.match(*q))

        # (the compiled index is also timed on exactly the linear scan's lookups, looped so a pass is as
        # long as the main compiled pass: a few hundred lookups alone are too short to time reliably)
        loops = max(1, len(lookups) // len(linear_lookups))
        same = linear_lookups * loops
        timings = measure_interleaved({
            "compiled": (lambda: _lookup_pass(fast.index.match, lookups), len(lookups)),
            "compiled_same": (lambda: _lookup_pass(fast.index.match, same), len(same)),
            "linear": (lambda: _lookup_pass(slow.index.match, linear_lookups), len(linear_lookups)),
        }, rounds)
        compiled, compiled_same, linear = timings["compiled"], timings["compiled_same"], timings["linear"]

        engine = Engine(network)
        clock = [10.0]
        syn_sets = [scenarios.fresh_syns(rule_set, syn_count, r) for r in range(2)]
        syn_timing = _measure_syns(engine, clock, syn_sets, repeats)
        results.append({
            "rules": size,
            "covering_rules": len(rule_set.covering),
            "compile_s": compile_fast.to_dict() | {"median_ms": round(compile_fast.median_s * 1e3, 3)},
            "compile_linear_s": compile_linear.to_dict() | {"median_ms": round(compile_linear.median_s * 1e3, 3)},
            "lookups": len(lookups),
            "linear_lookups": len(linear_lookups),
            "hit_rate": round(hits / len(lookups), 4),
            "compiled": compiled.to_dict(),
            "compiled_on_linear_set": compiled_same.to_dict(),
            "linear": linear.to_dict(),
            "speedup": round(linear.median_us / compiled.median_us, 1),
            "speedup_same_lookups": round(linear.median_us / compiled_same.median_us, 1),
            "engine_syn": syn_timing.to_dict(),
        })
    base = results[0]
    for row in results:
        factor = row["rules"] / base["rules"]
        row["growth_vs_smallest"] = {
            "rules": factor,
            "compiled": round(row["compiled"]["median_us"] / base["compiled"]["median_us"], 2),
            "linear": round(row["linear"]["median_us"] / base["linear"]["median_us"], 2),
            "engine_syn": round(row["engine_syn"]["median_us"] / base["engine_syn"]["median_us"], 2),
        }
    return {"sizes": list(sizes), "results": results}


def _measure_syns(engine: Engine, clock: list[float], syn_sets, repeats: int) -> Timing:
    """Time passes of fresh SYNs; between passes (untimed) advance time and sweep the expired entries."""
    seconds = []
    for r in range(repeats + 1):
        syns = syn_sets[r % 2]
        gc.collect()
        start = time.perf_counter()
        _syn_round(engine, clock, syns)
        elapsed = time.perf_counter() - start
        if r:  # the first pass is the warm-up
            seconds.append(elapsed)
        clock[0] += 1_000.0
        for host in ("web", "target"):
            table = engine.conntrack(host)
            table.sweep(clock[0])
            assert table.count == 0
    return Timing(len(syn_sets[0]), tuple(seconds))
