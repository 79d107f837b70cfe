"""Bounded logs: what a job prints enters the engine through :class:`AttemptLog`, capped per attempt.

The store keeps the head and the tail of an attempt's log (by default 100,000 lines or 20 MB in
all, ``REEFLINE_LOG_MAX_LINES`` / ``REEFLINE_LOG_MAX_BYTES``), with one system line
``… N lines omitted …`` between them. The whole log goes to a gzip file beside the artifacts,
``.reefline/logs/<run id>/<job id>-<attempt>.log.gz``, one ``<unix time> <stream> <text>`` line per
line, which ``reefline logs RUN JOB --full`` reads.

Every line of an attempt gets a sequence number, ``seq`` (0, 1, 2, …), from the attempt's one
:class:`LogSeq` where it is produced: the job's own lines in the sink, Reefline's system lines for
the attempt (notes, tracebacks, retry messages) when they are written. Lines keep their number
through the engine's queue and the journal, and readers page by ``(attempt, seq)``. A capped log
keeps head and tail: the marker takes the number of the first line it stands for, the numbers of
the other omitted lines are simply missing (the marker says how many).

Lines reach the engine in batches; at most :data:`MAX_IN_FLIGHT` batches of every attempt together
wait in the engine's queue, so a flood blocks the job's output pipe (the job slows down) instead
of filling the engine's memory.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from reefline.engine.foreground import FOREGROUND
from reefline.engine.masking import MaskStream, SecretMasker
from reefline.executors.base import Stream
from reefline.executors.lines import MAX_LINE_BYTES

MAX_LINES_ENV = "REEFLINE_LOG_MAX_LINES"
MAX_BYTES_ENV = "REEFLINE_LOG_MAX_BYTES"
DEFAULT_MAX_LINES = 100_000
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
BATCH_LINES = 250
"""Lines per stored batch at most. A batch is encoded in one C call that holds the interpreter
lock throughout: 1,000 lines kept a request waiting behind it during a log flood."""
BATCH_BYTES = 1024 * 1024
MAX_IN_FLIGHT = 16
_FILE_CHUNK = 256 * 1024
STEP_ASIDE_EVERY = 64
"""Lines between two looks at the API's requests in flight (see :mod:`reefline.engine.foreground`)."""
STEP_ASIDE_FOR = 0.01

LogLine = tuple[Stream, float, str]
SeqLine = tuple[Stream, float, str, int]
"""A line with its sequence number within its attempt."""
Emit = Callable[[list[SeqLine]], None]


class LogSeq:
    """The sequence numbers of one attempt's lines: ``next()`` from any thread, never twice the same.

    ``start``: the first number (above what the store already has for an attempt begun earlier).
    """

    def __init__(self, attempt: int, start: int = 0) -> None:
        self.attempt = attempt
        self._next = start
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            value = self._next
            self._next += 1
            return value


@dataclass(frozen=True, slots=True)
class LogLimits:
    max_lines: int = DEFAULT_MAX_LINES
    max_bytes: int = DEFAULT_MAX_BYTES
    problems: tuple[str, ...] = ()
    """Bad settings that were replaced by the default (written into every attempt's log)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LogLimits:
        """The limits configured in the environment; a bad value falls back to the default."""
        source = os.environ if env is None else env
        problems: list[str] = []
        lines = _positive(source, MAX_LINES_ENV, DEFAULT_MAX_LINES, problems)
        size = _positive(source, MAX_BYTES_ENV, DEFAULT_MAX_BYTES, problems)
        return cls(lines, size, tuple(problems))


def _positive(env: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    raw = env.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 2:
        problems.append(f"{name}={env.get(name)!r} is not a whole number of at least 2; using {default}")
        return default
    return value


def full_log_path(logs_root: Path, run_id: int, job_id: int, attempt: int) -> Path:
    return logs_root / str(run_id) / f"{job_id}-{attempt}.log.gz"


def logs_root(workspace: Path) -> Path:
    """Where the full logs of a workspace's runs are kept, beside its artifacts."""
    return workspace / ".reefline" / "logs"


