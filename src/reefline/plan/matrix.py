"""Matrix expansion: one job becomes one step per combination of its matrix values."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Expansion:
    step_id: str
    values: tuple[tuple[str, Scalar], ...]

    def as_dict(self) -> dict[str, Scalar]:
        return dict(self.values)


def format_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def expand(job: str, matrix: Mapping[str, Sequence[Scalar]] | None) -> list[Expansion]:
    """``train`` with ``{model: [tree, logreg]}`` → ``train[model=tree]``, ``train[model=logreg]``."""
    if not matrix:
        return [Expansion(job, ())]
    keys = list(matrix)
    out = []
    for combo in itertools.product(*(matrix[k] for k in keys)):
        values = tuple(zip(keys, combo, strict=True))
        label = ",".join(f"{k}={format_value(v)}" for k, v in values)
        out.append(Expansion(f"{job}[{label}]", values))
    return out


def matches(consumer: Mapping[str, Scalar], producer: Mapping[str, Scalar]) -> bool:
    """A producer expansion feeds a consumer when they agree on every matrix key they share."""
    return all(consumer[k] == v for k, v in producer.items() if k in consumer)
