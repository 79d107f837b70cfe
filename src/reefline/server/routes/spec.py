"""The visual editor's server side: a spec's graph, and structured edits of its YAML."""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from reefline.server.bodies import MAX_SPEC_BYTES, parse_json_body, read_limited
from reefline.server.deps import SIGNED_IN
from reefline.server.models import SpecGraphOut, ValidateIn
from reefline.server.routing import SecureRouter
from reefline.services.spec_graph import graph_of_text

router = SecureRouter(tags=["spec"])


def _json_body(model: type[BaseModel]) -> dict[str, object]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


@router.post(
    "/spec/graph", permission=SIGNED_IN, response_model=SpecGraphOut, openapi_extra=_json_body(ValidateIn)
)
async def spec_graph(request: Request) -> SpecGraphOut:
    """The graph of the YAML in ``text``: stages, jobs with the source range of every field, typed
    edges, params and the type palette, with the diagnostics of ``/validate``. A spec with errors,
    even one whose YAML does not parse, still gets a graph (200): the editor asks on every pause."""
    incoming = parse_json_body(ValidateIn, await read_limited(request, MAX_SPEC_BYTES))
    found = await run_in_threadpool(graph_of_text, incoming.text, incoming.file)
    return SpecGraphOut.of(found)
