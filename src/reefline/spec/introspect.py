"""What the language allows at a field path, from the pydantic models: for completion, hover and errors.

A path is a tuple of keys and list indices into the YAML data, e.g. ``("jobs", "train", "inputs")``.
Map keys (job names, input names) are ordinary components: they step into the map's value type.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from reefline.spec.diagnostics import FieldPath
from reefline.spec.models import Pipeline

_WORDS: dict[Any, tuple[str, str]] = {
    str: ("a string", "strings"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    bool: ("true or false", "booleans"),
}


def fields(model: type[BaseModel]) -> dict[str, Any]:
    """The model's keys as written in YAML (aliases such as ``from``) → their annotations."""
    return {(f.alias or name): f.annotation for name, f in model.model_fields.items()}


def members(tp: Any) -> list[Any]:
    """The alternatives of a (possibly annotated, optional) union; ``None`` left out."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in members(a)]
    if tp is type(None):
        return []
    return [tp]


def _step(tp: Any, comp: str | int) -> Any:
    for member in members(tp):
        origin = typing.get_origin(member)
        if isinstance(comp, int) and origin is list:
            return typing.get_args(member)[0]
        if isinstance(comp, str):
            if isinstance(member, type) and issubclass(member, BaseModel) and comp in fields(member):
                return fields(member)[comp]
            if origin is dict:
                return typing.get_args(member)[1]
    return None


def annotation_at(path: FieldPath) -> Any:
    """The annotation of the value at ``path``, or None when the language has nothing there."""
    tp: Any = Pipeline
    for comp in path:
        tp = _step(tp, comp)
        if tp is None:
            return None
    return tp


def model_at(path: FieldPath) -> type[BaseModel] | None:
    """The model whose keys are written at ``path`` (``Job`` at ``("jobs", "train")``), if any."""
    for member in members(annotation_at(path)):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def known_keys(path: FieldPath) -> list[str]:
    """The keys a mapping at ``path`` may have, in the models' order; [] for free-form maps."""
    model = model_at(path)
    return list(fields(model)) if model is not None else []


def is_map(path: FieldPath) -> bool:
    """Whether the value at ``path`` is a map of user-chosen names (``jobs``, ``inputs``, ``env``)."""
    return any(typing.get_origin(m) is dict for m in members(annotation_at(path)))


def required_keys(path: FieldPath) -> list[str]:
    model = model_at(path)
    if model is None:
        return []
    return [(f.alias or n) for n, f in model.model_fields.items() if f.is_required()]


def key_doc(path: FieldPath) -> str | None:
    """The description of the key at the end of ``path`` (``("jobs", "x", "stage")``)."""
    if not path or not isinstance(path[-1], str):
        return None
    model = model_at(path[:-1])
    if model is None:
        return None
    for name, info in model.model_fields.items():
        if (info.alias or name) == path[-1]:
            return info.description
    return None


def model_doc(path: FieldPath) -> str | None:
    """The docstring of the model at ``path`` (what a job, an input, a param is)."""
    model = model_at(path)
    return (model.__doc__ or "").strip() or None if model is not None else None


def literal_values(path: FieldPath) -> list[Any]:
    """The allowed values when the value at ``path`` is a ``Literal`` (``when:``), plus booleans."""
    values: list[Any] = []
    for member in members(annotation_at(path)):
        if typing.get_origin(member) is typing.Literal:
            values.extend(typing.get_args(member))
        elif member is bool:
            values.extend([True, False])
    return values


def describe(tp: Any, plural: bool = False) -> str:
    """What ``tp`` accepts, in words: ``a string or a list of strings``."""
    words: list[str] = []
    for member in members(tp):
        origin = typing.get_origin(member)
        if member in _WORDS:
            word = _WORDS[member][1 if plural else 0]
        elif origin is typing.Literal:
            args = typing.get_args(member)
            word = repr(args[0]) if len(args) == 1 else "one of " + ", ".join(repr(a) for a in args)
        elif origin is list:
            inner = describe(typing.get_args(member)[0], plural=True)
            word = f"lists of {inner}" if plural else f"a list of {inner}"
        elif origin is dict or (isinstance(member, type) and issubclass(member, BaseModel)):
            word = "mappings" if plural else "a mapping"
        else:
            word = "values" if plural else "a value"
        if word not in words:
            words.append(word)
    if ("a number" in words or "numbers" in words) and ("an integer" in words or "integers" in words):
        words = [w for w in words if w not in ("an integer", "integers")]
    if not words:
        return "a value"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
