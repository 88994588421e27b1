"""`python -m bench [--quick] [--only established|rules|hotspots|kernel|load|import|reach|audit|flows|tighten] [--against REV] [--json PATH]
[--no-hotspots]`.

Runs the benchmarks, prints readable tables, and writes every figure to bench/results.json
(bench/results-quick.json for a --quick smoke run). `--only` runs and updates just those sections.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing: prefer the working tree
    sys.path.insert(0, str(ROOT / "src"))

from bench import audit, established, flows, hotspots, importing, kernel, load, reach, rules  # noqa: E402
from bench import tighten  # noqa: E402

DEFAULT_JSON = Path(__file__).resolve().parent / "results.json"
QUICK_JSON = Path(__file__).resolve().parent / "results-quick.json"


def machine() -> dict[str, object]:
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                      if line.startswith("Model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model or platform.processor(),
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "kernel": platform.release(), "platform": platform.platform()}


def source() -> dict[str, object]:
    """The commit measured, and whether src/ had uncommitted changes (others may be editing it)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  check=False).stdout.strip()
        except OSError:
            return ""
    return {"commit": git("rev-parse", "HEAD"), "src_modified": bool(git("status", "--porcelain", "--", "src"))}


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in cells:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(out)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def print_established(r: dict) -> None:
    print(f"\n== 1. Established TCP flows, full cross-subnet path ({r['flows']} flows, PSH-ACK both ways) ==")
    acls = ", ".join(f"{name} {i}/{e}" for name, (i, e) in r["nacl_entries_ingress_egress"].items())
    print(f"   path: {r['path']}\n   NACL entries (ingress/egress): {acls}\n")
    rows = []
    for label, key in (("explain=False", "explain_false"), ("explain=True", "explain_true"),
                       ("harness only (no engine)", "harness_only")):
        t = r[key]
        rows.append([label, t["ops"], len(t["seconds"]), _n(t["median_per_s"]), _n(t["best_per_s"]),
                     f"{t['median_us']:.3f}", f"{t['spread'] * 100:.1f}%"])
    print(_table(["mode", "packets/pass", "passes", "median pkt/s", "best pkt/s", "µs/pkt (median)", "spread"],
                 rows))
    verdict = "MET" if r["meets_target"] else "NOT MET"
    print(f"\n   target ≥ {_n(r['target_per_s'])} pkt/s with explain=False: {verdict} "
          f"(median {_n(r['explain_false']['median_per_s'])} pkt/s)")


def print_rules(r: dict) -> None:
    print("\n== 2. New-flow decisions vs security group size (compiled bitmask index vs linear scan) ==\n")
    rows = []
    for row in r["results"]:
        rows.append([_n(row["rules"]), f"{row['compile_s']['median_ms']:.1f}",
                     f"{row['compiled']['median_us']:.3f}", f"{row['linear']['median_us']:.1f}",
                     f"{row['speedup']:,.0f}×", f"{row['hit_rate'] * 100:.0f}%",
                     f"{row['engine_syn']['median_us']:.2f}", _n(row["engine_syn"]["median_per_s"])])
    print(_table(["rules", "compile ms", "compiled µs/lookup", "linear µs/lookup", "compiled/linear",
                  "hit rate", "engine SYN µs", "engine SYN/s"], rows))
    print("\n   growth relative to the smallest group (median cost ratio):")
    rows = [[_n(row["rules"]), f"{g['rules']:.0f}×", f"{g['compiled']:.2f}×", f"{g['linear']:.1f}×",
             f"{g['engine_syn']:.2f}×"] for row in r["results"] for g in [row["growth_vs_smallest"]]]
    print(_table(["rules", "rule count", "compiled lookup", "linear scan", "engine SYN"], rows))


