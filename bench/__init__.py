"""vpclab benchmarks: run with `make bench` or `.venv/bin/python -m bench` from the project root.

Three benchmarks, all timed with `time.perf_counter` here (never in the tests):

* `established` — data packets of established TCP flows through the full cross-subnet path
  (SG egress → NACL egress → NACL ingress → SG ingress, with conntrack on both ENIs), in packets/s.
* `rules` — new-flow decisions against security groups of 100, 1,000 and 10,000 rules: the compiled
  bitmask lookup against the plain linear scan, compile time, and full `Engine.evaluate` on fresh SYNs.
* `kernel` — bring-up and tear-down of 4- and 20-host kernel labs, and a full lab on each backend (root).
* `import` — a synthetic AWS describe-JSON snapshot of 1,000 / 3,000 / 10,000 ENIs (`bench/snapshot.py`) read,
  assembled and validated, and compiled by the engine, each size in a child process with its peak memory.

A diagnostic section follows (skip with `--no-hotspots`): `hotspots` (cProfile and a profiler-free
per-gate breakdown of the established-flow path).

See docs/benchmarks.md for what each measures and the latest figures.
"""
