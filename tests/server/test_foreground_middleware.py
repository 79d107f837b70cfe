"""The server counts a request as foreground until its response starts; a stream's body is not."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from reefline.engine.foreground import Foreground
from reefline.server.foreground import ForegroundMiddleware
from tests.server.conftest import Api


def _app(gate: Foreground, seen: dict[str, bool]) -> FastAPI:
    app = FastAPI()
    app.add_middleware(ForegroundMiddleware, gate=gate)

    @app.get("/status")
    def status() -> dict[str, bool]:
        seen["status"] = gate.busy
        return {"ok": True}

    @app.get("/stream")
    def stream() -> StreamingResponse:
        seen["stream handler"] = gate.busy

        def body() -> Iterator[str]:
            seen["stream body"] = gate.busy
            yield "data: 1\n\n"

        return StreamingResponse(body(), media_type="text/event-stream")

    @app.get("/boom")
    def boom() -> None:
        seen["boom"] = gate.busy
        raise RuntimeError("a bug in a route")

    return app


def test_a_request_is_foreground_until_its_answer_starts() -> None:
    gate, seen = Foreground(), {}
    with TestClient(_app(gate, seen), raise_server_exceptions=False) as client:
        assert client.get("/status").json() == {"ok": True}
        assert seen["status"] is True
        assert not gate.busy

        assert client.get("/stream").text == "data: 1\n\n"
        assert seen == {"status": True, "stream handler": True, "stream body": False}
        assert not gate.busy


def test_a_route_that_raises_still_ends_its_request() -> None:
    gate, seen = Foreground(), {}
    with TestClient(_app(gate, seen), raise_server_exceptions=False) as client:
        assert client.get("/boom").status_code == 500
    assert seen["boom"] is True
    assert not gate.busy


def test_the_server_counts_its_requests_in_the_process_gate(api: Api) -> None:
    app = api.client.app
    assert isinstance(app, FastAPI)
    assert [m.kwargs for m in app.user_middleware if m.cls is ForegroundMiddleware] == [{}]  # FOREGROUND


def test_a_log_stream_waits_on_the_event_loop_for_the_last_request() -> None:
    import asyncio

    from reefline.engine.foreground import FOREGROUND

    async def scenario() -> list[str]:
        order: list[str] = []

        async def request() -> None:
            await asyncio.sleep(0.05)
            order.append("request ends")
            FOREGROUND.end()

        async def stream() -> None:
            await FOREGROUND.step_aside_async(30.0)
            order.append("page read")

        FOREGROUND.begin()
        await asyncio.gather(stream(), request())
        return order

    try:
        assert asyncio.run(scenario()) == ["request ends", "page read"]
    finally:
        FOREGROUND.end()  # balanced already; an extra end leaves the gate open, as tested above
    assert not FOREGROUND.busy


def test_a_request_waiting_for_its_body_is_not_counted() -> None:
    import asyncio

    gate = Foreground()
    seen: list[tuple[str, bool]] = []

    async def app(_scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(("handler starts", gate.busy))
        message = await receive()
        seen.append((f"body {message['body']!r} arrived", gate.busy))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        seen.append(("answer started", gate.busy))
        await send({"type": "http.response.body", "body": b"ok"})

    async def scenario() -> None:
        body_sent = asyncio.Event()

        async def receive() -> Message:
            await body_sent.wait()
            return {"type": "http.request", "body": b"slow upload", "more_body": False}

        async def send(_message: Message) -> None:
            return None

        async def slow_client() -> None:
            await asyncio.sleep(0.05)
            seen.append(("client still uploading", gate.busy))
            body_sent.set()

        await asyncio.gather(ForegroundMiddleware(app, gate)({"type": "http"}, receive, send), slow_client())

    asyncio.run(scenario())
    assert seen == [
        ("handler starts", True),
        ("client still uploading", False),
        ("body b'slow upload' arrived", True),
        ("answer started", False),
    ]
    assert not gate.busy
