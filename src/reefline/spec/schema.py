"""The published JSON Schema of ``reefline.yaml`` (``reefline schema``), generated from the models."""

from __future__ import annotations

from typing import Any

from reefline.spec.models import Pipeline

SCHEMA_ID = "https://reefline.dev/schema/reefline-1.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for the pipeline language; every property has a description."""
    generated = Pipeline.model_json_schema(by_alias=True)
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "Reefline pipeline",
        "description": "A reefline.yaml file: a typed graph of jobs with typed artifacts as edges.",
    }
    schema.update({k: v for k, v in generated.items() if k not in ("title", "description")})
    # Hidden keys (the loader drops them) hold YAML anchors for reuse, as in GitLab CI.
    schema["patternProperties"] = {
        r"^\.": {"description": "Hidden key: ignored by Reefline, a place for YAML anchors (`&name`)."}
    }
    return schema
