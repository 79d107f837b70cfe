"""A router whose every route must say which permission it needs: deny by default.

``router.get("/x", permission=Permission.PIPELINE_READ)`` adds the check as the route's first
dependency and records the permission in the OpenAPI operation (``x-permission``), which the
route-by-role test walks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends

from reefline.server.deps import authorizer

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class SecureRouter(APIRouter):
    def secured(self, method: str, path: str, *, permission: str, **kwargs: Any) -> Decorator:
        extra = {**(kwargs.pop("openapi_extra", None) or {}), "x-permission": str(permission)}
        check = Depends(authorizer(str(permission)), scope="function")  # opens the request's transaction
        dependencies = [check, *(kwargs.pop("dependencies", None) or [])]
        return self.api_route(
            path, methods=[method], openapi_extra=extra, dependencies=dependencies, **kwargs
        )

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
