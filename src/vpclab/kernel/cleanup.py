"""Leftovers of killed runs: every run records its owner's PID; namespaces of dead owners are swept."""

from __future__ import annotations

import os
from pathlib import Path

from vpclab.kernel import driver
from vpclab.kernel.plan import PREFIX_PATTERN

RUN_DIR = Path("/run/vpclab")


def claim(prefix: str) -> None:
    """Record that this process owns the run `prefix`."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    (RUN_DIR / f"{prefix}.pid").write_text(str(os.getpid()))


def release(prefix: str) -> None:
    (RUN_DIR / f"{prefix}.pid").unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner(prefix: str) -> int | None:
    try:
        return int((RUN_DIR / f"{prefix}.pid").read_text())
    except (OSError, ValueError):
        return None


def sweep(everything: bool = False) -> list[str]:
    """Delete the namespaces of runs whose owner is gone (all vpclab runs if `everything`); returns them."""
    removed = []
    stale_prefixes = set()
    for ns in driver.namespaces():
        match = PREFIX_PATTERN.match(ns)
        if not match:
            continue
        prefix = match.group(1)
        pid = owner(prefix)
        if everything or pid is None or not _alive(pid):
            driver.delete_namespace(ns)
            removed.append(ns)
            stale_prefixes.add(prefix)
    for prefix in stale_prefixes:
        release(prefix)
    return removed
