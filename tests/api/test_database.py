"""The engines the service will use behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Engine, ForeignKey, Integer, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError

from api.database import DEFAULT_URL, database_url

metadata = MetaData()
suppliers = Table("suppliers", metadata, Column("id", String, primary_key=True))
skus = Table(
    "skus",
    metadata,
    Column("id", String, primary_key=True),
    Column("supplier_id", String, ForeignKey("suppliers.id"), nullable=False),
    Column("pack_size", Integer, nullable=False),
)


def test_rows_round_trip(engine: Engine) -> None:
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(suppliers.insert(), [{"id": "SUP01"}])
        conn.execute(
            skus.insert(),
            [{"id": f"SKU{i}", "supplier_id": "SUP01", "pack_size": i} for i in range(1, 4)],
        )
    with engine.connect() as conn:
        rows = conn.execute(select(skus.c.id, skus.c.pack_size).order_by(skus.c.id)).all()
    assert [(r.id, r.pack_size) for r in rows] == [("SKU1", 1), ("SKU2", 2), ("SKU3", 3)]


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    """SQLite ignores foreign keys unless told; the service's engine tells it."""
    metadata.create_all(engine)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(skus.insert(), [{"id": "SKU1", "supplier_id": "NOPE", "pack_size": 1}])
    with engine.connect() as conn:
        assert conn.execute(select(skus.c.id)).all() == []


def test_database_url_defaults_to_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPLENISH_DATABASE_URL", raising=False)
    assert database_url() == DEFAULT_URL
    monkeypatch.setenv("REPLENISH_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"
