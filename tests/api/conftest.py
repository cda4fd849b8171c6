"""A migrated database (SQLite and PostgreSQL), the app on it, and a key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api import migrate
from api.app import create_app
from api.auth import Role, create_user
from api.config import Settings


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    migrate.upgrade(engine)
    return engine


@pytest.fixture
def keys(migrated: Engine) -> dict[str, str]:
    """One user per role; their keys by role name."""
    out = {}
    with Session(migrated) as db:
        for role in Role:
            _, key = create_user(db, f"{role.value}-user", role)
            out[role.value] = key
        db.commit()
    return out


@pytest.fixture
def client(migrated: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), migrated), raise_server_exceptions=False) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
