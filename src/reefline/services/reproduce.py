"""``reefline reproduce``: run a past run again in a fresh directory and say which outputs came out
byte-identical.

The fresh directory gets the project's source (as ``reefline push`` packs it: ``.gitignore`` and
``.reeflineignore`` honoured), the run's own spec text, and every workspace input the run read,
checked against the sha256 the run recorded. An input whose bytes changed since is put back from
the first place that still holds them: the workspace, the run's git commit, the artifact store.
The run then executes with the recorded params and job selection, and nothing cached.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import sqlalchemy as sa

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.hashing import ArtifactError, Hasher, resolve_inside
from reefline.services.project import open_reader_db
from reefline.services.source_pack import pack
from reefline.services.source_unpack import unpack
from reefline.services.types import Invalid, RunOptions
from reefline.store import repo
from reefline.store.rows import RunRow

InputSource = Literal["source", "workspace", "git", "artifact store"]
_GIT_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class InputCheck:
    job: str
    name: str
    path: str
    sha256: str
    source: InputSource | None  # where the recorded bytes came from; None: found nowhere
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OutputComparison:
    job: str
    output: str
    path: str
    recorded_sha256: str
    new_sha256: str | None  # None: the reproduction did not record it

    @property
    def identical(self) -> bool:
        return self.new_sha256 == self.recorded_sha256


@dataclass
class Reproduction:
    original: RunRow
    directory: Path
    spec_path: Path
    options: RunOptions
    inputs: list[InputCheck] = field(default_factory=list)
    outputs: list[OutputComparison] = field(default_factory=list)
    run_id: int | None = None
    state: str | None = None

    @property
    def inputs_exact(self) -> bool:
        return all(check.source is not None for check in self.inputs)

    @property
    def identical(self) -> bool:
        return self.state == "success" and bool(self.outputs) and all(o.identical for o in self.outputs)


def prepare(project_dir: Path, run_ref: str, into: Path | None, store: ArtifactStore) -> Reproduction:
    """Resolve the run, make the fresh directory and put the run's source and inputs in it."""
    project_dir = project_dir.resolve()
    with open_reader_db(project_dir).connect() as conn:
        run = repo.get_run(conn, repo.resolve_run_ref(conn, run_ref, str(project_dir)))
        recorded_inputs = _workspace_inputs(conn, run.id)
    workspace = Path(run.workspace)
    directory = _fresh_directory(into, run.id)
    source_root = workspace if workspace.is_dir() else project_dir
    bundle = pack(source_root)
    with tempfile.NamedTemporaryFile(suffix=".tar.gz") as tarball:
        tarball.write(bundle.data)
        tarball.flush()
        unpack(Path(tarball.name), directory)
    spec_path = directory / Path(run.spec_path).name
    spec_path.write_text(run.spec_text, encoding="utf-8")
    sources = _Sources(directory, source_root, run.git_commit, store)
    checks = [_put_back(sources, job, item) for job, item in recorded_inputs]
    return Reproduction(run, directory, spec_path, repeat_options(run), checks)


def compare(project_dir: Path, reproduction: Reproduction, new_db: sa.Engine, new_run_id: int) -> None:
    """Fill in the reproduction's outcome: its run, and each recorded output next to the new one."""
    with new_db.connect() as conn:
        new_run = repo.get_run(conn, new_run_id)
        fresh = _outputs_by_name(conn, new_run_id)
    with open_reader_db(project_dir.resolve()).connect() as conn:
        recorded = _outputs_by_name(conn, reproduction.original.id)
    reproduction.run_id, reproduction.state = new_run_id, new_run.state
    reproduction.outputs = [
        OutputComparison(job, output, path, sha, fresh.get((job, output), (path, None))[1])
        for (job, output), (path, sha) in sorted(recorded.items())
    ]


def _workspace_inputs(conn: sa.Connection, run_id: int) -> list[tuple[str, _Input]]:
    """The inputs read from the workspace (not made by a job of the run), each path once."""
    seen: dict[str, tuple[str, _Input]] = {}
    for job in repo.list_jobs(conn, run_id):
        for row in repo.list_inputs(conn, job.id):
            if row.producer_job_id is None and row.path not in seen:
                seen[row.path] = (job.name, _Input(row.name, row.path, row.sha256))
    return [seen[path] for path in sorted(seen)]


