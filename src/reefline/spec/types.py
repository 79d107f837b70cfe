"""The artifact type library: predefined types plus the custom ones a spec declares in ``types:``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reefline.spec.models import ArtifactType


@dataclass(frozen=True, slots=True)
class TypeInfo:
    name: str
    extends: str | None
    description: str


PREDEFINED: dict[str, TypeInfo] = {
    t.name: t
    for t in (
        TypeInfo("file", None, "Any file."),
        TypeInfo("directory", None, "A directory and everything in it."),
        TypeInfo("text", "file", "A text file."),
        TypeInfo("dataset", "file", "A dataset in any format."),
        TypeInfo("dataset/csv", "dataset", "A dataset as comma-separated values."),
        TypeInfo("dataset/parquet", "dataset", "A dataset as an Apache Parquet file."),
        TypeInfo("dataset/json", "dataset", "A dataset as JSON (or JSON lines)."),
        TypeInfo("model", "file", "A trained model in any format."),
        TypeInfo("model/pickle", "model", "A model serialized with Python pickle (or joblib)."),
        TypeInfo("model/onnx", "model", "A model in the ONNX format."),
        TypeInfo("metrics/json", "file", "A JSON object of numbers, stored per run for comparison."),
        TypeInfo("image", "file", "An image in any format."),
        TypeInfo("image/png", "image", "A PNG image."),
    )
}


def is_directory_type(name: str, registry: TypeRegistry | None = None) -> bool:
    """Whether artifacts of type ``name`` are directories (``directory`` or a type extending it)."""
    if registry is None:
        return name == "directory"
    return registry.is_subtype(name, "directory")


class TypeRegistry:
    """Predefined types plus custom ones; safe with unknown parents and ``extends`` cycles."""

    def __init__(self, custom: Mapping[str, ArtifactType] | None = None) -> None:
        self._custom = dict(custom or {})

    def known(self, name: str) -> bool:
        return name in PREDEFINED or name in self._custom

    def names(self) -> list[str]:
        return sorted(set(PREDEFINED) | set(self._custom))

    def parent(self, name: str) -> str | None:
        if name in self._custom:  # a custom type may not redefine a predefined one; the linter says so
            return self._custom[name].extends
        info = PREDEFINED.get(name)
        return info.extends if info else None

    def ancestors(self, name: str) -> list[str]:
        """``name`` and its parents, nearest first; stops at an unknown type or a cycle."""
        chain: list[str] = []
        current: str | None = name
        while current is not None and current not in chain:
            chain.append(current)
            if not self.known(current):
                break
            current = self.parent(current)
        return chain

    def is_subtype(self, sub: str, sup: str) -> bool:
        """True when ``sub`` is ``sup`` or refines it; every type refines ``file`` except directories."""
        return sup in self.ancestors(sub)

    def describe(self, name: str) -> str:
        if name in self._custom:
            desc = self._custom[name].description or "custom type"
            return f"{name}: {desc} (extends {self._custom[name].extends})"
        info = PREDEFINED.get(name)
        if info is None:
            return f"{name}: unknown type"
        return f"{name}: {info.description}" + (f" (extends {info.extends})" if info.extends else "")
