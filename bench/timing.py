"""Repeat-and-summarise timing with time.perf_counter, robust to a noisy shared machine.

Every measurement runs one untimed warm-up pass, then several timed passes over the same work, with the
variants being compared run round-robin. We report the median pass (the typical figure) and the best
pass (the least disturbed one); the spread between the fastest and slowest pass is kept so a noisy run
is visible in the results.

The garbage collector stays enabled (the engine allocates a Verdict per packet, and real callers pay for
collection too), but a full collection runs before each pass so passes start from the same heap.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Timing:
    """`repeats` timed passes of `ops` operations each."""

    ops: int
    seconds: tuple[float, ...]

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best_s(self) -> float:
        return min(self.seconds)

    @property
    def worst_s(self) -> float:
        return max(self.seconds)

    @property
    def median_rate(self) -> float:
        """Operations per second of the median pass."""
        return self.ops / self.median_s

    @property
    def best_rate(self) -> float:
        return self.ops / self.best_s

    @property
    def median_us(self) -> float:
        """Microseconds per operation, median pass."""
        return self.median_s / self.ops * 1e6

    @property
    def best_us(self) -> float:
        return self.best_s / self.ops * 1e6

    @property
    def spread(self) -> float:
        """(slowest - fastest) / median: how noisy the passes were."""
        return (self.worst_s - self.best_s) / self.median_s

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self)
        data["seconds"] = [round(s, 6) for s in self.seconds]
        data.update(median_us=round(self.median_us, 4), best_us=round(self.best_us, 4),
                    median_per_s=round(self.median_rate, 1), best_per_s=round(self.best_rate, 1),
                    spread=round(self.spread, 4))
        return data


def measure_interleaved(runs: dict[str, tuple[Callable[[], object], int]], rounds: int,
                        warmup: int = 1) -> dict[str, Timing]:
    """Time several variants round-robin: each round runs every variant once, so a burst of noise from
    the rest of the machine lands on all of them rather than on one; the median per variant is robust
    to a few disturbed rounds. `runs` maps a name to (callable, operations per call)."""
    for _ in range(warmup):
        for run, _ops in runs.values():
            run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (run, _ops) in runs.items():
            gc.collect()
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: Timing(ops, tuple(seconds[name])) for name, (_run, ops) in runs.items()}