class Backpressure:
    """Counts the batches waiting in the engine's queue; a sender blocks while there are too many.

    ``close`` (the engine stopped reading) lets every sender through, so no worker stays blocked.
    """

    def __init__(self, limit: int = MAX_IN_FLIGHT) -> None:
        self._limit = limit
        self._in_flight = 0
        self._closed = False
        self._cond = threading.Condition()

    def try_acquire(self) -> bool:
        with self._cond:
            if self._closed or self._in_flight < self._limit:
                self._in_flight += 1
                return True
            return False

    def acquire(self) -> None:
        with self._cond:
            while not self._closed and self._in_flight >= self._limit:
                self._cond.wait()
            self._in_flight += 1

    def release(self) -> None:
        """Called by the engine thread once it has taken a batch."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class AttemptLog:
    """The log sink of one attempt (see :data:`reefline.executors.base.LogSink`).

    Called from the one thread that waits for the attempt; ``close`` after the attempt ended sends
    what is still buffered: the rest of the head, the omission marker and the tail.
    """

    def __init__(
        self,
        emit: Emit,
        pressure: Backpressure,
        limits: LogLimits,
        full_path: Path | None,
        full_command: str = "reefline logs RUN JOB --full",
        *,
        seq: LogSeq | None = None,
        masker: SecretMasker | None = None,
    ) -> None:
        self.seq = seq or LogSeq(0)
        # Secrets are masked before a line is kept anywhere (store, full log, live display).
        self._masker = masker if masker else None
        self._masking: dict[Stream, MaskStream] = {}
        self._full_command = full_command
        self._emit = emit
        self._pressure = pressure
        self._head_lines = limits.max_lines // 2
        self._head_bytes = limits.max_bytes // 2
        self._tail_lines = limits.max_lines - self._head_lines
        self._tail_bytes = limits.max_bytes - self._head_bytes
        self._full = _FullLog(full_path) if full_path is not None else None
        self._batch: list[SeqLine] = []
        self._batch_bytes = 0
        self._kept_lines = 0
        self._kept_bytes = 0
        self._capped = False
        self._tail: deque[tuple[SeqLine, int]] = deque()
        self._first_omitted: int | None = None  # the marker's number
        self._tail_size = 0
        self.omitted = 0
        self.lines = 0
        self.closed = False

    def __call__(self, stream: Stream, ts: float, text: str) -> None:
        if self._masker is not None:
            masked = self._mask(stream, text)
            if masked is None:
                return
            text = masked
        self._add(stream, ts, text)

    def _mask(self, stream: Stream, text: str) -> str | None:
        assert self._masker is not None
        masking = self._masking.get(stream)
        if masking is None:
            masking = self._masking[stream] = self._masker.stream()
        # A line cut at MAX_LINE_BYTES goes on in the next one: a secret may straddle the cut, so
        # the tail that could be its start waits for the next piece (see engine/masking.py).
        if len(text) * 4 >= MAX_LINE_BYTES - 3 and len(text.encode("utf-8", "replace")) >= MAX_LINE_BYTES - 3:
            return masking.feed(text) or None
        if masking.holding:
            return masking.feed(text) + masking.flush()
        return self._masker.mask_line(text)  # the common case: a whole line, nothing held

    def _add(self, stream: Stream, ts: float, text: str) -> None:
        data = text.encode("utf-8", errors="replace")
        size = len(data) + 1
        self.lines += 1
        if not self.lines % STEP_ASIDE_EVERY:
            FOREGROUND.step_aside(STEP_ASIDE_FOR)
        if self._full is not None:
            self._full.add(stream, ts, data)
        line: SeqLine = (stream, ts, text, self.seq.next())
        if not self._capped:
            if self._kept_lines < self._head_lines and self._kept_bytes + size <= self._head_bytes:
                self._kept_lines += 1
                self._kept_bytes += size
                self._batch.append(line)
                self._batch_bytes += size
                self._maybe_send()
                return
            self._capped = True
        self._tail.append((line, size))
        self._tail_size += size
        while len(self._tail) > self._tail_lines or self._tail_size > self._tail_bytes:
            gone, dropped = self._tail.popleft()
            self._tail_size -= dropped
            if self._first_omitted is None:
                self._first_omitted = gone[3]
            self.omitted += 1

    def close(self) -> None:
        """Send the buffered lines (head rest, marker, tail) and close the full log file."""
        if self.closed:
            return
        for stream, masking in self._masking.items():
            if masking.holding:
                self._add(stream, time.time(), masking.flush())
        self.closed = True
        try:
            if self._full is not None:
                self._full.finish(needed=self.omitted > 0)
            if self.omitted:
                if self._full is None:
                    where = "not kept"
                elif self._full.error is not None:
                    where = f"the whole log could not be kept: {self._full.error}"
                else:
                    where = f"the whole log: {self._full_command}"
                marker = f"… {self.omitted} lines omitted ({where}) …"
                number = self._first_omitted if self._first_omitted is not None else self.seq.next()
                self._batch.append(("system", time.time(), marker, number))
            self._batch.extend(line for line, _ in self._tail)
            self._tail.clear()
            if self._batch:
                self._pressure.acquire()
                self._send()
        finally:
            if self._full is not None:
                self._full.finish(needed=False)

    def _maybe_send(self) -> None:
        if self._pressure.try_acquire():  # the engine keeps up: no waiting, no batching delay
            self._send()
        elif len(self._batch) >= BATCH_LINES or self._batch_bytes >= BATCH_BYTES:
            self._pressure.acquire()  # a flood: wait for the engine, which blocks the job's pipe
            self._send()

    def _send(self) -> None:
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        try:
            self._emit(batch)
        except BaseException:
            self._pressure.release()
            raise


class _FullLog:
    """An attempt's whole log, gzip-compressed. The file is made only when it is needed: the log
    went past the cap, or past what is worth buffering; a small log stays in the store alone.
    A file that cannot be written costs the full log, never the job."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: gzip.GzipFile | None = None
        self.pending = bytearray()
        self.error: str | None = None
        self.done = False

    def add(self, stream: Stream, ts: float, data: bytes) -> None:
        if self.error is not None or self.done:
            return
        self.pending += b"%.6f %s " % (ts, stream.encode()) + data + b"\n"
        if len(self.pending) >= _FILE_CHUNK:
            self._flush()

    def finish(self, *, needed: bool) -> None:
        if self.done:
            return
        self.done = True
        if self.file is not None or needed:
            self._flush()
        self.pending = bytearray()
        if self.file is not None:
            try:
                self.file.close()
            except OSError as exc:
                self.error = self.error or str(exc)
            self.file = None

    def _flush(self) -> None:
        if self.error is not None:
            return
        try:
            if self.file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.file = gzip.GzipFile(self.path, "wb", compresslevel=1)
            self.file.write(self.pending)
        except OSError as exc:
            self.error = f"{exc.strerror or exc}: {self.path}"
            if self.file is not None:
                with contextlib.suppress(OSError):
                    self.file.close()
                self.file = None
        self.pending.clear()


def read_full_log(path: Path) -> Iterator[LogLine]:
    """The lines of a full log file written by :class:`AttemptLog`.

    A file cut short (the engine was killed while writing it) yields what it has, then a system
    line saying so.
    """
    try:
        with gzip.open(path, "rb") as f:
            for raw in f:
                yield _parse_line(raw)
    except (EOFError, OSError, zlib.error) as exc:
        yield ("system", 0.0, f"… the full log file {path} ends early ({exc}) …")


def _parse_line(raw: bytes) -> LogLine:
    ts, _, rest = raw.rstrip(b"\n").partition(b" ")
    stream, _, text = rest.partition(b" ")
    try:
        when = float(ts)
    except ValueError:
        when = 0.0
    name = stream.decode("ascii", errors="replace")
    shown: Stream = name if name in ("stdout", "stderr", "system") else "system"  # type: ignore[assignment]
    return (shown, when, text.decode("utf-8", errors="replace"))
