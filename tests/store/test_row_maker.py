"""Rows into dataclasses: positionally when the statement's columns are the fields in order, by name
otherwise (a column added in another place never shifts values into the wrong field)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select

from reefline.store.row_maker import columns_in_order, row_maker

META = MetaData()
THINGS = Table(
    "things",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String),
    Column("extra", String),  # a column the dataclass below does not have yet, in the middle
    Column("size", Integer),
)


@dataclass(frozen=True)
class Thing:
    id: int
    name: str
    size: int
    label: str | None = None


@pytest.fixture
def conn():  # type: ignore[no-untyped-def]
    engine = create_engine("sqlite://")
    META.create_all(engine)
    with engine.begin() as c:
        c.execute(THINGS.insert(), [{"id": 1, "name": "a", "extra": "x", "size": 10}])
        yield c


def test_columns_in_field_order_make_the_same_object(conn) -> None:  # type: ignore[no-untyped-def]
    statement = select(*columns_in_order(Thing, THINGS.c))
    make = row_maker(Thing, statement)
    assert make(conn.execute(statement).one()) == Thing(1, "a", 10, None)


def test_an_extra_column_in_the_middle_is_matched_by_name(conn) -> None:  # type: ignore[no-untyped-def]
    statement = select(THINGS.c.id, THINGS.c.name, THINGS.c.size)
    assert row_maker(Thing, statement)(conn.execute(statement).one()) == Thing(1, "a", 10)
    shifted = select(THINGS.c.id, THINGS.c.size, THINGS.c.name)  # same names, another order
    assert row_maker(Thing, shifted)(conn.execute(shifted).one()) == Thing(1, "a", 10)


def test_a_field_without_column_or_none_default_is_an_error_at_build_time() -> None:
    @dataclass
    class Needs:
        id: int
        missing: int

    with pytest.raises(ValueError, match=r"Needs\.missing"):
        columns_in_order(Needs, THINGS.c)