def print_hotspots(r: dict) -> None:
    b = r["established_breakdown"]
    print("\n== Hotspots: established data packet, explain=False ==\n")
    if "unavailable" in b:
        print(f"   breakdown {b['unavailable']}")
    else:
        print(f"   profiler-free breakdown (median of {b['rounds']} interleaved rounds; "
              f"budget at target: {b['budget_us_at_target']} µs/pkt)")
        print(_table(["part", "µs/packet"], [[k, f"{v:.3f}"] for k, v in b["us_per_packet"].items()]))
    print("\n   cProfile, top functions by self time (cProfile inflates small functions):")
    rows = [[row["function"], row["calls_per_packet"], f"{row['self_us_per_packet']:.3f}",
             f"{row['self_share'] * 100:.1f}%", f"{row['cum_us_per_packet']:.3f}"]
            for row in r["established_cprofile"]]
    print(_table(["function", "calls/pkt", "self µs/pkt", "self share", "cum µs/pkt"], rows))
    print("\n   cProfile of new-flow SYNs (1,000-rule group), top functions by self time:")
    rows = [[row["function"], row["calls_per_packet"], f"{row['self_us_per_packet']:.3f}",
             f"{row['self_share'] * 100:.1f}%"] for row in r["syn_cprofile_1000_rules"][:10]]
    print(_table(["function", "calls/pkt", "self µs/pkt", "self share"], rows))


def print_load(r: dict) -> None:
    print(f"\n== Loading a lab with one big security group ({r['loader']}) ==\n")
    rows = [[_n(row["rules"]), _n(row["lines"]), f"{row['parse_lab']['median_us'] / 1e6:.3f}",
             f"{row['parse_lab']['best_us'] / 1e6:.3f}", f"{row['yaml']['median_us'] / 1e6:.3f}",
             f"{row['rest_median_s']:.3f}"] for row in r["results"]]
    print(_table(["rules", "lines", "parse_lab s (median)", "best s", "YAML s (median)", "rest s"], rows))
    pure = r["results"][-1].get("pure_python_yaml")
    if pure:
        print(f"\n   the same YAML with the pure-Python loader (one pass): {pure['median_us'] / 1e6:.2f} s")
    verdict = "MET" if r["meets_target"] else "NOT MET"
    print(f"\n   target: 10,000 rules in under {r['target_s']:g} s: {verdict}")


def print_import(r: dict) -> None:
    print(f"\n== Importing a synthetic AWS snapshot (median of {r['rounds']}; {r['memory']}) ==\n")
    rows = [[_n(row["enis"]), _n(row["counts"]["security_groups"]), _n(row["counts"]["sg_rules_ingress"]
             + row["counts"]["sg_rules_egress"]), *(f"{row['median_s'][s]:.2f}" for s in importing.STAGES),
             f"{row['peak_mib']:,.0f}", f"{row['baseline_mib']:,.0f}"] for row in r["results"]]
    print(_table(["ENIs", "groups", "rules", "read s", "assemble s", "compile s", "collect s", "total s",
                  "peak MiB", "baseline MiB"], rows))
    print("\n   growth: time ratio to the previous size (exponent k in time ∝ ENIs^k; 1 linear, 2 quadratic):")
    rows = [[_n(row["enis"]), f"{g['enis']:.2f}×", *(f"{g['time'][s]:.2f}× (k={g['exponent'][s]:.2f})"
                                                     for s in importing.STAGES)]
            for row in r["results"] if (g := row.get("vs_previous"))]
    print(_table(["ENIs", "ENIs ×", *importing.STAGES], rows))
    first, last = r["results"][0], r["results"][-1]
    if "vs_smallest" in last:
        whole = last["vs_smallest"]
        print(f"   {first['enis']:,} → {last['enis']:,} ENIs ({whole['enis']:.0f}×): total {whole['time']['total']:.2f}× "
              f"(k={whole['exponent']['total']:.2f}), compile {whole['time']['compile']:.2f}× "
              f"(k={whole['exponent']['compile']:.2f})")
    against = r.get("against")
    if against:
        print(f"\n   {against['revision']} on the same snapshots (one pass each), and how many times slower it is than "
              "the working tree's pass just before it:")
        rows = [[_n(old["enis"]), *(f"{old['median_s'][s]:.2f} s ({x[s]:.1f}×)" for s in importing.STAGES),
                 f"{old['peak_mib']:,.0f}"] for old, x in zip(against["results"], against["slower"])]
        print(_table(["ENIs", *importing.STAGES, "peak MiB"], rows))
    verdict = "MET" if r["meets_target"] else "NOT MET"
    print(f"\n   target at 10,000 ENIs: under {r['target_s']:g} s and {r['target_rss_mib']:,.0f} MiB: {verdict} "
          f"({r['total_s']:.2f} s, {r['peak_mib']:,.0f} MiB at {r['largest_enis']:,} ENIs)")


