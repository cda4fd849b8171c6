"""A migrated database (SQLite and PostgreSQL), the app on it, and a key per role."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api import migrate
from api.accounts import create_user
from api.app import create_app
from api.auth import Role
from api.config import Settings
from api.database import make_engine
from tests.patience import eventually


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


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


def upload_example(client: TestClient, key: str) -> None:
    """The example shop, table by table, as a buyer would."""
    for table in ("suppliers", "skus", "customers", "orders", "inventory"):
        files = {"file": (f"{table}.csv", (EXAMPLE / f"{table}.csv").read_bytes(), "text/csv")}
        r = client.post(f"/v1/datasets/{table}", files=files, headers=auth(key))
        assert r.status_code == 201, r.json()


@pytest.fixture
def stocked(client: TestClient, keys: dict[str, str]) -> TestClient:
    upload_example(client, keys["buyer"])
    return client


def wait(client: TestClient, key: str, job_id: str) -> dict[str, Any]:
    """The job once it has succeeded or failed."""

    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=auth(key)).json()
        return job if job["status"] in ("succeeded", "failed") else None

    return eventually(done, f"job {job_id}", every=0.2)


def make_plan(client: TestClient, key: str, budget: float = 600.0) -> dict[str, Any]:
    r = client.post("/v1/plans", json={"budget": budget}, headers=auth(key))
    assert r.status_code == 202, r.json()
    job = wait(client, key, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    plan: dict[str, Any] = client.get(f"/v1/plans/{r.json()['plan_id']}", headers=auth(key)).json()
    return plan


def service_database(tmp_path: Path) -> tuple[str, Engine, str]:
    """A migrated SQLite file for a real server: its URL, an engine, and a buyer's key."""
    url = f"sqlite:///{tmp_path / 'service.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as db:
        _, key = create_user(db, "buyer", Role.buyer)
        db.commit()
    return url, engine, key


def start_server(url: str, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """`replenish serve` on a free loopback port over `url`, once /health answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port),
         "--workers", str(workers)],
        env={**os.environ, "REPLENISH_DATABASE_URL": url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert proc.poll() is None, f"replenish serve exited with {proc.returncode}"
        try:
            httpx.get(f"{base}/health", timeout=5)
        except httpx.TransportError:
            return False
        return True

    eventually(answers, "replenish serve answering /health")
    return proc, base
