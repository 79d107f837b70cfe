"""Who a bearer token or a session cookie is, remembered for a few seconds: resolving it costs three
queries, and a client polling a run (the CLI, or the web UI's run page) sends the same one many
times a second.

What a principal may do changes with teams, members and roles: every such change through this
process clears the cache when it commits, as do revoking a token and signing out, so one server is
always exact. A change made through another process (a second API server, ``reefline admin``), and
a session's expiry, take effect here within ``TTL`` seconds.
"""

from __future__ import annotations

import hashlib
import threading
import time

from reefline.services.permissions import Principal

TTL = 5.0
MAX_ENTRIES = 10_000


class PrincipalCache:
    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._sessions: dict[str, tuple[float, Principal, str]] = {}  # + the session's CSRF token
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> Principal | None:
        key = self.key(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[self.key(token)] = (time.monotonic() + self.ttl, principal)

    def get_session(self, cookie: str) -> tuple[Principal, str] | None:
        """``(principal, CSRF token)`` of a session cookie seen less than ``ttl`` seconds ago."""
        key = self.key(cookie)
        with self._lock:
            entry = self._sessions.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._sessions[key]
                return None
            return entry[1], entry[2]

    def put_session(self, cookie: str, principal: Principal, csrf: str) -> None:
        with self._lock:
            if len(self._sessions) >= MAX_ENTRIES:
                self._sessions.clear()
            self._sessions[self.key(cookie)] = (time.monotonic() + self.ttl, principal, csrf)

    def forget_session(self, cookie: str) -> None:
        with self._lock:
            self._sessions.pop(self.key(cookie), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sessions.clear()

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            for key in [k for k, (_, p) in self._entries.items() if p.user_id == user_id]:
                del self._entries[key]
            for key in [k for k, (_, p, _) in self._sessions.items() if p.user_id == user_id]:
                del self._sessions[key]
