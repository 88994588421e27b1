"""Python's cyclic garbage collector paused while big, acyclic structures are built (a lab's YAML, an imported
snapshot, an engine's compiled policies): otherwise it rescans the growing heap again and again."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the block (or, as a decorator, the call); nested pauses leave it to the outermost."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
