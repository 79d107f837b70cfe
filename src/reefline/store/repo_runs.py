"""Pipelines and runs: create, update, look up, cancel, heartbeat, find interrupted ones.

Every function takes an open connection and never commits: callers own the transaction
(``with engine.begin() as conn``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, or_, select

from reefline.engine.states import RunState
from reefline.store._util import (
    ACTIVE_RUN_STATES,
    ID_PARAM,
    check_columns,
    insert_ignoring_conflicts,
    inserted_id,
    update_by_id,
)
from reefline.store.errors import RunNotFound
from reefline.store.repo_states import insert_state_changes, state_change
from reefline.store.row_maker import columns_in_order, row_maker
from reefline.store.rows import RunRow
from reefline.store.tables import engine_leases, pipelines, revisions, runs, users

_UPDATE_RUN = update_by_id(runs)
_REQUEST_CANCEL = (
    runs.update()
    .where(runs.c.id == bindparam("run_id"), runs.c.state.in_(ACTIVE_RUN_STATES))
    .values(cancel_requested=True)
)
_RUN_STATE = select(runs.c.state, runs.c.reason).where(runs.c.id == bindparam("run_id"))
_CANCEL_REQUESTED = select(runs.c.cancel_requested).where(runs.c.id == bindparam("run_id"))


def get_or_create_pipeline(conn: Connection, name: str, source_path: str, now: float) -> int:
    """The id of the pipeline ``(name, source_path)``, created if new (safe against a concurrent creator)."""
    query = select(pipelines.c.id).where(pipelines.c.name == name, pipelines.c.source_path == source_path)
    pipeline_id = conn.execute(query).scalar()
    if pipeline_id is None:
        stmt = insert_ignoring_conflicts(conn, pipelines, ["name", "source_path"])
        conn.execute(stmt, {"name": name, "source_path": source_path, "created_at": now})
        pipeline_id = conn.execute(query).scalar_one()
    return int(pipeline_id)


def create_run(
    conn: Connection,
    *,
    pipeline_id: int,
    spec_text: str,
    spec_path: str,
    spec_hash: str,
    params: dict[str, Any],
    workspace: str,
    options: dict[str, Any],
    trigger: str,
    owner_host: str | None,
    owner_pid: int | None,
    now: float,
    owner_token: str | None = None,
    state: RunState = RunState.PENDING,
    revision_id: int | None = None,
    triggered_by: int | None = None,
) -> int:
    """A new run; its heartbeat is ``now``.

    ``pending`` and owned by ``owner_host``/``owner_pid`` (a laptop run, started by its creator), or
    ``queued`` without an owner (for an engine host to claim). Its first state change (none →
    ``state``) goes into the history in the same transaction.
    """
    # Only the server's columns that are set: a database of an older schema (before 0004) is still
    # written by a test of its migration.
    server: dict[str, Any] = {"revision_id": revision_id, "triggered_by": triggered_by}
    result = conn.execute(
        runs.insert().values(
            **{name: value for name, value in server.items() if value is not None},
            pipeline_id=pipeline_id,
            state=str(state),
            trigger=trigger,
            spec_text=spec_text,
            spec_path=spec_path,
            spec_hash=spec_hash,
            params=params,
            workspace=workspace,
            options=options,
            created_at=now,
            owner_host=owner_host,
            owner_pid=owner_pid,
            owner_token=owner_token,
            heartbeat_at=now,
            cancel_requested=False,
        )
    )
    run_id = inserted_id(result)
    insert_state_changes(conn, [state_change(run_id, None, None, state, now)])
    return run_id


def update_run(conn: Connection, run_id: int, **values: Any) -> None:
    """Set columns of a run; raises RunNotFound if there is no such run."""
    if not values:
        return
    check_columns(runs, values)
    if conn.execute(_UPDATE_RUN, {**values, ID_PARAM: run_id}).rowcount == 0:
        raise RunNotFound(str(run_id))


def update_run_if(conn: Connection, run_id: int, if_state: str, **values: Any) -> bool:
    """Set columns of a run only if it is in ``if_state`` (compare-and-set); False if it was not."""
    check_columns(runs, values)
    query = runs.update().where(runs.c.id == run_id, runs.c.state == str(if_state)).values(**values)
    return bool(conn.execute(query).rowcount)


def get_run_state(conn: Connection, run_id: int) -> tuple[str, str | None]:
    """The run's state and reason (a cheap read for the engine's journal)."""
    row = conn.execute(_RUN_STATE, {"run_id": run_id}).first()
    if row is None:
        raise RunNotFound(str(run_id))
    return str(row[0]), row[1]


def heartbeat(conn: Connection, run_id: int, now: float) -> None:
    """Record that the run's owner is alive (see :func:`find_interrupted_runs`)."""
    conn.execute(_UPDATE_RUN, {"heartbeat_at": now, ID_PARAM: run_id})


