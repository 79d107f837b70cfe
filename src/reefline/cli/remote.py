"""What every command that talks to a server shares: which server and token, the credentials file,
the user's team, and turning an :class:`~reefline.client.ApiError` into ``error: …`` (exit 2).

Which server a command uses:

* ``runs``, ``show``, ``logs``, ``run``, ``cancel``, ``retry`` work on the laptop's project unless
  ``--server URL`` is given or ``REEFLINE_SERVER`` is set (a stored login alone never moves them);
* ``push``, ``revisions``, ``diff``, ``rollback`` only exist on a server: ``--server``, else
  ``REEFLINE_SERVER``, else the only server in the credentials file.

The token: ``REEFLINE_TOKEN`` if set, else the one ``reefline login`` stored for that server in
``$XDG_CONFIG_HOME/reefline/credentials.json`` (mode 0600, ``{"servers": {url: {"token": …}}}``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reefline.cli.common import CliError
from reefline.services import timefmt

if TYPE_CHECKING:
    from reefline.client import ApiError, Client

CREDENTIALS_FILE = "credentials.json"

# The options the laptop verbs (run, runs, show, logs, cancel, retry) take to work on a server.
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="Work on this server (default: REEFLINE_SERVER; unset: the local project).",
        show_default=False,
    ),
]
TeamOpt = Annotated[
    str | None,
    typer.Option(
        "--team",
        "-t",
        help="With --server: the team (default: REEFLINE_TEAM, or your only team).",
        show_default=False,
    ),
]
FINISHED = frozenset({"success", "failed", "canceled", "interrupted"})
EXIT_RUN_FAILED = 1


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "reefline"


def credentials_path() -> Path:
    return config_dir() / CREDENTIALS_FILE


def normalize_url(url: str) -> str:
    """``host:port`` or ``http://host:port/`` as one key: scheme added, trailing slash removed."""
    url = url.strip().rstrip("/")
    if not url:
        raise CliError("the server URL is empty: pass e.g. --server http://127.0.0.1:8420")
    if "://" not in url:
        url = f"http://{url}"
    return url


def load_credentials() -> dict[str, str]:
    """Server URL -> token, as stored by ``reefline login`` (empty when there is no file)."""
    path = credentials_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CliError(
            f"cannot read {path}: {exc}; fix or delete it and run `reefline login` again"
        ) from None
    servers = raw.get("servers", {}) if isinstance(raw, dict) else {}
    return {
        url: entry["token"]
        for url, entry in servers.items()
        if isinstance(entry, dict) and isinstance(entry.get("token"), str)
    }


def _write_credentials(tokens: dict[str, str]) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = json.dumps({"servers": {url: {"token": t} for url, t in sorted(tokens.items())}}, indent=2)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(body + "\n")
    os.chmod(temp, 0o600)
    os.replace(temp, path)


def save_credential(url: str, token: str) -> None:
    tokens = load_credentials()
    tokens[normalize_url(url)] = token
    _write_credentials(tokens)


def forget_credential(url: str) -> bool:
    """Remove the stored token of ``url``; False if there was none."""
    tokens = load_credentials()
    if tokens.pop(normalize_url(url), None) is None:
        return False
    _write_credentials(tokens)
    return True


def server_option(server: str | None) -> str | None:
    """The server a laptop-or-server command should use: ``--server``, else ``REEFLINE_SERVER``, else
    None (the laptop)."""
    chosen = server or os.environ.get("REEFLINE_SERVER")
    return normalize_url(chosen) if chosen else None


def resolve_server(server: str | None) -> str:
    """The server of a server-only command: ``--server``, ``REEFLINE_SERVER``, or the only stored one."""
    chosen = server_option(server)
    if chosen:
        return chosen
    stored = sorted(load_credentials())
    if len(stored) == 1:
        return stored[0]
    if stored:
        raise CliError(f"signed in to several servers ({', '.join(stored)}): pick one with --server URL")
    raise CliError("no server: sign in with `reefline login --server URL` (or set REEFLINE_SERVER)")


