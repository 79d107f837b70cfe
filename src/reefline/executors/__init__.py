"""Executors run plan steps. Each backend is one module implementing :class:`Executor`."""
