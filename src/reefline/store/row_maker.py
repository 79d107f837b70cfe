"""Rows of a prebuilt statement into the store's dataclasses, at the cost of a tuple unpacking.

``Row._mapping`` builds a mapping per row and ``cls(**mapping)`` matches names on every call: a third
of reading a run's 60-row state history. When the statement selects exactly the dataclass's fields
in order (optionally leaving off trailing fields that have defaults), ``cls(*row)`` gives the same
object. Which case holds is decided once per statement, from its column names, so a column added to
the table but not to the dataclass (or in another place) falls back to matching by name instead of
shifting values silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, null
from sqlalchemy.sql.expression import ColumnClause

T = TypeVar("T")


def columns_in_order(cls: type[Any], *sources: Any, **extra: ColumnElement[Any]) -> list[Any]:
    """The columns of ``cls``'s fields in field order: ``extra[name]`` (labelled ``name``), else the
    column of that name in the first of ``sources`` (tables' ``.c``) that has one, else NULL for a
    field defaulting to None (so the statement still selects every field, in order)."""
    out: list[Any] = []
    for f in dataclasses.fields(cls):
        if f.name in extra:
            out.append(extra[f.name].label(f.name))
            continue
        found: ColumnClause[Any] | None = next((src[f.name] for src in sources if f.name in src), None)
        if found is not None:
            out.append(found)
        elif f.default is None:
            out.append(null().label(f.name))
        else:
            raise ValueError(f"{cls.__name__}.{f.name}: no column of that name and no None default")
    return out


def row_maker(cls: type[T], statement: Select[Any]) -> Callable[[Row[Any]], T]:
    """A function turning one row of ``statement`` into a ``cls``."""
    names = [c.key for c in statement.selected_columns]
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    required = sum(
        1 for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    if len(names) >= required and names == [f.name for f in fields[: len(names)]]:
        return lambda row: cls(*row)

    def by_name(row: Row[Any]) -> T:
        return cls(**row._mapping)

    return by_name
