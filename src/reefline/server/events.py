"""A run's live events over Server-Sent Events: state changes, log lines, and the end.

Every event's id is ``<state change id>.<log line id>``, the position after it in both streams; a
client that reconnects with ``Last-Event-ID`` gets exactly what came after, nothing twice. Events:

- ``state``: ``{"job": name | null, "from": …, "to": …, "at": …, "reason": …, "attempt": …}``
  (``job`` null: the run's own state), replayed from the run's state history;
- ``log``: ``{"job", "attempt", "seq", "ts", "stream", "text"}``;
- ``end``: ``{"state": …}`` once the run is finished and every line was sent; the stream closes.

A comment line every ``KEEPALIVE`` seconds keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from reefline.engine.foreground import FOREGROUND
from reefline.engine.states import ACTIVE_RUN_STATES, RunState
from reefline.services.types import Invalid
from reefline.store import repo, repo_logs, repo_states
from reefline.store.rows import LogRow

POLL = 0.1
KEEPALIVE = 15.0
PAGE = 1000
READ_PAGE = 250
"""Log lines per query: the driver makes a page's rows holding the interpreter lock, and a request
waits behind it (``PAGE`` frames still go out in one write)."""
STEP_ASIDE_EVERY = 50
"""Frames between two looks at the API's requests in flight (see :mod:`reefline.engine.foreground`):
a follower's page steps aside for them, at most ``STEP_ASIDE_FOR`` each time, and before it is
read, at most ``PAGE_STEPS_ASIDE_FOR`` (on the event loop: an idle stream holds no thread)."""
STEP_ASIDE_FOR = 0.005
PAGE_STEPS_ASIDE_FOR = 0.02


@dataclass
class Position:
    state: int = 0
    log: int = 0

    def __str__(self) -> str:
        return f"{self.state}.{self.log}"

    @classmethod
    def parse(cls, text: str | None) -> Position:
        if not text:
            return cls()
        state, dot, log = text.strip().partition(".")
        if not (dot and state.isdecimal() and log.isdecimal() and len(text) < 40):
            raise Invalid(f"Last-Event-ID {text[:40]!r} is not an event id of this stream (`<n>.<n>`)")
        return cls(int(state), int(log))


def frame(event: str, data: object, position: Position) -> str:
    return f"id: {position}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def log_frame(job: str, line: LogRow, position: Position) -> str:
    """``frame("log", {...}, position)`` for a line, byte for byte, in a fraction of the time (a
    10 MB log is 50,000 of them): only the strings go through the JSON encoder's C function."""
    return _log_frame(_quoted(job), line, str(position))


_quoted = json.encoder.encode_basestring_ascii  # what json.dumps(str) calls
_STREAMS = {name: _quoted(name) for name in ("stdout", "stderr", "system")}


def _log_frame(quoted_job: str, line: LogRow, event_id: str) -> str:
    stream = _STREAMS.get(line.stream) or _quoted(line.stream)
    return (
        f'id: {event_id}\nevent: log\ndata: {{"job":{quoted_job},"attempt":{line.attempt:d},'
        f'"seq":{line.seq:d},"ts":{line.ts!r},"stream":{stream},"text":{_quoted(line.text)}}}\n\n'
    )


class RunEvents:
    """Reads what happened in one run after a position, page by page (blocking; call in a thread)."""

    def __init__(self, db: sa.Engine, run_id: int, after: Position) -> None:
        self.db = db
        self.run_id = run_id
        self.position = Position(after.state, after.log)
        with db.connect() as conn:
            self.cursor = repo_logs.RunLogCursor.resume(conn, run_id, after.log, page=READ_PAGE)
            self.names = {job.id: _quoted(job.name) for job in repo.list_jobs(conn, run_id)}

    def next_frames(self) -> tuple[list[str], RunState]:
        """Frames for what is new, and the run's state as read before them (so an ended run's
        frames are complete)."""
        frames: list[str] = []
        with self.db.connect() as conn:
            state = RunState(repo.get_run_state(conn, self.run_id)[0])
            changes = repo_states.state_changes_after(conn, self.run_id, self.position.state, PAGE)
        for change in changes:
            self.position.state = change.id
            data = {
                "job": change.job_name,
                "from": change.from_state,
                "to": change.to_state,
                "at": change.at,
                "reason": change.reason,
                "attempt": change.attempt,
            }
            frames.append(frame("state", data, self.position))
        state_id, top = self.position.state, self.position.log
        for line in self.cursor.scan(self.db):
            top = max(top, line.id)  # a late line's event id is the position after it, not its own id
            frames.append(_log_frame(self.names.get(line.job_id, '"?"'), line, f"{state_id}.{top}"))
            if len(frames) >= PAGE:
                break
            if not len(frames) % STEP_ASIDE_EVERY:
                FOREGROUND.step_aside(STEP_ASIDE_FOR)
        self.position.log = top
        return frames, state


async def stream(db: sa.Engine, run_id: int, after: Position) -> AsyncIterator[str]:
    events = await run_in_threadpool(RunEvents, db, run_id, after)
    last_sent = time.monotonic()
    yield "retry: 2000\n\n"
    while True:
        await FOREGROUND.step_aside_async(PAGE_STEPS_ASIDE_FOR)
        frames, state = await run_in_threadpool(events.next_frames)
        if frames:  # one write for the page: a frame per write costs the event loop a send per line
            yield "".join(frames)
            last_sent = time.monotonic()
            continue  # drain before checking the end
        if state not in ACTIVE_RUN_STATES:
            yield frame("end", {"state": str(state)}, events.position)
            return
        if time.monotonic() - last_sent >= KEEPALIVE:
            last_sent = time.monotonic()
            yield ": keepalive\n\n"
        await asyncio.sleep(POLL)
