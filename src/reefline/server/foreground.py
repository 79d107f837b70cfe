"""The API's requests in flight, counted where background work can see them (engine/foreground.py),
and how long each one took, told to the client in ``Server-Timing``."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reefline.engine.foreground import FOREGROUND, Foreground


class ForegroundMiddleware:
    """Counts each HTTP request in a :class:`Foreground` gate (the process's own by default) until
    its response starts: the body of a stream (Server-Sent Events, a download) is background work.
    While the request waits for its own body, it is not counted either: a client that sends its
    upload slowly does not hold background work back.

    The response says how long the server took to start it, in ``Server-Timing: app;dur=<ms>``
    (browsers show it in their network panel; ``bench/api_load.py`` reports it beside what the
    client measured)."""

    def __init__(self, app: ASGIApp, gate: Foreground = FOREGROUND) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gate = self.gate
        began = time.perf_counter()
        counted, responded = True, False
        gate.begin()

        async def receiving() -> Message:
            nonlocal counted
            if counted:
                counted = False
                gate.end()
            try:
                return await receive()
            finally:
                if not responded and not counted:
                    counted = True
                    gate.begin()

        async def sending(message: Message) -> None:
            nonlocal counted, responded
            if message["type"] == "http.response.start":
                responded = True
                if counted:
                    counted = False
                    gate.end()
                took = f"app;dur={1000 * (time.perf_counter() - began):.1f}".encode()
                message = {**message, "headers": [*message.get("headers", ()), (b"server-timing", took)]}
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        finally:
            if counted:
                gate.end()
