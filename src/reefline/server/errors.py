"""Every error the API returns has one shape, mapped here and nowhere else::

    {"error": {"code": "not_found", "message": "no pipeline 'iris' in team 'research'", "details": {}}}

Service errors map by kind; FastAPI's request validation, unknown routes and wrong methods get the same
shape; an unexpected exception is a 500 ``internal`` without its traceback (logged on the server).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from reefline.services import types as kinds
from reefline.store.errors import JobNotFound, RunNotFound, StoreError

log = logging.getLogger("reefline.server")

STATUS_BY_KIND: tuple[tuple[type[kinds.ServiceError], int], ...] = (
    (kinds.NotFound, 404),
    (kinds.Conflict, 409),
    (kinds.Invalid, 422),
    (kinds.Forbidden, 403),
    (kinds.Unauthenticated, 401),
    (kinds.Unavailable, 503),
    (kinds.ServiceError, 400),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


_STATUS_BY_CODE = {"rate_limited": 429, "too_large": 413}


def status_of(exc: kinds.ServiceError) -> int:
    if exc.code in _STATUS_BY_CODE:
        return _STATUS_BY_CODE[exc.code]
    return next(status for kind, status in STATUS_BY_KIND if isinstance(exc, kind))


def _service_details(exc: kinds.ServiceError) -> Any:
    details: dict[str, Any] = dict(exc.details)
    diagnostics = getattr(exc, "diagnostics", None)
    if diagnostics is not None:
        details["diagnostics"] = [d.to_json() for d in diagnostics]
    return jsonable_encoder(details)


def _methods_of(request: Request) -> list[str]:
    methods: set[str] = set()
    for pattern, allowed in request.app.state.path_methods:
        if pattern.fullmatch(request.url.path):
            methods |= allowed
    return sorted(methods)


def path_methods(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path regex, methods) of every documented path, for the ``Allow`` header of a 405."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        regex = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path))
        found.append((re.compile(regex), frozenset(m.upper() for m in operations)))
    return found


def install(app: FastAPI) -> None:
    @app.exception_handler(kinds.ServiceError)
    async def service_error(request: Request, exc: kinds.ServiceError) -> JSONResponse:
        headers = {}
        retry_after = exc.details.get("retry_after")
        if isinstance(retry_after, int | float):
            headers["Retry-After"] = str(int(retry_after) + 1)
        if exc.code == "unauthenticated":
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(
            error_body(exc.code, str(exc), _service_details(exc)), status_of(exc), headers=headers
        )

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        if isinstance(exc, RunNotFound | JobNotFound):
            return JSONResponse(error_body("not_found", str(exc)), 404)
        log.error("database problem on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(error_body("unavailable", f"the database is unavailable: {exc}"), 503)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"location": ".".join(str(p) for p in error.get("loc", ())), "message": error.get("msg", "")}
            for error in exc.errors()
        ]
        first = problems[0] if problems else {"location": "request", "message": "invalid"}
        message = f"{first['location']}: {first['message']}"
        return JSONResponse(error_body("invalid", message, {"problems": problems}), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path} (see /api/docs)"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only those of its first route
            headers["Allow"] = ", ".join(_methods_of(request))
        return JSONResponse(error_body(code, message), exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal", "internal error: this is a bug in Reefline (the server log has details)"),
            500,
        )
