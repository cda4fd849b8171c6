"""Plans over HTTP: a job computes it, a buyer edits and submits, an approver decides;
transitions are checked, concurrent decisions have one winner, orders are fed out."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.config import Settings
from api.jobs import INTERNAL, INTERRUPTED, public_error
from api.models import AuditEntry, Job, Plan
from tests.api.conftest import auth, make_plan, upload_example, wait


def test_a_plan_from_request_to_purchase_orders(
    stocked: TestClient, keys: dict[str, str], migrated: Engine
) -> None:
    client, buyer, approver = stocked, keys["buyer"], keys["approver"]
    plan = make_plan(client, buyer)
    assert plan["state"] == "draft" and plan["lines"]
    cost = sum(line["quantity"] * line["unit_cost"] for line in plan["lines"])
    assert cost <= 600.0 + 1e-6 and plan["record"]["total_cost"] == pytest.approx(cost)
    assert {"steps", "segments", "binding"} <= set(plan["lines"][0]["reasons"])

    line = plan["lines"][0]
    edit = {"packs": line["packs"] + 1, "reason": "promotion next week", "version": plan["version"]}
    edited = client.patch(
        f"/v1/plans/{plan['id']}/lines/{line['sku_id']}", json=edit, headers=auth(buyer)
    )
    assert edited.status_code == 200
    assert edited.json()["lines"][0]["quantity"] == (line["packs"] + 1) * line["pack_size"]
    stale = client.patch(
        f"/v1/plans/{plan['id']}/lines/{line['sku_id']}", json=edit, headers=auth(buyer)
    )
    assert stale.status_code == 409  # the version moved on

    submitted = client.post(f"/v1/plans/{plan['id']}/submit", headers=auth(buyer)).json()
    assert submitted["state"] == "submitted"
    late_edit = {**edit, "version": submitted["version"]}
    assert (
        client.patch(
            f"/v1/plans/{plan['id']}/lines/{line['sku_id']}", json=late_edit, headers=auth(buyer)
        ).status_code
        == 409
    )  # no edit after submit

    approved = client.post(f"/v1/plans/{plan['id']}/approve", headers=auth(approver))
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    feed = client.get("/v1/purchase-orders?status=approved", headers=auth(approver)).json()
    lines = approved.json()["lines"]
    assert {po["supplier_id"] for po in feed["items"]} == {ln["supplier_id"] for ln in lines}
    assert feed["total"] == len(feed["items"]) == len({ln["supplier_id"] for ln in lines})
    assert sum(po["total"] for po in feed["items"]) == pytest.approx(
        sum(ln["quantity"] * ln["unit_cost"] for ln in lines), abs=0.05
    )
    later = client.get("/v1/purchase-orders?since=2999-01-01T00:00:00Z", headers=auth(approver))
    assert later.json()["total"] == 0
    earlier = client.get("/v1/purchase-orders?since=2000-01-01T00:00:00Z", headers=auth(approver))
    assert earlier.json()["total"] == feed["total"]
    assert (
        client.get(  # the orders are approved, so none is in the "ordered" feed
            "/v1/purchase-orders?status=ordered", headers=auth(approver)
        ).json()["total"]
        == 0
    )
    with Session(migrated) as db:
        actions = [
            a.action for a in db.scalars(select(AuditEntry).where(AuditEntry.entity != "dataset"))
        ]
        assert {"compute", "edit", "submit", "approve"} <= set(actions)


def test_transitions_are_checked(stocked: TestClient, keys: dict[str, str]) -> None:
    client = stocked
    plan = make_plan(client, keys["admin"])
    pid = plan["id"]
    assert (
        client.post(f"/v1/plans/{pid}/approve", headers=auth(keys["approver"])).status_code == 409
    )
    assert client.post(f"/v1/plans/{pid}/submit", headers=auth(keys["admin"])).status_code == 200
    own = client.post(f"/v1/plans/{pid}/approve", headers=auth(keys["admin"]))
    assert own.status_code == 403 and "you requested" in own.json()["detail"]
    no_reason = client.post(f"/v1/plans/{pid}/reject", headers=auth(keys["approver"]))
    assert no_reason.status_code == 422
    assert client.post(f"/v1/plans/{pid}/submit", headers=auth(keys["admin"])).status_code == 409
    other = client.post(f"/v1/plans/{pid}/submit", headers=auth(keys["buyer"]))
    assert other.status_code == 403 and "requested" in other.json()["detail"]  # not theirs
    for role in ("viewer", "buyer", "planner"):
        assert client.post(f"/v1/plans/{pid}/approve", headers=auth(keys[role])).status_code == 403
    rejected = client.post(
        f"/v1/plans/{pid}/reject", json={"reason": "too much stock"}, headers=auth(keys["approver"])
    )
    assert rejected.json()["state"] == "rejected" and rejected.json()["reason"] == "too much stock"
    assert client.get("/v1/plans/999999", headers=auth(keys["viewer"])).status_code == 404


def test_concurrent_decisions_have_exactly_one_winner(
    stocked: TestClient, keys: dict[str, str]
) -> None:
    client = stocked
    plan = make_plan(client, keys["buyer"])
    client.post(f"/v1/plans/{plan['id']}/submit", headers=auth(keys["buyer"]))
    results: list[int] = []
    barrier = threading.Barrier(2)

    def decide(action: str, body: dict[str, str]) -> None:
        barrier.wait()
        r = client.post(
            f"/v1/plans/{plan['id']}/{action}", json=body, headers=auth(keys["approver"])
        )
        results.append(r.status_code)

    threads = [
        threading.Thread(target=decide, args=("approve", {})),
        threading.Thread(target=decide, args=("reject", {"reason": "no"})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    final = client.get(f"/v1/plans/{plan['id']}", headers=auth(keys["viewer"])).json()
    assert final["state"] in ("approved", "rejected") and final["version"] == plan["version"] + 2


def _approved_orders(client: TestClient, keys: dict[str, str]) -> tuple[int, list[int]]:
    """A plan requested, submitted and approved; its id and its purchase orders' ids."""
    plan = make_plan(client, keys["buyer"], budget=2000.0)
    client.post(f"/v1/plans/{plan['id']}/submit", headers=auth(keys["buyer"]))
    approved = client.post(f"/v1/plans/{plan['id']}/approve", headers=auth(keys["approver"]))
    assert approved.status_code == 200
    feed = client.get("/v1/purchase-orders", headers=auth(keys["viewer"])).json()
    orders = [po["id"] for po in feed["items"] if po["plan_id"] == plan["id"]]
    assert len(orders) >= 2, "the example plan should order from several suppliers"
    return plan["id"], orders


