"""Where a project's database lives, opened once per command with interrupted runs closed."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from reefline.engine.recovery import recover_interrupted
from reefline.store import db


def open_project_db(project_dir: Path) -> sa.Engine:
    engine = db.open_database(db.database_url(project_dir))
    recover_interrupted(engine)
    return engine
