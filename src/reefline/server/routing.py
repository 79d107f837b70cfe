"""A router whose every route must say which permission it needs: deny by default.

``router.get("/x", permission=Permission.PIPELINE_READ)`` adds the check as the route's first
dependency and records the permission in the OpenAPI operation (``x-permission``), which the
route-by-role test walks.

A plain (``def``) route runs in the thread pool inside its request's transaction, opened and
committed in that same trip (:func:`_in_transaction`). A trip costs about as much as a short
route's own work, and waits for the event loop to let go of the interpreter lock when the server
is busy: one per request, not three (open and check, route, commit).
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from reefline.server.deps import authorizer, database, transaction

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class SecureRouter(APIRouter):
    def secured(self, method: str, path: str, *, permission: str, **kwargs: Any) -> Decorator:
        extra = {**(kwargs.pop("openapi_extra", None) or {}), "x-permission": str(permission)}
        dependencies = [Depends(authorizer(str(permission))), *(kwargs.pop("dependencies", None) or [])]
        add = self.api_route(path, methods=[method], openapi_extra=extra, dependencies=dependencies, **kwargs)

        def decorate(route: Callable[..., Any]) -> Callable[..., Any]:
            add(_in_transaction(route))
            return route

        return decorate

    def get(self, path: str, *, permission: str, **kwargs: Any) -> Decorator:  # type: ignore[override]
        return self.secured("GET", path, permission=permission, **kwargs)

    def post(self, path: str, *, permission: str, **kwargs: Any) -> Decorator:  # type: ignore[override]
        return self.secured("POST", path, permission=permission, **kwargs)

    def put(self, path: str, *, permission: str, **kwargs: Any) -> Decorator:  # type: ignore[override]
        return self.secured("PUT", path, permission=permission, **kwargs)

    def patch(self, path: str, *, permission: str, **kwargs: Any) -> Decorator:  # type: ignore[override]
        return self.secured("PATCH", path, permission=permission, **kwargs)

    def delete(self, path: str, *, permission: str, **kwargs: Any) -> Decorator:  # type: ignore[override]
        return self.secured("DELETE", path, permission=permission, **kwargs)


def _in_transaction(route: Callable[..., Any]) -> Callable[..., Any]:
    """A plain ``route`` as an ``async`` endpoint that, in one thread-pool call, opens the request's
    transaction, passes it as the route's ``Transaction`` parameters, runs the route and commits
    (or rolls back if it raised), then runs the request's ``after_commit`` callbacks. FastAPI sees
    the route's other parameters, with their annotations resolved in the route's module."""
    hints = typing.get_type_hints(route, include_extras=True)
    signature = inspect.signature(route)
    given = [name for name in signature.parameters if _dependency_of(hints.get(name)) is transaction]
    if inspect.iscoroutinefunction(route):
        if given:
            raise TypeError(f"{route.__qualname__}: only a plain (def) route takes a Transaction")
        return route
    wants_request = "request" in signature.parameters
    parameters = [
        p.replace(annotation=hints.get(name, p.annotation))
        for name, p in signature.parameters.items()
        if name not in given
    ]
    if not wants_request:
        parameters.append(inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request))
    returns = hints.get("return", signature.return_annotation)

    def call(request: Request, kwargs: dict[str, Any]) -> Any:
        request.state.after_commit = []
        with database(request).begin() as conn:
            result = route(**kwargs, **dict.fromkeys(given, conn))
        for callback in request.state.after_commit:
            callback()
        return result

    @functools.wraps(route)
    async def endpoint(**kwargs: Any) -> Any:
        request = kwargs["request"] if wants_request else kwargs.pop("request")
        return await run_in_threadpool(call, request, kwargs)

    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=None if returns is type(None) else returns
    )
    return endpoint


def _dependency_of(hint: Any) -> Any:
    """The callable of an ``Annotated[..., Depends(f)]`` hint, else None."""
    for extra in getattr(hint, "__metadata__", ()):
        dependency = getattr(extra, "dependency", None)
        if dependency is not None:
            return dependency
    return None