def token_for(url: str) -> str:
    token = os.environ.get("REEFLINE_TOKEN") or load_credentials().get(url)
    if not token:
        raise CliError(f"not signed in to {url}: run `reefline login --server {url}` (or set REEFLINE_TOKEN)")
    return token


def connect(url: str, token: str | None = None) -> Client:
    """A :class:`~reefline.client.Client` for ``url`` with the user's token."""
    from reefline.client import Client

    return Client(url, token or token_for(url))


def error_message(exc: ApiError, url: str) -> str:
    """What the user reads for an API error, saying what to do about it."""
    if exc.status == 0:
        return f"cannot reach the server at {url}: is `reefline server` running there? ({exc.message})"
    if exc.status == 401:
        return f"{exc.message}: sign in again with `reefline login --server {url}`"
    if exc.status == 429:
        wait = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
        later = f" in {int(wait) + 1} s" if isinstance(wait, int | float) else " later"
        return f"{exc.message} (try again{later})"
    return exc.message


def print_api_diagnostics(details: Any) -> None:
    """The diagnostics of a 422 (or a push's warnings) as ``reefline validate`` prints them."""
    from reefline.cli.validate import print_diagnostics

    items = details.get("diagnostics") if isinstance(details, dict) else details
    if not isinstance(items, list) or not items:
        return
    sys.stdout.flush()
    print_diagnostics([diagnostic_of(d) for d in items if isinstance(d, dict)], sys.stderr)


def diagnostic_of(data: dict[str, Any]) -> Any:
    from reefline.spec.diagnostics import Diagnostic, Severity

    return Diagnostic(
        code=str(data.get("code", "")),
        message=str(data.get("message", "")),
        file=str(data.get("file", "")),
        line=int(data.get("line") or 0),
        col=int(data.get("col") or 0),
        end_line=int(data.get("end_line") or 0),
        end_col=int(data.get("end_col") or 0),
        severity=Severity(data.get("severity", "error")),
        hint=data.get("hint"),
        path=tuple(data.get("path") or ()),
    )


@contextmanager
def api_errors(url: str) -> Iterator[None]:
    """Inside it, an ApiError becomes a CliError (``error: …``, exit 2) with its diagnostics printed."""
    from reefline.client import ApiError

    try:
        yield
    except ApiError as exc:
        if exc.status == 422:
            print_api_diagnostics(exc.details)
        raise CliError(error_message(exc, url)) from None


def resolve_team(client: Client, team: str | None) -> str:
    """``--team``, else ``REEFLINE_TEAM``, else the user's only team."""
    chosen = team or os.environ.get("REEFLINE_TEAM")
    if chosen:
        return chosen
    teams = [t["name"] for t in client.me()["teams"]]
    if len(teams) == 1:
        return str(teams[0])
    if not teams:
        raise CliError("you are in no team yet: ask a team owner or admin to add you")
    raise CliError(f"you are in several teams ({', '.join(teams)}): pick one with --team or REEFLINE_TEAM")


@dataclass(frozen=True)
class Session:
    """A connected client plus the URL it talks to (for messages)."""

    url: str
    client: Client


@contextmanager
def session(server: str | None) -> Iterator[Session]:
    """A client for the chosen server (see :func:`resolve_server`), errors mapped, closed at the end."""
    url = resolve_server(server)
    with api_errors(url):
        client = connect(url)
        try:
            yield Session(url, client)
        finally:
            client.close()


def dump_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def run_id_of(s: Session, ref: str, team: str | None) -> int:
    """A run id from ``RUN`` (a number, or ``last``: the team's newest run)."""
    if ref == "last":
        rows = s.client.runs(resolve_team(s.client, team), limit=1)
        if not rows:
            raise CliError("no runs on the server yet (start one with `reefline run --server URL`)")
        return int(rows[0]["id"])
    try:
        return int(ref)
    except ValueError:
        raise CliError(f"RUN must be a run id or `last` (not {ref!r})") from None


def _stamp(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts if ts is not None else time.time()))


def matches_job(name: str, job: str | None) -> bool:
    """A job filter: the exact name, or a matrix job's key (``train`` matches ``train[model=tree]``)."""
    return job is None or name == job or name.startswith(f"{job}[")


