"""`replenish db upgrade`, `replenish users create`, `replenish serve`: running the service.

The database is `REPLENISH_DATABASE_URL` (default: the SQLite file `replenish.db` in the
working directory). `users create` prints the new key alone on stdout, and everything
else on stderr, so a script can capture the key: `KEY=$(replenish users create ana
--role buyer)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from replenish.terminal import err_console

db_app = typer.Typer(help="The service's database.", no_args_is_help=True)
users_app = typer.Typer(help="Users of the service and their API keys.", no_args_is_help=True)

ROLES = ["viewer", "buyer", "approver", "planner", "admin"]
T = TypeVar("T")


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
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Processes serving requests (each with its own job pool); about one per core.",
        ),
    ] = 1,
) -> None:
    """Serve the API (uvicorn); refuses an unmigrated database."""
    import os

    import uvicorn

    from api.app import create_app, start_supervisor
    from api.config import Settings

    _request_log()
    if workers == 1:
        app = _migrated(create_app)
        # Each request already writes one JSON log line; uvicorn's access log would double it.
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
        return
    # Several processes: this one recovers jobs and sends webhooks, and uvicorn's
    # supervisor starts (and restarts) the workers, which build the app themselves.
    stop = _migrated(lambda: start_supervisor(Settings.from_env()))
    os.environ["REPLENISH_SUPERVISED"] = "1"
    try:
        uvicorn.run(
            "replenish.cli_service:worker_app", factory=True, host=host, port=port,
            workers=workers, log_level="info", access_log=False,
        )  # fmt: skip
    finally:
        stop()


def _migrated(start: Callable[[], T]) -> T:
    """`start()`; on an unmigrated database, the reason in red and exit code 1."""
    from api import migrate

    try:
        return start()
    except migrate.NotMigrated as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(code=1) from None


def worker_app() -> Any:
    """The app in one of `serve --workers N`'s processes (uvicorn imports it by name)."""
    from api.app import create_app

    _request_log()
    return create_app()


def _request_log() -> None:
    """One JSON line per request (api.observability) on stderr, set up once per process."""
    import logging

    api_log = logging.getLogger("replenish.api")
    if not api_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        api_log.addHandler(handler)
        api_log.setLevel(logging.INFO)
        api_log.propagate = False
