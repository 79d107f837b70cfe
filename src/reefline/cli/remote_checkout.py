"""``reefline checkout RUN --server``: a server run's outputs, downloaded into this workspace.

The same checkout as on the laptop (``services.checkout``: only recorded paths, each confined to the
workspace, what is already there left alone), with the server's artifact store reached through
``GET /api/runs/{id}/outputs/{output}/content``. Every download is checked against the sha256 the
run recorded before it replaces anything.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from reefline.artifacts.hashing import ArtifactError, Hasher, resolve_inside
from reefline.cli import remote
from reefline.cli.common import CliError
from reefline.services.checkout import CheckoutItem, CheckoutReport, checkout

if TYPE_CHECKING:
    from reefline.client import Client

TAR = "application/x-tar"


class ServerOutputs:
    """A :class:`~reefline.services.checkout.Restorer` over a server run's outputs."""

    def __init__(self, client: Client, run_id: int, ids: dict[str, int]) -> None:
        self.client = client
        self.run_id = run_id
        self.ids = ids  # sha256 -> the id of an output of the run with that content

    def has(self, sha256: str) -> bool:
        return sha256 in self.ids  # whether the server still keeps it: the download says

    def restore(self, workspace: Path, relpath: str, sha256: str) -> None:
        from reefline.client import ApiError

        target = resolve_inside(workspace, relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".reefline-checkout-", dir=target.parent))
        try:
            download = scratch / "download"
            with download.open("wb") as out:
                try:
                    kind = self.client.download_output(self.run_id, self.ids[sha256], out)
                except ApiError as exc:
                    raise ArtifactError(f"the server: {exc.message}") from None
            if kind.startswith(TAR):
                placed = _untar(download, scratch / "tree", workspace, sha256)
            else:
                placed = download
                if _file_sha(download) != sha256:
                    raise ArtifactError(f"the server sent other bytes than sha256:{sha256[:12]}")
                os.chmod(placed, 0o644)
            _replace(target, placed)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _untar(archive: Path, into: Path, workspace: Path, sha256: str) -> Path:
    """The directory the tar holds (its one top-level folder), extracted safely and checked."""
    into.mkdir()
    try:
        with tarfile.open(archive) as tar:
            tops = {PurePosixPath(m.name).parts[0] for m in tar.getmembers() if PurePosixPath(m.name).parts}
            if len(tops) != 1:
                raise ArtifactError("the server's tar does not hold one directory")
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise ArtifactError(f"the server's tar cannot be read: {exc}") from exc
    folder = into / tops.pop()
    rel = folder.resolve().relative_to(workspace.resolve()).as_posix()
    if Hasher(workspace).digest(rel).sha256 != sha256:
        raise ArtifactError(f"the server sent another directory than sha256:{sha256[:12]}")
    return folder


def _replace(target: Path, placed: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    os.replace(placed, target)


def _items(outputs: list[dict[str, Any]], jobs: list[str] | None) -> list[CheckoutItem]:
    """One item per recorded path (of the jobs named), parents before what is inside them."""
    by_path: dict[str, CheckoutItem] = {}
    for o in outputs:
        if jobs and not any(remote.matches_job(o["job"], name) for name in jobs):
            continue
        by_path[o["path"]] = CheckoutItem(o["job"], o["name"], o["path"], o["sha256"], o["size"])
    return sorted(by_path.values(), key=lambda item: (Path(item.path).parts, item.job))


def checkout_from_server(
    server: str | None, team: str | None, ref: str, jobs: list[str] | None, workspace: Path
) -> CheckoutReport:
    with remote.session(server) as s:
        run_id = remote.run_id_of(s, ref, team)
        if jobs:
            names = [j["name"] for j in s.client.get_run(run_id)["jobs"]]
            for name in jobs:
                if not any(remote.matches_job(n, name) for n in names):
                    raise CliError(
                        f"run {run_id} has no job {name!r} (its jobs: {', '.join(names) or 'none'})"
                    )
        outputs = s.client.outputs(run_id)
        items = _items(outputs, jobs)
        if not items:
            which = f" of {', '.join(jobs)}" if jobs else ""
            raise CliError(f"run {run_id} recorded no outputs{which}: there is nothing to check out")
        ids = {o["sha256"]: int(o["id"]) for o in outputs}
        return checkout(ServerOutputs(s.client, run_id, ids), workspace, run_id, items)
