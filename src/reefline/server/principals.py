"""Who a bearer token is, remembered for a few seconds: resolving it costs three queries, and a client
polling a run sends the same token many times a second.

What a principal may do changes with teams, members and roles: every such change through this
process clears the cache when it commits, as does revoking a token, so one server is always exact.
A change made through another process (a second API server, ``reefline admin``) takes effect here
within ``TTL`` seconds.
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

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            for key in [k for k, (_, p) in self._entries.items() if p.user_id == user_id]:
                del self._entries[key]
