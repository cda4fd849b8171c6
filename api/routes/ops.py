"""Operations: `/health` (is the database reachable and migrated) and `/metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api import migrate
from api.errors import HTTPProblem
from api.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health, summary="Database reachable and migrated")
def health(request: Request) -> Health:
    engine = request.app.state.engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = migrate.current(engine)
    except SQLAlchemyError as exc:
        raise HTTPProblem(
            503, "Unavailable", f"database unreachable: {type(exc).__name__}"
        ) from None
    if revision != migrate.head():
        raise HTTPProblem(503, "Unavailable", "the database is not migrated to this version")
    return Health(status="ok", database="ok", revision=revision)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def metrics(request: Request) -> str:
    text_format: str = request.app.state.metrics.render()
    return text_format
