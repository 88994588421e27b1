"""A virtual clock with an event queue: time moves only when the simulation says so."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import count


class VirtualClock:
    """Runs callbacks in time order; `now` only advances through `advance` or `run_pending`."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = count()

    def schedule(self, delay: float, action: Callable[[], None]) -> None:
        """Run `action` `delay` seconds from now."""
        heapq.heappush(self._queue, (self.now + delay, next(self._seq), action))

    @property
    def pending(self) -> int:
        return len(self._queue)

    def run_pending(self, limit: float) -> None:
        """Run queued events until none is left or the next is more than `limit` seconds away."""
        deadline = self.now + limit
        while self._queue and self._queue[0][0] <= deadline:
            when, _, action = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            action()

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, running every event due on the way."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        target = self.now + seconds
        self.run_pending(seconds)
        self.now = target
