"""Commands through a warm process: the client side, standard library only.

A command's wall time is mostly Python importing Reefline and SQLAlchemy (0.3-0.6 s), not the work.
So, like Gradle's daemon or ``dmypy``, the first command starts a daemon in the background
(:mod:`reefline.cli.daemon`) that imports everything once and then waits on a Unix socket; each
later command connects, hands over its argv, working directory, environment and its own stdin,
stdout and stderr (the file descriptors themselves, so a terminal stays a terminal), and the daemon
forks a copy of itself that runs the command exactly as this process would have. Ctrl-C, SIGTERM,
SIGHUP and SIGUSR1 sent to this process are passed on; its exit code is the command's.

A daemon serves one build of Reefline on one interpreter in one process context: the socket's name
is a hash of the interpreter, ``sys.path``, the size and time of every Reefline source file and of
every folder on the path, the locale and typer variables read at import, and the namespaces, root,
groups, resource limits and cgroup of this process. After an upgrade or an edit, commands
start a new daemon and the old one idles out (``REEFLINE_DAEMON_IDLE`` seconds, default 600).
``REEFLINE_DAEMON=off`` runs every command in its own process. The socket lives in
``$XDG_RUNTIME_DIR/reefline`` or ``/tmp/reefline-<uid>``, a folder that must be this user's and
closed to others.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

# array, hashlib, json and socket are imported where they are used: a command with the daemon
# switched off (or server, lsp, login) pays nothing for this module but its import.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator

ENV_SWITCH = "REEFLINE_DAEMON"
ENV_IDLE = "REEFLINE_DAEMON_IDLE"
# Commands that keep a process of their own: long-lived ones (a server under a supervisor, an
# editor's language server) and `login`, whose password prompt needs the controlling terminal
# (getpass opens /dev/tty, which a daemon's fork does not have).
OWN_PROCESS = frozenset({"server", "lsp", "login"})
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1)
# Read when modules are imported (the locale by Python's start-up, the rest by typer), so a
# daemon imported under other values would not behave as this process.
_AT_IMPORT = ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONIOENCODING", "PYTHONUTF8")
_AT_IMPORT_BY_TYPER = ("TYPER_USE_RICH", "TERMINAL_WIDTH", "_TYPER_FORCE_DISABLE_TERMINAL")
IN_WORKER = False  # set in the daemon's worker: its command runs there, not through a daemon


def wanted(command: str | None) -> bool:
    """Whether this command should go through a daemon."""
    switched_off = os.environ.get(ENV_SWITCH, "").lower() in ("off", "0", "no", "false")
    return not (IN_WORKER or switched_off or command in OWN_PROCESS)


def runtime_dir() -> str | None:
    """This user's folder for daemon sockets, made if missing; None if it is not safely ours."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    folder = os.path.join(base, "reefline") if base else f"/tmp/reefline-{os.getuid()}"
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not os.path.isdir(folder):
        return None
    return folder


@contextlib.contextmanager
def socket_address(path: str) -> Iterator[str]:
    """An address for ``path`` that fits a Unix socket's 107 bytes, while the block runs: the path
    itself, or the same file reached through an open descriptor of its folder (``/proc/self/fd/N/…``)."""
    if len(os.fsencode(path)) < 100:
        yield path
        return
    folder = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{os.path.basename(path)}"
    finally:
        os.close(folder)


def _sources() -> Iterator[str]:
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                info = os.stat(path)
                yield f"{path}:{info.st_size}:{info.st_mtime_ns}"


def _context() -> Iterator[str]:
    """What a fork of the daemon would not share with this process unless the daemon was started
    in the same place: namespaces (a read-only bind mount made with ``unshare``, a container), the
    root, groups, resource limits and the cgroup (``systemd-run -p MemoryMax=…``)."""
    for name in ("mnt", "user", "net", "pid", "uts", "ipc", "cgroup"):
        with contextlib.suppress(OSError):
            yield os.readlink(f"/proc/self/ns/{name}")
    with contextlib.suppress(OSError):
        yield os.readlink("/proc/self/root")
    with contextlib.suppress(OSError), open("/proc/self/cgroup", "rb") as cgroup:
        yield cgroup.read().decode("utf-8", "replace")
    yield f"{os.getuid()}:{os.getgid()}:{sorted(os.getgroups())}"
    import resource

    for limit in ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CPU", "RLIMIT_FSIZE"):
        if hasattr(resource, limit):
            yield f"{limit}={resource.getrlimit(getattr(resource, limit))}"


