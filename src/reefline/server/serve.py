"""Run a server process: uvicorn for the API and, by role, the engine host beside it."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

import sqlalchemy as sa

from reefline.server.settings import Role, ServerSettings

STOP_GRACE = 10.0
"""Seconds a stopping server lets its runs go on; what is still running then is taken over by the
next start (restart-resume)."""


SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the interpreter lock while another waits for it (Python's default is
0.005). A request takes it back after each of its ~10 database round trips; behind a thread
storing or streaming a log flood, each of those waits could last the whole interval."""


SERVER_EXECUTOR_OPTIONS: dict[str, dict[str, Any]] = {"local": {"sandbox": "always"}}
"""On a server every local job runs under bubblewrap, whatever its ``sandbox:`` says."""


def engine_host(settings: ServerSettings, db: sa.Engine) -> Any:
    """The engine host of a server: clean job environments, one workspace per run, shared artifacts,
    local jobs sandboxed."""
    from reefline.artifacts.locate import open_artifact_store
    from reefline.engine.host import EngineHost, JobEnv
    from reefline.server.run_setup import ServerRunSetup
    from reefline.services.secret_box import SecretBox

    settings.home.create()
    box = SecretBox.from_env(settings.home)
    return EngineHost(
        db,
        slots=settings.job_slots,
        job_env=JobEnv.CLEAN,
        prepare=ServerRunSetup(db, settings.home, box),
        artifacts=open_artifact_store(settings.artifacts),
        executor_options=SERVER_EXECUTOR_OPTIONS,
    )


def serve(settings: ServerSettings) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.role is Role.ENGINE:
        _serve_engine(settings)
        return
    import uvicorn

    from reefline.server.app import create_app

    host_box: dict[str, Any] = {}

    def on_start(app: Any) -> None:
        if settings.role is Role.ALL:
            host = engine_host(settings, app.state.db).start()
            app.state.host = host_box["host"] = host

    def on_stop(app: Any) -> None:
        host = host_box.get("host")
        if host is not None:
            host.stop(STOP_GRACE, finish=True)

    app = create_app(settings, on_start=on_start, on_stop=on_stop)
    role = "API and engine" if settings.role is Role.ALL else "API only"
    sys.stderr.write(
        f"Reefline server ({role}) on http://{settings.host}:{settings.port}  (API docs: /api/docs; "
        f"data: {settings.home.root})\n"
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)


def _serve_engine(settings: ServerSettings) -> None:
    from reefline.store.db import open_database

    db = open_database(settings.database_url)
    host = engine_host(settings, db).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sys.stderr.write(
        f"Reefline engine on {settings.database_url.split('@')[-1]} (data: {settings.home.root})\n"
    )
    stop.wait()
    host.stop(STOP_GRACE, finish=True)
