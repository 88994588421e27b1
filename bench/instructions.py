"""Instructions per established packet, counted by valgrind's callgrind: a figure that machine load cannot move.

`python -m bench.instructions [--against REV] [--packets N]` runs benchmark 1's workload (established TCP flows,
full cross-subnet path, explain=False) under callgrind twice per tree — with 0 and with N data packets — and
reports (difference / N), so start-up and set-up cancel out. With `--against`, the same is counted for a git
revision checked out in a temporary worktree, and the ratio is printed: the way to show an engine change made
the hot path no slower on a shared, noisy machine. Set-up objects are frozen out of the collector first
(`gc.freeze`), so the figure is the engine's work, not the heap of whatever built the network.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKLOAD = """
import gc, sys
root, packets = sys.argv[1], int(sys.argv[2])
sys.path[:0] = [root + "/src", root]
from bench import established
setup = established.establish(1000, packets)
engine, data, now = setup.engine, setup.data, 10.0
gc.freeze()
for p in data:
    now += 1e-6
    engine.evaluate(p, now, False)
"""


def _count(tree: Path, packets: int, workdir: Path) -> int:
    """Instructions callgrind counts for the workload on `tree` with `packets` data packets."""
    out = workdir / f"callgrind.{tree.name}.{packets}"
    result = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c",
                             WORKLOAD, str(tree), str(packets)], capture_output=True, text=True, check=True)
    match = re.search(r"Collected : (\d+)", result.stderr)
    if match is None:
        raise RuntimeError(f"callgrind printed no total: {result.stderr[-500:]}")
    return int(match.group(1))


def per_packet(tree: Path, packets: int, workdir: Path) -> float:
    """Instructions per established packet on `tree` (both runs in parallel: counts do not depend on timing)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        base, full = pool.map(lambda n: _count(tree, n, workdir), (0, packets))
    return (full - base) / packets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="also count a git revision, and print the ratio")
    parser.add_argument("--packets", type=int, default=50_000, help="data packets in the counted run")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 3
    with tempfile.TemporaryDirectory(prefix="vpclab-instr-") as tmp:
        workdir = Path(tmp)
        figures = {"working tree": per_packet(ROOT, args.packets, workdir)}
        if args.against:
            other = workdir / "against"
            subprocess.run(["git", "worktree", "add", "--detach", str(other), args.against], cwd=ROOT,
                           capture_output=True, check=True)
            try:
                figures[args.against] = per_packet(other, args.packets, workdir)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, capture_output=True)
    for name, value in figures.items():
        print(f"{name:>14}: {value:,.0f} instructions per established packet (explain=False)")
    if args.against:
        print(f"{'ratio':>14}: {figures['working tree'] / figures[args.against]:.3f} (working tree / {args.against})")
    print(json.dumps({"packets": args.packets, "instructions_per_packet": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