def request_cancel(conn: Connection, run_id: int) -> bool:
    """Ask the run's engine to cancel it. False if the run has already finished."""
    if conn.execute(_REQUEST_CANCEL, {"run_id": run_id}).rowcount:
        return True
    if conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is None:
        raise RunNotFound(str(run_id))
    return False


def is_cancel_requested(conn: Connection, run_id: int) -> bool:
    value = conn.execute(_CANCEL_REQUESTED, {"run_id": run_id}).first()
    if value is None:
        raise RunNotFound(str(run_id))
    return bool(value[0])


def resolve_run_ref(conn: Connection, ref: str, workspace: str | None = None) -> int:
    """``last`` → the newest run (of ``workspace`` when given: a database may be shared by
    projects); ``12`` or ``#12`` → run 12 if it exists; else RunNotFound."""
    text = ref.strip()
    if text.lower() == "last":
        newest = select(func.max(runs.c.id))
        if workspace is not None:
            newest = newest.where(runs.c.workspace == workspace)
        run_id = conn.execute(newest).scalar()
        if run_id is None:
            raise RunNotFound(ref, "no runs yet: start one with `reefline run`")
        return int(run_id)
    digits = text.removeprefix("#")
    if not digits.isdecimal():
        raise RunNotFound(ref, f"{ref!r} is not a run: give a run id (see `reefline runs`) or 'last'")
    run_id = conn.execute(select(runs.c.id).where(runs.c.id == int(digits))).scalar()
    if run_id is None:
        raise RunNotFound(ref, f"no run {digits}: see `reefline runs` for the runs there are")
    return int(run_id)


# Built once: the columns in RunRow's order (rows become RunRows positionally, see row_maker).
_RUN_SELECT: Select[Any] = select(
    *columns_in_order(
        RunRow,
        runs.c,
        pipeline_name=pipelines.c.name,
        revision=revisions.c.number,
        triggered_by_name=users.c.username,
    )
).select_from(
    runs.join(pipelines, runs.c.pipeline_id == pipelines.c.id)
    .outerjoin(revisions, runs.c.revision_id == revisions.c.id)
    .outerjoin(users, runs.c.triggered_by == users.c.id)
)
_GET_RUN = _RUN_SELECT.where(runs.c.id == bindparam("run_id"))
_run_row = row_maker(RunRow, _RUN_SELECT)


def _run_select() -> Select[Any]:
    return _RUN_SELECT


def get_run(conn: Connection, run_id: int) -> RunRow:
    row = conn.execute(_GET_RUN, {"run_id": run_id}).first()
    if row is None:
        raise RunNotFound(str(run_id))
    return _run_row(row)


