"""The API's requests in flight, counted where background work can see them (engine/foreground.py)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reefline.engine.foreground import FOREGROUND, Foreground


class ForegroundMiddleware:
    """Counts each HTTP request in a :class:`Foreground` gate (the process's own by default) until
    its response starts: the body of a stream (Server-Sent Events, a download) is background work."""

    def __init__(self, app: ASGIApp, gate: Foreground = FOREGROUND) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.gate.begin()
        ended = False

        async def sending(message: Message) -> None:
            nonlocal ended
            if not ended and message["type"] == "http.response.start":
                ended = True
                self.gate.end()
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not ended:
                self.gate.end()
