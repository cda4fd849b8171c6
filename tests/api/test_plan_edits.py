"""Who may change a plan, and totals that always follow its lines.

A property test edits lines at random as the plan's buyer, another buyer and an admin,
and checks after every step that the plan's totals are the sums of its lines, that only
the requester or an admin changed anything, and that nobody approves a plan they
requested or edited.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.accounts import create_user
from api.auth import Role
from api.models import Plan, PlanLine, User
from api.plans import totals
from tests.api.conftest import auth

#: (sku, supplier, pack size, moq, unit cost, unit volume, packs)
LINES = [
    ("SKU1", "SUP1", 6, 0, 2.5, 0.01, 4),
    ("SKU2", "SUP1", 1, 10, 11.0, 0.02, 12),
    ("SKU3", "SUP2", 240, 0, 0.75, 0.0001, 1),
]
BUDGET, CAPACITY = 400.0, 2.0


def _draft(engine: Engine, owner: str) -> int:
    """A draft plan of LINES requested by user `owner`, as a plan job leaves it."""
    with Session(engine) as db:
        user = db.scalar(select(User).where(User.name == owner))
        assert user is not None
        params = {"budget": BUDGET, "capacity": CAPACITY}
        record = {"suppliers": [
            {"supplier_id": "SUP1", "min_order_value": 50.0, "order_cost": 5.0},
            {"supplier_id": "SUP2", "min_order_value": 0.0, "order_cost": 0.0},
        ]}  # fmt: skip
        lines = [
            PlanLine(
                sku_id=sku, supplier_id=sup, pack_size=size, moq=moq, unit_cost=cost,
                unit_volume=vol, packs=packs, quantity=packs * size, reasons={},
            )
            for sku, sup, size, moq, cost, vol, packs in LINES
        ]  # fmt: skip
        plan = Plan(
            requested_by=user.id, params=params, state="draft",
            record=totals(record, params, lines),
        )  # fmt: skip
        db.add(plan)
        db.flush()
        for line in lines:
            line.plan_id = plan.id
        db.add_all(lines)
        db.commit()
        return plan.id


def _check_totals(plan: dict[str, Any]) -> None:
    lines = [ln for ln in plan["lines"] if ln["quantity"] > 0]
    by_sku = {sku: (cost, vol) for sku, _, _, _, cost, vol, _ in LINES}
    cost = sum(ln["quantity"] * by_sku[ln["sku_id"]][0] for ln in lines)
    volume = sum(ln["quantity"] * by_sku[ln["sku_id"]][1] for ln in lines)
    r = plan["record"]
    assert r["total_cost"] == pytest.approx(cost) and r["total_volume"] == pytest.approx(volume)
    assert r["lines"] == len(lines)
    per = {s["supplier_id"]: s["cost"] for s in r["suppliers"]}
    for supplier in {ln["supplier_id"] for ln in lines}:
        assert per[supplier] == pytest.approx(
            sum(ln["quantity"] * by_sku[ln["sku_id"]][0]
                for ln in lines if ln["supplier_id"] == supplier)
        )  # fmt: skip
    codes = {f["code"] for f in r["flags"]}
    assert ("over_budget" in codes) == (cost > BUDGET + 0.005)
    assert ("over_capacity" in codes) == (volume > CAPACITY + 1e-9)
    sup1 = per.get("SUP1", 0.0)
    assert ("below_supplier_minimum" in codes) == (0 < sup1 < 50.0 - 0.005)


EDIT = st.tuples(
    st.sampled_from(["owner", "other", "admin"]),
    st.sampled_from([sku for sku, *_ in LINES]),
    st.integers(min_value=0, max_value=60),
)


@pytest.fixture
def people(client: TestClient, keys: dict[str, str], migrated: Engine) -> dict[str, str]:
    """Keys: the plan's buyer (owner), another buyer, an admin and an approver."""
    with Session(migrated) as db:
        _, other = create_user(db, "other-buyer", Role.buyer)
        db.commit()
    return {
        "owner": keys["buyer"], "other": other, "admin": keys["admin"],
        "approver": keys["approver"],
    }  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(EDIT, min_size=1, max_size=6))
