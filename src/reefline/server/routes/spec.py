"""The visual editor's server side: a spec's graph, and structured edits of its YAML."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from reefline.server.bodies import MAX_SPEC_BYTES, parse_json_body, read_limited
from reefline.server.deps import SIGNED_IN
from reefline.server.models import SpecEditOut, SpecGraphOut, ValidateIn
from reefline.server.routing import SecureRouter
from reefline.services.spec_graph import graph_of_text
from reefline.services.types import Invalid
from reefline.spec.edits import MAX_EDITS, Edit, EditError, apply_edits

router = SecureRouter(tags=["spec"])
MAX_EDIT_CHARS = 256 * 1024  # ruamel.yaml is pure Python: about 2 s per edit of 100 KB of YAML


class SpecEditIn(BaseModel):
    text: str = Field(description="the YAML to edit", max_length=MAX_EDIT_CHARS)
    file: str = Field(default="reefline.yaml", max_length=500, description="the name diagnostics use")
    edits: list[Edit] = Field(max_length=MAX_EDITS, description="applied in order")


def _json_body(model: type[BaseModel]) -> dict[str, object]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_defs(model.model_json_schema())}},
        }
    }


def _inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its ``$defs`` put in place: a ``#/$defs/…`` ref means nothing inside an
    OpenAPI document (openapi-typescript refuses it). The discriminator's mapping names those refs;
    each variant's ``op`` constant already tells them apart."""
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return inline({**defs[ref.removeprefix("#/$defs/")], **rest})
        return {k: inline(v) for k, v in node.items() if k != "discriminator"}

    inlined: dict[str, Any] = inline(schema)
    return inlined


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


@router.post(
    "/spec/edit", permission=SIGNED_IN, response_model=SpecEditOut, openapi_extra=_json_body(SpecEditIn)
)
async def spec_edit(request: Request) -> SpecEditOut:
    """Apply structured edits (add, delete or rename a job; connect or disconnect an edge; set a
    field; add an input or output) to the YAML, keeping its comments, key order and formatting.
    An edit that cannot apply is a 422 whose details name the edit (``edit``, 0-based) and ``field``;
    nothing is applied then. The answer carries the new text's graph and diagnostics."""
    incoming = parse_json_body(SpecEditIn, await read_limited(request, MAX_SPEC_BYTES))
    edited = await run_in_threadpool(_edit, incoming)
    found = await run_in_threadpool(graph_of_text, edited, incoming.file)
    return SpecEditOut(text=edited, changed=edited != incoming.text, graph=SpecGraphOut.of(found))


def _edit(incoming: SpecEditIn) -> str:
    try:
        return apply_edits(incoming.text, incoming.edits)
    except EditError as exc:
        raise Invalid(str(exc), details={"edit": exc.index, "field": exc.field}) from None
