"""Request-scoped dependencies: a database session per request.

Routes that write commit explicitly before they answer (so a client never sees a
success that was not stored); anything left uncommitted is rolled back at the end.
The session is made on the event loop (no I/O until first use) and, if it used a
connection, closed in a worker thread outside the route threads' limit, as FastAPI
does for its own yield dependencies: a request holding a pooled connection never
waits for a thread that may itself be waiting for a connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


async def session(request: Request) -> AsyncIterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    db = factory()
    try:
        yield db
    finally:
        if db.in_transaction():  # holds a connection: roll back and return it off the loop
            await anyio.to_thread.run_sync(db.close, limiter=anyio.CapacityLimiter(1))
        else:
            db.close()


DB = Annotated[Session, Depends(session)]


async def in_session(request: Request, work: Callable[[Session], T]) -> T:
    """`work(db)` in one worker-thread call, with a session opened and closed inside it.

    For the hottest reads: one trip to a thread per request instead of one for the route
    and one to close its session, and the connection is back in the pool when it ends.
    The session autocommits (no BEGIN and ROLLBACK around a lookup; on PostgreSQL those
    are two of its round trips): each statement sees the latest committed data.
    """
    factory: sessionmaker[Session] = request.app.state.reads

    def unit() -> T:
        with factory() as db:
            return work(db)

    return await run_in_threadpool(unit)


async def heavy(request: Request, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` in a worker thread under the limit for slow work (uploads validated
    whole, dataset analyses): seconds of it never take the route threads reads need."""
    limiter: anyio.CapacityLimiter = request.app.state.heavy
    return await anyio.to_thread.run_sync(partial(work, *args), limiter=limiter)


#: Database integers are 64-bit at most (SQLite, PostgreSQL bigint; ids here are 32-bit):
#: larger numbers in a path or a query are a 422, not an overflow deep in the driver.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="A row id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")]
#: Text a database can store: PostgreSQL refuses the NUL character in text, so a path
#: holding one is a 422 naming the parameter, not a driver error.
NO_NUL = r"^[^\x00]+$"
JobId = Annotated[
    str, Path(min_length=1, max_length=36, pattern=NO_NUL, description="A job id (a UUID).")
]
SkuId = Annotated[str, Path(min_length=1, max_length=100, pattern=NO_NUL, description="A SKU id.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
