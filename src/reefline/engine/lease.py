"""An engine host's leases: on the runs it executes, and the ``leader`` lease of the database.

A lease is a row value (``runs.lease_owner`` / ``lease_expires_at``, ``engine_leases``) written by
compare-and-set, so two hosts never hold one run: claiming queued runs (``FOR UPDATE SKIP LOCKED``
on PostgreSQL), taking over a started run whose lease expired, renewing, releasing. The SQL is in
``store/repo_runs.py``; this module decides when.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import replace

import sqlalchemy as sa

from reefline.engine.liveness import Liveness, own_token
from reefline.store import repo_runs
from reefline.store.rows import RunRow

LEADER = "leader"


class Leases:
    """The leases of one engine host (``owner``), each lasting ``ttl`` seconds unless renewed."""

    def __init__(self, db: sa.Engine, ttl: float) -> None:
        self.db = db
        self.ttl = ttl
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.token = own_token()
        self.owner = f"{self.host}:{self.pid}:{os.urandom(4).hex()}"
        """The host's name in ``runs.lease_owner`` and ``engine_leases.owner``."""
        self.is_leader = False

    def claim_queued(self, limit: int, now: float | None = None) -> list[int]:
        """Lease up to ``limit`` queued runs (also those a dead host claimed but never started)."""
        if limit <= 0:
            return []
        now = time.time() if now is None else now
        with self.db.begin() as conn:
            return repo_runs.claim_queued_runs(
                conn,
                owner=self.owner,
                owner_host=self.host,
                owner_pid=self.pid,
                owner_token=self.token,
                now=now,
                until=now + self.ttl,
                limit=limit,
            )

    def due_for_takeover(self, skip: set[int], now: float | None = None) -> list[RunRow]:
        """Started runs of other hosts whose lease expired, or whose host on this machine is gone
        (seen at once, by its pid, without waiting for the lease to expire)."""
        now = time.time() if now is None else now
        with self.db.connect() as conn:
            leased = repo_runs.find_takeover_candidates(conn, now=now, host=self.host, owner=self.owner)
        liveness = Liveness(host=self.host, now=now)
        due = []
        for run in leased:
            if run.id in skip:
                continue
            expired = run.lease_expires_at is None or run.lease_expires_at < now
            gone_here = run.owner_host == self.host and liveness.owner_gone(replace(run, lease_owner=None))
            if expired or gone_here:
                due.append(run)
        return due

    def take_over(self, run: RunRow, now: float | None = None) -> bool:
        """Move ``run``'s lease to this host if it is still as read; False if another host was first."""
        now = time.time() if now is None else now
        with self.db.begin() as conn:
            return repo_runs.take_over_lease(
                conn,
                run,
                owner=self.owner,
                owner_host=self.host,
                owner_pid=self.pid,
                owner_token=self.token,
                now=now,
                until=now + self.ttl,
            )

    def renew(self, run_ids: list[int], now: float | None = None) -> set[int]:
        """Extend the leases on ``run_ids`` and the leader lease (taken when free); returns the ids
        whose lease this host lost (another host took them over)."""
        now = time.time() if now is None else now
        with self.db.begin() as conn:
            self.is_leader = repo_runs.hold_named_lease(conn, LEADER, self.owner, now, now + self.ttl)
            held = repo_runs.renew_leases(conn, self.owner, run_ids, now, now + self.ttl)
        return set(run_ids) - held

    def release(self, run_id: int) -> None:
        """Best effort: the run ended (a database that is away lets the lease expire instead)."""
        with contextlib.suppress(sa.exc.SQLAlchemyError), self.db.begin() as conn:
            repo_runs.release_lease(conn, self.owner, run_id)

    def release_leader(self) -> None:
        if self.is_leader:
            with contextlib.suppress(sa.exc.SQLAlchemyError), self.db.begin() as conn:
                repo_runs.release_named_lease(conn, LEADER, self.owner)
            self.is_leader = False
