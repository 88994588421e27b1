"""Benchmark: `vpclab reach` on the synthetic snapshots of `bench.snapshot` (issue 10, "Performance").

* One reach after load, on the 10,000-ENI snapshot: the snapshot is loaded (`load_snapshot`), the engine built
  once (`Reacher`) and the collection that loading defers run (`gc.collect()`, timed on its own: without it one of
  the first questions pays it), then distinct questions are timed one by one, each on a pair never asked before (cold route
  and path caches), fixes included — ENI to ENI in one VPC, across a peering, to and from the internet. Target:
  under 50 ms per question.
* The matrix over 1,000 ENIs for tcp/443 (the 1,000-ENI snapshot: 5 VPCs), wall and CPU time (the machine is
  shared: CPU time is what the matrix itself costs), against pair-by-pair reach in the same run (a fresh `Reacher`, so neither shares the other's caches), every ENI pair's answer compared. Target:
  under 10 s. `--quick` times pair by pair on a sample and extrapolates (said so in the results).
"""

from __future__ import annotations

import gc
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.snapshot import write_snapshot

ONE_TARGET_MS = 50.0
MATRIX_TARGET_S = 10.0
PORT = 443


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1e3, 3),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1e3, 3),
            "max_ms": round(ordered[-1] * 1e3, 3), "n": len(ordered)}


def one_reach(folder: Path, questions: int) -> dict[str, object]:
    """Load, build, then time distinct questions one at a time."""
    from vpclab.analysis.endpoints import Endpoint, internet_address
    from vpclab.analysis.reach import Reacher
    from vpclab.load.snapshot import load_snapshot
    from vpclab.model.protocols import TCP

    start = time.perf_counter()
    network = load_snapshot(folder).network
    loaded = time.perf_counter()
    outside = internet_address(network)  # the stand-in, so the one engine is built with it
    reacher = Reacher(network, {outside})
    built = time.perf_counter()
    gc.collect()  # the collection loading leaves for later (the collector is paused while it builds)
    collected = time.perf_counter()
    enis = [h for h in reacher.network.vpc_hosts() if h.security_groups]
    rng = random.Random(10)
    by_vpc: dict[str, list] = {}
    for h in enis:
        by_vpc.setdefault(reacher.network.subnets[h.subnet or ""].vpc, []).append(h)
    vpcs = sorted(by_vpc)
    kinds: dict[str, list[float]] = {"same VPC": [], "across a peering": [], "from the internet": [],
                                     "to the internet": []}
    reachable = 0
    first = None
    seen = set()
    internet = Endpoint("internet", address=outside, internet=True)
    for n in range(questions):
        kind = list(kinds)[n % 4]
        vpc = rng.choice(vpcs[:-1]) if kind == "across a peering" else rng.choice(vpcs)
        a = rng.choice(by_vpc[vpc])
        if kind == "same VPC":
            b = rng.choice(by_vpc[vpc])
        elif kind == "across a peering":
            peer = vpcs[vpcs.index(vpc) ^ 1] if vpcs.index(vpc) ^ 1 < len(vpcs) else vpcs[0]
            b = rng.choice(by_vpc[peer])
        else:
            b = a
        if (kind, a.name, b.name) in seen or (a is b and kind in ("same VPC", "across a peering")):
            continue
        seen.add((kind, a.name, b.name))
        src = internet if kind == "from the internet" else Endpoint(a.name, a.name)
        dst = internet if kind == "to the internet" else Endpoint(b.name, b.name)
        t = time.perf_counter()
        answer = reacher.reach(src, dst, TCP, PORT)
        elapsed = time.perf_counter() - t
        first = elapsed if first is None else first
        kinds[kind].append(elapsed)
        reachable += answer.reachable
    every = [v for values in kinds.values() for v in values]
    return {"snapshot_enis": len(enis), "load_s": round(loaded - start, 3), "engine_s": round(built - loaded, 3),
            "deferred_collection_s": round(collected - built, 3),
            "first_question_ms": round((first or 0.0) * 1e3, 3), "all": _ms(every),
            "by_kind": {k: _ms(v) for k, v in kinds.items() if v}, "reachable": reachable,
            "target_ms": ONE_TARGET_MS, "meets_target": max(every) * 1e3 < ONE_TARGET_MS}


def matrix_vs_pairwise(folder: Path, sample: int | None) -> dict[str, object]:
    """The matrix, then pair by pair on a fresh engine (all pairs, or a random sample extrapolated)."""
    from vpclab.analysis.endpoints import Endpoint
    from vpclab.analysis.matrix import cell_of, matrix
    from vpclab.analysis.reach import Reacher
    from vpclab.load.snapshot import load_snapshot
    from vpclab.model.protocols import TCP

    network = load_snapshot(folder).network
    t = time.perf_counter()
    reacher = Reacher(network)
    built = time.perf_counter() - t
    gc.collect()
    t, cpu = time.perf_counter(), time.process_time()
    m = matrix(network, TCP, PORT, reacher=reacher)
    matrix_s, matrix_cpu = time.perf_counter() - t, time.process_time() - cpu
    names = [h.name for h in network.vpc_hosts()]
    pairs = [(a, b) for a in names for b in names if a != b]
    asked = pairs if sample is None else random.Random(10).sample(pairs, sample)
    fresh = Reacher(network)
    differ = 0
    t, cpu = time.perf_counter(), time.process_time()
    for a, b in asked:
        cell = cell_of(fresh.ask(fresh.question(Endpoint(a, a), Endpoint(b, b), TCP, PORT), fixes=False))
        differ += cell != m.cell(a, b)
    pairwise_s, pairwise_cpu = time.perf_counter() - t, time.process_time() - cpu
    whole = pairwise_s * len(pairs) / len(asked)
    return {"enis": len(names), "classes": len(m.classes), "eni_pairs": len(pairs), "class_pairs": len(m.cells),
            "full_reach_questions": m.questions, "engine_s": round(built, 3), "matrix_s": round(matrix_s, 3),
            "matrix_cpu_s": round(matrix_cpu, 3), "pairwise_cpu_s": round(pairwise_cpu, 3),
            "pairwise_pairs_timed": len(asked), "pairwise_s": round(pairwise_s, 3),
            "pairwise_all_pairs_s": round(whole, 1), "pairwise_extrapolated": sample is not None,
            "speedup": round(whole / matrix_s, 1), "answers_differing": differ,
            "reachable_pairs": sum(1 for _, _, c in m.pairs() if c.reachable),
            "target_s": MATRIX_TARGET_S, "meets_target": matrix_s < MATRIX_TARGET_S}


def run(quick: bool = False) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="vpclab-bench-reach-") as tmp:
        big, small = Path(tmp) / "enis-10000", Path(tmp) / "enis-1000"
        write_snapshot(big, 1_000 if quick else 10_000)
        write_snapshot(small, 1_000)
        one = one_reach(big, 40 if quick else 200)
        grid = matrix_vs_pairwise(small, 20_000 if quick else None)
    return {"port": f"tcp/{PORT}", "one_reach": one, "matrix": grid}
