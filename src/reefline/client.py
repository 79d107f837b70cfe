"""``reefline.Client``: the REST API from Python (the CLI's ``--server`` mode uses it too).

    from reefline import Client
    api = Client("http://127.0.0.1:8420", token="rl_…")
    run = api.start_run("research", "iris", params={"max_depth": 3})
    for event in api.events(run["id"]):
        print(event.event, event.data)

Every method returns the JSON the API documents at /api/docs; an error response raises
:class:`ApiError` with its ``status``, ``code``, ``message`` and ``details``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import httpx

DEFAULT_TIMEOUT = 30.0
_STREAM_TIMEOUT = httpx.Timeout(30.0, read=60.0)  # the server sends a keepalive every 15 s


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else {}


@dataclass(frozen=True)
class Event:
    id: str | None
    event: str
    data: Any


class Client:
    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = url or os.environ.get("REEFLINE_SERVER")
        if not url:
            raise ValueError("no server: pass url=… or set REEFLINE_SERVER")
        self.url = url.rstrip("/")
        token = token or os.environ.get("REEFLINE_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, f"/api{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"cannot reach {self.url}: {exc}") from exc
        return _decoded(response)

    # ------------------------------------------------------------------ who am I

    def health(self) -> Any:
        return self.request("GET", "/health")

    def me(self) -> Any:
        return self.request("GET", "/me")

    def create_token(self, name: str, expires_in_days: int | None = None) -> Any:
        return self.request("POST", "/me/tokens", json={"name": name, "expires_in_days": expires_in_days})

    # ------------------------------------------------------------------ pipelines

    def validate(self, text: str, file: str = "reefline.yaml") -> Any:
        return self.request("POST", "/validate", json={"text": text, "file": file})

    def push(
        self,
        team: str,
        spec_text: str,
        *,
        source: bytes | None = None,
        board: str | None = None,
        message: str | None = None,
        file: str = "reefline.yaml",
    ) -> Any:
        data = {k: v for k, v in {"board": board, "message": message, "file": file}.items() if v is not None}
        files: dict[str, tuple[str, bytes, str]] = {"spec": (file, spec_text.encode(), "application/yaml")}
        if source is not None:
            files["source"] = ("source.tar.gz", source, "application/gzip")
        return self.request("POST", f"/teams/{team}/pipelines", data=data, files=files)

    PIPELINES_PAGE = 500

    def pipelines(self, team: str) -> Any:
        """Every pipeline of the team (the API pages them by name)."""
        found: list[Any] = []
        while True:
            query = {"limit": self.PIPELINES_PAGE, **({"after": found[-1]["name"]} if found else {})}
            page = self.request("GET", f"/teams/{team}/pipelines", params=query)
            found.extend(page)
            if len(page) < self.PIPELINES_PAGE:
                return found

    def revisions(self, team: str, pipeline: str) -> Any:
        return self.request("GET", f"/teams/{team}/pipelines/{pipeline}/revisions")

    def diff(self, team: str, pipeline: str, a: int, b: int) -> str:
        result = self.request("GET", f"/teams/{team}/pipelines/{pipeline}/diff", params={"a": a, "b": b})
        return str(result["diff"])

    def rollback(self, team: str, pipeline: str, revision: int, message: str | None = None) -> Any:
        body = {"revision": revision, "message": message}
        return self.request("POST", f"/teams/{team}/pipelines/{pipeline}/rollback", json=body)

    # ------------------------------------------------------------------ runs

    def start_run(
        self, team: str, pipeline: str, params: Mapping[str, Any] | None = None, revision: int | None = None
    ) -> Any:
        body = {"params": {k: str(v) for k, v in (params or {}).items()}, "revision": revision}
        return self.request("POST", f"/teams/{team}/pipelines/{pipeline}/runs", json=body)

    def runs(self, team: str, pipeline: str | None = None, limit: int = 50) -> Any:
        params: dict[str, Any] = {"limit": limit}
        if pipeline:
            params["pipeline"] = pipeline
        return self.request("GET", f"/teams/{team}/runs", params=params)

    def get_run(self, run_id: int) -> Any:
        return self.request("GET", f"/runs/{run_id}")

    def cancel(self, run_id: int) -> Any:
        return self.request("POST", f"/runs/{run_id}/cancel")

    def retry(self, run_id: int) -> Any:
        return self.request("POST", f"/runs/{run_id}/retry")

    def logs(self, run_id: int, job: str | None = None) -> Any:
        return self.request("GET", f"/runs/{run_id}/logs", params={"job": job} if job else None)

    def outputs(self, run_id: int) -> Any:
        """Every output the run recorded: ``[{id, job, name, path, type, sha256, size, download}]``."""
        return self.request("GET", f"/runs/{run_id}/outputs")

    def download_output(self, run_id: int, output_id: int, into: IO[bytes]) -> str:
        """Write an output's bytes (a directory: a tar of it) to ``into``; returns the content type."""
        try:
            with self.http.stream(
                "GET",
                f"/api/runs/{run_id}/outputs/{output_id}/content",
                timeout=httpx.Timeout(30.0, read=120.0),
            ) as response:
                if response.status_code != 200:
                    response.read()
                    _decoded(response)
                for chunk in response.iter_bytes(1 << 20):
                    into.write(chunk)
                return str(response.headers.get("content-type", "application/octet-stream"))
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"cannot reach {self.url}: {exc}") from exc

    def reproduce(self, run_id: int) -> Any:
        """Queue a new run of the run's revision with its params and nothing cached."""
        return self.request("POST", f"/runs/{run_id}/reproduce")

    def reproduction(self, run_id: int) -> Any:
        """For a run made by :meth:`reproduce`: each original output identical, different or missing."""
        return self.request("GET", f"/runs/{run_id}/reproduction")

    def wait(self, run_id: int, timeout: float = 600.0, poll: float = 0.5) -> Any:
        """The run once it has finished (``TimeoutError`` after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            detail = self.get_run(run_id)
            if detail["state"] in {"success", "failed", "canceled", "interrupted"}:
                return detail
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {detail['state']} after {timeout:g} s")
            time.sleep(poll)

    def download_logs(self, run_id: int, job: str | None = None) -> Iterator[str]:
        """The whole log of a run's job (or of every job), as text in pieces."""
        params = {"job": job} if job else {}
        try:
            with self.http.stream(
                "GET",
                f"/api/runs/{run_id}/logs/download",
                params=params,
                timeout=httpx.Timeout(30.0, read=120.0),
            ) as response:
                if response.status_code != 200:
                    response.read()
                    _decoded(response)
                yield from response.iter_text()
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"cannot reach {self.url}: {exc}") from exc

    def events(self, run_id: int, last_event_id: str | None = None) -> Iterator[Event]:
        """The run's events (Server-Sent Events) until it ends; reconnects where it stopped."""
        last = last_event_id
        while True:
            headers = {"Last-Event-ID": last} if last else {}
            try:
                with self.http.stream(
                    "GET",
                    f"/api/runs/{run_id}/events",
                    headers=headers,
                    timeout=httpx.Timeout(30.0, read=60.0),
                ) as response:
                    if response.status_code != 200:
                        response.read()
                        _decoded(response)
                    for event in _parse_sse(response.iter_lines()):
                        if event.id is not None:
                            last = event.id
                        yield event
                        if event.event == "end":
                            return
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout, httpx.ConnectError):
                time.sleep(1.0)  # the server went away mid-stream: resume from the last id


def _decoded(response: httpx.Response) -> Any:
    kind = response.headers.get("content-type", "")
    body: Any = response.json() if kind.startswith("application/json") else response.text
    if response.status_code >= 400:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise ApiError(
            response.status_code,
            str(error.get("code", "error")),
            str(error.get("message", f"HTTP {response.status_code}")),
            error.get("details"),
        )
    return body


def _parse_sse(lines: Iterator[str]) -> Iterator[Event]:
    event_id: str | None = None
    name = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield Event(event_id, name, json.loads("\n".join(data)))
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id":
            event_id = value
        elif field == "event":
            name = value
        elif field == "data":
            data.append(value)
