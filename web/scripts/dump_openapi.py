"""Print the server's OpenAPI document as `make web-api` stores it (web/src/api/openapi.json).

Run with the venv's python: the app is built over a throwaway home, nothing is served."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from reefline.server.app import create_app
from reefline.server.settings import ServerSettings
from reefline.services.home import ServerHome
from reefline.store.db import open_database


def openapi_text() -> str:
    with tempfile.TemporaryDirectory(prefix="reefline-openapi-") as home:
        db = open_database(f"sqlite:///{Path(home) / 'openapi.db'}")  # never REEFLINE_DATABASE_URL's
        try:
            app = create_app(ServerSettings(home=ServerHome(Path(home))), db=db)
            document = app.openapi()
        finally:
            db.dispose()
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(openapi_text())
