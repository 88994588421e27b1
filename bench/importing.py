"""Benchmark: importing a synthetic AWS snapshot of 1,000, 3,000 and 10,000 ENIs (issue 8, "Performance").

Each size is written by `bench.snapshot` to a temporary folder, then imported in a fresh child process (so each
measurement starts from an empty heap and has its own peak): `read_aws_folder` (JSON → network document),
`assemble_document` (specs checked, model built and validated, quotas), `Engine(network)` (every ENI's groups
compiled) and a full `gc.collect()` (the collection those stages leave for later when they pause the collector),
each timed with `time.perf_counter`. Peak resident memory is the child's VmHWM (/proc/self/status) after the
collection, beside the same figure after its imports (not `ru_maxrss`: Linux carries it across exec, so it starts
at the parent's size). Sizes run round-robin. Targets at 10,000 ENIs: import + validation + compile under 10 s and
2 GiB, growing near-linearly. `against` (a git revision) also imports the same snapshots with that revision's src/.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.snapshot import write_snapshot

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 3_000, 10_000)
STAGES = ("read", "assemble", "compile", "collect", "total")
TARGET_S = 10.0
TARGET_RSS_MIB = 2048.0
TIMEOUT_S = 3600

CHILD = """
import gc, json, sys, time
src, folder = sys.argv[1], sys.argv[2]
sys.path.insert(0, src)
from vpclab.engine.engine import Engine
from vpclab.load.assemble import assemble_document
from vpclab.load.aws import read_aws_folder
from vpclab.load.snapshot import counts
def peak_kib():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
baseline = peak_kib()
start = time.perf_counter()
document = read_aws_folder(folder)
read = time.perf_counter()
network, assembler = assemble_document(document.data, document.locate)
assembled = time.perf_counter()
engine = Engine(network)
compiled = time.perf_counter()
gc.collect()
collected = time.perf_counter()
print(json.dumps({"read": read - start, "assemble": assembled - read, "compile": compiled - assembled,
                  "collect": collected - compiled, "total": collected - start, "baseline_kib": baseline,
                  "peak_kib": peak_kib(), "full_collections": gc.get_stats()[2]["collections"],
                  "warnings": len(document.warnings) + len(assembler.warnings), "counts": counts(network)}))
"""


def import_once(src: Path, folder: Path) -> dict[str, object]:
    """One import of `folder` by the vpclab under `src`, in a child process: stage seconds, memory, counts."""
    result = subprocess.run([sys.executable, "-c", CHILD, str(src), str(folder)], capture_output=True, text=True,
                            timeout=TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"import of {folder} failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout)


def run(quick: bool = False, against: str | None = None, sizes: tuple[int, ...] = SIZES) -> dict[str, object]:
    """Every size `rounds` times round-robin; `against` only in the first round (its imports may take minutes)."""
    sizes = sizes[:2] if quick else sizes
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="vpclab-import-bench-") as tmp:
        trees = {"working tree": ROOT / "src"}
        if against:
            subprocess.run(["git", "worktree", "add", "--detach", f"{tmp}/against", against], cwd=ROOT,
                           capture_output=True, check=True)
            trees[against] = Path(tmp) / "against" / "src"
        try:
            return _measure(Path(tmp), sizes, rounds, trees)
        finally:
            if against:
                subprocess.run(["git", "worktree", "remove", "--force", f"{tmp}/against"], cwd=ROOT,
                               capture_output=True, check=False)


def _measure(tmp: Path, sizes: tuple[int, ...], rounds: int, trees: dict[str, Path]) -> dict[str, object]:
    written = {}
    for size in sizes:
        start = time.perf_counter()
        held = write_snapshot(tmp / f"enis-{size}", size)
        written[size] = {"generated": held, "generate_s": round(time.perf_counter() - start, 3),
                         "bytes": sum(f.stat().st_size for f in (tmp / f"enis-{size}").rglob("*.json"))}
    runs: dict[str, dict[int, list[dict[str, object]]]] = {name: {size: [] for size in sizes} for name in trees}
    for round_ in range(rounds):
        for size in sizes:
            for name, src in trees.items():
                if name == "working tree" or round_ == 0:
                    runs[name][size].append(import_once(src, tmp / f"enis-{size}"))
    results = {name: _curve(sizes, by_size, written) for name, by_size in runs.items()}
    main = results["working tree"]
    largest = main[-1]
    verdict = {"largest_enis": sizes[-1], "total_s": largest["median_s"]["total"],
               "peak_mib": largest["peak_mib"], "meets_target": sizes[-1] >= 10_000
               and largest["median_s"]["total"] < TARGET_S and largest["peak_mib"] < TARGET_RSS_MIB}
    report: dict[str, object] = {"rounds": rounds, "target_s": TARGET_S, "target_rss_mib": TARGET_RSS_MIB,
                                 "memory": "peak RSS (VmHWM) of the child process at the end; baseline: the same after "
                                           "its imports",
                                 "results": main, **verdict}
    if len(trees) > 1:  # the ratio to the working tree's pass of the same round, run just before it
        name = next(n for n in trees if n != "working tree")
        report["against"] = {"revision": name, "results": results[name], "slower": [
            {"enis": size, **{stage: round(float(runs[name][size][0][stage])
                                           / float(runs["working tree"][size][0][stage]), 2) for stage in STAGES}}
            for size in sizes]}
    return report


def _curve(sizes: tuple[int, ...], by_size: dict[int, list[dict[str, object]]],
           written: dict[int, dict[str, object]]) -> list[dict[str, object]]:
    """Per size: median seconds per stage, peak memory, and growth against the previous and the smallest size
    (`exponent` k in time ∝ ENIs^k: 1 is linear, 2 quadratic)."""
    rows: list[dict[str, object]] = []
    medians: list[dict[str, float]] = []
    for size in sizes:
        passes = by_size[size]
        median = {stage: statistics.median(float(p[stage]) for p in passes) for stage in STAGES}
        row: dict[str, object] = {
            "enis": size, **written[size], "median_s": {stage: round(value, 3) for stage, value in median.items()},
            "seconds": {stage: [round(float(p[stage]), 3) for p in passes] for stage in STAGES},
            "peak_mib": round(max(int(p["peak_kib"]) for p in passes) / 1024, 1),
            "baseline_mib": round(max(int(p["baseline_kib"]) for p in passes) / 1024, 1),
            "full_collections": passes[0]["full_collections"], "warnings": passes[0]["warnings"],
            "counts": passes[0]["counts"]}
        for label, base in (("vs_previous", len(rows) - 1), ("vs_smallest", 0)):
            if rows:
                factor = size / sizes[base]
                ratios = {stage: median[stage] / medians[base][stage] for stage in STAGES}
                row[label] = {"enis": round(factor, 2), "time": {stage: round(r, 2) for stage, r in ratios.items()},
                              "exponent": {stage: round(math.log(r) / math.log(factor), 2)
                                           for stage, r in ratios.items()}}
        rows.append(row)
        medians.append(median)
    return rows
