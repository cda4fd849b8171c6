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


def test_0008_keeps_one_line_per_plan_and_sku(engine: Engine) -> None:
    """Before 0008, concurrent retries could write a plan's lines twice: the upgrade keeps
    the first copy of each and then makes (plan, SKU) unique."""
    from sqlalchemy import text

    migrate.upgrade(engine, "0007")
    line = (
        "INSERT INTO plan_lines (plan_id, sku_id, supplier_id, pack_size, packs, quantity, "
        "unit_cost, reasons) VALUES (1, :sku, 'S', 1, :packs, :packs, 1.0, '{}')"
    )
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO users (id, name, role, key_hash, key_prefix, created_at) "
                 "VALUES (1, 'u', 'buyer', 'h', 'p', CURRENT_TIMESTAMP)")
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO plans (id, state, version, requested_by, params, created_at, "
                 "updated_at) VALUES (1, 'draft', 1, 1, '{}', CURRENT_TIMESTAMP, "
                 "CURRENT_TIMESTAMP)")
        )  # fmt: skip
        for sku, packs in (("A", 1), ("B", 2), ("A", 1), ("B", 2), ("C", 3)):
            conn.execute(text(line), {"sku": sku, "packs": packs})
    assert migrate.upgrade(engine) == migrate.head()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sku_id, packs FROM plan_lines ORDER BY sku_id")).all()
    assert [tuple(r) for r in rows] == [("A", 1), ("B", 2), ("C", 3)]
