"""Health and validation."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from reefline import __version__
from reefline.server.bodies import MAX_SPEC_BYTES, decode_utf8, parse_json_body, read_limited
from reefline.server.deps import PUBLIC, SIGNED_IN
from reefline.server.models import DiagnosticOut, Health, ValidateIn, ValidationOut
from reefline.server.routing import SecureRouter
from reefline.services.validation import validate_text

router = SecureRouter(tags=["meta"])


@router.get("/health", permission=PUBLIC, response_model=Health)
def health(request: Request) -> Health:
    state = request.app.state
    return Health(status="ok", version=__version__, role=str(state.role), database=state.db.dialect.name)


_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_VALIDATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ValidateIn.model_json_schema()},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


@router.post("/validate", permission=SIGNED_IN, response_model=ValidationOut, openapi_extra=_VALIDATE_BODY)
async def validate(request: Request) -> ValidationOut:
    """The diagnostics `reefline validate` prints, for YAML sent as the body (``application/yaml``) or
    as ``{"text": …, "file": …}`` (JSON). An invalid spec is still a 200: the answer is the report."""
    body = await read_limited(request, MAX_SPEC_BYTES)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in _YAML_TYPES:
        incoming = ValidateIn(text=decode_utf8(body), file=request.query_params.get("file", "reefline.yaml"))
    else:
        incoming = parse_json_body(ValidateIn, body)
    report = await run_in_threadpool(validate_text, incoming.text, incoming.file)
    return ValidationOut(
        file=report.file,
        valid=report.valid,
        jobs=report.jobs,
        definitions=report.definitions,
        diagnostics=[DiagnosticOut.model_validate(d.to_json()) for d in report.diagnostics],
    )
