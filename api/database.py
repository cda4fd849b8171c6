"""Database engines for the service: SQLite file by default, PostgreSQL by URL.

SQLite gets the settings a multi-user service needs (foreign keys enforced, WAL so
readers do not block the writer, a busy timeout instead of instant "database is
locked"); PostgreSQL URLs are used as given (driver psycopg 3).
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event

DEFAULT_URL = "sqlite:///replenish.db"


def database_url() -> str:
    """The configured database URL (`REPLENISH_DATABASE_URL`, default a local SQLite file)."""
    return os.environ.get("REPLENISH_DATABASE_URL", DEFAULT_URL)


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default: `database_url()`), with SQLite made service-safe."""
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)
