"""The service's commands: db upgrade, users create (key alone on stdout), serve's refusal."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api import migrate
from api.auth import key_hash
from api.database import make_engine
from api.models import User
from replenish.cli import app
from tests.api.conftest import start_server

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    monkeypatch.setenv("REPLENISH_DATABASE_URL", url)
    return url


def test_users_create_prints_the_key_alone_on_stdout(database: str) -> None:
    refused = runner.invoke(app, ["users", "create", "ana", "--role", "buyer"])
    assert refused.exit_code == 1 and "replenish db upgrade" in refused.stderr
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert migrate.current(make_engine(database)) == migrate.head()

    made = runner.invoke(app, ["users", "create", "ana", "--role", "buyer"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    assert key.startswith("rpl_") and "\n" not in key and "created ana" in made.stderr
    with Session(make_engine(database)) as db:
        user = db.scalar(select(User).where(User.name == "ana"))
        assert user is not None and user.role == "buyer" and user.key_hash == key_hash(key)

    twice = runner.invoke(app, ["users", "create", "ana", "--role", "viewer"])
    assert twice.exit_code == 1 and "exists" in twice.stderr and twice.stdout == ""


@pytest.mark.parametrize("args", [["x y", "--role", "buyer"], ["ok", "--role", "king"], ["ok"]])
def test_users_create_refuses_bad_names_and_roles(database: str, args: list[str]) -> None:
    runner.invoke(app, ["db", "upgrade"])
    result = runner.invoke(app, ["users", "create", *args])
    assert result.exit_code == 2 and result.stdout == ""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_an_unmigrated_database(database: str, workers: str) -> None:
    result = runner.invoke(app, ["serve", "--port", "1", "--workers", workers])
    assert result.exit_code == 1
    assert "replenish db upgrade" in result.stderr


def test_serve_answers_over_real_http(database: str, tmp_path: Path) -> None:
    """`replenish serve` in its own process: health, a key, the same answers as in-process."""
    runner.invoke(app, ["db", "upgrade"])
    key = runner.invoke(app, ["users", "create", "ops", "--role", "viewer"]).stdout.strip()
    proc, base = start_server(database)
    try:
        health = httpx.get(f"{base}/health", timeout=5)
        assert health.status_code == 200 and health.json()["database"] == "ok"
        me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200 and me.json()["name"] == "ops"
        assert httpx.get(f"{base}/v1/me").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
