"""Which executor runs a step: the one its ``executor:`` names, made once per engine host."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from reefline.executors.base import Executor, RunContext, StartError, setup_run, teardown_run
from reefline.plan.ir import Step


class Executors:
    """The executors of one engine host, by name, each made on first use and kept.

    ``fixed``: every step goes to that one, whatever it names (tests pass a fake). ``options``:
    constructor options per backend name. ``given``: executors by name, made already. Thread-safe.
    """

    def __init__(
        self,
        fixed: Executor | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        given: Mapping[str, Executor] | None = None,
    ) -> None:
        self.fixed = fixed
        self.options = {name: dict(opts) for name, opts in (options or {}).items()}
        self._made: dict[str, Executor] = dict(given or {})
        self._lock = threading.Lock()

    def named(self, name: str) -> Executor:
        """The executor ``name``; :class:`StartError` when there is none by that name or it cannot
        be made (the step fails with the reason, before anything ran)."""
        if self.fixed is not None:
            return self.fixed
        with self._lock:
            executor = self._made.get(name)
            if executor is None:
                from reefline.executors.registry import UnknownExecutorError, get_executor

                try:
                    executor = get_executor(name, **self.options.get(name, {}))
                except StartError:
                    raise
                except UnknownExecutorError as exc:
                    raise StartError(str(exc)) from None
                except Exception as exc:
                    raise StartError(f"executor {name!r} cannot be used: {exc}") from exc
                self._made[name] = executor
            return executor

    def for_step(self, step: Step) -> Executor:
        return self.named(step.executor)


class RunExecutors:
    """The executors one run uses, with their per-run setup done (and undone at the end).

    A failed ``setup_run`` does not stop the run: each of that executor's steps fails to start with
    the reason, the others run.
    """

    def __init__(self, executors: Executors, run_id: int, workspace: Any, steps: Iterable[Step]) -> None:
        self.executors = executors
        self._by_name: dict[str, list[Step]] = {}
        for step in steps:
            self._by_name.setdefault(step.executor, []).append(step)
        self._run_id, self._workspace = run_id, workspace
        self._set_up: list[tuple[Executor, RunContext]] = []
        self._errors: dict[str, str] = {}

    def setup(self) -> None:
        seen: set[int] = set()
        for name, steps in self._by_name.items():
            try:
                executor = self.executors.named(name)
                if id(executor) in seen:  # a fixed executor serves every name: set up once
                    continue
                seen.add(id(executor))
                run = RunContext(self._run_id, self._workspace, tuple(steps))
                setup_run(executor, run)
                self._set_up.append((executor, run))
            except Exception as exc:
                why = str(exc) if isinstance(exc, StartError) else f"{type(exc).__name__}: {exc}"
                self._errors[name] = why if isinstance(exc, StartError) else f"executor {name!r}: {why}"

    def for_step(self, step: Step) -> Executor:
        error = self._errors.get(step.executor)
        if error is not None:
            raise StartError(error)
        return self.executors.for_step(step)

    def teardown(self) -> list[str]:
        """Undo every setup; returns what failed (never raises)."""
        problems = []
        for executor, run in reversed(self._set_up):
            try:
                teardown_run(executor, run)
            except Exception as exc:
                problems.append(f"executor {executor.name!r}: teardown of run {run.run_id} failed: {exc}")
        self._set_up.clear()
        return problems