def print_reach(r: dict) -> None:
    one, grid = r["one_reach"], r["matrix"]
    print(f"\n== vpclab reach on a synthetic snapshot ({r['port']}) ==\n")
    print(f"   {one['snapshot_enis']:,} ENIs: load {one['load_s']:.2f} s, engine {one['engine_s']:.2f} s, deferred "
          f"collection {one['deferred_collection_s']:.2f} s, "
          f"then {one['all']['n']} distinct questions (fixes included), first {one['first_question_ms']:.1f} ms")
    rows = [[kind, v["n"], f"{v['median_ms']:.2f}", f"{v['p90_ms']:.2f}", f"{v['max_ms']:.2f}"]
            for kind, v in [*one["by_kind"].items(), ("all", one["all"])]]
    print(_table(["question", "n", "median ms", "p90 ms", "max ms"], rows))
    verdict = "MET" if one["meets_target"] else "NOT MET"
    print(f"   target: every question under {one['target_ms']:g} ms after load: {verdict}")
    how = "extrapolated from " + f"{grid['pairwise_pairs_timed']:,} pairs" if grid["pairwise_extrapolated"] else "all pairs"
    print(f"\n   matrix over {grid['enis']:,} ENIs ({grid['classes']} classes, {grid['class_pairs']:,} class pairs, "
          f"{grid['full_reach_questions']:,} full reach questions): {grid['matrix_s']:.2f} s "
          f"(CPU {grid['matrix_cpu_s']:.2f} s); pair by pair "
          f"({grid['eni_pairs']:,} pairs, {how}): {grid['pairwise_all_pairs_s']:,.1f} s ({grid['speedup']:g}×); "
          f"answers differing: {grid['answers_differing']}")
    verdict = "MET" if grid["meets_target"] else "NOT MET"
    print(f"   target: the matrix under {grid['target_s']:g} s: {verdict}")


def print_audit(r: dict) -> None:
    print(f"\n== vpclab audit on a synthetic snapshot ({r['enis']:,} ENIs, {r['snapshot']['security_groups']:,} groups, "
          f"{r['snapshot']['sg_rules']:,} rules) ==\n")
    print(f"   read {r['read_s']:.2f} s, engine {r['engine_s']:.2f} s, checks {r['audit_s'] - r['engine_s']:.2f} s; "
          f"{r['findings_total']:,} findings; peak {r['peak_mib']:,.0f} MiB")
    rows = [[check, f"{seconds:.2f}", _n(r["findings"][check])] for check, seconds in r["checks_s"].items()]
    print(_table(["check", "s", "findings"], rows))
    print(f"   rendering: JSON {r['render_json_s']:.2f} s ({r['json_mib']:.1f} MiB), SARIF {r['render_sarif_s']:.2f} s "
          f"({r['sarif_mib']:.1f} MiB)")
    verdict = "MET" if r["meets_target"] else "NOT MET"
    print(f"   target: read + audit under {r['target_s']:g} s: {verdict} ({r['total_s']:.2f} s)")


