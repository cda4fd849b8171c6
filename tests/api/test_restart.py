"""The service killed during a plan job and restarted: the job is failed with the reason,
nothing half-written is visible, and a retry completes it."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.jobs import INTERRUPTED
from api.models import PlanLine
from tests.api.conftest import EXAMPLE, service_database, start_server
from tests.patience import PATIENCE, eventually


@pytest.mark.slow
def test_a_killed_plan_job_is_failed_on_restart_and_retriable(tmp_path: Path) -> None:
    url, engine, key = service_database(tmp_path)
    headers = {"Authorization": f"Bearer {key}"}
    proc, base = start_server(url)
    try:
        for table in ("suppliers", "skus", "customers", "orders", "inventory"):
            files = {"file": (f"{table}.csv", (EXAMPLE / f"{table}.csv").read_bytes())}
            httpx.post(
                f"{base}/v1/datasets/{table}", files=files, headers=headers
            ).raise_for_status()
        accepted = httpx.post(f"{base}/v1/plans", json={"budget": 500}, headers=headers).json()
        job_url = f"{base}/v1/jobs/{accepted['job_id']}"
        eventually(
            lambda: httpx.get(job_url, headers=headers).json()["status"] != "queued",
            "the job to start", every=0.02,
        )  # fmt: skip
        proc.send_signal(signal.SIGKILL)  # mid-job: forecasting takes over a second
        proc.wait(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
    with Session(engine) as db:  # nothing half-written
        assert db.scalar(select(func.count()).select_from(PlanLine)) == 0

    proc, base = start_server(url)
    try:
        job_url = f"{base}/v1/jobs/{accepted['job_id']}"
        job: dict[str, Any] = httpx.get(job_url, headers=headers).json()
        assert job["status"] == "failed" and job["error"] == INTERRUPTED
        plan_url = f"{base}/v1/plans/{accepted['plan_id']}"
        assert httpx.get(plan_url, headers=headers).json()["state"] == "failed"
        assert httpx.post(f"{job_url}/retry", headers=headers).status_code == 200

        def finished() -> dict[str, Any] | None:
            job: dict[str, Any] = httpx.get(job_url, headers=headers).json()
            return job if job["status"] in ("succeeded", "failed") else None

        job = eventually(finished, "the retried job")
        assert job["status"] == "succeeded"
        plan = httpx.get(plan_url, headers=headers).json()
        assert plan["state"] == "draft" and plan["lines"]
    finally:
        proc.terminate()
        proc.wait(timeout=PATIENCE)