def list_runs(
    conn: Connection,
    limit: int = 50,
    pipeline: str | None = None,
    workspace: str | None = None,
    *,
    team_id: int | None = None,
    before_id: int | None = None,
    states: Sequence[str] | None = None,
    trigger: str | None = None,
    triggered_by: int | None = None,
) -> list[RunRow]:
    """The newest runs first; optionally only those of pipelines named ``pipeline``, of ``workspace``,
    of a team's pipelines, older than run ``before_id`` (the next page), in one of ``states``, started
    by ``trigger`` or by the user ``triggered_by``."""
    given = {
        "states": list(states) if states is not None else None,
        "trigger": trigger,
        "triggered_by": triggered_by,
        "team_id": team_id,
        "before_id": before_id,
        "workspace": workspace,
        "pipeline": pipeline,
    }
    params = {name: value for name, value in given.items() if value is not None}
    query = _list_runs_query(frozenset(params))
    return [_run_row(row) for row in conn.execute(query, {**params, "limit": limit}).fetchall()]


_LIST_FILTERS: dict[str, Callable[[], Any]] = {
    "states": lambda: runs.c.state.in_(bindparam("states", expanding=True)),
    "trigger": lambda: runs.c.trigger == bindparam("trigger"),
    "triggered_by": lambda: runs.c.triggered_by == bindparam("triggered_by"),
    "team_id": lambda: pipelines.c.team_id == bindparam("team_id"),
    "before_id": lambda: runs.c.id < bindparam("before_id"),
    "workspace": lambda: runs.c.workspace == bindparam("workspace"),
    "pipeline": lambda: pipelines.c.name == bindparam("pipeline"),
}
_LIST_QUERIES: dict[frozenset[str], Select[Any]] = {}


def _list_runs_query(filters: frozenset[str]) -> Select[Any]:
    """The list statement for one combination of filters, built once (at most 2**7 of them)."""
    query = _LIST_QUERIES.get(filters)
    if query is None:
        query = _RUN_SELECT.order_by(runs.c.id.desc()).limit(bindparam("limit"))
        for name, condition in _LIST_FILTERS.items():  # a fixed order: one statement per set
            if name in filters:
                query = query.where(condition())
        _LIST_QUERIES[filters] = query
    return query


def find_active_runs(conn: Connection, workspace: str | None = None) -> list[RunRow]:
    """Unfinished runs (pending, running, canceling) that have an owner process, oldest first."""
    query = (
        _run_select()
        .where(runs.c.state.in_(ACTIVE_RUN_STATES), runs.c.owner_pid.is_not(None))
        .order_by(runs.c.id)
    )
    if workspace is not None:
        query = query.where(runs.c.workspace == workspace)
    return [_run_row(row) for row in conn.execute(query).fetchall()]


def find_interrupted_runs(conn: Connection, *, is_gone: Callable[[RunRow], bool]) -> list[RunRow]:
    """The unfinished owned runs whose owner ``is_gone`` (see ``engine/liveness.py``), oldest first.

    Runs without an owner pid (queued for a server's engine) and runs held by an engine host's lease
    (taken over by another host, see :func:`find_takeover_candidates`) are never reported. The caller
    decides what to do with them.
    """
    return [run for run in find_active_runs(conn) if run.lease_owner is None and is_gone(run)]


# ---------------------------------------------------------------------------------- engine leases

_QUEUED = str(RunState.QUEUED)


def claim_queued_runs(
    conn: Connection,
    *,
    owner: str,
    owner_host: str,
    owner_pid: int,
    owner_token: str | None,
    now: float,
    until: float,
    limit: int,
) -> list[int]:
    """Lease up to ``limit`` queued runs (oldest first) to ``owner`` until ``until``; their ids.

    One statement: an ``UPDATE … WHERE id IN (SELECT …) RETURNING id``. On PostgreSQL the rows are
    picked ``FOR UPDATE SKIP LOCKED`` (two hosts never wait for nor get the same run); on SQLite
    the update holds the database's write lock. A queued run whose lease expired (its host died
    before starting it) is claimable again.
    """
    free = (runs.c.state == _QUEUED) & or_(runs.c.lease_owner.is_(None), runs.c.lease_expires_at < now)
    pick = select(runs.c.id).where(free).order_by(runs.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        runs.update()
        .where(runs.c.id.in_(pick.scalar_subquery()), free)
        .values(
            lease_owner=owner,
            lease_expires_at=until,
            owner_host=owner_host,
            owner_pid=owner_pid,
            owner_token=owner_token,
            heartbeat_at=now,
        )
        .returning(runs.c.id)
    )
    return sorted(int(i) for i in conn.execute(stmt).scalars())


