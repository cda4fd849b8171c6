"""The service's commands: db upgrade, users create (key alone on stdout), serve's refusal."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api import migrate
from api.auth import key_hash
from api.database import make_engine
from api.jobs import STOPPED
from api.models import Job, Plan, PlanLine, User
from cli.main import app
from tests.api.conftest import service_database, start_server

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


def test_users_password_lets_a_user_sign_in_to_the_app(database: str) -> None:
    from api.web.signin import SignInRefused, sign_in

    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["users", "create", "ana", "--role", "buyer"])
    weak = runner.invoke(app, ["users", "password", "ana", "--stdin"], input="short\n")
    assert weak.exit_code == 1 and "at least" in weak.stderr
    unknown = runner.invoke(app, ["users", "password", "bo", "--stdin"], input="long enough pw\n")
    assert unknown.exit_code == 1 and "no user 'bo'" in unknown.stderr
    done = runner.invoke(app, ["users", "password", "ana", "--stdin"], input="long enough pw\n")
    assert done.exit_code == 0 and "can now sign in" in done.stderr
    with Session(make_engine(database)) as db:
        assert sign_in(db, "ana", "long enough pw", None).user.name == "ana"
        with pytest.raises(SignInRefused):
            sign_in(db, "ana", "short", None)
    asked = runner.invoke(app, ["users", "password", "ana"], input="another password\n" * 2)
    assert asked.exit_code == 0, asked.output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_an_unmigrated_database(database: str, workers: str) -> None:
    result = runner.invoke(app, ["serve", "--port", "1", "--workers", workers])
    assert result.exit_code == 1
    assert "replenish db upgrade" in result.stderr


@pytest.mark.slow
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


@pytest.mark.parametrize(
    "args",
    [["db", "upgrade"], ["users", "create", "ana", "--role", "buyer"], ["users", "list"],
     ["serve", "--port", "1"], ["serve", "--port", "1", "--workers", "2"]],
)  # fmt: skip
def test_an_unreachable_database_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{port}/test"
    monkeypatch.setenv("REPLENISH_DATABASE_URL", url)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}/test" in lines[0] and "refused" in lines[0].lower()
    assert "s3cret" not in result.output


@pytest.mark.slow
def test_sigterm_stops_serve_and_leaves_its_job_failed_and_retriable(tmp_path: Path) -> None:
    """A plan job running when the service gets SIGTERM: the service stops without
    waiting for it; the job is failed with the reason and can be retried."""
    from simulations.world import generate, params_for

    url, engine, key = service_database(tmp_path)
    data = tmp_path / "data"
    generate(params_for("tiny", seed=3)).dataset.write(data, "csv")  # a few seconds' forecast
    headers = {"Authorization": f"Bearer {key}"}
    proc, base = start_server(url)
    try:
        for table in ("suppliers", "skus", "customers", "orders", "inventory"):
            files = {"file": (f"{table}.csv", (data / f"{table}.csv").read_bytes())}
            r = httpx.post(f"{base}/v1/datasets/{table}", files=files, headers=headers, timeout=60)
            r.raise_for_status()
        accepted = httpx.post(f"{base}/v1/plans", json={"budget": 5000}, headers=headers).json()
        job_url = f"{base}/v1/jobs/{accepted['job_id']}"
        while httpx.get(job_url, headers=headers).json()["status"] == "queued":
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)  # a generous bound: stopping does not wait for the forecast
    finally:
        if proc.poll() is None:
            proc.kill()
    with Session(engine) as db:
        job = db.get(Job, accepted["job_id"])
        assert job is not None and job.status == "failed" and job.error == STOPPED
        assert db.scalar(select(func.count()).select_from(PlanLine)) == 0
        plan = db.get(Plan, accepted["plan_id"])
        assert plan is not None and plan.state == "failed"


@pytest.mark.slow
def test_demo_serve_shows_a_newcomer_the_app_with_a_first_plan(tmp_path: Path) -> None:
    """One command: a world in the embedded SQLite file, three people, a first plan
    computed by the server, and the app's URL."""
    import os
    import re
    import subprocess
    import sys

    from tests.api.web.conftest import csrf_of
    from tests.patience import eventually

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "REPLENISH_DATABASE_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "demo", "--size", "tiny", "--serve", "--port", str(port),
         "--out", str(tmp_path / "demo")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        said = []
        assert proc.stderr is not None
        for line in proc.stderr:  # up to the line that says the plan is coming
            said.append(line)
            if "first plan" in line:
                break
        text = "".join(said)
        assert f"http://127.0.0.1:{port}/app/" in text
        passwords = dict(re.findall(r"^\s+(demo-\w+)\s+\w+\s+(\S+)$", text, re.MULTILINE))
        assert set(passwords) == {"demo-buyer", "demo-approver", "demo-planner"}
        assert (tmp_path / "demo" / "replenish.db").exists()
        base = f"http://127.0.0.1:{port}"
        # The server's log from here on, to show with a failure (a 500 says no more).
        threading.Thread(target=lambda: said.extend(proc.stderr or ()), daemon=True).start()

        def log() -> str:
            return "server log:\n" + "".join(said[-80:])

        with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as browser:

            def serving() -> bool:
                try:
                    return browser.get("/health").status_code == 200
                except httpx.TransportError:
                    return False

            eventually(serving, "the demo's server")
            form = browser.get("/app/signin")
            signed = browser.post(
                "/app/signin",
                data={"name": "demo-buyer", "password": passwords["demo-buyer"],
                      "csrf_token": csrf_of(form.text)},
            )  # fmt: skip
            assert signed.status_code == 200 and "Plans waiting for me" in signed.text, log()

            def drafted() -> str | None:
                page = browser.get("/app/plans/1")
                return page.text if 'data-state="draft"' in page.text else None

            page = eventually(drafted, "the demo's first plan")
            assert page.count('class="edit"') > 0  # lines the buyer can edit
    finally:
        proc.terminate()
        proc.wait(timeout=60)
