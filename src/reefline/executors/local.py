"""The ``local`` executor: each step is a child process in its own session and process group.

Why its own session: Ctrl-C in the user's terminal must reach the engine, not the steps (the engine
decides what to cancel), and one ``killpg`` reaches the whole tree a step forks.

``wait`` does all the work in the calling thread with one selector over stdout, stderr and a pidfd
(Linux; elsewhere exit is polled): no helper thread per job, because per-job overhead is a
budgeted number (see ``bench/executor_overhead.py``). When the main process exits, its process
group is SIGKILLed *before* the zombie is reaped (the zombie keeps the group id from being reused,
so the kill cannot hit a stranger), then the pipes are drained for at most ``drain_after_exit``
seconds: a grandchild that left the group with ``setsid`` and kept the pipe cannot hang the job.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

from reefline.executors.base import LogSink, StartError, StepContext, StepHandle, StepResult
from reefline.executors.entrypoint import CONTEXT_ENV, CONTEXT_FILE_ENV
from reefline.executors.lines import LineSplitter
from reefline.executors.procscan import ATTEMPT_ENV, attempt_marker, kill_marked
from reefline.plan.ir import PythonCommand, Step

if TYPE_CHECKING:
    from pathlib import Path
    from resource import struct_rusage

SandboxMode = Literal["always", "opt-in"]

_READ_SIZE = 64 * 1024
INLINE_MAX = 32 * 1024
"""Characters of a script or Python context passed inline; a longer one goes through a file (one
argument or environment entry may not exceed 128 KiB on Linux: "Argument list too long")."""
_BASH = ("bash", "--noprofile", "--norc", "-eo", "pipefail")
_WAKE_INTERVAL = 0.1  # how soon a cancel's SIGKILL deadline is noticed by the waiting thread
_POLL_MAX = 0.05  # exit polling cap where there is no pidfd


@dataclass(eq=False)
class LocalHandle:
    """One started attempt. ``lock`` guards signalling against reaping (no kill after reap)."""

    step: Step
    proc: subprocess.Popen[bytes]
    log: LogSink
    started_at: float
    started_mono: float
    pidfd: int | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    reaped: bool = False
    stop_reason: str | None = None  # "timeout" | "cancel", the first one wins
    kill_at: float | None = None  # monotonic time of the SIGKILL after SIGTERM
    announced: bool = False
    rusage: struct_rusage | None = None
    result: StepResult | None = None
    destroyed: bool = False
    launch: _Launch | None = None
    markers: dict[str, str] = field(default_factory=dict)  # env entries every process of it has
    swept: bool = False


@dataclass
class _Launch:
    """argv and env of an attempt; a script or context too big for one argument goes in a file."""

    argv: list[str]
    env: dict[str, str]
    tmpdir: str | None = None

    @classmethod
    def make(cls, step: Step, env: dict[str, str]) -> _Launch:
        if isinstance(step.command, PythonCommand):
            launch = cls(LocalExecutor.argv(step), env)
            context = env.get(CONTEXT_ENV, "")
            if len(context) > INLINE_MAX:
                path = launch._file("context.json", context)
                del env[CONTEXT_ENV]
                env[CONTEXT_FILE_ENV] = path
            return launch
        script = "\n".join(step.command.lines)
        if len(script) <= INLINE_MAX:
            return cls(step.command.argv(), env)
        launch = cls([], env)
        launch.argv = [*_BASH, launch._file("script.sh", script)]
        return launch

    def sandbox(self, step: Step, workspace: Path) -> None:
        """Wrap the argv in bubblewrap; the attempt's own files stay readable inside."""
        from reefline.executors.sandbox import sandboxed_argv

        shown = (self.tmpdir,) if self.tmpdir is not None else ()
        self.argv = sandboxed_argv(self.argv, step, workspace, read_only=shown, tmpdir=self.env.get("TMPDIR"))

    def _file(self, name: str, text: str) -> str:
        if self.tmpdir is None:
            self.tmpdir = tempfile.mkdtemp(prefix="reefline-attempt-")
        path = os.path.join(self.tmpdir, name)
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        return path

    def cleanup(self) -> None:
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


