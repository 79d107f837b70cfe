"""Delivering a component run: to the project's store, or to a server.

With ``REEFLINE_SERVER`` and ``REEFLINE_TOKEN`` set, runs go to
``POST /api/teams/{team}/component-runs`` (the team: ``REEFLINE_TEAM``, else the token's only team);
otherwise into the database ``reefline run`` uses for the workspace (``REEFLINE_DATABASE_URL``, or
``.reefline/reefline.db``). :func:`deliver` never raises: a failure is one line on stderr.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from reefline.sdk.where import Where
from reefline.services.shown import short_repr
from reefline.store.component_records import ComponentSpec, RunRecord

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from reefline.client import Client

SERVER_TIMEOUT_S = 10.0
_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_clients: dict[tuple[str, str], tuple[Client, str]] = {}


def deliver(spec: ComponentSpec, record: RunRecord, where: Where) -> int | None:
    """Record the run; its id, or None (and a warning on stderr) if it could not be recorded."""
    try:
        server, token = os.environ.get("REEFLINE_SERVER"), os.environ.get("REEFLINE_TOKEN")
        if server and token:
            return _to_server(server, token, spec, record, where)
        return _to_store(spec, record, where)
    except Exception as exc:  # recording must never break the user's function
        _warn(f"could not record the run of component {short_repr(spec.name)}: {type(exc).__name__}: {exc}")
        return None


def close() -> None:
    """Close the databases and servers this process recorded into (also done at exit)."""
    with _lock:
        for key, engine in _engines.items():
            engine.dispose(close=key.startswith(f"{os.getpid()}:"))  # a parent's connections: left alone
        for client, _ in _clients.values():
            client.close()
        _engines.clear()
        _clients.clear()


atexit.register(close)


def _warn(message: str) -> None:
    try:
        sys.stderr.write(f"reefline: warning: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed: nowhere left to say it
        pass


def _to_store(spec: ComponentSpec, record: RunRecord, where: Where) -> int:
    from reefline.services import components
    from reefline.store import db

    url = db.database_url(where.workspace)
    key = f"{os.getpid()}:{url}"  # a forked child (multiprocessing) must not share the parent's pool
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = db.open_database(url)
    with engine.begin() as conn:
        return components.record_run(conn, spec, record, pipeline_run_id=where.pipeline_run_id)


def _to_server(server: str, token: str, spec: ComponentSpec, record: RunRecord, where: Where) -> int:
    client, team = _client(server, token)
    body = {
        "component": dataclasses.asdict(spec),
        "pipeline_run_id": where.pipeline_run_id,
        **{k: v for k, v in dataclasses.asdict(record).items() if k != "artifacts"},
        "artifacts": [dataclasses.asdict(a) for a in record.artifacts],
    }
    created: dict[str, Any] = client.request("POST", f"/teams/{team}/component-runs", json=body)
    return int(created["id"])


def _client(server: str, token: str) -> tuple[Client, str]:
    with _lock:
        known = _clients.get((server, token))
        if known is not None:
            return known
        from reefline.client import Client

        client = Client(server, token, timeout=SERVER_TIMEOUT_S)
        team = os.environ.get("REEFLINE_TEAM")
        if not team:
            teams = [t["name"] for t in client.me()["teams"]]
            if len(teams) != 1:
                client.close()
                raise RuntimeError(
                    f"set REEFLINE_TEAM: the token's user is in {len(teams)} teams"
                    + (f" ({', '.join(teams)})" if teams else "")
                )
            team = str(teams[0])
        _clients[(server, token)] = (client, team)
        return client, team
