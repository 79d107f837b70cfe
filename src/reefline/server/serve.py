"""Run a server process: uvicorn for the API, the engine host beside it (by role)."""

from __future__ import annotations

import logging
import sys

from reefline.server.settings import Role, ServerSettings


def serve(settings: ServerSettings) -> None:
    import uvicorn

    from reefline.server.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    if settings.role is Role.ENGINE:
        raise SystemExit("--role engine is not available yet")  # the engine host lands with issue 11
    sys.stderr.write(
        f"Reefline server on http://{settings.host}:{settings.port} (API docs: /api/docs); "
        f"data in {settings.home.root}\n"
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False)
