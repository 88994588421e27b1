"""Benchmark: `vpclab tighten` end to end on generated logs vs DuckDB's bare read + GROUP BY of the same files (issue 11).

bench.flowgen writes N seeded v5 records (gzip, S3 layout) for its fleet of ENIs; this module writes the matching
snapshot (a lab file: one subnet per 250 ENIs, a group per set of served ports with today's broad rules, a client
group, AWS's default egress). Then, round-robin in fresh child processes (own peak memory, VmHWM): the floor
(bench.flows' DuckDB read_csv + GROUP BY of the 5-tuple, ENI and action) and tighten end to end (snapshot load,
flow reading with every check, initiator inference, the aggregate, the proposal, its JSON), each stage timed; then
once each: replay of the logs against that proposal, and tighten on Spark local.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.flowgen import fleet, write_flows
from bench.flows import FLOOR, PEAK, floor_query
from bench.flows import _child as flows_child

ROOT = Path(__file__).resolve().parent.parent
RECORDS, QUICK_RECORDS = 10_000_000, 200_000
ENIS = 2000  # bench.flowgen's default fleet
TIMEOUT_S = 5400

TIGHTEN = PEAK + """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from vpclab.analysis.tighten import tighten
from vpclab.flows.pipeline import read_flows
from vpclab.load.snapshot import load_snapshot
from vpclab.report.tighten import to_dict
t0 = time.perf_counter()
network = load_snapshot(sys.argv[2]).network
known = [(h.name, str(a)) for h in network.vpc_hosts() for a in h.private_addresses]
t1 = time.perf_counter()
run = read_flows([Path(sys.argv[1])], engine=sys.argv[3], known_addresses=known, aggregate=False)  # as the CLI
t2 = time.perf_counter()
result = tighten(network, run, snapshot=sys.argv[2])
t3 = time.perf_counter()
text = json.dumps(to_dict(result))
t4 = time.perf_counter()
if len(sys.argv) > 5:
    Path(sys.argv[5]).write_text(text)
s = result.summary
run.close()
print(json.dumps({"seconds": t4 - t0, "snapshot_s": t1 - t0, "read_s": t2 - t1, "tighten_s": t3 - t2,
                  "json_s": t4 - t3, "records": s["records"], "needs": s["needs"],
                  "groups": s["groups"], "rules_proposed": s["rules_proposed"], "nacl_entries": s["nacl_entries"],
                  "peak_mib": peak_mib()}))
"""

REPLAY = PEAK + """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from vpclab.analysis.proposal import load_proposal
from vpclab.analysis.replay import replay
from vpclab.flows.pipeline import read_flows
from vpclab.load.snapshot import load_snapshot
t0 = time.perf_counter()
network = load_snapshot(sys.argv[2]).network
known = [(h.name, str(a)) for h in network.vpc_hosts() for a in h.private_addresses]
kind, proposal = load_proposal(network, Path(sys.argv[3]))
t1 = time.perf_counter()
run = read_flows([Path(sys.argv[1])], known_addresses=known)
t2 = time.perf_counter()
result = replay(network, run, proposal, kind)
t3 = time.perf_counter()
run.close()
print(json.dumps({"seconds": t3 - t0, "read_s": t2 - t1, "replay_s": t3 - t2, "judged": result.counts.get("judged", 0),
                  "broken": len(result.broken), "fidelity": len(result.fidelity), "peak_mib": peak_mib()}))
