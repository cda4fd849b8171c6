"""Database engines for the service: SQLite file by default, PostgreSQL by URL.

SQLite gets the settings a multi-user service needs (foreign keys enforced, WAL so
readers do not block the writer, a busy timeout instead of instant "database is
locked"); PostgreSQL URLs are used as given (driver psycopg 3), with a pooled
connection checked before use only when it has sat idle (see `ping_when_idle`).
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

#: What the database layer raises (connection refused, locked, constraint broken...): the
#: command line catches this one name instead of importing SQLAlchemy itself.
DatabaseError = SQLAlchemyError
DEFAULT_URL = "sqlite:///replenish.db"
#: A pooled server connection idle longer than this (seconds) is pinged before use.
PING_AFTER_IDLE_SECONDS = 5.0


def database_url() -> str:
    """The configured database URL (`REPLENISH_DATABASE_URL`, default a local SQLite file)."""
    return os.environ.get("REPLENISH_DATABASE_URL", DEFAULT_URL)


def describe_failure(exc: SQLAlchemyError, url: str | None = None) -> str:
    """One line for a person: which database (URL without its password) and why."""
    shown = make_url(url or database_url()).render_as_string(hide_password=True)
    orig = getattr(exc, "orig", None) or exc
    cause = next((ln.strip() for ln in str(orig).splitlines() if ln.strip()), type(orig).__name__)
    return f"cannot use the database {shown}: {cause}"


def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on `engine` whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def make_engine(url: str | None = None, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> Engine:
    """An engine for `url` (default: `database_url()`), with SQLite made service-safe and
    server connections pinged when idle for more than `ping_after_idle` seconds."""
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
    engine = create_engine(url)
    ping_when_idle(engine, ping_after_idle)
    return engine


def ping_when_idle(engine: Engine, after_seconds: float) -> None:
    """Check a pooled connection with a ping at checkout if it was idle over `after_seconds`.

    SQLAlchemy's pool_pre_ping pings at every checkout: a round trip per request, about a
    third of a cached read's database time on PostgreSQL. A connection returned a moment
    ago is as good as a pinged one; one idle for a while may have been dropped by a server
    restart or a firewall, and is replaced (the pool retries) instead of failing a request.
    """

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("returned_at", 0.0) <= after_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"a pooled connection was dropped: {exc}") from exc
