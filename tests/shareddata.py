"""Where the real data written by others lives: `../shared/data` beside the checkout (never copied into it).

Found by walking up from this folder, or set by VPCLAB_SHARED_DATA. Where a checkout has none beside it, the tests
that read it are skipped, saying so; every other test runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _find() -> Path | None:
    if os.environ.get("VPCLAB_SHARED_DATA"):
        given = Path(os.environ["VPCLAB_SHARED_DATA"])
        return given if given.is_dir() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None


SHARED = _find()
REASON = "../shared/data is not beside this checkout (set VPCLAB_SHARED_DATA to read the real configurations)"
needs_shared = pytest.mark.skipif(SHARED is None, reason=REASON)


def shared(*parts: str) -> Path:
    """A path under the shared data; skips the calling test when there is none."""
    if SHARED is None:
        pytest.skip(REASON)
    return SHARED.joinpath(*parts)


def listing(folder: str, pattern: str = "*", dirs: bool = False) -> list[Path]:
    """The entries of a shared folder, for parametrising ([] when there is no shared data)."""
    if SHARED is None:
        return []
    return sorted(p for p in (SHARED / folder).glob(pattern) if p.is_dir() == dirs)
