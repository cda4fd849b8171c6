"""Several service processes on one database: `replenish serve --workers N`.

The parent recovers what a previous run left unfinished; each worker runs its own
jobs and marks failed the jobs of a sibling process that died."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from api import migrate
from api.accounts import create_user
from api.auth import Role
from api.config import Settings
from api.database import make_engine
from api.jobs import INTERRUPTED, Workers
from api.models import Job, Plan
from tests.api.conftest import start_server
from tests.patience import PATIENCE, eventually


def _running_job(db: Session, user_id: int, owner: str | None) -> str:
    """A plan job marked running by `owner`, its plan pending; returns the job id."""
    plan = Plan(requested_by=user_id, params={"budget": 1.0})
    db.add(plan)
    db.flush()
    job_id = f"job-{owner}-{plan.id}"
    db.add(
        Job(id=job_id, kind="plan", params={}, plan_id=plan.id, created_by=user_id,
            status="running", owner=owner)
    )  # fmt: skip
    db.commit()
    return job_id


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_the_jobs_of_a_dead_process_on_this_host_are_reaped(migrated: Engine) -> None:
    host = socket.gethostname()
    with Session(migrated) as db:
        user, _ = create_user(db, "buyer", Role.buyer)
        dead = _running_job(db, user.id, f"{host}:{_dead_pid()}")
        alive = _running_job(db, user.id, f"{host}:{os.getppid()}")  # alive, not this one
        elsewhere = _running_job(db, user.id, "another-host:1")
        unowned = _running_job(db, user.id, None)
        lookalike = _running_job(db, user.id, f"rackX1:{_dead_pid()}")
    workers = Workers(sessionmaker(migrated, expire_on_commit=False), Settings())
    try:
        assert workers.reap_orphans() == 1
        assert workers.reap_orphans() == 0  # already failed
        workers.host = "rack_1"  # "_" is a LIKE wildcard: it must not match "rackX1"
        assert workers.reap_orphans() == 0
    finally:
        workers.shutdown()
    with Session(migrated) as db:
        status = {j.id: (j.status, j.error) for j in db.scalars(select(Job))}
        assert status[dead][0] == "failed" and "stopped while it ran" in (status[dead][1] or "")
        assert {status[j][0] for j in (alive, elsewhere, unowned, lookalike)} == {"running"}
        plans = {j.id: db.get(Plan, j.plan_id).state for j in db.scalars(select(Job))}  # type: ignore[union-attr]
        assert plans[dead] == "failed" and plans[alive] == "pending"


def _workers(pid: int) -> list[int]:
    """The uvicorn worker processes of server `pid` (not multiprocessing's tracker).

    `-ww`: without it ps cuts args at the terminal width, which may hide `spawn_main`."""
    out = subprocess.run(
        ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True
    )
    rows = [line.split(None, 1) for line in out.stdout.splitlines() if line.strip()]
    return sorted(int(p) for p, args in rows if "spawn_main" in args)


@pytest.mark.slow
def test_serve_with_two_workers_recovers_once_and_survives_a_killed_worker(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as db:
        user, key = create_user(db, "buyer", Role.buyer)
        user_id = user.id
        left_over = _running_job(db, user_id, None)  # a previous run's unfinished job
    headers = {"Authorization": f"Bearer {key}"}
    proc, base = start_server(url, workers=2)
    try:
        job = httpx.get(f"{base}/v1/jobs/{left_over}", headers=headers).json()
        assert job["status"] == "failed" and job["error"] == INTERRUPTED

        def two_workers() -> list[int] | None:
            found = _workers(proc.pid)
            return found if len(found) >= 2 else None

        pids = eventually(two_workers, "two worker processes", every=0.2)
        with Session(engine) as db:
            orphan = _running_job(db, user_id, f"{socket.gethostname()}:{pids[0]}")
        os.kill(pids[0], signal.SIGKILL)

        def failed() -> dict[str, Any] | None:  # the sibling checks every 10 s
            job: dict[str, Any] = httpx.get(f"{base}/v1/jobs/{orphan}", headers=headers).json()
            return job if job["status"] == "failed" else None

        job = eventually(failed, "the orphaned job marked failed", every=0.5)
        assert str(pids[0]) in job["error"]
        assert httpx.get(f"{base}/v1/me", headers=headers).status_code == 200
        # uvicorn starts a new worker in its place
        eventually(lambda: len(_workers(proc.pid)) >= 2, "a new worker process", every=0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=PATIENCE)
    engine.dispose()
