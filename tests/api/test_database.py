"""The engines the service will use behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from sqlalchemy import Column, Engine, ForeignKey, Integer, MetaData, String, Table, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from api.database import DEFAULT_URL, database_url, make_engine
from tests.conftest import POSTGRES_ENV

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


@pytest.fixture
def postgres_url() -> str:
    """The test PostgreSQL server (required under CI=true, see tests/conftest.py)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: pooled server connections need PostgreSQL")
    return url


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def _terminate(url: str, pid: int) -> None:
    """Drop one server connection, as a server restart or a firewall would."""
    admin = make_engine(url)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # it is gone once pg_stat_activity no longer lists it
            gone = conn.scalar(
                text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
            if gone:
                break
            time.sleep(0.05)
    admin.dispose()


def test_an_idle_connection_dropped_by_the_server_is_replaced(postgres_url: str) -> None:
    engine = make_engine(postgres_url, ping_after_idle=0.0)
    first = _backend_pid(engine)
    _terminate(postgres_url, first)
    assert _backend_pid(engine) != first  # pinged, found dead, replaced: no error
    engine.dispose()


def test_without_the_ping_a_dropped_connection_fails_the_request(postgres_url: str) -> None:
    """The contrast that shows the ping above is what saves the request."""
    engine = make_engine(postgres_url, ping_after_idle=3600.0)
    _terminate(postgres_url, _backend_pid(engine))
    with pytest.raises(DBAPIError):
        _backend_pid(engine)
    engine.dispose()


def test_a_connection_just_returned_is_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[Any] = []

    def ping(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return True

    for idle, expected in ((60.0, 0), (0.0, 3)):
        engine = make_engine(postgres_url, ping_after_idle=idle)
        pings.clear()
        monkeypatch.setattr(engine.dialect, "do_ping", ping)
        for _ in range(3):
            _backend_pid(engine)
        assert len(pings) == expected, idle
        engine.dispose()