def _events(client: Client, run_id: int, *, just_created: bool) -> Iterator[Any]:
    """The run's events; for a run this process just created, a 404 is retried for a few seconds (the
    server may answer the POST before its transaction is visible to the next request)."""
    from reefline.client import ApiError

    deadline = time.monotonic() + 5.0
    while True:
        try:
            yield from client.events(run_id)
            return
        except ApiError as exc:
            if not (just_created and exc.status == 404 and time.monotonic() < deadline):
                raise
            time.sleep(0.2)


def follow_run(client: Client, run_id: int, *, verbose: bool = True, just_created: bool = False) -> str:
    """Print the run's state changes (and log lines, ``name | text``) until it ends; its final state."""
    out = sys.stdout
    final = "unknown"
    for event in _events(client, run_id, just_created=just_created):
        data = event.data if isinstance(event.data, dict) else {}
        if event.event == "state":
            who = data.get("job") or f"run {run_id}"
            to = data.get("to")
            if data.get("job") and to in {"pending", "queued"} and not data.get("reason"):
                continue
            reason = f" ({data['reason']})" if data.get("reason") and to != "running" else ""
            out.write(f"{_stamp(data.get('at'))} {who} {to}{reason}\n")
        elif event.event == "log" and verbose:
            out.write(f"{data.get('job')} | {str(data.get('text', '')).rstrip(chr(10))}\n")
        elif event.event == "end":
            final = str(data.get("state"))
        out.flush()
    return final


def follow_or_detach(s: Session, run_id: int) -> int:
    """Follow a run to its end and return the exit code (0 success, 1 otherwise); Ctrl-C only stops
    following (exit 130) and says the run goes on."""
    try:
        state = follow_run(s.client, run_id, just_created=True)
    except KeyboardInterrupt:
        sys.stdout.flush()
        sys.stderr.write(
            f"\nstopped following; run {run_id} goes on on the server (follow it again with "
            f"`reefline logs {run_id} -f --server {s.url}`, stop it with "
            f"`reefline cancel {run_id} --server {s.url}`)\n"
        )
        return 130
    sys.stdout.write(f"run {run_id} {state}\n")
    sys.stdout.flush()
    return 0 if state == "success" else EXIT_RUN_FAILED


# ------------------------------------------------------------------ the --server side of laptop verbs


def read_pipeline_name(file: Path | None) -> str:
    """The ``name:`` of the project's spec (what ``run --server`` starts when no PIPELINE is given)."""
    import yaml

    from reefline.cli import common

    path = common.spec_path(file)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(
            f"{common.display_path(path)} not found: name the pipeline, e.g. `reefline run iris --server URL`"
        ) from None
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the pipeline's name from {common.display_path(path)}: {exc}") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise CliError(f"{common.display_path(path)} has no `name:`: name the pipeline to run")
    return name


def run(
    server: str | None,
    team: str | None,
    pipeline: str | None,
    params: dict[str, str],
    *,
    follow: bool,
    no_cache: bool = False,
) -> int:
    """``reefline run --server``: queue a run, print its id, follow it (exit code by its outcome)."""
    name = pipeline or read_pipeline_name(None)
    with session(server) as s:
        chosen = resolve_team(s.client, team)
        body = {"params": params, "no_cache": no_cache}
        started = s.client.request("POST", f"/teams/{chosen}/pipelines/{name}/runs", json=body)
        run_id = int(started["id"])
        sys.stdout.write(f"run {run_id} of {chosen}/{name} queued on {s.url}\n")
        sys.stdout.flush()
        if not follow:
            return 0
        return follow_or_detach(s, run_id)