@dataclass(frozen=True, slots=True)
class _Input:
    name: str
    path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class _Sources:
    """Where a recorded input's bytes may still be: the fresh directory itself (from the source), the
    workspace, the run's git commit, the artifact store."""

    directory: Path
    workspace: Path
    commit: str | None
    store: ArtifactStore


def _put_back(sources: _Sources, job: str, item: _Input) -> InputCheck:
    def check(source: InputSource | None, note: str | None = None) -> InputCheck:
        return InputCheck(job, item.name, item.path, item.sha256, source, note)

    directory, workspace, commit, store = sources.directory, sources.workspace, sources.commit, sources.store
    try:
        resolve_inside(directory, item.path)
    except ArtifactError as exc:
        return check(None, f"refused: {exc}")
    if _sha(directory, item.path) == item.sha256:
        return check("source")
    if _sha(workspace, item.path) == item.sha256:
        _replace_with_copy(workspace / item.path, directory / item.path)
        return check("workspace")
    if (
        commit
        and _from_git(workspace, commit, item.path, directory)
        and _sha(directory, item.path) == item.sha256
    ):
        return check("git")
    if store.has(item.sha256):
        try:
            _remove(directory / item.path)
            store.restore(directory, item.path, item.sha256)
            return check("artifact store")
        except ArtifactError as exc:
            return check(None, f"the artifact store could not restore it: {exc}")
    now = _sha(directory, item.path)
    found = "it is missing" if now is None else f"it is sha256:{now[:12]} now"
    where = "the workspace" + (f", commit {commit[:12]}" if commit else "") + " or the artifact store"
    return check(None, f"the run read sha256:{item.sha256[:12]}; {found}, and neither {where} has it")


def _sha(root: Path, rel: str) -> str | None:
    try:
        return Hasher(root).digest(rel).sha256
    except ArtifactError:
        return None


def _from_git(workspace: Path, commit: str, rel: str, directory: Path) -> bool:
    """Extract ``rel`` (a file or a folder) as it was at ``commit`` into ``directory``."""
    git = shutil.which("git")
    if git is None:
        return False
    try:
        done = subprocess.run(
            [git, "-C", str(workspace), "archive", "--format=tar", f"{commit}:./{rel}"],
            capture_output=True,
            timeout=_GIT_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if done.returncode != 0:
            blob = subprocess.run(
                [git, "-C", str(workspace), "show", f"{commit}:./{rel}"],
                capture_output=True,
                timeout=_GIT_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            if blob.returncode != 0:
                return False
            target = directory / rel
            _remove(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob.stdout)
            return True
    except (OSError, subprocess.SubprocessError):
        return False
    target = directory / rel
    _remove(target)
    target.mkdir(parents=True)
    with tempfile.TemporaryFile() as archive:
        archive.write(done.stdout)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(target, filter="data")
    return True


def _replace_with_copy(source: Path, target: Path) -> None:
    _remove(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target, follow_symlinks=False)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _outputs_by_name(conn: sa.Connection, run_id: int) -> dict[tuple[str, str], tuple[str, str]]:
    names = {job.id: job.name for job in repo.list_jobs(conn, run_id)}
    return {
        (names[job_id], o.name): (o.path, o.sha256)
        for job_id, outputs in repo.list_outputs(conn, run_id).items()
        for o in outputs
    }


def _fresh_directory(into: Path | None, run_id: int) -> Path:
    if into is None:
        return Path(tempfile.mkdtemp(prefix=f"reefline-reproduce-{run_id}-"))
    into = into.resolve()
    if into.exists() and (not into.is_dir() or any(into.iterdir())):
        raise Invalid(f"{into} is not an empty directory: reproduce needs a fresh one")
    try:
        into.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Invalid(f"cannot create {into} for the reproduction: {exc.strerror or exc}") from exc
    return into


def repeat_options(run: RunRow, *, reproduces: int | None = None) -> RunOptions:
    """Options that run ``run`` again: its params, its job selection, nothing cached."""
    return RunOptions(
        params={name: _as_param_text(value) for name, value in run.params.items()},
        only=tuple(run.options.get("only") or ()),
        from_job=run.options.get("from_job"),
        no_cache=True,
        trigger="reproduce",
        reproduces=reproduces,
    )


def _as_param_text(value: object) -> str:
    """A recorded param value as ``-p`` text that the spec's param type reads back as the same value."""
    if isinstance(value, str):
        return value
    return json.dumps(value)