"""


def write_snapshot(path: Path, enis: int = ENIS, seed: int = 7) -> dict[str, int]:
    """The lab-file snapshot of bench.flowgen's fleet (same seed, same ENIs and addresses)."""
    hosts = fleet(enis, random.Random(seed))
    groups: dict[str, list[tuple[int, int]]] = {"sg-client": []}
    lines = ["lab: tighten-bench", "title: bench.flowgen's fleet", "vpc: {cidr: 10.0.0.0/16}", "subnets:"]
    for k in range((enis + 249) // 250):
        lines.append(f"  s{k}: {{cidr: 10.0.{k}.0/24}}")
    members = []
    for h in hosts:
        name = "sg-serves-" + "-".join(f"{'tcp' if p == 6 else 'udp'}{port}" for p, port in sorted(h.serves)) \
            if h.serves else "sg-client"
        groups.setdefault(name, sorted(h.serves))
        k = int(h.addr.split(".")[2])
        members.append(f"  {h.eni}: {{subnet: s{k}, ip: {h.addr}, security_groups: [{name}]}}")
    lines.append("security_groups:")
    for name, serves in sorted(groups.items()):
        rules = [f"{{proto: {'tcp' if p == 6 else 'udp'}, ports: {port}, cidr: 0.0.0.0/0}}" for p, port in serves]
        lines.append(f"  {name}:")
        lines.append(f"    ingress: [{', '.join(rules)}]")
    lines += ["hosts:", *members, "steps: []", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return {"enis": enis, "groups": len(groups)}


def _child(code: str, *args: str) -> dict:
    """One measurement in a fresh child process (its own peak memory), as the flows benchmark runs them."""
    return flows_child(code, *args, timeout=TIMEOUT_S)


def run(quick: bool, records: int | None = None, rounds: int | None = None, spark: bool = True) -> dict:
    """Generate, measure, and return the figures (printed by bench.__main__)."""
    records = records or (QUICK_RECORDS if quick else RECORDS)
    rounds = rounds or (1 if quick else 3)
    work = Path(tempfile.mkdtemp(prefix="vpclab-tighten-"))
    try:
        started = time.perf_counter()
        generated = write_flows(work / "logs", records)
        generate_s = time.perf_counter() - started
        snapshot = work / "fleet.yaml"
        held = write_snapshot(snapshot)
        logs = work / "logs" / "AWSLogs"
        size = sum(p.stat().st_size for p in logs.rglob("*.log.gz"))
        proposal = work / "proposal.json"
        floor, ours = [], []
        for i in range(rounds):
            floor.append(_child(FLOOR, floor_query(str(logs))))
            extra = [str(proposal)] if i == 0 else []
            ours.append(_child(TIGHTEN, str(logs), str(snapshot), "duckdb", str(ROOT / "src"), *extra))
        result: dict = {"records": generated["records"], "files": generated["files"], "gzip_mib": size / 2**20,
                        "generate_s": generate_s, "snapshot": held, "rounds": rounds, "floor": floor, "tighten": ours}
        for name, runs in (("floor", floor), ("tighten", ours)):
            ok = [r for r in runs if "seconds" in r]
            if ok:
                median = statistics.median(r["seconds"] for r in ok)
                result[f"{name}_median_s"] = median
                result[f"{name}_records_per_s"] = generated["records"] / median
                result[f"{name}_peak_mib"] = max(r["peak_mib"] for r in ok)
        if "floor_median_s" in result and "tighten_median_s" in result:
            result["ratio"] = result["tighten_median_s"] / result["floor_median_s"]
            result["meets_target"] = result["ratio"] <= 2.0
        result["replay"] = _child(REPLAY, str(logs), str(snapshot), str(proposal), str(ROOT / "src")) \
            if proposal.exists() else {"skipped": "no proposal written"}
        if spark and shutil.which("java"):
            result["spark"] = _child(TIGHTEN, str(logs), str(snapshot), "spark", str(ROOT / "src"))
        else:
            result["spark"] = {"skipped": "no java on PATH" if spark else "not asked"}
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(r: dict) -> str:
    """The readable table bench.__main__ prints."""
    lines = [f"\n== tighten end to end: {r['records']:,} v5 records, {r['files']} gzip files ({r['gzip_mib']:,.0f} MiB), "
             f"{r['snapshot']['enis']:,} ENIs, median of {r['rounds']} ==\n"]
    for label, key in (("DuckDB bare read + GROUP BY (floor)", "floor"), ("vpclab tighten (end to end)", "tighten")):
        if key + "_median_s" in r:
            lines.append(f"   {label:<40} {r[key + '_median_s']:8.2f} s  {r[key + '_records_per_s']:>12,.0f} records/s  "
                         f"peak {r[key + '_peak_mib']:,.0f} MiB")
    ok = [t for t in r["tighten"] if "seconds" in t]
    if ok:
        t = ok[0]
        lines.append(f"   stages (first round): snapshot {t['snapshot_s']:.2f} s, read {t['read_s']:.2f} s, tighten "
                     f"{t['tighten_s']:.2f} s, JSON {t['json_s']:.2f} s; {t['needs']:,} needs, "
                     f"{t['rules_proposed']:,} rules, {t['nacl_entries']:,} NACL entries")
    if "ratio" in r:
        lines.append(f"   tighten / floor: {r['ratio']:.2f}× (target ≤ 2×: {'MET' if r['meets_target'] else 'NOT MET'})")
    rp = r.get("replay", {})
    if "seconds" in rp:
        lines.append(f"   replay against the proposal, once: {rp['seconds']:.2f} s (judging {rp['replay_s']:.2f} s, "
                     f"{rp['judged']:,} rows, {rp['broken']} broken), peak {rp['peak_mib']:,.0f} MiB")
    sp = r.get("spark", {})
    lines.append(f"   Spark local, tighten end to end, once: {sp['seconds']:.1f} s ({r['records'] / sp['seconds']:,.0f} "
                 f"records/s), peak {sp['peak_mib']:,.0f} MiB (driver)" if "seconds" in sp else f"   Spark: {sp}")
    return "\n".join(lines)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.tighten")
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    figures = run(args.quick, args.records, args.rounds, not args.no_spark)
    print(report(figures))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