def test_placing_every_order_moves_the_plan_to_ordered(
    stocked: TestClient, keys: dict[str, str], migrated: Engine
) -> None:
    client = stocked
    plan_id, orders = _approved_orders(client, keys)
    first, *rest = orders
    url = f"/v1/purchase-orders/{first}/ordered"
    placed = client.post(url, json={"reference": "ERP-10442"}, headers=auth(keys["approver"]))
    assert placed.status_code == 200, placed.json()
    assert placed.json()["status"] == "ordered" and placed.json()["reference"] == "ERP-10442"
    assert placed.json()["ordered_at"] is not None
    again = client.post(url, headers=auth(keys["approver"]))
    assert again.status_code == 409 and "already ordered" in again.json()["detail"]
    plan = client.get(f"/v1/plans/{plan_id}", headers=auth(keys["viewer"])).json()
    assert plan["state"] == "approved"  # orders remain to be placed
    for order in rest:  # a buyer may place them too, with no reference
        r = client.post(f"/v1/purchase-orders/{order}/ordered", headers=auth(keys["buyer"]))
        assert r.status_code == 200 and r.json()["reference"] is None
    final = client.get(f"/v1/plans/{plan_id}", headers=auth(keys["viewer"])).json()
    assert final["state"] == "ordered" and final["version"] == plan["version"] + len(rest)
    read = auth(keys["viewer"])
    assert client.get("/v1/purchase-orders", headers=read).json()["total"] == 0
    ordered = client.get("/v1/purchase-orders?status=ordered", headers=read).json()
    assert sorted(po["id"] for po in ordered["items"]) == sorted(orders)
    with Session(migrated) as db:
        audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "order")).all()
        assert sorted(int(a.entity_id) for a in audit) == sorted(orders)
        assert audit[-1].after["plan_state"] == "ordered"  # type: ignore[index]