def test_random_edits_keep_totals_true_and_four_eyes(
    client: TestClient,
    people: dict[str, str],
    migrated: Engine,
    edits: list[tuple[str, str, int]],
) -> None:
    plan_id = _draft(migrated, "buyer-user")
    url = f"/v1/plans/{plan_id}"
    editors: set[str] = set()
    for who, sku, packs in edits:
        before = client.get(url, headers=auth(people["owner"])).json()
        body = {"packs": packs, "reason": "adjusting", "version": before["version"]}
        r = client.patch(f"{url}/lines/{sku}", json=body, headers=auth(people[who]))
        after = client.get(url, headers=auth(people["owner"])).json()
        moq, size = next((m, s) for k, _, s, m, *_ in LINES if k == sku)
        if who == "other":
            assert r.status_code == 403, r.json()
        elif 0 < packs * size < moq:
            assert r.status_code == 422 and "MOQ" in r.json()["detail"]
        else:
            assert r.status_code == 200, r.json()
            editors.add(who)
            assert after["version"] == before["version"] + 1
        if r.status_code != 200:
            assert after == before  # a refused edit changes nothing
        _check_totals(after)

    assert client.post(f"{url}/submit", headers=auth(people["other"])).status_code == 403
    assert client.post(f"{url}/submit", headers=auth(people["owner"])).status_code == 200
    by_admin = client.post(f"{url}/approve", headers=auth(people["admin"]))
    if "admin" in editors:
        assert by_admin.status_code == 403 and "edited" in by_admin.json()["detail"]
        decided = client.post(f"{url}/approve", headers=auth(people["approver"]))
        assert decided.status_code == 200
    else:
        assert by_admin.status_code == 200, by_admin.json()
        decided = by_admin
    plan = decided.json()
    _check_totals(plan)
    orders = client.get("/v1/purchase-orders?limit=1000", headers=auth(people["owner"])).json()
    mine = [o for o in orders["items"] if o["plan_id"] == plan_id]
    assert sum(o["total"] for o in mine) == pytest.approx(plan["record"]["total_cost"], abs=0.01)


def test_only_the_requester_or_an_admin_changes_a_plan_on_every_route(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    plan_id = _draft(migrated, "buyer-user")
    url = f"/v1/plans/{plan_id}"
    edit = {"packs": 5, "reason": "promotion", "version": 1}
    assert (
        client.patch(f"{url}/lines/SKU1", json=edit, headers=auth(people["other"])).status_code
        == 403
    )
    assert client.post(f"{url}/submit", headers=auth(people["other"])).status_code == 403
    assert (
        client.patch(f"{url}/lines/SKU1", json=edit, headers=auth(people["admin"])).status_code
        == 200
    )
    # The owner may not approve, nor may the admin who edited it; the approver may.
    assert client.post(f"{url}/submit", headers=auth(people["owner"])).status_code == 200
    for who in ("owner", "other"):  # buyers: not approvers at all
        assert client.post(f"{url}/approve", headers=auth(people[who])).status_code == 403
    admin = client.post(f"{url}/approve", headers=auth(people["admin"]))
    assert admin.status_code == 403 and "edited" in admin.json()["detail"]
    assert client.post(f"{url}/approve", headers=auth(people["approver"])).status_code == 200


def test_edits_outside_what_can_be_ordered_are_refused(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    plan_id = _draft(migrated, "buyer-user")
    url = f"/v1/plans/{plan_id}/lines/SKU2"
    below_moq = client.patch(
        url, json={"packs": 3, "reason": "fewer", "version": 1}, headers=auth(people["owner"])
    )
    assert below_moq.status_code == 422 and "at least 10 packs" in below_moq.json()["detail"]
    huge = client.patch(
        f"/v1/plans/{plan_id}/lines/SKU3", json={"packs": 10_000_000, "reason": "lots", "version": 1},
        headers=auth(people["owner"]),
    )  # fmt: skip
    assert huge.status_code == 422 and "more than can be ordered" in huge.json()["detail"]
    over = client.patch(
        url, json={"packs": 500, "reason": "big promotion", "version": 1},
        headers=auth(people["owner"]),
    )  # fmt: skip
    assert over.status_code == 200
    flags = {f["code"]: f["message"] for f in over.json()["record"]["flags"]}
    # 500 packs x 11.00 + 24 x 2.50 + 240 x 0.75: the approver sees the new total
    assert "over_budget" in flags and "costs 5,740.00" in flags["over_budget"]
    assert over.json()["record"]["total_cost"] == pytest.approx(5740.0)


def test_a_supplier_dropped_by_edits_keeps_its_minimum(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    """SUP1 (minimum order value 50) loses all its lines, then gets one small one back."""
    plan_id = _draft(migrated, "buyer-user")
    url, owner = f"/v1/plans/{plan_id}/lines", auth(people["owner"])
    version = 1
    for sku, packs in (("SKU1", 0), ("SKU2", 0), ("SKU1", 1)):
        r = client.patch(
            f"{url}/{sku}", json={"packs": packs, "reason": "trim", "version": version},
            headers=owner,
        )  # fmt: skip
        assert r.status_code == 200, r.json()
        version = r.json()["version"]
    flags = {f["code"] for f in r.json()["record"]["flags"]}
    assert "below_supplier_minimum" in flags  # 6 x 2.50 = 15.00 < 50.00
