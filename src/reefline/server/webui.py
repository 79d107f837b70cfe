"""The web UI at ``/``: the PWA's built files (``make web`` writes them into ``server/webui/``).

Nothing is added to the API's routes: the router's fallback (what runs when no route matches) serves
``GET``/``HEAD`` outside ``/api``. A file of the build is sent as it is; any other path is a client
route of the single-page app and gets ``index.html``. Cache headers: Vite's hashed ``assets/`` never
change (immutable); ``index.html``, the service worker and the manifest are revalidated every time,
so a new build reaches users on their next load. Without a build, ``/`` says how to make one.
"""

from __future__ import annotations

import html
from pathlib import Path, PurePosixPath

from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

WEBUI_DIR = Path(__file__).parent / "webui"
API_PREFIX = "/api"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Vite emits no inline script; React Flow and CodeMirror set inline styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
# A missing file with one of these suffixes is a 404, not the app: a browser asking for a script
# must not get HTML.
STATIC_SUFFIXES = frozenset(
    {".js", ".mjs", ".css", ".map", ".png", ".svg", ".ico", ".webmanifest", ".json", ".txt", ".woff2"}
)


def install(app: FastAPI, root: Path = WEBUI_DIR) -> None:
    """Serve the UI from ``root`` (``app.state.webui_root`` overrides it, e.g. in tests)."""
    app.state.webui_root = root
    fallback: ASGIApp = app.router.default

    async def serve_ui(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or _is_api(path):
            await fallback(scope, receive, send)
            return
        response = respond(Path(app.state.webui_root), path)
        await response(scope, receive, send)

    app.router.default = serve_ui


def _is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def respond(root: Path, url_path: str) -> Response:
    """The response for ``url_path`` from the build in ``root``."""
    index = root / "index.html"
    if not index.is_file():
        return _not_built(root)
    relative = _safe_relative(url_path)
    if relative is not None:
        candidate = root / relative
        if relative.parts and candidate.is_file():
            return _file(candidate, relative)
        if relative.parts and (relative.parts[0] == "assets" or relative.suffix in STATIC_SUFFIXES):
            return Response(f"no file {url_path} in the web UI build\n", 404, media_type="text/plain")
    return _file(index, PurePosixPath("index.html"))


def _safe_relative(url_path: str) -> PurePosixPath | None:
    """The path inside the build, or None for anything that could leave it (``..``, NUL, backslash)."""
    if "\x00" in url_path or "\\" in url_path:
        return None
    parts = [p for p in url_path.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    return PurePosixPath(*parts)


def _file(path: Path, relative: PurePosixPath) -> Response:
    hashed = relative.parts[0] == "assets"
    headers = {
        "Cache-Control": IMMUTABLE if hashed else REVALIDATE,
        "X-Content-Type-Options": "nosniff",
    }
    media_type = None
    if relative.name == "index.html":
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        media_type = "text/html; charset=utf-8"
    elif relative.suffix == ".webmanifest":
        media_type = "application/manifest+json"
    elif relative.name == "sw.js":
        headers["Service-Worker-Allowed"] = "/"
    return FileResponse(path, headers=headers, media_type=media_type)


def _not_built(root: Path) -> Response:
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reefline: web UI not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web UI is not built</h1>
<p>This server has no web UI files in <code>{html.escape(str(root))}</code>.</p>
<p>In the source checkout run <code>make web</code> (it needs Node 20 and npm), then restart
<code>reefline server</code>. A wheel built after <code>make web</code> carries the UI.</p>
<p>The API works without it: <a href="/api/docs">/api/docs</a>.</p>
</body></html>
"""
    return HTMLResponse(page, 503, headers={"Cache-Control": REVALIDATE})