def find_takeover_candidates(conn: Connection, *, now: float, host: str, owner: str) -> list[RunRow]:
    """Started runs (pending, running, canceling) leased to another host than ``owner`` whose lease
    expired, or whose host is on ``host`` (the caller checks its pid), oldest first."""
    started = [s for s in ACTIVE_RUN_STATES if s != _QUEUED]
    query = (
        _run_select()
        .where(
            runs.c.state.in_(started),
            runs.c.lease_owner.is_not(None),
            runs.c.lease_owner != owner,
            or_(runs.c.lease_expires_at.is_(None), runs.c.lease_expires_at < now, runs.c.owner_host == host),
        )
        .order_by(runs.c.id)
    )
    return [_run_row(row) for row in conn.execute(query).fetchall()]


def take_over_lease(
    conn: Connection,
    run: RunRow,
    *,
    owner: str,
    owner_host: str,
    owner_pid: int,
    owner_token: str | None,
    now: float,
    until: float,
) -> bool:
    """Move ``run``'s lease to ``owner`` if it is still the one read (compare-and-set); False if not."""
    current = (
        runs.c.lease_owner.is_(None) if run.lease_owner is None else runs.c.lease_owner == run.lease_owner
    )
    expires = (
        runs.c.lease_expires_at.is_(None)
        if run.lease_expires_at is None
        else runs.c.lease_expires_at == run.lease_expires_at
    )
    stmt = (
        runs.update()
        .where(runs.c.id == run.id, runs.c.state == run.state, current, expires)
        .values(
            lease_owner=owner,
            lease_expires_at=until,
            owner_host=owner_host,
            owner_pid=owner_pid,
            owner_token=owner_token,
            heartbeat_at=now,
        )
    )
    return bool(conn.execute(stmt).rowcount)


def renew_leases(conn: Connection, owner: str, run_ids: list[int], now: float, until: float) -> set[int]:
    """Extend ``owner``'s leases on ``run_ids``; returns the ids it still held (the others were lost)."""
    if not run_ids:
        return set()
    stmt = (
        runs.update()
        .where(runs.c.id.in_(run_ids), runs.c.lease_owner == owner)
        .values(lease_expires_at=until, heartbeat_at=now)
        .returning(runs.c.id)
    )
    return {int(i) for i in conn.execute(stmt).scalars()}


def release_lease(conn: Connection, owner: str, run_id: int, *, expired_at: float | None = None) -> None:
    """Drop ``owner``'s lease on a run: cleared, or (``expired_at``) left expired for a takeover."""
    values: dict[str, Any] = (
        {"lease_owner": None, "lease_expires_at": None}
        if expired_at is None
        else {"lease_expires_at": expired_at}
    )
    conn.execute(runs.update().where(runs.c.id == run_id, runs.c.lease_owner == owner).values(**values))


def hold_named_lease(conn: Connection, name: str, owner: str, now: float, until: float) -> bool:
    """Take or renew the named lease (e.g. ``leader``) for ``owner``; False while another holds it."""
    stmt = insert_ignoring_conflicts(conn, engine_leases, ["name"])
    conn.execute(stmt, {"name": name, "owner": owner, "expires_at": until})
    taken = conn.execute(
        engine_leases.update()
        .where(
            engine_leases.c.name == name,
            or_(engine_leases.c.owner == owner, engine_leases.c.expires_at < now),
        )
        .values(owner=owner, expires_at=until)
    ).rowcount
    return bool(taken)


def release_named_lease(conn: Connection, name: str, owner: str) -> None:
    conn.execute(engine_leases.delete().where(engine_leases.c.name == name, engine_leases.c.owner == owner))
