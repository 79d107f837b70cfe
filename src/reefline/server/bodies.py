"""Reading request bodies with a size limit and one error shape for every malformed one."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from reefline.services.types import Invalid

MAX_SPEC_BYTES = 5 * 1024 * 1024
Model = TypeVar("Model", bound=BaseModel)


class TooLarge(Invalid):
    code = "too_large"


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdecimal() and int(declared) > limit:
        raise TooLarge(f"the body is {int(declared)} bytes; the limit is {limit}", details={"limit": limit})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body is over the limit of {limit} bytes", details={"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


def decode_utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the body is not UTF-8 text (byte {exc.start})") from None


def parse_json_body(model: type[Model], body: bytes) -> Model:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        problems = [
            {"location": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        first = problems[0] if problems else {"location": "body", "message": "invalid"}
        raise Invalid(f"{first['location']}: {first['message']}", details={"problems": problems}) from None