def key() -> str:
    """What a daemon must share with this process to run its commands the same way."""
    import hashlib

    digest = hashlib.sha256()
    for part in _context():
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    for part in (sys.executable, sys.version, *sys.path):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    for entry in sys.path:
        try:
            digest.update(f"{entry}:{os.stat(entry or '.').st_mtime_ns}\0".encode("utf-8", "surrogateescape"))
        except OSError:
            continue
    for line in _sources():
        digest.update(line.encode("utf-8", "surrogateescape") + b"\0")
    for name in (*_AT_IMPORT, *_AT_IMPORT_BY_TYPER):
        digest.update(f"{name}={os.environ.get(name, '')}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:24]


def run(args: list[str]) -> int | None:
    """The exit code of ``args`` run by this build's daemon, or None when there is none to ask
    (one is then started for the next command, and this one runs here)."""
    folder = runtime_dir()
    if folder is None:
        return None
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
        os.getcwd()
    except OSError:  # a closed standard stream cannot be handed over, a removed folder not named
        return None
    try:
        name = key()
    except OSError:  # a source file removed while we looked (an upgrade in progress)
        return None
    import socket

    path = os.path.join(folder, f"{name}.sock")
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with socket_address(path) as address:
            client.connect(address)
    except OSError:
        client.close()
        _start(folder, name)
        return None
    with client:
        return _ask(client, args)


def _ask(client: socket.socket, args: list[str]) -> int:
    import array
    import json
    import socket

    umask = os.umask(0o022)
    os.umask(umask)
    request = {"argv": ["reefline", *args], "cwd": os.getcwd(), "env": dict(os.environ), "umask": umask}
    payload = json.dumps(request, ensure_ascii=False).encode("utf-8", "surrogateescape") + b"\n"
    fds = array.array("i", [0, 1, 2])
    worker: int | None = None

    def on_signal(number: int, _frame: object) -> None:
        if worker is None:
            raise _Interrupted(number)
        _pass_on(worker, number)

    previous = {sig: signal.signal(sig, on_signal) for sig in FORWARDED}
    try:
        sent = client.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        client.sendall(payload[sent:])  # a large environment does not fit in one message
        answers = client.makefile("rb")
        first = answers.readline()
        if not first:
            sys.stderr.write("error: the Reefline daemon closed the connection before running the command\n")
            return 3
        worker = int(json.loads(first)["pid"])
        last = answers.readline()
    except _Interrupted as interrupted:
        # Before the daemon named its worker: this client ends, and the daemon, seeing it gone,
        # stops the worker it may just have started (as for a client killed later).
        return 128 + interrupted.number
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not last:
        sys.stderr.write("error: the Reefline daemon went away while running the command\n")
        return 3
    status = json.loads(last)
    if "signal" in status:  # killed: end the same way, as the command itself would have
        number = int(status["signal"])
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        return 128 + number
    return int(status["exit"])


class _Interrupted(Exception):
    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


def _pass_on(worker: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(worker, number)


LOG_KEEP_BYTES = 1 << 20
"""A daemon's log (a line per command) starts over past this size; the previous one is kept as
``<name>.log.1``."""


def _keep_small(log: str) -> None:
    with contextlib.suppress(OSError):
        if os.stat(log).st_size > LOG_KEEP_BYTES:
            os.replace(log, log + ".1")


def _start(folder: str, name: str) -> None:
    """Start the daemon for ``name`` in the background, detached from this terminal and process."""
    import json
    import subprocess

    log = os.path.join(folder, f"{name}.log")
    _keep_small(log)
    # The daemon imports from exactly this process's path (``-m`` would put the working folder first).
    boot = "import json, os, sys; sys.path[:] = json.loads(os.environ.pop('REEFLINE_DAEMON_PATH')); "
    boot += "from reefline.cli.daemon import serve; serve(sys.argv[1], sys.argv[2])"
    env = {**os.environ, "REEFLINE_DAEMON_PATH": json.dumps(sys.path)}
    try:
        with open(log, "ab") as out:
            subprocess.Popen(
                [sys.executable, "-c", boot, folder, name],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                close_fds=True,
            )
    except OSError:
        pass
