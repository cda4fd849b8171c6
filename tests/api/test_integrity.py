"""No doubled work: concurrent retries of one job run it once, a stale run of a job
writes nothing, a plan has one line per SKU, and purchase orders add up to the plan."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.config import Settings
from api.jobs import Superseded, Workers
from api.models import AuditEntry, Job, Plan, PlanLine, User
from tests.api.conftest import auth, upload_example, wait


@pytest.fixture
def busy(migrated: Engine) -> Iterator[TestClient]:
    """The app with as many route threads as the test has concurrent callers."""
    app = create_app(Settings(threads=24), migrated)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _burst(calls: list[Any]) -> list[Any]:
    """Run the calls at once (a barrier releases them together); their results in order."""
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_retries_of_a_failed_job_run_it_once(
    busy: TestClient, keys: dict[str, str], migrated: Engine
) -> None:
    client, buyer = busy, keys["buyer"]
    headers = {**auth(buyer), "Idempotency-Key": "weekly-order"}
    first = client.post("/v1/plans", json={"budget": 3000}, headers=headers)
    ids = first.json()
    failed = wait(client, buyer, ids["job_id"])
    assert failed["status"] == "failed" and "incomplete" in failed["error"]  # no data yet
    upload_example(client, buyer)

    retry = f"/v1/jobs/{ids['job_id']}/retry"
    calls = [lambda: client.post(retry, headers=auth(buyer)) for _ in range(20)]
    calls += [  # the same request again, as a client retrying its POST would send it
        lambda: client.post("/v1/plans", json={"budget": 3000}, headers=headers) for _ in range(5)
    ]
    answers = _burst(calls)
    retries = sorted(r.status_code for r in answers[:20])
    assert retries == [200] + [409] * 19, retries
    assert all(r.status_code == 202 and r.json() == ids for r in answers[20:])

    job = wait(client, buyer, ids["job_id"])
    assert job["status"] == "succeeded", job
    plan = client.get(f"/v1/plans/{ids['plan_id']}", headers=auth(buyer)).json()
    skus = [line["sku_id"] for line in plan["lines"]]
    assert skus and len(skus) == len(set(skus))
    with Session(migrated) as db:
        assert db.scalar(select(func.count()).select_from(Plan)) == 1
        computed = db.scalars(select(AuditEntry).where(AuditEntry.action == "compute")).all()
        assert len(computed) == 1
        assert db.scalar(select(Job.attempt).where(Job.id == ids["job_id"])) == 2

    assert client.post(f"/v1/plans/{plan['id']}/submit", headers=auth(buyer)).status_code == 200
    approved = client.post(f"/v1/plans/{plan['id']}/approve", headers=auth(keys["approver"]))
    assert approved.status_code == 200
    record = approved.json()["record"]
    assert record["total_cost"] <= 3000 + 1e-6
    orders = client.get("/v1/purchase-orders", headers=auth(buyer)).json()["items"]
    assert sum(o["total"] for o in orders) == pytest.approx(record["total_cost"], abs=0.01)
    assert sum(len(o["lines"]) for o in orders) == len(skus)


def _plan_with_job(db: Session, status: str, attempt: int) -> tuple[int, str]:
    buyer = db.scalar(select(User).where(User.role == "buyer"))
    assert buyer is not None
    plan = Plan(requested_by=buyer.id, params={"budget": 100.0})
    db.add(plan)
    db.flush()
    job = Job(
        id=f"job-{plan.id}", kind="plan", status=status, params={"budget": 100.0},
        plan_id=plan.id, created_by=buyer.id, attempt=attempt,
    )  # fmt: skip
    db.add(job)
    db.commit()
    return plan.id, job.id


def test_a_stale_run_of_a_job_writes_nothing(migrated: Engine, keys: dict[str, str]) -> None:
    sessions = sessionmaker(migrated, expire_on_commit=False)
    workers = Workers(sessions, Settings(), size=1)
    try:
        with sessions() as db:
            plan_id, job_id = _plan_with_job(db, "queued", attempt=2)
        workers._run(job_id, 1)  # attempt 1 was retried away: it does not even start
        with sessions() as db:
            job = db.get(Job, job_id)
            assert job is not None and job.status == "queued" and job.owner is None
        with sessions() as db:  # a run that started as attempt 1 cannot finish as it
            db.get(Job, job_id).status = "running"  # type: ignore[union-attr]
            db.commit()
            with pytest.raises(Superseded):
                workers._finish(db, job_id, 1)
        with sessions() as db:
            assert db.get(Job, job_id).status == "running"  # type: ignore[union-attr]
            assert db.get(Plan, plan_id).state == "pending"  # type: ignore[union-attr]
    finally:
        workers.shutdown(grace_seconds=0)


def test_a_job_whose_plan_is_no_longer_pending_fails_and_writes_no_lines(
    stocked: TestClient, keys: dict[str, str], migrated: Engine
) -> None:
    sessions = sessionmaker(migrated, expire_on_commit=False)
    workers = Workers(sessions, Settings(), size=1)
    try:
        with sessions() as db:
            plan_id, job_id = _plan_with_job(db, "queued", attempt=1)
            plan = db.get(Plan, plan_id)
            assert plan is not None
            plan.state = "draft"  # computed by someone else meanwhile
            db.commit()
        workers._run(job_id, 1)
        with sessions() as db:
            job = db.get(Job, job_id)
            assert job is not None and job.status == "failed"
            assert "no longer pending" in (job.error or "")
            assert db.scalar(select(func.count()).select_from(PlanLine)) == 0
    finally:
        workers.shutdown(grace_seconds=0)


def test_the_schema_refuses_a_second_line_for_one_sku(
    migrated: Engine, keys: dict[str, str]
) -> None:
    with Session(migrated) as db:
        plan_id, _ = _plan_with_job(db, "succeeded", attempt=1)
        line = {
            "plan_id": plan_id, "sku_id": "SKU1", "supplier_id": "SUP1", "pack_size": 1,
            "packs": 1, "quantity": 1, "unit_cost": 1.0, "reasons": {},
        }  # fmt: skip
        db.add(PlanLine(**line))
        db.commit()
        db.add(PlanLine(**line))
        with pytest.raises(IntegrityError):
            db.commit()
