"""Turning a process's output bytes into log lines, shared by executors that read raw streams."""

from __future__ import annotations

import time

from reefline.executors.base import LogSink, Stream

MAX_LINE_BYTES = 64 * 1024
"""Longer lines reach the log sink in chunks of at most this many bytes (cut between characters)."""

LINE_ENDS = (b"\n", b"\r")


class LineSplitter:
    """Bytes of one stream → lines. ``\\n``, ``\\r\\n`` and a lone ``\\r`` (progress bars) end a line.

    A line ended by a lone ``\\r`` keeps it: the next line overwrites it on a terminal, and a reader
    (the web UI's log view) shows only the last state of a progress bar.
    """

    __slots__ = ("buf", "log", "stream")

    def __init__(self, stream: Stream, log: LogSink) -> None:
        self.stream: Stream = stream
        self.log = log
        self.buf = b""

    def feed(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not buf:
            return
        parts = buf.splitlines(keepends=True)  # bytes split only on \n, \r\n and \r
        last = parts[-1]
        # A trailing "\r" may be the first half of "\r\n": keep it until more data or EOF.
        if last.endswith(b"\r") or not last.endswith(LINE_ENDS):
            parts.pop()
        else:
            last = b""
        for part in parts:
            self._emit(_without_newline(part))
        while len(last) > MAX_LINE_BYTES:
            cut = _utf8_cut(last, MAX_LINE_BYTES)
            self._emit(last[:cut])
            last = last[cut:]
        self.buf = last

    def close(self) -> None:
        """End of stream: the unterminated rest is a line too."""
        if self.buf:
            buf, self.buf = self.buf, b""
            for part in buf.splitlines():
                self._emit(part)

    def _emit(self, line: bytes) -> None:
        while len(line) > MAX_LINE_BYTES:
            cut = _utf8_cut(line, MAX_LINE_BYTES)
            self.log(self.stream, time.time(), line[:cut].decode("utf-8", errors="replace"))
            line = line[cut:]
        self.log(self.stream, time.time(), line.decode("utf-8", errors="replace"))


def _without_newline(part: bytes) -> bytes:
    if part.endswith(b"\n"):
        return part[:-2] if part.endswith(b"\r\n") else part[:-1]
    return part  # ended by a lone "\r": it stays, marking a line the next one overwrites


def _utf8_cut(data: bytes, limit: int) -> int:
    """A cut position <= limit that does not split a UTF-8 sequence (if the data is UTF-8)."""
    for back in range(4):
        if data[limit - back] & 0xC0 != 0x80:
            return limit - back
    return limit
