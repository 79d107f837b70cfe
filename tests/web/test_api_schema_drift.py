"""The web UI's typed client is generated from the server's OpenAPI document: the committed copy
(web/src/api/openapi.json, from which schema.d.ts is generated) must be the live one.
web/src/api/schema.test.ts checks schema.d.ts against that copy."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "web" / "src" / "api" / "openapi.json"
DUMP_SCRIPT = ROOT / "web" / "scripts" / "dump_openapi.py"


def _live_openapi() -> str:
    spec = importlib.util.spec_from_file_location(
        "dump_openapi", ROOT / "web" / "scripts" / "dump_openapi.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.openapi_text()
    return text


def test_the_committed_openapi_document_is_the_live_one() -> None:
    live = _live_openapi()
    committed = COMMITTED.read_text(encoding="utf-8")
    if live != committed:
        live_paths = set(json.loads(live)["paths"])
        committed_paths = set(json.loads(committed)["paths"])
        raise AssertionError(
            "web/src/api/openapi.json is stale: run `make web-api` and commit it with schema.d.ts "
            f"(paths only live: {sorted(live_paths - committed_paths)}; "
            f"only committed: {sorted(committed_paths - live_paths)})"
        )
