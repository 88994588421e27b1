"""Benchmark: `vpclab audit` on the synthetic 10,000-ENI snapshot of bench/snapshot.py (issue 10, "Performance").

The snapshot is written to a temporary folder (or an existing one is given) and audited in a fresh child process: reading and assembling it
(`read_input`), compiling the engine (`Context`), then each check on its own, each timed with `time.perf_counter`;
peak resident memory is the child's VmHWM. Then the findings are rendered as JSON and as SARIF (with each JSON path's line found in its file; timed apart: the target is the audit itself). Target: the audit
under 60 s at 10,000 ENIs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.snapshot import write_snapshot

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 60.0
TIMEOUT_S = 3600

CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from vpclab.analysis.audit import CHECKS, Context, read_input
from vpclab.gc_pause import collector_paused
def peak_kib():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
start = time.perf_counter()
found = read_input(sys.argv[2])
read = time.perf_counter()
ctx = Context(found)
compiled = time.perf_counter()
checks, counts, all_findings = {}, {}, []
with collector_paused():  # as vpclab.analysis.audit.audit runs them
    for check in CHECKS:
        t = time.perf_counter()
        findings = list(check.run(ctx))
        checks[check.id] = time.perf_counter() - t
        counts[check.id] = len(findings)
        all_findings += findings
end = time.perf_counter()
from vpclab.analysis.audit import AuditResult
from vpclab.report.audit import to_dict
from vpclab.report.sarif import to_sarif
result = AuditResult(found.path, found.snapshot.kind, tuple(all_findings), CHECKS)
t = time.perf_counter()
json_chars = len(json.dumps(to_dict(result)))
json_s = time.perf_counter() - t
from vpclab.analysis.audit.lines import source_lines
t = time.perf_counter()
sarif_chars = len(json.dumps(to_sarif(result, source_lines(result.snapshot, result.findings))))
sarif_s = time.perf_counter() - t
print(json.dumps({"render_json_s": json_s, "render_sarif_s": sarif_s, "json_mib": json_chars / 2**20,
                  "sarif_mib": sarif_chars / 2**20, "read_s": read - start, "engine_s": compiled - read, "checks_s": checks, "findings": counts,
                  "audit_s": end - read, "total_s": end - start, "peak_kib": peak_kib(),
                  "findings_total": len(all_findings),
                  "enis": len(ctx.hosts)}))
"""


def run(quick: bool = False) -> dict:
    enis = 1_000 if quick else 10_000
    with tempfile.TemporaryDirectory(prefix="vpclab-audit-bench-") as tmp:
        folder = Path(tmp) / "snapshot"
        held = write_snapshot(folder, enis)
        done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "src"), str(folder)], capture_output=True,
                              text=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the audit benchmark's child failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"enis": enis, "snapshot": held, **figures, "peak_mib": round(figures["peak_kib"] / 1024, 1),
            "target_s": TARGET_S, "meets_target": figures["total_s"] < TARGET_S}
