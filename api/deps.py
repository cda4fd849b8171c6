"""Request-scoped dependencies: a database session per request.

Routes that write commit explicitly before they answer (so a client never sees a
success that was not stored); anything left uncommitted is rolled back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker


def session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as db:
        try:
            yield db
        finally:
            db.rollback()


DB = Annotated[Session, Depends(session)]
