"""Alembic migrations on SQLite and PostgreSQL; the app refuses an unmigrated database."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

from api import migrate
from api.app import create_app
from api.config import Settings


def test_upgrade_creates_the_tables_and_reaches_head(engine: Engine) -> None:
    assert migrate.current(engine) is None
    assert migrate.upgrade(engine) == migrate.head()
    assert {"users", "audit_log", "alembic_version"} <= set(inspect(engine).get_table_names())
    assert migrate.upgrade(engine) == migrate.head()  # idempotent


def test_the_app_refuses_an_unmigrated_database(engine: Engine) -> None:
    with pytest.raises(migrate.NotMigrated, match="replenish db upgrade"):
        create_app(Settings(), engine)
    migrate.upgrade(engine)
    assert create_app(Settings(), engine).title == "replenish"


def test_downgrade_and_upgrade_round_trip(engine: Engine) -> None:
    migrate.upgrade(engine)
    from alembic import command

    cfg = migrate._config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert "users" not in inspect(engine).get_table_names()
    assert migrate.upgrade(engine) == migrate.head()
