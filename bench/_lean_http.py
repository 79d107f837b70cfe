"""A lean HTTP/1.1 client for load generation: keep-alive GETs on one connection, nothing else.

httpx spends 2.5 ms of CPU per request on this machine's cores (5 ms when 50 clients go flat
out), about as much as the server spends answering. The load generator shares the server's two
cores, so that cost came back as server latency. This one writes a prebuilt request and reads
the status line, ``Content-Length`` and body: about a tenth of that. What it does not speak
(chunked bodies, redirects, TLS) counts as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


class LeanConnection:
    """One keep-alive connection to ``base`` (``http://host:port``), reopened after an error."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": parts.netloc, **headers}.items())
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> tuple[int, float | None]:
        """GET ``path``: the status and the server's own time in ms (its ``Server-Timing``), if any.
        Raises OSError when the connection fails or the answer is not one this client reads."""
        try:
            if self._streams is None:
                self._streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self._streams
            writer.write(f"GET {path} HTTP/1.1\r\n{self._head}\r\n".encode())
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            length = _header(head, b"content-length")
            if length is None:
                raise OSError("an answer without Content-Length")
            await reader.readexactly(int(length))
            timing = _header(head, b"server-timing")
            return int(head[9:12]), _duration(timing)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            await self.close()
            raise OSError(str(exc)) from exc

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def sse_events(base: str, path: str, headers: dict[str, str]) -> Iterator[tuple[bytes, bytes]]:
    """``(event, data)`` of a Server-Sent Events stream until the server closes it, asked for over
    HTTP/1.0 so that the body comes unchunked. Blocking: for a process of its own."""
    parts = urlsplit(base)
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": parts.netloc, **headers}.items())
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80)) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\n{head}\r\n".encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += _received(sock)
        status, _, buffer = buffer.partition(b"\r\n\r\n")
        if status[9:12] != b"200":
            raise OSError(f"GET {path}: {status[:12].decode(errors='replace')}")
        while True:
            *blocks, buffer = buffer.split(b"\n\n")
            for block in blocks:
                event, data = b"message", b""
                for line in block.split(b"\n"):
                    if line.startswith(b"event: "):
                        event = line[7:]
                    elif line.startswith(b"data: "):
                        data = line[6:]
                if data:
                    yield event, data
            chunk = sock.recv(1 << 16)
            if not chunk:
                return
            buffer += chunk


def _received(sock: socket.socket) -> bytes:
    chunk = sock.recv(1 << 16)
    if not chunk:
        raise OSError("the server closed the connection before answering")
    return chunk


def _header(head: bytes, name: bytes) -> bytes | None:
    start = head.find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    return head[start : head.index(b"\r\n", start)].strip()


def _duration(timing: bytes | None) -> float | None:
    """The ``dur`` of a ``Server-Timing`` value, in ms."""
    if not timing or b"dur=" not in timing:
        return None
    return float(timing.split(b"dur=")[1].split(b";")[0])


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` on uvloop when it is installed (it is a server dependency): less of the
    load generator's CPU per request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())
