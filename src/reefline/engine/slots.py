"""One limit on the job processes alive at once, shared by every run an engine host executes."""

from __future__ import annotations

import threading
from collections.abc import Callable


class JobSlots:
    """``size`` slots; a run takes one per attempt it starts and gives it back when the attempt ended.

    A run that finds no free slot leaves a ``wake`` callback and is called back (once) when a slot
    is given back, so it never polls. Thread-safe.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._used = 0
        self._lock = threading.Lock()
        self._waiting: dict[int, Callable[[], None]] = {}

    @property
    def used(self) -> int:
        return self._used

    def try_acquire(self, waiter: int, wake: Callable[[], None]) -> bool:
        """Take a slot; or, when none is free, remember to ``wake()`` ``waiter`` when one is."""
        with self._lock:
            if self._used < self.size:
                self._used += 1
                self._waiting.pop(waiter, None)
                return True
            self._waiting[waiter] = wake
            return False

    def release(self, count: int = 1) -> None:
        if count <= 0:
            return
        with self._lock:
            self._used = max(0, self._used - count)
            waiting, self._waiting = list(self._waiting.values()), {}
        for wake in waiting:
            wake()

    def forget(self, waiter: int) -> None:
        """``waiter`` stops waiting (its run ended)."""
        with self._lock:
            self._waiting.pop(waiter, None)
