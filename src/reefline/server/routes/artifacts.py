"""A run's outputs and their bytes from the server's artifact store (checkout for a server), and the
collection of that store (``reefline gc`` over every team's runs)."""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Annotated

from fastapi import Depends, Request
from fastapi.responses import StreamingResponse

from reefline.artifacts.base import ArtifactStore
from reefline.artifacts.hashing import ArtifactError
from reefline.artifacts.locate import open_artifact_store
from reefline.server.deps import SITE_ADMIN, Access, Transaction, access
from reefline.server.models import GcIn, GcOut, RunOutputOut
from reefline.server.routing import SecureRouter
from reefline.services import audit, gc
from reefline.services.permissions import Permission
from reefline.services.types import NotFound, Unavailable
from reefline.store import repo

router = SecureRouter(tags=["artifacts"])
Caller = Annotated[Access, Depends(access)]
RUN = "/runs/{run_id}"
_CHUNK = 1 << 20


def server_artifacts(request: Request) -> ArtifactStore:
    """The artifact store the server's engine saves outputs to (see ``serve.engine_host``)."""
    try:
        return open_artifact_store(request.app.state.settings.artifacts)
    except ArtifactError as exc:
        raise _unreachable(exc) from exc


@router.get(RUN + "/outputs", permission=Permission.PIPELINE_READ, response_model=list[RunOutputOut])
def list_outputs(run_id: int, conn: Transaction, caller: Caller) -> list[RunOutputOut]:
    """Every output the run's jobs recorded, in job order, each with the URL of its content."""
    names = {job.id: job.name for job in repo.list_jobs(conn, run_id)}
    return [
        RunOutputOut(
            id=o.id,
            job=names.get(job_id, "?"),
            name=o.name,
            path=o.path,
            type=o.type,
            sha256=o.sha256,
            size=o.size,
            download=f"/api/runs/{run_id}/outputs/{o.id}/content",
        )
        for job_id, rows in repo.list_outputs(conn, run_id).items()
        for o in rows
    ]


@router.get(
    RUN + "/outputs/{output_id}/content",
    permission=Permission.PIPELINE_READ,
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/octet-stream": {}, "application/x-tar": {}},
            "description": "the output's bytes as an attachment (a directory: a tar of it)",
        }
    },
)
def output_content(
    run_id: int, output_id: int, request: Request, conn: Transaction, caller: Caller
) -> StreamingResponse:
    """The bytes of one of the run's outputs, streamed from the artifact store; a directory output
    comes as a tar. 404 when the store no longer has them (removed by gc), 503 when it cannot be
    reached."""
    found = [
        (job_id, o)
        for job_id, rows in repo.list_outputs(conn, run_id).items()
        for o in rows
        if o.id == output_id
    ]
    if not found:
        raise NotFound(f"run {run_id} has no output {output_id} (GET /api/runs/{run_id}/outputs lists them)")
    _, output = found[0]
    store = server_artifacts(request)
    gone = NotFound(
        f"the artifact store no longer has output {output.name!r} ({output.path}) of run {run_id}, "
        f"sha256:{output.sha256[:12]} (removed by gc?)",
        details={"output_id": output_id, "sha256": output.sha256},
    )
    try:
        present = store.has(output.sha256)
    except ArtifactError as exc:
        raise _unreachable(exc) from exc
    if not present:
        raise gone
    name = _safe_name(PurePosixPath(output.path.rstrip("/")).name or output.name)
    try:
        stream = store.open(output.sha256)
    except ArtifactError:
        stream = None  # a directory (or a damaged object): restored and tarred below
    if stream is not None:
        return StreamingResponse(
            _chunks(stream),
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Content-Length": str(output.size),
            },
        )
    tar = _tarred(store, output.sha256, name, gone)
    return StreamingResponse(
        _chunks(tar, remove=tar.name),
        media_type="application/x-tar",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.tar"',
            "Content-Length": str(os.fstat(tar.fileno()).st_size),
        },
    )


def _unreachable(exc: ArtifactError) -> Unavailable:
    return Unavailable(f"the server's artifact store cannot be reached: {exc}")


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "output"


def _chunks(stream: IO[bytes], remove: str | None = None) -> Iterator[bytes]:
    try:
        while chunk := stream.read(_CHUNK):
            yield chunk
    finally:
        stream.close()
        if remove is not None:
            Path(remove).unlink(missing_ok=True)


def _tarred(store: ArtifactStore, sha256: str, name: str, gone: NotFound) -> IO[bytes]:
    """A stored directory as a tar in a temporary file (whose members are ``name/…``), read from 0."""
    scratch = Path(tempfile.mkdtemp(prefix="reefline-output-"))
    tar = tempfile.NamedTemporaryFile(prefix="reefline-output-", suffix=".tar", delete=False)  # noqa: SIM115
    try:
        store.restore(scratch, name, sha256)
        with tarfile.open(fileobj=tar, mode="w") as archive:
            archive.add(scratch / name, arcname=name)
        tar.seek(0)
    except (ArtifactError, OSError) as exc:
        tar.close()
        Path(tar.name).unlink(missing_ok=True)
        raise NotFound(f"{gone} ({exc})", details=gone.details) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return tar


@router.post("/admin/gc", permission=SITE_ADMIN, response_model=GcOut)
def collect_garbage(body: GcIn, request: Request, conn: Transaction, caller: Caller) -> GcOut:
    """Remove from the server's artifact store what no kept run of any team references (site admins
    only): kept are each pipeline's newest ``keep_last`` finished runs and every unfinished one."""
    store = server_artifacts(request)
    try:
        report = gc.collect(conn, store, body.keep_last, dry_run=body.dry_run)
    except ArtifactError as exc:
        raise _unreachable(exc) from exc
    out = GcOut(
        dry_run=body.dry_run,
        kept_runs=len(report.kept_runs),
        kept=len(report.kept),
        removed=len(report.removed),
        bytes_freed=report.bytes_freed,
    )
    audit.record(conn, caller.actor, "artifacts.gc", "artifact store", details=out.model_dump())
    return out
