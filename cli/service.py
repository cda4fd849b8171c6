"""`replenish db upgrade`, `replenish users ...`, `replenish serve`: running the service.

The database is `REPLENISH_DATABASE_URL` (default: the SQLite file `replenish.db` in the
working directory). `users create` and `users rotate` print the new key alone on stdout,
and everything else on stderr, so a script can capture the key: `KEY=$(replenish users
create ana --role buyer)`. A database that cannot be reached is one line naming its URL
(without the password) and the cause, and exit code 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.markup import escape

from cli.terminal import console, err_console

if TYPE_CHECKING:  # types only: everything that talks to the database is in api/
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

db_app = typer.Typer(help="The service's database.", no_args_is_help=True)
users_app = typer.Typer(help="Users of the service and their API keys.", no_args_is_help=True)

ROLES = ["viewer", "buyer", "approver", "planner", "admin"]
T = TypeVar("T")
Who = Annotated[str, typer.Argument(help="The user's name or id.")]


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]{escape(message)}[/]", soft_wrap=True)
    return typer.Exit(code=1)


def _guarded(start: Callable[[], T]) -> T:
    """`start()`; an unmigrated or unreachable database is one line in red and exit 1."""
    from api import migrate
    from api.database import DatabaseError, describe_failure

    try:
        return start()
    except migrate.NotMigrated as exc:
        raise _fail(str(exc)) from None
    except DatabaseError as exc:
        raise _fail(describe_failure(exc)) from None


def _engine(migrated: bool = True) -> Engine:
    """The configured database's engine, checked reachable (and migrated, if asked)."""
    from api import migrate
    from api.config import Settings
    from api.database import make_engine

    engine = make_engine(Settings.from_env().database_url)
    _guarded(lambda: migrate.require_current(engine) if migrated else migrate.current(engine))
    return engine


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the migrated database; its lifecycle errors as one line, exit 1."""
    from api.accounts import AccountError
    from api.database import sessions

    with sessions(_engine())() as db:
        try:
            yield db
        except AccountError as exc:
            raise _fail(exc.message) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the service's tables to this version (Alembic)."""
    from api import migrate

    engine = _engine(migrated=False)
    before = migrate.current(engine)
    after = _guarded(lambda: migrate.upgrade(engine))
    err_console.print(f"database at revision {after} (was {before or 'empty'})")


def _role(role: str) -> Any:
    from api.auth import Role

    if role not in ROLES:
        raise typer.BadParameter(f"choose one of {', '.join(ROLES)}", param_hint="--role")
    return Role(role)


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="Login name (letters, digits, _ . @ -).")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")],
) -> None:
    """Create a user; print their API key (shown once) alone on stdout."""
    from pydantic import ValidationError

    from api.accounts import create_user
    from api.schemas import UserIn

    try:
        body = UserIn(name=name, role=role)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems) from None
    with _session() as db:
        user, key = create_user(db, body.name, body.role, via="cli")
        db.commit()
    err_console.print(f"created {escape(user.name)} ({user.role}); the key, shown once:")
    typer.echo(key)


@users_app.command("list")
def users_list() -> None:
    """Every user: id, name, role, key prefix, created, revoked."""
    import pandas as pd

    from api.accounts import list_users
    from cli.terminal import fmt_table

    with _session() as db:
        users = list_users(db)
    rows = [
        {"id": u.id, "name": u.name, "role": u.role, "key": u.key_prefix + "…",
         "created": f"{u.created_at:%Y-%m-%d %H:%M}",
         "revoked": f"{u.revoked_at:%Y-%m-%d %H:%M}" if u.revoked_at else ""}
        for u in users
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=["id", "name", "role", "key", "created", "revoked"])
    console.print(fmt_table(f"Users ({len(rows)})", table.set_index("id"), {}))


@users_app.command("revoke")
def users_revoke(who: Who) -> None:
    """Revoke a user's key: refused from now on (by a running service within
    REPLENISH_AUTH_CACHE_SECONDS)."""
    from api.accounts import find_user, revoke

    with _session() as db:
        user = revoke(db, find_user(db, who), None, "cli")
        db.commit()
    err_console.print(f"revoked the key of {escape(user.name)}")


@users_app.command("rotate")
def users_rotate(who: Who) -> None:
    """Give a user a new key (printed alone on stdout, shown once); the old one stops."""
    from api.accounts import find_user, rotate

    with _session() as db:
        user, key = rotate(db, find_user(db, who), None, "cli")
        db.commit()
    err_console.print(f"new key for {escape(user.name)}, shown once; the old key stops working:")
    typer.echo(key)


@users_app.command("password")
def users_password(
    who: Who,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the password from standard input (scripts).")
    ] = False,
) -> None:
    """Set a user's password for the web app (/app); asked twice unless --stdin. Ends
    the user's signed-in sessions and any lock-out."""
    import sys

    from api.accounts import find_user
    from api.web.signin import set_password

    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _session() as db:
        user = find_user(db, who)
        try:
            set_password(db, user, password, None, "cli")
        except ValueError as exc:
            raise _fail(str(exc)) from None
        db.commit()
    err_console.print(f"{escape(user.name)} can now sign in to the app")