def test_placing_orders_is_checked(stocked: TestClient, keys: dict[str, str]) -> None:
    client = stocked
    _, orders = _approved_orders(client, keys)
    url = f"/v1/purchase-orders/{orders[0]}/ordered"
    assert client.post(url).status_code == 401
    for role in ("viewer", "planner"):
        assert client.post(url, headers=auth(keys[role])).status_code == 403
    missing = client.post("/v1/purchase-orders/999999/ordered", headers=auth(keys["buyer"]))
    assert missing.status_code == 404
    for body in ({"reference": ""}, {"reference": "x" * 101}, {"ref": "A1"}, {"reference": 7}):
        r = client.post(url, json=body, headers=auth(keys["buyer"]))
        assert r.status_code == 422, body
    bad_feed = client.get("/v1/purchase-orders?status=shipped", headers=auth(keys["viewer"]))
    assert bad_feed.status_code == 422
    # nothing above changed the order
    feed = client.get("/v1/purchase-orders", headers=auth(keys["viewer"])).json()
    assert orders[0] in [po["id"] for po in feed["items"]]


def test_concurrent_placements_of_one_order_have_one_winner(
    stocked: TestClient, keys: dict[str, str], migrated: Engine
) -> None:
    client = stocked
    _, orders = _approved_orders(client, keys)
    results: list[int] = []
    barrier = threading.Barrier(2)

    def place(reference: str) -> None:
        barrier.wait()
        r = client.post(
            f"/v1/purchase-orders/{orders[0]}/ordered",
            json={"reference": reference},
            headers=auth(keys["approver"]),
        )
        results.append(r.status_code)

    threads = [threading.Thread(target=place, args=(ref,)) for ref in ("A-1", "B-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    with Session(migrated) as db:
        placed = db.scalars(select(AuditEntry).where(AuditEntry.action == "order")).all()
        assert len(placed) == 1


def test_the_last_two_orders_placed_at_once_still_move_the_plan(
    stocked: TestClient, keys: dict[str, str]
) -> None:
    """Each call may see the other's order still approved; one of them must notice."""
    client = stocked
    plan_id, orders = _approved_orders(client, keys)
    early, last_two = orders[:-2], orders[-2:]
    for order in early:
        url = f"/v1/purchase-orders/{order}/ordered"
        assert client.post(url, headers=auth(keys["buyer"])).status_code == 200
    results: dict[int, int] = {}
    barrier = threading.Barrier(2)

    def place(order: int) -> None:
        barrier.wait()
        url = f"/v1/purchase-orders/{order}/ordered"
        results[order] = client.post(url, headers=auth(keys["approver"])).status_code

    threads = [threading.Thread(target=place, args=(order,)) for order in last_two]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 200 in results.values() and set(results.values()) <= {200, 409}
    for order, status in results.items():  # a 409 placed nothing: the client retries
        if status == 409:
            url = f"/v1/purchase-orders/{order}/ordered"
            assert client.post(url, headers=auth(keys["approver"])).status_code == 200
    plan = client.get(f"/v1/plans/{plan_id}", headers=auth(keys["viewer"])).json()
    assert plan["state"] == "ordered"


def test_an_idempotency_key_makes_retries_safe(stocked: TestClient, keys: dict[str, str]) -> None:
    headers = {**auth(keys["buyer"]), "Idempotency-Key": "order-2026-11-22"}
    first = stocked.post("/v1/plans", json={"budget": 300}, headers=headers)
    again = stocked.post("/v1/plans", json={"budget": 300}, headers=headers)
    assert first.status_code == again.status_code == 202 and first.json() == again.json()
    other = stocked.post("/v1/plans", json={"budget": 999}, headers=headers)
    assert other.status_code == 409
    wait(stocked, keys["buyer"], first.json()["job_id"])


@pytest.mark.parametrize(
    "body",
    [
        {"budget": -1},
        {"budget": "lots"},
        {},
        {"budget": 10, "suppliers": []},
        {"budget": 1, "x": 1},
    ],
)
def test_bad_plan_requests_are_422(
    client: TestClient, keys: dict[str, str], body: dict[str, Any]
) -> None:
    r = client.post("/v1/plans", json=body, headers=auth(keys["buyer"]))
    assert r.status_code == 422 and r.json()["errors"]


def test_a_plan_without_data_fails_with_the_reason(
    client: TestClient, keys: dict[str, str]
) -> None:
    r = client.post("/v1/plans", json={"budget": 100}, headers=auth(keys["buyer"]))
    job = wait(client, keys["buyer"], r.json()["job_id"])
    assert job["status"] == "failed" and "incomplete" in job["error"]
    plan = client.get(f"/v1/plans/{r.json()['plan_id']}", headers=auth(keys["buyer"])).json()
    assert plan["state"] == "failed" and plan["lines"] == []
    assert (
        client.post("/v1/plans", json={"budget": 1}, headers=auth(keys["viewer"])).status_code
        == 403
    )
    # Once the data is there, the failed job can be retried (by its requester or an admin).
    retry = f"/v1/jobs/{job['id']}/retry"
    assert client.post(retry, headers=auth(keys["approver"])).status_code == 403
    upload_example(client, keys["buyer"])
    assert client.post(retry, headers=auth(keys["buyer"])).status_code == 200
    assert wait(client, keys["buyer"], job["id"])["status"] == "succeeded"
    again = client.get(f"/v1/plans/{r.json()['plan_id']}", headers=auth(keys["buyer"])).json()
    assert again["state"] == "draft" and again["lines"]
    assert client.post(retry, headers=auth(keys["buyer"])).status_code == 409  # not failed now


def test_a_job_that_fails_inside_the_service_shows_no_internals(
    client: TestClient,
    keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The client reads a clear message naming the job; the exception's text and its
    traceback go to the service log only."""
    upload_example(client, keys["buyer"])

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("could not open /srv/replenish/secret.db as postgres")

    monkeypatch.setattr("replenish.planning.plan_dataset", broken)
    r = client.post("/v1/plans", json={"budget": 100}, headers=auth(keys["buyer"]))
    job = wait(client, keys["buyer"], r.json()["job_id"])
    assert job["status"] == "failed"
    assert job["error"] == INTERNAL.format(job=job["id"]) and "secret" not in job["error"]
    logged = [rec for rec in caplog.records if rec.exc_info and "secret.db" in str(rec.exc_info[1])]
    assert logged and job["id"] in logged[0].getMessage()


def test_public_errors_keep_refusals_and_hide_faults() -> None:
    """A ValueError this code raises is a refusal written for the user and is kept; one
    from inside numpy (or raised outside the service's packages), or any other
    exception, is a fault."""
    import numpy as np
    import pandas as pd

    from replenish.planning import restrict

    class OneSku:
        skus = pd.DataFrame({"sku_id": ["a"], "supplier_id": ["s"], "category": ["c"]})

    with pytest.raises(ValueError) as refused:
        restrict(OneSku(), ["nobody"], ())  # type: ignore[arg-type]
    assert public_error(refused.value, "j1") == str(refused.value)
    assert "no SKU matches" in str(refused.value)
    with pytest.raises(ValueError) as broadcast:
        np.ones(2) + np.ones(3)
    assert public_error(broadcast.value, "j2") == INTERNAL.format(job="j2")
    with pytest.raises(ValueError) as here:
        raise ValueError("raised in a test module")
    assert public_error(here.value, "j3") == INTERNAL.format(job="j3")
    assert public_error(KeyError("sku"), "j4") == INTERNAL.format(job="j4")


def test_jobs_interrupted_by_a_restart_are_failed_and_say_so(
    migrated: Engine, keys: dict[str, str]
) -> None:
    with Session(migrated) as db:
        user_id = db.scalar(select(Plan.requested_by).limit(1))  # none yet
        assert user_id is None
        from api.models import User

        buyer = db.scalar(select(User).where(User.role == "buyer"))
        assert buyer is not None
        plan = Plan(requested_by=buyer.id, params={"budget": 1})
        db.add(plan)
        db.flush()
        db.add(
            Job(
                id="stuck",
                kind="plan",
                status="running",
                params={},
                plan_id=plan.id,
                created_by=buyer.id,
            )
        )
        db.commit()
    with TestClient(create_app(Settings(), migrated)) as client:  # start-up recovers
        job = client.get("/v1/jobs/stuck", headers=auth(keys["buyer"])).json()
    assert job["status"] == "failed" and job["error"] == INTERRUPTED


def test_a_plan_for_one_supplier_orders_only_from_it(
    stocked: TestClient, keys: dict[str, str]
) -> None:
    """Lines only from the supplier asked for; an unknown supplier is a 422 naming it."""
    buyer = auth(keys["buyer"])
    unknown = stocked.post("/v1/plans", json={"budget": 600, "suppliers": ["NOPE"]}, headers=buyer)
    assert unknown.status_code == 422 and "NOPE" in str(unknown.json()["errors"])
    r = stocked.post("/v1/plans", json={"budget": 600, "suppliers": ["SUP001"]}, headers=buyer)
    assert r.status_code == 202, r.json()
    assert wait(stocked, keys["buyer"], r.json()["job_id"])["status"] == "succeeded"
    plan = stocked.get(f"/v1/plans/{r.json()['plan_id']}", headers=buyer).json()
    assert plan["lines"] and {line["supplier_id"] for line in plan["lines"]} == {"SUP001"}
