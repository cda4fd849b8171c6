"""The FastAPI application: versioned routes under /v1, problem+json errors, metrics.

`create_app` refuses a database that is not migrated to this code's schema (run
`replenish db upgrade`), so the service never writes to a schema it does not know.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from api import errors, migrate, observability
from api.cache import Rendered
from api.config import Settings
from api.database import make_engine
from api.jobs import Workers
from api.routes import data, ops, plans, simulations, users
from api.webhook import Dispatcher

log = logging.getLogger("replenish.api")

DESCRIPTION = """Reorder plans, purchase approvals and what-if simulations, persisted.

Every route under /v1 takes an API key: `Authorization: Bearer KEY`. Errors are RFC 9457
problem documents (`application/problem+json`)."""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The app on `engine` (default: the settings' database); NotMigrated if not current."""
    cfg = settings or Settings.from_env()
    eng = engine or make_engine(cfg.database_url)
    migrate.require_current(eng)
    sessions = sessionmaker(eng, expire_on_commit=False)
    workers = Workers(sessions, cfg)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        interrupted = workers.recover()
        if interrupted:
            log.warning("%d job(s) interrupted by a restart were marked failed", interrupted)
        dispatcher = Dispatcher(sessions, cfg) if cfg.webhook_url else None
        if dispatcher is not None:
            dispatcher.start()
        yield
        if dispatcher is not None:
            dispatcher.stop()
        workers.shutdown()

    app = FastAPI(title="replenish", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = cfg
    app.state.engine = eng
    app.state.sessions = sessions
    app.state.workers = workers
    app.state.rendered = Rendered()
    app.state.metrics = observability.Metrics()
    errors.install(app)
    observability.install(app, app.state.metrics)
    app.include_router(ops.router)
    app.include_router(users.router)
    app.include_router(data.router)
    app.include_router(plans.router)
    app.include_router(simulations.router)
    return app