def runs(server: str | None, team: str | None, limit: int, as_json: bool) -> None:
    from rich.table import Table

    from reefline.cli import common
    from reefline.cli.history import escape

    with session(server) as s:
        rows = s.client.runs(resolve_team(s.client, team), limit=limit)
    if as_json:
        dump_json(rows)
        return
    console = common.table_console()
    if not rows:
        console.print("no runs yet (start one with `reefline run --server URL`)")
        return
    now = time.time()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "pipeline", "status", "started", "duration", "trigger"):
        table.add_column(column, justify="right" if column in ("id", "duration") else "left")
    for r in rows:
        table.add_row(
            str(r["id"]),
            escape(r["pipeline"]),
            common.state_markup(r["state"]),
            common.format_ago(_seconds(r["started_at"] or r["created_at"]), now),
            common.format_duration(r["duration"]),
            escape(r["trigger"]),
        )
    console.print(table)


def _seconds(stamp: str) -> float:
    return timefmt.from_iso(stamp) or 0.0


def show(server: str | None, team: str | None, ref: str, as_json: bool) -> None:
    from rich.table import Table

    from reefline.cli import common
    from reefline.cli.history import escape

    with session(server) as s:
        detail = s.client.get_run(run_id_of(s, ref, team))
    if as_json:
        dump_json(detail)
        return
    r = detail
    now = time.time()
    console = common.table_console()
    console.print(f"[bold]run {r['id']}[/] · {escape(r['pipeline'])} · {common.state_markup(r['state'])}")
    if r.get("reason"):
        console.print(f"  reason:   {escape(r['reason'])}")
    if r.get("params"):
        console.print(f"  params:   {escape(', '.join(f'{k}={v}' for k, v in sorted(r['params'].items())))}")
    started = _seconds(r["started_at"] or r["created_at"])
    console.print(f"  started:  {common.format_ago(started, now)}")
    if r["finished_at"] is not None:
        console.print(f"  finished: took {common.format_duration(r['duration'])}")
    console.print(f"  trigger:  {escape(r['trigger'])}")
    console.print()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("job", "status", "attempts", "duration", "exit"):
        table.add_column(column)
    for j in detail["jobs"]:
        table.add_row(
            escape(j["name"]),
            common.state_markup(j["state"]),
            str(j["attempts"]),
            common.format_duration(j["duration"]),
            "-" if j["exit_code"] is None else str(j["exit_code"]),
        )
    console.print(table)


def logs(server: str | None, team: str | None, ref: str, job: str | None, follow: bool) -> None:
    """Stored lines (up to 5000), or with ``follow`` every line over SSE until the run ends."""
    out = sys.stdout

    def write(name: str, text: str) -> None:
        text = text.rstrip("\n")
        out.write(text + "\n" if job is not None and name == job else f"{name} | {text}\n")

    with session(server) as s:
        run_id = run_id_of(s, ref, team)
        if not follow:
            for line in s.client.request("GET", f"/runs/{run_id}/logs", params=_logs_query(job)):
                write(line["job"], line["text"])
            out.flush()
            return
        try:
            for event in s.client.events(run_id):
                if event.event == "log" and matches_job(event.data["job"], job):
                    write(event.data["job"], event.data["text"])
                    out.flush()
        except KeyboardInterrupt:
            out.flush()
            sys.stderr.write(f"\nstopped following run {run_id} (it goes on on the server)\n")
            raise


def full_logs(server: str | None, team: str | None, ref: str, job: str | None) -> None:
    """``--full``: the whole log as the server keeps it (past the store's cap too), streamed."""
    out = sys.stdout
    with session(server) as s:
        run_id = run_id_of(s, ref, team)
        for chunk in s.client.download_logs(run_id, job):
            out.write(chunk)
        out.flush()


def _logs_query(job: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {"limit": 5000}
    if job:
        query["job"] = job
    return query


def cancel(server: str | None, team: str | None, ref: str) -> None:
    with session(server) as s:
        run_id = run_id_of(s, ref, team)
        s.client.cancel(run_id)
    sys.stdout.write(f"cancel requested for run {run_id}\n")


def retry(server: str | None, team: str | None, ref: str, *, follow: bool = True) -> int:
    with session(server) as s:
        run_id = run_id_of(s, ref, team)
        s.client.retry(run_id)
        sys.stdout.write(f"run {run_id} queued again on {s.url} (its failed, canceled and skipped jobs)\n")
        sys.stdout.flush()
        return follow_or_detach(s, run_id) if follow else 0
