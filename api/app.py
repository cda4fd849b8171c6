"""The FastAPI application: versioned routes under /v1, problem+json errors, metrics.

`create_app` refuses a database that is not migrated to this code's schema (run
`replenish db upgrade`), so the service never writes to a schema it does not know.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api import errors, jobs, migrate, observability
from api.auth import KeyCache
from api.cache import Rendered
from api.config import Settings
from api.database import make_engine
from api.gate import Gate
from api.jobs import Workers
from api.routes import data, ops, plans, simulations, users
from api.web import pages
from api.web.signin import SessionCache
from api.webhook import Dispatcher

log = logging.getLogger("replenish.api")
ROUTERS = (ops.router, users.router, data.router, plans.router, simulations.router)
#: Threads for slow route work (api.deps.heavy), apart from the route threads.
HEAVY_THREADS = 2

DESCRIPTION = """Reorder plans, purchase approvals and what-if simulations, persisted.

Every route under /v1 takes an API key: `Authorization: Bearer KEY`. Errors are RFC 9457
problem documents (`application/problem+json`). People use the web app at /app."""


def start_once_per_service(
    sessions: sessionmaker[Session], settings: Settings
) -> Callable[[], None]:
    """What one process per service does: fail the jobs a previous run left unfinished
    and send webhooks (one dispatcher). Returns the function that stops it. Done in the
    app's lifespan with one process, by the parent with `serve --workers N`."""
    interrupted = jobs.recover(sessions)
    if interrupted:
        log.warning("%d job(s) interrupted by a restart were marked failed", interrupted)
    dispatcher = Dispatcher(sessions, settings) if settings.webhook_url else None
    if dispatcher is not None:
        dispatcher.start()
    return dispatcher.stop if dispatcher is not None else _nothing


def _nothing() -> None:
    """Nothing to stop."""


def start_supervisor(settings: Settings) -> Callable[[], None]:
    """The parent process of `replenish serve --workers N`: check the schema, then
    `start_once_per_service`. Returns the function that stops it. The worker processes
    (settings.supervised) only serve, run their jobs, and fail those of a sibling that
    died."""
    engine = make_engine(settings.database_url)
    migrate.require_current(engine)
    stop_duties = start_once_per_service(sessionmaker(engine, expire_on_commit=False), settings)

    def stop() -> None:
        stop_duties()
        engine.dispose()

    return stop


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The app on `engine` (default: the settings' database); NotMigrated if not current."""
    cfg = settings or Settings.from_env()
    eng = engine or make_engine(cfg.database_url)
    migrate.require_current(eng)
    sessions = sessionmaker(eng, expire_on_commit=False)
    # Lookups that need no transaction (api.deps.in_session), on the same pool.
    reads = sessionmaker(eng.execution_options(isolation_level="AUTOCOMMIT"))
    workers = Workers(sessions, cfg)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Route threads per process: few, since they share one GIL (see Settings.threads).
        anyio.to_thread.current_default_thread_limiter().total_tokens = cfg.threads
        app.state.heavy = anyio.CapacityLimiter(HEAVY_THREADS)
        if cfg.supervised:  # one of several processes: see start_supervisor
            workers.start_reaper()
            stop_duties = _nothing
        else:
            stop_duties = start_once_per_service(sessions, cfg)
        yield
        stop_duties()
        workers.shutdown()

    app = FastAPI(title="replenish", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = cfg
    app.state.engine = eng
    app.state.sessions = sessions
    app.state.reads = reads
    app.state.workers = workers
    app.state.rendered = Rendered()
    app.state.keys = KeyCache(reads, cfg.auth_cache_seconds)
    app.state.web_sessions = SessionCache(cfg.auth_cache_seconds)
    app.state.metrics = observability.Metrics()
    errors.install(app)
    # Outermost last: request ids and logs see everything, then the gate checks the key
    # and the body's size before any route reads the body.
    app.add_middleware(
        Gate, keys=app.state.keys, routes=[r for router in ROUTERS for r in router.routes],
        upload_bytes=cfg.max_upload_bytes, json_bytes=cfg.max_json_bytes,
    )  # fmt: skip
    observability.install(app, app.state.metrics)
    for router in ROUTERS:
        app.include_router(router)
    pages.install(app)  # the web app at /app (api.web)
    return app
