"""Every API route against every built-in role, a stranger, a site admin and nobody.

The routes are read from the app, so a new route is in the matrix the day it is added. What each
role may do is the permission table of ``services/permissions.py``:

- nobody (no credentials): 401 on every route but the public ones;
- a signed-in user who is not a member of the team: 404, the same as for a team that does not exist;
- a member whose role lacks the route's permission: 403 naming the permission;
- a member whose role has it, and a site admin: past the check (whatever the route then answers);
- a site-wide route (``SITE_ADMIN``): 403 for everyone but a site admin.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from reefline.server.deps import PUBLIC, SIGNED_IN, SITE_ADMIN
from reefline.server.serve import engine_host
from reefline.server.settings import ServerSettings
from reefline.services.permissions import BUILTIN_ROLES, Permission
from tests.server.conftest import IRIS_LIKE, Api

ROLES = tuple(BUILTIN_ROLES)  # owner, maintainer, developer, viewer


@pytest.fixture
def world(make_api: object) -> Iterator[tuple[Api, dict[str, str], int]]:
    api = make_api()  # type: ignore[operator]
    tokens = {role: api.user(f"{role}-user") for role in ROLES}
    tokens["stranger"] = api.user("stranger")
    tokens["admin"] = api.user("site-admin", admin=True)
    owner = api.as_(tokens["owner"])
    assert api.client.post("/api/teams", json={"name": "lab"}, headers=owner).status_code == 201
    for role in ROLES[1:]:
        added = api.client.put(f"/api/teams/lab/members/{role}-user", json={"role": role}, headers=owner)
        assert added.status_code == 200, added.text
    assert (
        api.client.post("/api/teams/lab/boards", json={"name": "research"}, headers=owner).status_code == 201
    )
    files = {"spec": ("reefline.yaml", IRIS_LIKE.encode(), "application/yaml")}
    assert api.client.post("/api/teams/lab/pipelines", files=files, headers=owner).status_code == 201
    host = engine_host(ServerSettings(home=api.home, job_slots=1), api.db)
    host.poll_every = 0.1
    host.start()
    run_id = api.client.post("/api/teams/lab/pipelines/demo/runs", json={}, headers=owner).json()["id"]
    deadline = time.monotonic() + 60
    while api.client.get(f"/api/runs/{run_id}", headers=owner).json()["state"] != "success":
        assert time.monotonic() < deadline, "the setup run did not finish"
        time.sleep(0.1)
    host.stop(5.0)
    yield api, tokens, run_id


def _routes(api: Api) -> list[tuple[str, str, str]]:
    """Every operation of the API, from its OpenAPI document (which lists every included router's)."""
    paths = api.client.get("/api/openapi.json").json()["paths"]
    return [
        (method.upper(), path, operation["x-permission"])
        for path, operations in paths.items()
        for method, operation in operations.items()
    ]


def _url(path: str, run_id: int) -> str:
    values = {"team": "lab", "name": "demo", "run_id": str(run_id), "username": "nobody-here"}
    values |= {"token_id": "999999", "number": "1", "output_id": "1"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "NOPE"), path)


def _call(api: Api, method: str, url: str, token: str | None) -> tuple[int, dict[str, object]]:
    headers = api.as_(token)
    if url.endswith("/events"):
        with api.client.stream(method, url, headers=headers) as response:
            status = response.status_code
            body = response.read() if status != 200 else b"{}"
        return status, json.loads(body or b"{}")
    response = api.client.request(method, url, headers=headers)
    kind = response.headers.get("content-type", "")
    return response.status_code, (response.json() if kind.startswith("application/json") else {})


def _denied_for(status: int, body: dict[str, object]) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if status == 403 and isinstance(error, dict):
        return str(error.get("details", {}).get("permission"))  # type: ignore[union-attr]
    return None


def test_every_route_declares_a_permission_and_enforces_it(world: tuple[Api, dict[str, str], int]) -> None:
    api, tokens, run_id = world
    routes = _routes(api)
    assert len(routes) >= 30
    unexpected: list[str] = []
    for method, path, permission in routes:
        if path in {"/api/auth/logout"}:
            continue  # ends the caller's session: checked in test_api_basics
        url = _url(path, run_id)
        status, body = _call(api, method, url, None)
        if permission != PUBLIC and status != 401:
            unexpected.append(f"{method} {path} nobody: {status}")
        if permission in (PUBLIC, SIGNED_IN):
            for who in (*ROLES, "stranger"):
                status, body = _call(api, method, url, tokens[who])
                if status in (401, 403):
                    unexpected.append(f"{method} {path} {who}: {status} {body}")
            continue
        if permission == SITE_ADMIN:
            for who in (*ROLES, "stranger"):
                status, body = _call(api, method, url, tokens[who])
                if _denied_for(status, body) != SITE_ADMIN:
                    unexpected.append(f"{method} {path} {who}: {status} {body} (site admins only)")
            status, body = _call(api, method, url, tokens["admin"])
            if status in (401, 403):
                unexpected.append(f"{method} {path} admin: {status}")
            continue
        needed = Permission(permission)
        in_team = "{team}" in path or "{run_id}" in path
        if in_team:
            status, body = _call(api, method, url, tokens["stranger"])
            if status != 404:
                unexpected.append(f"{method} {path} stranger: {status} (want 404)")
        for who in ROLES:
            status, body = _call(api, method, url, tokens[who])
            denied = _denied_for(status, body)
            if needed in BUILTIN_ROLES[who]:
                if status == 401 or denied is not None:
                    unexpected.append(f"{method} {path} {who}: {status} {body} (has {needed})")
            elif denied != str(needed):
                unexpected.append(f"{method} {path} {who}: {status} {body} (lacks {needed})")
        status, body = _call(api, method, url, tokens["admin"])
        if status in (401, 403):
            unexpected.append(f"{method} {path} admin: {status}")
    assert unexpected == []
