"""Interactive requests first: background work steps aside while API requests are in flight.

A server answers people and runs jobs in one process, and Python runs one thread at a time: a
thread that formats 50,000 log lines takes the interpreter in 5 ms slices from a request that needs
it for a few hundred microseconds between its database round trips. Background loops (a job's log
ingestion, a log stream's next page) call :meth:`Foreground.step_aside` between chunks of work; it
returns at once when no request is in flight, else waits until none is or ``at_most`` seconds
passed, so a steady stream of requests slows background work down but never stops it.
"""

from __future__ import annotations

import asyncio
import threading
import time

_ASYNC_POLL = 0.002


class Foreground:
    def __init__(self) -> None:
        self._in_flight = 0
        self._idle = threading.Condition(threading.Lock())

    def begin(self) -> None:
        with self._idle:
            self._in_flight += 1

    def end(self) -> None:
        with self._idle:
            self._in_flight -= 1
            if self._in_flight <= 0:
                self._in_flight = 0
                self._idle.notify_all()

    @property
    def busy(self) -> bool:
        return self._in_flight > 0

    def step_aside(self, at_most: float) -> None:
        if self._in_flight <= 0:  # the common case, without the lock
            return
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight <= 0, at_most)

    async def step_aside_async(self, at_most: float) -> None:
        """:meth:`step_aside` on an event loop: waits without holding a thread."""
        deadline = time.monotonic() + at_most
        while self._in_flight > 0 and time.monotonic() < deadline:
            await asyncio.sleep(_ASYNC_POLL)


FOREGROUND = Foreground()
"""The process's one gate: the API server counts its requests here; the engine and log streams
step aside."""
