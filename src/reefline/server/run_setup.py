"""How the server's engine prepares a claimed run: its own workspace, its source, its secrets.

Every server run executes in ``REEFLINE_HOME/workspaces/<run id>``, holding the source uploaded with
its revision; it gets the secrets of its pipeline, board and team. Called again when a run is taken
over after a restart: the workspace is unpacked once (a marker file says it is complete).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa

from reefline.engine.host import RunSetup
from reefline.services import secrets, source_bundle
from reefline.services.home import ServerHome
from reefline.services.secret_box import SecretBox
from reefline.store import repo_scope
from reefline.store.rows import RunRow

UNPACKED_MARKER = ".reefline-source-unpacked"


class ServerRunSetup:
    def __init__(self, db: sa.Engine, home: ServerHome, box: SecretBox) -> None:
        self.db = db
        self.home = home
        self.box = box

    def __call__(self, run: RunRow) -> RunSetup:
        workspace = self.home.workspace(run.id)
        with self.db.connect() as conn:
            _check_policy(conn, run)
            source = repo_scope.revision_source(conn, run.revision_id) if run.revision_id else None
            values = secrets.secrets_for_run(conn, self.box, run.pipeline_id)
        self._unpack(source, workspace)
        return RunSetup(workspace=workspace, secrets=values)

    def _unpack(self, source: str | None, workspace: Path) -> None:
        if (workspace / UNPACKED_MARKER).exists():
            return
        if workspace.exists():  # a half-unpacked tree from a crash: start over
            shutil.rmtree(workspace)
        workspace.parent.mkdir(parents=True, exist_ok=True)
        if source is None:
            workspace.mkdir()
        else:
            source_bundle.unpack(source, workspace, home=self.home)
        (workspace / UNPACKED_MARKER).touch()


class PolicyDenied(Exception):
    """The team's allow-list (as it is now) refuses an image or executor of the run."""


def _check_policy(conn: sa.Connection, run: RunRow) -> None:
    """The team's allow-list, again at the start: it may have been tightened since the run was queued."""
    from reefline.engine.run_setup import plan_of
    from reefline.services.policy_check import plan_denials
    from reefline.services.team_policy import policy_for_team
    from reefline.store.tables import pipelines

    team_id = conn.execute(sa.select(pipelines.c.team_id).where(pipelines.c.id == run.pipeline_id)).scalar()
    if team_id is None:
        return
    denied = plan_denials(plan_of(run), policy_for_team(conn, team_id), file=run.spec_path)
    if denied:
        raise PolicyDenied("; ".join(d.message for d in denied))