@users_app.command("set-role")
def users_set_role(
    who: Who, role: Annotated[str, typer.Argument(help=f"One of {', '.join(ROLES)}.")]
) -> None:
    """Change a user's role."""
    from api.accounts import find_user, set_role

    chosen = _role(role)
    with _session() as db:
        user = set_role(db, find_user(db, who), chosen, None, "cli")
        db.commit()
    err_console.print(f"{escape(user.name)} is now {user.role}")


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
    """Serve the API (uvicorn); refuses an unmigrated database.

    SIGTERM or Ctrl-C stops it within seconds: running jobs are marked failed (retriable
    with POST /v1/jobs/{id}/retry) rather than waited for."""
    import os

    import uvicorn

    from api.app import create_app, start_supervisor
    from api.config import Settings

    _request_log()
    if workers == 1:
        app = _guarded(create_app)
        # Each request already writes one JSON log line; uvicorn's access log would double it.
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
        return
    # Several processes: this one recovers jobs and sends webhooks, and uvicorn's
    # supervisor starts (and restarts) the workers, which build the app themselves.
    stop = _guarded(lambda: start_supervisor(Settings.from_env()))
    os.environ["REPLENISH_SUPERVISED"] = "1"
    try:
        uvicorn.run(
            "cli.service:worker_app", factory=True, host=host, port=port,
            workers=workers, log_level="info", access_log=False,
        )  # fmt: skip
    finally:
        stop()


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


#: The demo's people: (name, role). Their passwords are made fresh and printed once.
DEMO_PEOPLE = (("demo-buyer", "buyer"), ("demo-approver", "approver"), ("demo-planner", "planner"))
#: The first plan's budget: this share of 28 days of the history's average spend.
DEMO_BUDGET_SHARE = 0.6


def demo_serve(data_dir: Path, database: Path, host: str, port: int) -> None:
    """Load the dataset in `data_dir` into the service's database (REPLENISH_DATABASE_URL,
    else a fresh SQLite file `database`), create the demo's people with new passwords
    (printed once), serve the app and request a first plan as soon as it serves."""
    import os
    import secrets
    from contextlib import asynccontextmanager
    from dataclasses import replace

    import uvicorn

    from api import datasets, migrate
    from api.accounts import AccountError, create_user, find_user
    from api.app import create_app
    from api.auth import Principal, Role
    from api.config import Settings
    from api.database import make_engine, sessions
    from api.plans import request_plan
    from api.web.signin import set_password
    from contract.schema import TABLES_BY_NAME

    settings = Settings.from_env()
    if not os.environ.get("REPLENISH_DATABASE_URL"):
        database.unlink(missing_ok=True)  # the demo's own file: a fresh start each time
        settings = replace(settings, database_url=f"sqlite:///{database}")
    engine = make_engine(settings.database_url)
    _guarded(lambda: migrate.upgrade(engine))
    made = sessions(engine)
    passwords: dict[str, str] = {}
    with made() as db:
        for name, role in DEMO_PEOPLE:
            try:
                user = find_user(db, name)
            except AccountError:
                user, _key = create_user(db, name, Role(role), via="demo")
            passwords[name] = secrets.token_urlsafe(9)
            set_password(db, user, passwords[name], None, "demo")
        buyer = Principal.of(find_user(db, DEMO_PEOPLE[0][0]))
        db.commit()
        for path in sorted(data_dir.iterdir()):
            if path.stem in TABLES_BY_NAME:
                datasets.store(db, path.stem, path.read_bytes(), path.name, buyer.id,
                               settings.max_upload_bytes)  # fmt: skip
        db.commit()
        _report, dataset = datasets.load(db, settings.max_upload_bytes)
    if dataset is None:
        raise _fail("the demo dataset did not load")
    orders = dataset.orders.merge(dataset.skus[["sku_id", "unit_cost"]], on="sku_id")
    days = max((orders["date"].max() - orders["date"].min()).days, 1)
    spend = float((orders["quantity"] * orders["unit_cost"]).sum()) / days * 28
    budget = round(DEMO_BUDGET_SHARE * spend, 2)

    app = create_app(settings, engine)
    serving = app.router.lifespan_context

    @asynccontextmanager
    async def with_first_plan(application: Any) -> Any:
        async with serving(application) as state:  # jobs recovered, workers ready
            with made() as db:
                started = request_plan(db, buyer, {
                    "budget": budget, "capacity": None, "suppliers": None, "categories": None,
                    "horizon_days": None,
                }, "demo-first-plan")  # fmt: skip
            application.state.workers.submit(started.job_id, 1)
            yield state

    app.router.lifespan_context = with_first_plan
    rows = "\n".join(f"  {name:<14} {role:<9} {passwords[name]}" for name, role in DEMO_PEOPLE)
    err_console.print(
        f"[bold]The app[/]: http://{host}:{port}/app/  (Ctrl-C stops it)\n"
        f"Sign in as (passwords shown once):\n{escape(rows)}\n"
        f"A first plan with a budget of {budget:,.2f} is being computed for demo-buyer."
    )
    _request_log()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
