"""Benchmark: flow-log summary and aggregation throughput against DuckDB's bare read + GROUP BY (issue 11).

`bench.flowgen` writes N seeded v5 records (gzip, S3 layout) once; then, each in a fresh child process (own peak
memory, VmHWM from /proc/self/status): the floor — DuckDB reading the same files with read_csv and grouping them by
the 5-tuple, ENI and action, nothing else — and `vpclab.flows.read_flows` (discovery, the checks of every field,
the directed collapse, initiator inference, the aggregate and the summary). The two run round-robin, `rounds`
times (2 by default); the median is reported with the ratio to the floor measured in the same run. Then vpclab once
more with DuckDB's memory bounded to 2 GB, and Spark local (`--engine spark`) once on the same files when Java is
present (its peak is the Python driver's; the JVM is not counted).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.flowgen import FORMAT, write_flows

ROOT = Path(__file__).resolve().parent.parent
RECORDS, QUICK_RECORDS = 10_000_000, 200_000
TIMEOUT_S = 3600
BOUND = "2GB"  # one more vpclab run with DuckDB's memory bounded (VPCLAB_DUCKDB_MEMORY_LIMIT)
SPARK_TIMEOUT_S = 2400

PEAK = """
def peak_mib():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024
"""

FLOOR = PEAK + """
import json, sys, time
import duckdb
start = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.execute(f"SELECT COUNT(*), SUM(n) FROM ({sys.argv[1]})").fetchall()
print(json.dumps({"seconds": time.perf_counter() - start, "groups": rows[0][0], "records": int(rows[0][1]),
                  "peak_mib": peak_mib()}))
"""
"""The floor, run in a child process with `floor_query`'s text as its argument."""


def floor_query(folder: str, fields: str = FORMAT) -> str:
    """The floor's query: read_csv of the files' text, grouped by the 5-tuple, ENI and action, a count per group
    (no check, no cast; `fields` is the files' header)."""
    columns = "{" + ", ".join(f"'{n.replace('-', '_')}': 'VARCHAR'" for n in fields.split()) + "}"
    return (f"SELECT interface_id, srcaddr, dstaddr, srcport, dstport, protocol, action, COUNT(*) AS n "
            f"FROM read_csv('{folder}/**/*.log.gz', auto_detect = false, delim = ' ', header = true, quote = '', "
            f"escape = '', columns = {columns}, compression = 'auto') "
            f"GROUP BY interface_id, srcaddr, dstaddr, srcport, dstport, protocol, action")


VPCLAB = PEAK + """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from vpclab.flows import read_flows
start = time.perf_counter()
run = read_flows([Path(sys.argv[1])], engine=sys.argv[2])
summary = run.summary
seconds = time.perf_counter() - start
run.close()
print(json.dumps({"seconds": seconds, "records": summary.records, "rows": summary.rows,
                  "unknown": sum(n for i, _e, _r, n, _c in summary.initiators if i == "unknown"),
                  "peak_mib": peak_mib()}))
"""


def _child(code: str, *args: str, timeout: float = TIMEOUT_S, env: dict | None = None) -> dict:
    try:
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                              check=False, env=None if env is None else {**os.environ, **env})
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(next(line for line in reversed(done.stdout.splitlines()) if line.startswith("{")))


def run(quick: bool, records: int | None = None, rounds: int | None = None, spark: bool = True) -> dict:
    """Generate, measure, and return the figures (also printed by bench.__main__)."""
    records = records or (QUICK_RECORDS if quick else RECORDS)
    rounds = rounds or (1 if quick else 2)
    work = Path(tempfile.mkdtemp(prefix="vpclab-flows-"))
    try:
        started = time.perf_counter()
        generated = write_flows(work / "logs", records)
        generate_s = time.perf_counter() - started
        logs = work / "logs" / "AWSLogs"
        size = sum(p.stat().st_size for p in logs.rglob("*.log.gz"))
        floor, ours = [], []
        for _ in range(rounds):
            floor.append(_child(FLOOR, floor_query(str(logs))))
            ours.append(_child(VPCLAB, str(logs), "duckdb", str(ROOT / "src")))
        result: dict = {"records": generated["records"], "files": generated["files"], "gzip_mib": size / 2**20,
                        "generate_s": generate_s, "rounds": rounds, "floor": floor, "vpclab": ours}
        for name, runs in (("floor", floor), ("vpclab", ours)):
            ok = [r for r in runs if "seconds" in r]
            if ok:
                median = statistics.median(r["seconds"] for r in ok)
                result[f"{name}_median_s"] = median
                result[f"{name}_records_per_s"] = generated["records"] / median
                result[f"{name}_peak_mib"] = max(r["peak_mib"] for r in ok)
        if "floor_median_s" in result and "vpclab_median_s" in result:
            result["ratio"] = result["vpclab_median_s"] / result["floor_median_s"]
        bounded = _child(VPCLAB, str(logs), "duckdb", str(ROOT / "src"), env={"VPCLAB_DUCKDB_MEMORY_LIMIT": BOUND})
        result["vpclab_bounded"] = bounded | {"memory_limit": BOUND}
        if spark and shutil.which("java"):
            result["spark"] = _child(VPCLAB, str(logs), "spark", str(ROOT / "src"), timeout=SPARK_TIMEOUT_S)
        else:
            result["spark"] = {"skipped": "no java on PATH" if spark else "not asked"}
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.flows")
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.quick, args.records, args.rounds, not args.no_spark), indent=1))


if __name__ == "__main__":
    main()