def print_flows(r: dict) -> None:
    print(f"\n== Flow logs: {r['records']:,} v5 records, {r['files']} gzip files ({r['gzip_mib']:,.0f} MiB), "
          f"median of {r['rounds']} ==\n")
    rows = [[label, f"{r[key + '_median_s']:.2f}", _n(r[key + '_records_per_s']), f"{r[key + '_peak_mib']:,.0f}"]
            for label, key in (("DuckDB bare read + GROUP BY (floor)", "floor"),
                               ("vpclab flows (checks, inference, aggregate, summary)", "vpclab"))
            if key + "_median_s" in r]
    print(_table(["run", "seconds", "records/s", "peak MiB"], rows))
    if "ratio" in r:
        print(f"\n   vpclab / floor: {r['ratio']:.2f}×")
    bounded = r.get("vpclab_bounded", {})
    if "seconds" in bounded:
        print(f"   vpclab with DuckDB memory_limit {bounded['memory_limit']}: {bounded['seconds']:.2f} s, peak "
              f"{bounded['peak_mib']:,.0f} MiB")
    spark = r.get("spark", {})
    print(f"   Spark local, same files, once: {spark['seconds']:.1f} s ({r['records'] / spark['seconds']:,.0f} "
          "records/s)" if "seconds" in spark else f"   Spark local: {spark}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="vpclab benchmarks")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run: fewer packets and passes")
    parser.add_argument("--only", choices=["established", "rules", "hotspots", "kernel", "load", "import", "reach", "audit", "flows", "tighten"],
                        action="append", help="run only these sections (repeatable); the results file keeps the others")
    parser.add_argument("--against", metavar="REV", help="import section: also import the same snapshots with a git "
                        "revision's src/ (in the first round only), for a before/after ratio")
    parser.add_argument("--no-hotspots", action="store_true",
                        help="skip the diagnostic sections (profiles and what-if variants)")
    parser.add_argument("--json", type=Path, default=None, help=f"where to write results (default "
                        f"{DEFAULT_JSON.relative_to(ROOT)}; with --quick, {QUICK_JSON.relative_to(ROOT)}, so a "
                        "smoke run never overwrites the full figures)")
    args = parser.parse_args(argv)
    if args.json is None:
        args.json = QUICK_JSON if args.quick else DEFAULT_JSON
    selected = args.only or ["established", "rules", "load", "import", "flows", "tighten", "reach", "audit", "kernel"] + (
        [] if args.no_hotspots else ["hotspots"])

    import vpclab

    info = machine()
    print(f"vpclab {vpclab.__version__} benchmarks{' (--quick)' if args.quick else ''}: "
          f"{info['cpu_model']}, {info['cpus']} CPUs, Python {info['python']}, kernel {info['kernel']}")
    results: dict[str, object] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick, "machine": info, "vpclab": vpclab.__version__, "source": source(),
    }
    load_start = _load()
    started = time.perf_counter()
    if "established" in selected:
        results["established"] = established.run(args.quick)
        print_established(results["established"])
    if "rules" in selected:
        results["rules"] = rules.run(args.quick)
        print_rules(results["rules"])
    if "load" in selected:
        results["load"] = load.run(args.quick)
        print_load(results["load"])
    if "import" in selected:
        results["import"] = importing.run(args.quick, args.against)
        print_import(results["import"])
    if "reach" in selected:
        results["reach"] = reach.run(args.quick)
        print_reach(results["reach"])
    if "audit" in selected:
        results["audit"] = audit.run(args.quick)
        print_audit(results["audit"])
    if "flows" in selected:
        results["flows"] = flows.run(args.quick)
        print_flows(results["flows"])
    if "tighten" in selected:
        results["tighten"] = tighten.run(args.quick)
        print(tighten.report(results["tighten"]))
    if "hotspots" in selected:
        results["hotspots"] = hotspots.run(args.quick)
        print_hotspots(results["hotspots"])
    if "kernel" in selected:
        print("\n== Kernel backend: bring-up, tear-down, a full lab on each backend (needs root) ==")
        results["kernel"] = kernel.run(args.quick)
    results["wall_s"] = wall = round(time.perf_counter() - started, 1)
    results["load_average"] = {"start": load_start, "end": _load()}
    for name in selected:
        if isinstance(results.get(name), dict):
            results[name]["date"] = results["date"]
            results[name]["commit"] = results["source"]["commit"]
    if args.only and args.json.exists():  # a partial run updates its sections of an earlier full run
        try:
            earlier = json.loads(args.json.read_text())
        except ValueError:
            earlier = {}
        results = earlier | {name: results[name] for name in selected} | {
            "machine": info, "partial_runs": earlier.get("partial_runs", []) + [
                {"date": results["date"], "sections": selected, "quick": args.quick, "source": results["source"],
                 "load_average": results["load_average"]}]}
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nload average (1/5/15 min) at start {load_start}, at end {_load()}: "
          "other work on the machine makes passes slower and noisier")
    print(f"results written to {args.json} ({wall} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
