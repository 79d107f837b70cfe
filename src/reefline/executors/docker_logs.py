"""A container's output, live: both streams from the attach socket, split into lines.

A reader thread reads the engine's multiplexed frames (8-byte header: stream, 0, 0, 0, size) and
puts ``(stream, unix time, bytes)`` on a queue; the thread that runs ``wait`` takes them off and
calls the log sink, so the sink sees the lines in the order the engine sent them.
"""

from __future__ import annotations

import contextlib
import queue
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from reefline.executors.base import Stream

MAX_LINE = 64 * 1024
"""A longer line without a newline is cut there (the log caps apply after that)."""
_STREAMS: dict[int, Stream] = {1: "stdout", 2: "stderr"}
EOF_MARK = None
Chunk = tuple[Stream, float, bytes] | None


def _raw_socket(sock: Any) -> Any:
    """The socket under what ``attach_socket`` returns (a SocketIO for a unix socket)."""
    return getattr(sock, "_sock", sock)


class FrameReader:
    """Reads frames from an attach socket in a thread of its own until the stream ends."""

    def __init__(self, sock: Any) -> None:
        self.chunks: queue.SimpleQueue[Chunk] = queue.SimpleQueue()
        self._sock = _raw_socket(sock)
        self._owner = sock
        self._thread = threading.Thread(target=self._run, name="reefline-docker-logs", daemon=True)
        self._thread.start()

    def _recv_exact(self, size: int) -> bytes | None:
        data = bytearray()
        while len(data) < size:
            part = self._sock.recv(size - len(data))
            if not part:
                return None
            data += part
        return bytes(data)

    def _run(self) -> None:
        try:
            while True:
                header = self._recv_exact(8)
                if header is None:
                    return
                kind, size = struct.unpack(">BxxxL", header)
                payload = self._recv_exact(size) if size else b""
                if payload is None:
                    return
                self.chunks.put((_STREAMS.get(kind, "stdout"), time.time(), payload))
        except OSError:
            return  # the socket was closed by destroy
        finally:
            self.chunks.put(EOF_MARK)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(2)
        with contextlib.suppress(OSError):
            self._owner.close()
        self._thread.join(2)


class LineSplitter:
    """Bytes per stream → whole lines (without the newline) for the log sink."""

    def __init__(self, emit: Callable[[Stream, float, str], None]) -> None:
        self._emit = emit
        self._partial: dict[Stream, bytearray] = {}

    def feed(self, stream: Stream, ts: float, data: bytes) -> None:
        buf = self._partial.setdefault(stream, bytearray())
        buf += data
        while True:
            end = buf.find(b"\n")
            if end < 0:
                break
            line = bytes(buf[:end])
            del buf[: end + 1]
            for start in range(0, max(len(line), 1), MAX_LINE):
                self._emit(stream, ts, _text(line[start : start + MAX_LINE]))
        while len(buf) > MAX_LINE:
            self._emit(stream, ts, _text(bytes(buf[:MAX_LINE])))
            del buf[:MAX_LINE]

    def flush(self) -> None:
        for stream, buf in self._partial.items():
            if buf:
                self._emit(stream, time.time(), _text(bytes(buf)))
                buf.clear()


def _text(line: bytes) -> str:
    return line.removesuffix(b"\r").decode("utf-8", errors="replace")
