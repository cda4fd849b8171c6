"""Alembic migrations driven from code: upgrade, and whether a database is current.

`replenish db upgrade` runs `upgrade` on the configured database; the server calls
`require_current` at start-up and refuses to serve an unmigrated (or newer) schema.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class NotMigrated(RuntimeError):
    """The database schema is not at the code's head revision."""


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database of `engine` to `revision`; returns the revision reached."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current(engine)


def require_current(engine: Engine) -> None:
    """Raise NotMigrated with what to run when the schema is not at head."""
    at, want = current(engine), head()
    if at != want:
        raise NotMigrated(
            f"the database is at revision {at or 'none (empty)'}, the code needs {want}: "
            "run `replenish db upgrade` first"
        )
