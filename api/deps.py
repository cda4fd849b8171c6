"""Request-scoped dependencies: a database session per request.

Routes that write commit explicitly before they answer (so a client never sees a
success that was not stored); anything left uncommitted is rolled back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session, sessionmaker


def session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as db:
        try:
            yield db
        finally:
            db.rollback()


DB = Annotated[Session, Depends(session)]

#: Database integers are 64-bit at most (SQLite, PostgreSQL bigint; ids here are 32-bit):
#: larger numbers in a path or a query are a 422, not an overflow deep in the driver.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="A row id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