class LocalExecutor:
    """Runs steps as local processes. ``grace``: seconds between SIGTERM and SIGKILL.

    ``sandbox``: ``"always"`` runs every step under bubblewrap (a server), ``"opt-in"`` only the
    steps with ``sandbox: true`` (a laptop); see :mod:`reefline.executors.sandbox`."""

    name: ClassVar[str] = "local"
    supports_cancel: ClassVar[bool] = True
    supports_timeout: ClassVar[bool] = True

    def __init__(
        self, grace: float = 5.0, drain_after_exit: float = 1.0, sandbox: SandboxMode = "opt-in"
    ) -> None:
        if sandbox not in ("always", "opt-in"):
            raise ValueError(f"sandbox must be 'always' or 'opt-in', not {sandbox!r}")
        self.grace = grace
        self.drain_after_exit = drain_after_exit
        self.sandbox: SandboxMode = sandbox

    def sandboxed(self, step: Step) -> bool:
        return self.sandbox == "always" or step.sandbox is True

    # -- protocol -------------------------------------------------------------------------------

    def start(self, step: Step, ctx: StepContext, log: LogSink) -> LocalHandle:
        env = dict(ctx.env)
        env.setdefault("PATH", os.defpath)
        env[ATTEMPT_ENV] = attempt_marker(ctx.run_id, step.id, ctx.attempt)
        env.setdefault("REEFLINE_WORKSPACE", str(ctx.workspace))
        if not ctx.workspace.is_dir():
            raise StartError(f"step {step.id}: workspace {ctx.workspace} is missing or not a directory")
        launch = _Launch.make(step, env)
        if self.sandboxed(step):
            try:
                launch.sandbox(step, ctx.workspace)
            except BaseException:
                launch.cleanup()
                raise
        try:
            proc = subprocess.Popen(
                launch.argv,
                cwd=ctx.workspace,
                env=launch.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as e:
            launch.cleanup()
            argv0 = launch.argv[0]
            what = e.filename if e.filename is not None else argv0
            raise StartError(f"step {step.id}: cannot start {argv0!r}: {what}: {e.strerror}") from e
        except BaseException:
            launch.cleanup()
            raise
        markers = {ATTEMPT_ENV: env[ATTEMPT_ENV], "REEFLINE_WORKSPACE": env["REEFLINE_WORKSPACE"]}
        handle = LocalHandle(step, proc, log, time.time(), time.monotonic(), _open_pidfd(proc.pid))
        handle.launch, handle.markers = launch, markers
        return handle

    def wait(self, handle: StepHandle) -> StepResult:
        h = _own(handle)
        if h.result is not None:
            return h.result
        if h.destroyed:
            raise RuntimeError(f"step {h.step.id}: wait() after destroy()")
        try:
            self._pump(h)
        finally:
            _close_pipes(h)
        h.result = self._result(h)
        return h.result

    def cancel(self, handle: StepHandle, grace: float | None = None) -> None:
        self._stop(_own(handle), "cancel", self.grace if grace is None else grace)

    def destroy(self, handle: StepHandle) -> None:
        h = _own(handle)
        with h.lock:
            if h.destroyed:
                return
            h.destroyed = True
            if not h.reaped:
                _killpg(h, signal.SIGKILL)
                _reap(h)
            _sweep(h)
        _close_pipes(h)
        if h.pidfd is not None:
            os.close(h.pidfd)
            h.pidfd = None
        if h.launch is not None:
            h.launch.cleanup()

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def argv(step: Step) -> list[str]:
        if isinstance(step.command, PythonCommand):
            # -u: unbuffered, so print() output streams live and interleaves with stderr in order.
            return [sys.executable, "-u", "-m", "reefline.executors.entrypoint", step.command.entry]
        return step.command.argv()

    def _pump(self, h: LocalHandle) -> None:
        proc = h.proc
        assert proc.stdout is not None and proc.stderr is not None
        timeout = h.step.timeout
        deadline = h.started_mono + timeout if timeout is not None else None
        drain_until: float | None = None
        poll = 0.001
        with _selector() as sel:
            sel.register(proc.stdout.fileno(), selectors.EVENT_READ, LineSplitter("stdout", h.log))
            sel.register(proc.stderr.fileno(), selectors.EVENT_READ, LineSplitter("stderr", h.log))
            if h.pidfd is not None:
                sel.register(h.pidfd, selectors.EVENT_READ, None)
            streams = 2
            while True:
                now = time.monotonic()
                if not h.reaped:
                    deadline = self._tick(h, now, deadline)
                if h.reaped:
                    if streams == 0:
                        return
                    if drain_until is None:
                        drain_until = now + self.drain_after_exit
                    wait_for = drain_until - now
                    if wait_for <= 0:
                        break
                else:
                    wait_for = _WAKE_INTERVAL if h.pidfd is not None else poll
                    poll = min(poll * 2, _POLL_MAX)
                    for t in (deadline, h.kill_at):
                        if t is not None:
                            wait_for = max(0.0, min(wait_for, t - now))
                for key, _ in sel.select(wait_for):
                    lines = key.data
                    if lines is None:  # pidfd readable: the main process exited
                        sel.unregister(key.fd)
                        self._on_exit(h)
                        continue
                    try:
                        data = os.read(key.fd, _READ_SIZE)
                    except OSError:
                        data = b""
                    if data:
                        lines.feed(data)
                    else:
                        lines.close()
                        sel.unregister(key.fd)
                        streams -= 1
            # Drain time is over: something outside the process group still holds a pipe.
            for key in list(sel.get_map().values()):
                if key.data is not None:
                    key.data.close()
            h.log("system", time.time(), "stopped reading output: a process outside the step still holds it")

    def _tick(self, h: LocalHandle, now: float, deadline: float | None) -> float | None:
        """Timeout, cancel and kill bookkeeping while the main process runs; the new deadline."""
        if deadline is not None and now >= deadline:
            deadline = None
            h.log("system", time.time(), f"timed out after {h.step.timeout:g}s: sending SIGTERM")
            self._stop(h, "timeout", self.grace)
        if h.stop_reason == "cancel" and not h.announced:
            h.announced = True
            h.log("system", time.time(), "canceled: SIGTERM sent")
        if h.kill_at is not None and now >= h.kill_at:
            with h.lock:
                h.kill_at = None
                killed = not h.reaped
                if killed:
                    _killpg(h, signal.SIGKILL)
            if killed:
                h.log("system", time.time(), "still running after SIGTERM: sent SIGKILL")
        if h.pidfd is None:
            self._poll_exit(h)
        return deadline

    def _on_exit(self, h: LocalHandle) -> None:
        with h.lock:
            if h.reaped:
                return
            # The zombie still owns the group id, so this reaches only our leftovers.
            _killpg(h, signal.SIGKILL)
            _reap(h)
            _sweep(h)  # and those that left the group (setsid), so they cannot hold the pipes

    def _poll_exit(self, h: LocalHandle) -> None:
        """Exit detection without a pidfd (old kernels, macOS)."""
        if _HAS_WAITID:
            if _exited(h):
                self._on_exit(h)
            return
        # No waitid (macOS before Python 3.13): reap first, then kill the leftovers. Live members
        # keep the group id reserved; only an already empty group could be reused in between.
        with h.lock:
            if not h.reaped and _reap(h, block=False):
                _killpg(h, signal.SIGKILL)

    def _stop(self, h: LocalHandle, reason: str, grace: float) -> None:
        with h.lock:
            if h.reaped:
                return
            if h.stop_reason is None:
                h.stop_reason = reason
            if grace <= 0:  # no grace: kill now rather than at the waiting thread's next wake-up
                _killpg(h, signal.SIGKILL)
                return
            _killpg(h, signal.SIGTERM)
            kill_at = time.monotonic() + grace
            if h.kill_at is None or kill_at < h.kill_at:
                h.kill_at = kill_at

    def _result(self, h: LocalHandle) -> StepResult:
        code = h.proc.returncode
        exit_code = code if code is None or code >= 0 else 128 - code
        error: str | None = None
        if h.stop_reason == "timeout":
            error = f"timed out after {h.step.timeout:g}s"
        elif h.stop_reason == "cancel":
            error = "canceled"
        elif code is None:
            error = "exit status lost (reaped by someone else)"
        elif code < 0:
            error = f"killed by signal {_signal_name(-code)}"
        elif code != 0:
            error = f"exited with code {code}"
        ru = h.rusage
        return StepResult(
            exit_code=exit_code,
            started_at=h.started_at,
            finished_at=time.time(),
            error=error,
            timed_out=h.stop_reason == "timeout",
            canceled=h.stop_reason == "cancel",
            cpu_seconds=ru.ru_utime + ru.ru_stime if ru is not None else None,
            peak_rss_bytes=_peak_rss(ru),
        )


def _peak_rss(ru: struct_rusage | None) -> int | None:
    """The step's peak RSS in bytes, or None when it cannot be told apart from the engine's.

    The kernel carries the spawning process's peak RSS into the child's ``ru_maxrss`` (the
    address space replaced at exec counts), so a small step in a 300 MB engine "peaks" at 300 MB.
    Only a value above our own peak is the step's.
    """
    if ru is None:
        return None
    if ru.ru_maxrss <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss:
        return None
    return ru.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # macOS: bytes, Linux: KiB


def _own(handle: StepHandle) -> LocalHandle:
    if not isinstance(handle, LocalHandle):
        raise TypeError(f"not a LocalExecutor handle: {handle!r}")
    return handle


def _selector() -> selectors.BaseSelector:
    # poll(2) needs no extra fd and no epoll_ctl calls: cheaper than epoll for three fds.
    return selectors.PollSelector() if hasattr(selectors, "PollSelector") else selectors.DefaultSelector()


_pidfd_usable = hasattr(os, "pidfd_open")


def _open_pidfd(pid: int) -> int | None:
    global _pidfd_usable
    if not _pidfd_usable:
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:  # old kernel or seccomp: fall back to polling for good
        _pidfd_usable = False
        return None


_HAS_WAITID = hasattr(os, "waitid")


def _exited(h: LocalHandle) -> bool:
    """Has the main process exited? Peeks without reaping where the OS allows (WNOWAIT)."""
    try:
        info = os.waitid(os.P_PID, h.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _reap(h: LocalHandle, block: bool = True) -> bool:
    """Caller holds ``h.lock``. Keeps Popen consistent: it must never waitpid this pid again."""
    try:
        pid, status, rusage = os.wait4(h.proc.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        h.rusage = rusage
        h.proc.returncode = os.waitstatus_to_exitcode(status)
    except ChildProcessError:  # SIGCHLD ignored by the application: the status is gone
        h.proc.returncode = None
    h.reaped = True
    return True


def _killpg(h: LocalHandle, sig: signal.Signals) -> None:
    """Caller holds ``h.lock`` and (but for the no-waitid fallback) the main process is unreaped."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(h.proc.pid, sig)  # start_new_session: group id == pid


def _sweep(h: LocalHandle) -> None:
    """Caller holds ``h.lock``; the main process is reaped. Kill what escaped the process group."""
    if not h.swept and h.markers:
        h.swept = True
        kill_marked(h.markers, since_pid=h.proc.pid)


def _close_pipes(h: LocalHandle) -> None:
    for pipe in (h.proc.stdout, h.proc.stderr):
        if pipe is not None:
            pipe.close()


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"
