"""Commands through a warm process: the daemon (see :mod:`reefline.cli.daemon_client`).

It imports what commands need, then accepts connections on ``<folder>/<key>.sock``. For each, a
*waiter* process is forked, which forks the *worker*: the worker takes over the client's stdin,
stdout and stderr, working directory, environment and argv and runs ``reefline.cli.main.main`` as
a fresh process would; the waiter tells the client the worker's pid, waits for it and sends its
exit status. When the client goes away (killed, its terminal closed), the waiter sends the worker
SIGTERM, which a run treats as a cancel. Only processes of the same user may connect. With no
command running for ``REEFLINE_DAEMON_IDLE`` seconds (600), the daemon exits.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import gc
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

from reefline.cli.daemon_client import ENV_IDLE, socket_address

PRELOAD = (
    "reefline.cli.app",
    "reefline.cli.common",
    "reefline.cli.progress",
    "reefline.cli.run",
    "reefline.cli.history",
    "reefline.cli.logs",
    "reefline.cli.validate",
    "reefline.services.runs",
    "reefline.services.queries",
    "reefline.engine.host",
    "reefline.store.db",
    "sqlalchemy.dialects.sqlite",
)
_MAX_REQUEST = 4 << 20


def serve(folder: str, name: str) -> None:
    """Be the daemon for ``name`` until idle; returns at once if another one already is."""
    lock = open(os.path.join(folder, f"{name}.lock"), "w")  # noqa: SIM115  # held for the whole life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return
    os.chdir("/")  # not the first client's folder: it may be removed or unmounted while we live
    _preload()
    path = os.path.join(folder, f"{name}.sock")
    listener = _listen(path)
    mine = os.stat(path).st_ino
    idle = _idle_seconds()
    waiters: set[int] = set()
    last_busy = time.monotonic()
    gc.freeze()  # the imports above are shared by every fork; the collector need not walk them
    _log(f"serving {path} (pid {os.getpid()})")
    while True:
        waiters -= _reaped(waiters)
        if waiters:
            last_busy = time.monotonic()
        elif time.monotonic() - last_busy > idle or not _still_ours(path, mine):
            break
        ready, _, _ = select.select([listener], [], [], 1.0)
        if not ready:
            continue
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        with conn:
            waiter = _take(conn, listener, lock)
        if waiter:
            waiters.add(waiter)
            last_busy = time.monotonic()
    with contextlib.suppress(OSError):
        if _still_ours(path, mine):
            os.unlink(path)
    _log("idle: exiting")


def _preload() -> None:
    from reefline.cli.main import GC_THRESHOLDS, skip_pydantic_plugin_discovery

    gc.set_threshold(*GC_THRESHOLDS)
    skip_pydantic_plugin_discovery()
    for module in PRELOAD:
        __import__(module)
    with contextlib.suppress(ImportError):  # PostgreSQL users: the dialect and its driver
        __import__("sqlalchemy.dialects.postgresql.psycopg")


def _listen(path: str) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    scratch = f"{path}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(scratch)
    with socket_address(scratch) as address:
        listener.bind(address)
    os.chmod(scratch, 0o600)
    listener.listen(64)
    os.rename(scratch, path)  # replaces a dead daemon's socket in one step
    return listener


def _still_ours(path: str, inode: int) -> bool:
    """Whether ``path`` is still the socket this daemon bound (a newer daemon may have replaced it)."""
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def _idle_seconds() -> float:
    value = os.environ.get(ENV_IDLE, "")
    try:
        return max(1.0, float(value)) if value else 600.0
    except ValueError:
        return 600.0


def _reaped(pids: set[int]) -> set[int]:
    done = set()
    for pid in pids:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = pid
        if finished:
            done.add(pid)
    return done


def _take(conn: socket.socket, listener: socket.socket, lock: Any) -> int | None:
    """Read one request and fork its waiter; the waiter's pid, or None for a refused request."""
    uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[
        1
    ]
    if uid != os.getuid():
        return None
    fds = array.array("i")
    try:
        conn.settimeout(5.0)
        message, ancillary, _, _ = conn.recvmsg(1 << 16, socket.CMSG_LEN(3 * fds.itemsize))
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
        while not message.endswith(b"\n"):  # one JSON line; the rest of a large one follows
            more = conn.recv(1 << 16)
            if not more or len(message) > _MAX_REQUEST:
                raise ValueError("an incomplete or oversized request")
            message += more
        request = json.loads(message.decode("utf-8", "surrogateescape"))
    except (OSError, ValueError):
        for fd in fds:
            os.close(fd)
        return None
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return None
    waiter = os.fork()
    if waiter == 0:
        try:
            listener.close()
            lock.close()
            _wait_on(conn, list(fds), request)
        except _WorkerDone as done:  # in the worker: leave every frame, exit as a process would
            sys.exit(done.code)
        except BaseException:  # a waiter never returns to the daemon's loop
            os._exit(1)
        os._exit(0)
    for fd in fds:
        os.close(fd)
    return waiter


def _wait_on(conn: socket.socket, fds: list[int], request: dict[str, Any]) -> None:
    """The waiter: fork the worker, tell the client its pid, then its exit status."""
    worker = os.fork()
    if worker == 0:
        conn.close()
        _work(fds, request)  # never returns
    for fd in fds:
        os.close(fd)
    conn.settimeout(None)
    conn.sendall(json.dumps({"pid": worker}).encode() + b"\n")
    status = _watch(conn, worker)
    answer = (
        {"signal": os.WTERMSIG(status)}
        if os.WIFSIGNALED(status)
        else {"exit": os.waitstatus_to_exitcode(status)}
    )
    _log(f"{' '.join(request['argv'][1:2])} (worker {worker}): {answer}")  # before the client can go on
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps(answer).encode() + b"\n")


def _watch(conn: socket.socket, worker: int) -> int:
    """Wait for the worker; if the client hangs up meanwhile, stop the worker as SIGTERM would."""
    handle = os.pidfd_open(worker)
    try:
        client_gone = False
        while True:
            watched = [handle] if client_gone else [handle, conn]
            ready, _, _ = select.select(watched, [], [])
            if handle in ready:
                return os.waitpid(worker, 0)[1]
            if conn in ready and not conn.recv(1):
                client_gone = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker, signal.SIGTERM)
    finally:
        os.close(handle)


class _WorkerDone(BaseException):
    """The worker's command has ended with ``code``; raised up to the bottom of the stack."""

    def __init__(self, code: int | str | None) -> None:
        super().__init__(code)
        self.code = code


def _work(fds: list[int], request: dict[str, Any]) -> None:
    """The worker: become the client's command, then exit as it would."""
    from reefline.cli import daemon_client

    daemon_client.IN_WORKER = True
    code: int | str | None = 0
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.umask(int(request.get("umask", 0o022)))
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        _fresh_stdio()
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGUSR1):
            signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)
        from reefline.cli.main import main

        main()
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # as the interpreter would: the traceback, exit 1
        import traceback

        traceback.print_exc()
        code = 1
    raise _WorkerDone(code)


def _fresh_stdio() -> None:
    """sys.stdin/stdout/stderr for the descriptors just taken over, buffered as Python would
    buffer them at start-up (line by line on a terminal)."""
    encoding, errors = sys.stdout.encoding, sys.stdout.errors
    sys.stdin = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding=encoding, errors=errors
    )
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)),
        encoding=encoding,
        errors=errors,
        line_buffering=os.isatty(1),
    )
    sys.stderr = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
        encoding=encoding,
        errors="backslashreplace",
        line_buffering=True,
    )


def _log(message: str) -> None:
    sys.stderr.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
    sys.stderr.flush()
