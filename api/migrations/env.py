"""Alembic environment: migrate the connection handed over by `api.migrate`, or the
configured database when run by the `alembic` command itself."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from api.database import make_engine
from api.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    with make_engine().connect() as conn:
        _run(conn)
        conn.commit()
