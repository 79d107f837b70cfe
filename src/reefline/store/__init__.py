"""The durable store: schema (``tables``), migrations, and data access that never commits.

- ``db``: ``database_url``, ``open_database`` (SQLite in WAL mode or PostgreSQL, migrated on open).
- ``repo``: the data-access functions, ``(conn, ...)``; callers own ``with engine.begin() as conn``.
- ``rows``: the frozen dataclasses they return; ``errors``: what they raise.

Kept import-free so that importing ``reefline.store.rows`` stays cheap.
"""
