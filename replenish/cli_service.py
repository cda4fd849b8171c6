"""`replenish db upgrade`, `replenish users create`, `replenish serve`: running the service.

The database is `REPLENISH_DATABASE_URL` (default: the SQLite file `replenish.db` in the
working directory). `users create` prints the new key alone on stdout, and everything
else on stderr, so a script can capture the key: `KEY=$(replenish users create ana
--role buyer)`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from replenish.terminal import err_console

db_app = typer.Typer(help="The service's database.", no_args_is_help=True)
users_app = typer.Typer(help="Users of the service and their API keys.", no_args_is_help=True)

ROLES = ["viewer", "buyer", "approver", "planner", "admin"]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the service's tables to this version (Alembic)."""
    from api import migrate
    from api.config import Settings
    from api.database import make_engine

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    before = migrate.current(engine)
    after = migrate.upgrade(engine)
    err_console.print(f"database at revision {after} (was {before or 'empty'})")


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="Login name (letters, digits, _ . @ -).")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")],
) -> None:
    """Create a user; print their API key (shown once) alone on stdout."""
    from pydantic import ValidationError
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    from api import migrate
    from api.auth import Role, create_user
    from api.config import Settings
    from api.database import make_engine
    from api.models import AuditEntry
    from api.schemas import UserIn

    try:
        body = UserIn(name=name, role=role)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems) from None
    engine = make_engine(Settings.from_env().database_url)
    try:
        migrate.require_current(engine)
    except migrate.NotMigrated as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(code=1) from None
    with Session(engine, expire_on_commit=False) as db:
        try:
            user, key = create_user(db, body.name, Role(body.role))
            db.add(
                AuditEntry(
                    action="create", entity="user", entity_id=str(user.id),
                    after={"name": user.name, "role": user.role, "via": "cli"},
                )
            )  # fmt: skip
            db.commit()
        except IntegrityError:
            err_console.print(f"[red]a user named {escape(name)!r} exists[/]")
            raise typer.Exit(code=1) from None
    err_console.print(f"created {escape(user.name)} ({user.role}); the key, shown once:")
    typer.echo(key)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Serve the API (uvicorn); refuses an unmigrated database."""
    import logging

    import uvicorn

    from api import migrate
    from api.app import create_app

    try:
        app = create_app()
    except migrate.NotMigrated as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(code=1) from None
    # One JSON line per request (api.observability) on stderr, added once per process.
    api_log = logging.getLogger("replenish.api")
    if not api_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        api_log.addHandler(handler)
        api_log.setLevel(logging.INFO)
        api_log.propagate = False
    # Each request already writes one JSON log line; uvicorn's own access log would double it.
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
