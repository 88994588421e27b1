"""Where the CPU goes: DuckDB's own per-operator timings of the floor and of `vpclab tighten`'s queries (issue 11).

Wall-clock differences of a second are lost in this shared machine's noise; DuckDB's profiler times each operator
(CPU seconds summed over its threads), which tells apart reading, per-record expressions and grouping. On the logs
of `bench.flowgen` (written once, or a folder given with `--logs`): the floor's query (bench.flows' FLOOR: read_csv of
7 text columns + GROUP BY), then `read_flows` and `tighten` end to end on an engine that profiles the two big
statements, the scan into connections (`conn`) and tighten's needs (`tighten_needs`).

Run as `python -m bench.operators [--records N | --logs FOLDER]`; prints one table per query.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.flowgen import write_flows
from bench.flows import floor_query
from bench.tighten import write_snapshot

PROFILED = ("conn", "tighten_needs")
"""The statements of the pipeline whose operators are reported (every other one takes under a second)."""


def _operators(profile: dict[str, Any]) -> list[tuple[int, str, float, int, str]]:
    """(depth, operator, CPU seconds, rows out, what it computes) in tree order, from DuckDB's JSON profile."""
    out: list[tuple[int, str, float, int, str]] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        info = node.get("extra_info", {})
        what = info.get("Projections") or info.get("Aggregates") or info.get("Join Type") or info.get("Function") or ""
        out.append((depth, node["name"], float(node.get("timing", 0.0)), int(node.get("intermediate_rows", 0)),
                    ", ".join(what) if isinstance(what, list) else str(what)))
        for child in node.get("children", []):
            walk(child, depth + 1)

    for top in profile.get("operator", []):
        walk(top, 0)
    return out


def _profiled(con: Any, sql: str, path: Path) -> tuple[float, list[tuple[int, str, float, int, str]]]:
    """Run `sql` with DuckDB's profiler on; its wall seconds and operators."""
    con.execute("SET enable_profiling = 'json'")  # first: the output file's extension must match it
    con.execute(f"SET profiling_output = '{path}'")
    started = time.perf_counter()
    try:
        con.execute(sql)
    finally:
        con.execute("PRAGMA disable_profiling")
    return time.perf_counter() - started, _operators(json.loads(path.read_text()))


def floor(logs: Path, work: Path) -> tuple[float, list[tuple[int, str, float, int, str]]]:
    """bench.flows' floor query (read 7 text columns, GROUP BY them), materialised, profiled."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        return _profiled(con, f"CREATE TEMP TABLE floor AS {floor_query(str(logs))}", work / "floor.json")
    finally:
        con.close()


def pipeline(logs: Path, snapshot: Path, work: Path) -> dict[str, tuple[float, list[tuple[int, str, float, int, str]]]]:
    """`tighten` end to end as the CLI runs it, the statements in PROFILED profiled; their operators by name."""
    from vpclab.analysis.tighten import tighten
    from vpclab.flows.engines import DuckEngine
    from vpclab.flows.pipeline import read_flows
    from vpclab.load.snapshot import load_snapshot

    found: dict[str, tuple[float, list[tuple[int, str, float, int, str]]]] = {}

    class ProfiledEngine(DuckEngine):
        def materialize(self, name: str, sql: str) -> None:
            if name not in PROFILED:
                super().materialize(name, sql)
                return
            found[name] = _profiled(self.con, f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", work / f"{name}.json")

    network = load_snapshot(str(snapshot)).network
    known = [(h.name, str(a)) for h in network.vpc_hosts() for a in h.private_addresses]
    run = read_flows([logs], engine=ProfiledEngine(), known_addresses=known, aggregate=False)
    try:
        tighten(network, run, snapshot=str(snapshot))
    finally:
        run.close()
    return found


def report(name: str, wall: float, operators: list[tuple[int, str, float, int, str]], least: float = 0.1) -> str:
    """One query's operators of at least `least` CPU seconds, indented as in the plan, and their total."""
    lines = [f"\n== {name}: {wall:.2f} s wall, {sum(o[2] for o in operators):.2f} s CPU over all operators =="]
    shown = [o for o in operators if o[2] >= least]
    width = max((2 * depth + len(op) for depth, op, *_ in shown), default=0)
    for depth, op, seconds, rows, what in shown:
        lines.append(f"   {'  ' * depth + op:<{width}} {seconds:6.2f} s  {rows:>12,} rows  {what[:80]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.operators", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--logs", type=Path, help="an AWSLogs folder of bench.flowgen (else generated)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vpclab-operators-"))
    try:
        logs = args.logs
        if logs is None:
            write_flows(work / "logs", args.records)
            logs = work / "logs" / "AWSLogs"
        snapshot = work / "fleet.yaml"
        write_snapshot(snapshot)
        print(report("floor: read_csv + GROUP BY", *floor(logs, work)))
        for name, (wall, operators) in pipeline(logs, snapshot, work).items():
            print(report(f"vpclab tighten: {name}", wall, operators))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
