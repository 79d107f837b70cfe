"""The API's requests in flight, counted where background work can see them (engine/foreground.py)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reefline.engine.foreground import FOREGROUND, Foreground


class ForegroundMiddleware:
    """Counts each HTTP request in a :class:`Foreground` gate (the process's own by default) until
    its response starts: the body of a stream (Server-Sent Events, a download) is background work.
    While the request waits for its own body, it is not counted either: a client that sends its
    upload slowly does not hold background work back."""

    def __init__(self, app: ASGIApp, gate: Foreground = FOREGROUND) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gate = self.gate
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
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        finally:
            if counted:
                gate.end()
