"""Hotspots: where per-packet time goes. cProfile of the established-flow loop and a profiler-free breakdown.

cProfile charges a fixed overhead to every Python call, so it over-weights small functions; the breakdown
times each gate of the path on its own (calling the engine's internal gate methods directly, the way
Engine.evaluate calls them) with plain perf_counter loops, which shows the real proportions. The
breakdown uses private engine internals and is skipped, with a note, if they have changed.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import statistics
import time
from pathlib import Path

from bench import established, rules, scenarios

ENGINE_DIR = str(Path(__file__).resolve().parent.parent / "src" / "vpclab" / "engine")


def _profile(run, packets: int, top: int = 14) -> list[dict[str, object]]:
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, _), (_, _, tt, _, _) in stats.items())
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in stats.items():
        if "vpclab" in filename:
            where = filename[filename.index("vpclab"):]
        elif filename == "~":
            where = "builtin"
        elif filename.startswith("<string>"):
            where = "generated dataclass code"
        else:
            where = Path(filename).name
        rows.append({"function": f"{where}:{line}({name})" if line else f"{where}({name})",
                     "in_engine": filename.startswith(ENGINE_DIR),
                     "calls_per_packet": round(calls / packets, 2),
                     "self_us_per_packet": round(tottime / packets * 1e6, 3),
                     "self_share": round(tottime / total, 4),
                     "cum_us_per_packet": round(cumtime / packets * 1e6, 3)})
    rows.sort(key=lambda r: -r["self_share"])
    return rows[:top]


def established_profile(flows: int = 1000, packets: int = 100_000) -> list[dict[str, object]]:
    setup = established.establish(flows, packets)
    established.run_pass(setup, False)  # warm-up
    gc.collect()
    return _profile(lambda: established.run_pass(setup, False), len(setup.data))


def syn_profile(size: int = 1000, packets: int = 10_000) -> list[dict[str, object]]:
    """cProfile of fresh-SYN Engine.evaluate against a `size`-rule group (for context on new-flow cost)."""
    from vpclab.engine import Engine

    rule_set = scenarios.random_rules(size)
    engine = Engine(scenarios.big_group_network(rule_set))
    syns = scenarios.fresh_syns(rule_set, packets, 0)
    clock = [10.0]
    gc.collect()
    return _profile(lambda: rules._syn_round(engine, clock, syns), len(syns))


def breakdown(flows: int = 1000, packets: int = 100_000, rounds: int = 7) -> dict[str, object]:
    """Per-packet µs of each part of Engine.evaluate on established traffic, without a profiler.

    Each round times every part once (interleaved, so machine noise hits all parts alike); the median
    over rounds is reported. `loop` is the bare iteration cost, already subtracted from the others.
    """
    try:
        from vpclab.engine.verdict import Verdict
        from vpclab.model import Direction

        setup = established.establish(flows, packets)
        engine, data = setup.engine, setup.data
        routes = [engine.router.route(p.src, p.dst, p.v6) for p in data]
        enis, nacl_out, nacl_in = engine._enis, engine._nacl_out, engine._nacl_in  # noqa: SLF001
        sg_gate, nacl_gate = engine._sg, engine._nacl  # noqa: SLF001
        egress, ingress = Direction.EGRESS, Direction.INGRESS
        verdict_args = [(p, r.delivered_to) for p, r in zip(data, routes)]
    except Exception as error:  # noqa: BLE001 - internals moved: report, do not fail the benchmark
        return {"unavailable": f"engine internals changed ({type(error).__name__}: {error})"}

    clock = setup.clock

    def full() -> None:
        established.run_pass(setup, False)

    def loop() -> None:
        for p, r in zip(data, routes):
            pass

    def route() -> None:
        lookup = engine.router.route
        for p in data:
            lookup(p.src, p.dst, p.v6)

    def sg_gates() -> None:
        now = clock.now
        for p, r in zip(data, routes):
            now += 1e-6
            a, b = enis[r.sender], enis[r.receiver]
            sg_gate(a, egress, a.egress, p, now, None)
            sg_gate(b, ingress, b.ingress, p, now, None)
        clock.now = now

    def nacl_gates() -> None:
        for p, r in zip(data, routes):
            nacl_gate(nacl_out[r.nacl_out], r.nacl_out, p, p.dst, None)
            nacl_gate(nacl_in[r.nacl_in], r.nacl_in, p, p.src, None)

    def verdicts() -> None:
        for p, receiver in verdict_args:
            Verdict(True, "conntrack-match", (), p, receiver)

    parts = {"Engine.evaluate (whole)": full, "route lookup (Router.route, cached)": route,
             "2 SG gates, conntrack hit (_sg ×2)": sg_gates, "2 NACL gates (_nacl ×2)": nacl_gates,
             "Verdict(...) construction": verdicts, "loop": loop}
    samples: dict[str, list[float]] = {name: [] for name in parts}
    full()  # warm-up
    for _ in range(rounds):
        for name, fn in parts.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) / len(data) * 1e6)
    base = statistics.median(samples.pop("loop"))
    us = {name: round(max(0.0, statistics.median(v) - base), 3) for name, v in samples.items()}
    whole = us["Engine.evaluate (whole)"]
    parts_sum = sum(v for k, v in us.items() if k != "Engine.evaluate (whole)")
    us["evaluate's own code (remainder)"] = round(max(0.0, whole - parts_sum), 3)
    return {"us_per_packet": us, "loop_us": round(base, 3), "rounds": rounds,
            "budget_us_at_target": round(1e6 / established.TARGET_PPS, 3)}


def run(quick: bool = False) -> dict[str, object]:
    packets = 20_000 if quick else 100_000
    return {
        "established_cprofile": established_profile(200 if quick else 1000, packets),
        "established_breakdown": breakdown(200 if quick else 1000, packets, 3 if quick else 7),
        "syn_cprofile_1000_rules": syn_profile(1000, 2_000 if quick else 10_000),
    }
