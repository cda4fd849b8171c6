"""The web app's pages through a browser-like client: each role's work, the rules the
pages enforce (roles, CSRF, four eyes, stale pages), and both languages."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from starlette.routing import Route

from api.models import AuditEntry, Plan, PlanLine, PurchaseOrder
from api.web.pages import ROUTERS
from tests.api.conftest import upload_example
from tests.api.web.conftest import sign_in
from tests.patience import eventually

pytestmark = pytest.mark.database


def _request_plan(client: TestClient, token: str, budget: str = "600") -> int:
    """Request a plan through the form and wait for it; its id."""
    form = client.get("/app/plans/new").text
    form_id = re.search(r'name="form_id" value="([^"]+)"', form)
    assert form_id
    r = client.post(
        "/app/plans/new", data={"budget": budget, "csrf_token": token, "form_id": form_id[1]},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    job = r.headers["location"].rsplit("/", 1)[1]
    assert f"/app/jobs/{job}/progress" in client.get(r.headers["location"]).text  # it polls

    def done() -> str | None:
        r = client.get(f"/app/jobs/{job}/progress", headers={"HX-Request": "true"})
        assert 'data-status="failed"' not in r.text, r.text
        target: str | None = r.headers.get("HX-Redirect")
        return target

    target = eventually(done, f"plan job {job}", every=0.2)
    return int(target.rsplit("/", 1)[1])


def _version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found
    return found[1]


def _switch(client: TestClient, name: str) -> str:
    client.cookies.clear()
    return sign_in(client, name)


def test_buyer_to_approver_to_purchase_order(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    upload_example(client, people["bob"])
    token = sign_in(client, "bob")
    plan_id = _request_plan(client, token)
    page = client.get(f"/app/plans/{plan_id}").text
    assert "Against the ERP min/max plan" in page  # the approver's comparison is there
    with Session(migrated) as db:
        line = db.scalars(
            select(PlanLine).where(PlanLine.plan_id == plan_id, PlanLine.quantity > 0)
        ).first()
        assert line is not None
        sku, packs = line.sku_id, line.packs
    # The buyer edits a line with a reason, then submits.
    r = client.post(
        f"/app/plans/{plan_id}/lines/{sku}",
        data={"csrf_token": token, "version": _version(page), "packs": str(packs + 1),
              "reason": "promotion next week"},
    )  # fmt: skip
    assert r.status_code == 200 and "promotion next week" in r.text
    r = client.post(
        f"/app/plans/{plan_id}/submit", data={"csrf_token": token, "version": _version(r.text)}
    )
    assert 'data-state="submitted"' in r.text
    assert "Approve" not in r.text  # nobody approves their own plan

    # Another user approves it from their home page's list.
    token = _switch(client, "ann")
    home = client.get("/app/").text
    assert f'href="/app/plans/{plan_id}"' in home
    page = client.get(f"/app/plans/{plan_id}").text
    r = client.post(
        f"/app/plans/{plan_id}/approve",
        data={"csrf_token": token, "version": _version(page), "reason": "fine"},
    )
    assert r.status_code == 200 and "Mark ordered" in r.text
    with Session(migrated) as db:
        orders = db.scalars(select(PurchaseOrder).where(PurchaseOrder.plan_id == plan_id)).all()
        assert orders and all(o.status == "approved" for o in orders)
        edited = next(item for o in orders for item in o.lines if item["sku_id"] == sku)
        assert edited["packs"] == packs + 1
    for order in orders:
        r = client.post(
            f"/app/orders/{order.id}/ordered",
            data={"csrf_token": token, "reference": f"PO-{order.id}"},
        )
        assert r.status_code == 200
    home = client.get("/app/")  # recent orders, with their suppliers' order numbers
    assert home.status_code == 200 and f"PO-{orders[0].id}" in home.text
    with Session(migrated) as db:
        assert db.get(Plan, plan_id).state == "ordered"  # type: ignore[union-attr]
        actions = db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert [a for a in actions if a in ("edit", "submit", "approve")] == [
        "edit",
        "submit",
        "approve",
    ]
    assert actions.count("order") == len(orders)


def test_a_stale_page_says_the_plan_changed_and_changes_nothing(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    upload_example(client, people["bob"])
    token = sign_in(client, "bob")
    plan_id = _request_plan(client, token)
    stale = _version(client.get(f"/app/plans/{plan_id}").text)
    client.post(f"/app/plans/{plan_id}/submit", data={"csrf_token": token, "version": stale})
    token = _switch(client, "ann")
    old = client.get(f"/app/plans/{plan_id}").text  # opened before amy rejects it
    other = TestClient(client.app)
    other_token = sign_in(other, "amy")
    r = other.post(
        f"/app/plans/{plan_id}/reject",
        data={"csrf_token": other_token, "version": _version(old), "reason": "too much"},
    )
    assert 'data-state="rejected"' in r.text
    r = client.post(
        f"/app/plans/{plan_id}/approve", data={"csrf_token": token, "version": _version(old)}
    )
    assert r.status_code == 409
    assert "changed since you opened it" in r.text
    with Session(migrated) as db:
        assert db.get(Plan, plan_id).state == "rejected"  # type: ignore[union-attr]
        assert db.scalar(select(func.count(PurchaseOrder.id))) == 0


def test_an_edit_below_the_moq_is_refused_with_the_reason(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    upload_example(client, people["bob"])
    token = sign_in(client, "bob")
    plan_id = _request_plan(client, token)
    with Session(migrated) as db:
        line = db.scalars(
            select(PlanLine).where(PlanLine.plan_id == plan_id, PlanLine.moq > PlanLine.pack_size)
        ).first()
    if line is None:
        pytest.fail("the example shop should have a SKU whose MOQ is more than one pack")
    page = client.get(f"/app/plans/{plan_id}").text
    r = client.post(
        f"/app/plans/{plan_id}/lines/{line.sku_id}",
        data={"csrf_token": token, "version": _version(page), "packs": "1", "reason": "less"},
    )
    assert r.status_code == 422 and "below the MOQ" in r.text
    with Session(migrated) as db:
        assert db.get(PlanLine, line.id).packs == line.packs  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/app/plans/new", {"budget": "100"}),
        ("/app/plans/1/approve", {"version": "1"}),
        ("/app/orders/1/ordered", {"reference": "X"}),
    ],
)
def test_a_viewer_sees_no_buttons_and_a_forged_post_is_403(
    client: TestClient, people: dict[str, str], migrated: Engine, path: str, data: dict[str, str]
) -> None:
    token = sign_in(client, "vic")
    home = client.get("/app/").text
    assert "Request a plan" not in home
    r = client.post(path, data={**data, "csrf_token": token})
    assert r.status_code == 403
    with Session(migrated) as db:
        assert db.scalar(select(func.count(Plan.id))) == 0


def test_a_post_without_the_csrf_token_is_refused(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    sign_in(client, "bob")
    r = client.post("/app/plans/new", data={"budget": "100"})
    assert r.status_code == 403
    r = client.post("/app/plans/new", data={"budget": "100", "csrf_token": "forged"})
    assert r.status_code == 403
    with Session(migrated) as db:
        assert db.scalar(select(func.count(Plan.id))) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"budget": ""}, "Enter a budget."),
        ({"budget": "-5"}, "Must not be negative."),
        ({"budget": "lots"}, "Enter a number."),
        ({"budget": "nan"}, "Enter a number."),
        ({"budget": "100", "horizon_days": "999"}, "Too large."),
        ({"budget": "100", "suppliers": "NOPE"}, "no SKU has supplier_id &#39;NOPE&#39;"),
    ],
)
def test_a_bad_plan_request_is_shown_on_the_form_and_starts_nothing(
    client: TestClient,
    people: dict[str, str],
    migrated: Engine,
    fields: dict[str, str],
    message: str,
) -> None:
    upload_example(client, people["bob"])
    token = sign_in(client, "bob")
    r = client.post("/app/plans/new", data={**fields, "csrf_token": token, "form_id": "f1"})
    assert r.status_code == 422
    assert message in r.text
    assert 'aria-invalid="true"' in r.text
    with Session(migrated) as db:
        assert db.scalar(select(func.count(Plan.id))) == 0


def test_a_second_click_on_request_gets_the_same_plan(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    upload_example(client, people["bob"])
    token = sign_in(client, "bob")
    data = {"budget": "600", "csrf_token": token, "form_id": "same-form"}
    first = client.post("/app/plans/new", data=data, follow_redirects=False)
    second = client.post("/app/plans/new", data=data, follow_redirects=False)
    assert first.headers["location"] == second.headers["location"]
    with Session(migrated) as db:
        assert db.scalar(select(func.count(Plan.id))) == 1


def test_every_page_needs_a_session(client: TestClient, people: dict[str, str]) -> None:
    pages = [
        r for router in ROUTERS for r in router.routes  # included lazily: walk them here
        if isinstance(r, Route) and r.path != "/app/signin"
        and not r.path.startswith("/app/language/")
    ]  # fmt: skip
    assert len(pages) >= 10
    for route in pages:
        path = route.path.replace("{plan_id}", "1").replace("{job_id}", "x").replace(
            "{sku_id}", "S").replace("{order_id}", "1").replace("{action}", "submit")  # fmt: skip
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            r = client.request(method, path, follow_redirects=False)
            assert r.status_code == 303, (method, path, r.status_code)
            assert r.headers["location"].startswith("/app/signin")


def test_the_pages_speak_chinese_to_a_chinese_browser(
    client: TestClient, people: dict[str, str]
) -> None:
    page = client.get("/app/signin", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-CN">' in page.text and "登录" in page.text
    page = client.get("/app/signin", headers={"Accept-Language": "zh-TW,en;q=0.5"})
    assert '<html lang="en">' in page.text  # traditional Chinese is not spoken: English
    token = sign_in(client, "bob")
    r = client.post(
        "/app/language", data={"csrf_token": token, "language": "zh_CN", "next": "/app/plans"}
    )
    assert "补货计划" in r.text and "暂无计划" in r.text
    client.cookies.delete("replenish_lang", path="/app")
    # The setting is kept with the account: it wins over the browser's language.
    assert "补货计划" in client.get("/app/plans", headers={"Accept-Language": "en"}).text


def test_numbers_are_written_the_users_way(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    upload_example(client, people["bob"])
    token = sign_in(client, "bob")
    plan_id = _request_plan(client, token, budget="12345.5")
    page = client.get(f"/app/plans/{plan_id}").text
    assert "12,345.50" in page  # thousands separators and two decimals for money
    assert "12345.5" not in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"days": "0"}, "days", "greater than or equal to 1"),
        ({"days": "ten"}, "days", "Enter a whole number."),
        ({"policy-min/max": "", "reference": "min/max"}, "reference", "one of the chosen"),
        ({"lead_time_factor": "-1"}, "lead_time_factor", "greater than 0"),
        ({"churn": "inf"}, "churn", "Enter a number."),
    ],
)
def test_a_bad_what_if_is_shown_on_its_form_and_queues_nothing(
    client: TestClient,
    people: dict[str, str],
    migrated: Engine,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    from api.models import Simulation
    from api.web.routes.whatif import WHATIF_DEFAULTS

    token = sign_in(client, "pia")
    r = client.post("/app/simulations/new", data={**WHATIF_DEFAULTS, **fields, "csrf_token": token})
    assert r.status_code == 422
    assert message in r.text
    assert f'id="{field}"' in r.text
    with Session(migrated) as db:
        assert db.scalar(select(func.count(Simulation.id))) == 0


def test_a_planner_runs_a_what_if_and_reads_it_with_intervals(
    client: TestClient, people: dict[str, str]
) -> None:
    from api.web.routes.whatif import WHATIF_DEFAULTS

    upload_example(client, people["bob"])
    token = sign_in(client, "pia")
    fields = {**WHATIF_DEFAULTS, "days": "30", "replications": "3", "policy-(s,S)": "",
              "policy-base-stock": "", "csrf_token": token}  # fmt: skip
    r = client.post("/app/simulations/new", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    job = r.headers["location"].rsplit("/", 1)[1]

    def done() -> str | None:
        r = client.get(f"/app/jobs/{job}/progress", headers={"HX-Request": "true"})
        assert 'data-status="failed"' not in r.text, r.text
        target: str | None = r.headers.get("HX-Redirect")
        return target

    page = client.get(eventually(done, f"simulation job {job}", every=0.5)).text
    assert 'data-state="succeeded"' in page
    assert page.count("<svg") == 2  # one chart per what-if: baseline and lead times x2
    assert page.count("data-verdict=") == 2 * 2  # two policies against the reference, twice
    assert "[" in page and "min/max" in page
    images = re.findall(r'src="(/app/simulations/\d+/charts/[^"]+\.png)"', page)
    assert images and client.get(images[0]).content[:4] == b"\x89PNG"

    # The trade-off chart's figures: per what-if and policy, [mean, low, high] per metric.
    sim = re.search(r'data-tradeoffs="(/app/simulations/(\d+)/tradeoffs\.json)"', page)
    assert sim
    data = client.get(sim[1]).json()
    assert {p["key"] for p in data["policies"]} == {"min/max", "segment-blind", "churn-aware"}
    assert data["reference"] in {p["key"] for p in data["policies"]}
    assert len(data["scenarios"]) == 2 and data["kinds"]["fill_rate"] == "percent"
    for scenario in data["scenarios"]:
        for cells in scenario["cells"].values():
            for mean, low, high in cells.values():
                assert low <= mean <= high
            assert 0 <= cells["fill_rate"][0] <= 1 and cells["customers_lost"][0] >= 0
    assert client.get("/app/simulations/999/tradeoffs.json").status_code == 404


def test_a_long_plan_is_read_a_page_of_lines_at_a_time(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    from api.models import User
    from api.web.rendering import LINES_PER_PAGE

    with Session(migrated) as db:
        bob = db.scalar(select(User).where(User.name == "bob"))
        assert bob is not None
        plan = Plan(requested_by=bob.id, params={"budget": 1e6}, state="draft", version=2,
                    record={"total_cost": 1.0})  # fmt: skip
        db.add(plan)
        db.flush()
        count = 2 * LINES_PER_PAGE + 50
        db.add_all(
            PlanLine(
                plan_id=plan.id,
                sku_id=f"SKU{i:04d}",
                supplier_id="SUP",
                pack_size=1,
                packs=1,
                quantity=1,
                unit_cost=1.0,
                reasons={},
            )
            for i in range(count)
        )
        db.commit()
        plan_id = plan.id
    token = sign_in(client, "bob")
    first = client.get(f"/app/plans/{plan_id}").text
    assert first.count('id="line-') == LINES_PER_PAGE and 'id="line-SKU0000"' in first
    last = client.get(f"/app/plans/{plan_id}?page=99").text  # past the end: the last page
    assert last.count('id="line-') == 50 and f'id="line-SKU{count - 1:04d}"' in last
    assert 'rel="prev"' in last and 'rel="next"' not in last
    # An edit on page 3 brings the buyer back to page 3.
    r = client.post(
        f"/app/plans/{plan_id}/lines/SKU0240",
        data={"csrf_token": token, "version": "2", "packs": "3", "reason": "more", "page": "3"},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"/app/plans/{plan_id}?page=3#line-SKU0240"


def test_a_lines_reasons_come_as_a_fragment_for_htmx_and_as_a_page_without_it(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    upload_example(client, people["bob"])
    token = sign_in(client, "bob")
    plan_id = _request_plan(client, token)
    with Session(migrated) as db:
        line = db.scalars(select(PlanLine).where(PlanLine.plan_id == plan_id)).first()
        assert line is not None
    url = f"/app/plans/{plan_id}/lines/{line.sku_id}/reasons"
    fragment = client.get(url, headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and "Steps that add up to the quantity" in fragment
    page = client.get(url).text
    assert "<html" in page and "Steps that add up to the quantity" in page
    assert client.get(f"/app/plans/{plan_id}/lines/NOPE/reasons").status_code == 404

    # Beside the reasons, the line's forecast fan, drawn from the JSON the plan job stored.
    source = f"/app/plans/{plan_id}/lines/{line.sku_id}/forecast.json"
    assert f'data-fan="{source}"' in fragment and f'data-fan="{source}"' in page
    assert (
        "/app/static/fan.js" in page
        and "/app/static/fan.js" in client.get(f"/app/plans/{plan_id}").text
    )
    fan = client.get(source).json()
    assert fan["sku_id"] == line.sku_id and fan["segments"][0] == "ALL"
    assert fan["names"][0] == "All customers" and len(fan["names"]) == len(fan["segments"])
    assert len(fan["dates"]) == 28  # the plan's horizon, a day per point
    assert len(fan["history_dates"]) == 84 and fan["history_dates"][-1] < fan["dates"][0]
    quantiles = np.array(fan["bands"])  # level, segment, day
    assert quantiles.shape == (4, len(fan["segments"]), 28)
    assert (np.diff(quantiles, axis=0) >= 0).all()  # 5% <= 25% <= 75% <= 95%
    history = np.array(fan["history"])
    assert history.shape == (len(fan["segments"]), 84) and (history >= 0).all()
    assert np.allclose(history[1:].sum(axis=0), history[0])  # the tiers add up to the whole
    chinese = client.get(source, headers={"Accept-Language": "zh-CN"}).json()
    assert chinese["names"][0] == "全部客户" and chinese["labels"]["demand"] == "需求（件/天）"
    assert client.get(f"/app/plans/{plan_id}/lines/NOPE/forecast.json").status_code == 404
    client.cookies.clear()
    assert client.get(source, follow_redirects=False).status_code == 303  # signed in only


def test_a_cached_review_page_carries_each_sessions_token_and_follows_the_plan(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    from tests.api.web.conftest import csrf_of

    upload_example(client, people["bob"])
    token = sign_in(client, "bob")
    plan_id = _request_plan(client, token)
    other = TestClient(client.app)
    other_token = sign_in(other, "bob")  # the same user, a second browser
    assert other_token != token
    first = client.get(f"/app/plans/{plan_id}").text
    again = client.get(f"/app/plans/{plan_id}").text  # from the cache
    seen_by_other = other.get(f"/app/plans/{plan_id}").text
    assert first == again and csrf_of(again) == token
    assert csrf_of(seen_by_other) == other_token and "\x00" not in seen_by_other
    r = client.post(
        f"/app/plans/{plan_id}/submit", data={"csrf_token": token, "version": _version(first)}
    )
    assert 'data-state="submitted"' in r.text
    assert 'data-state="submitted"' in other.get(f"/app/plans/{plan_id}").text


def test_the_customers_page_lists_tiers_the_let_down_and_exports_csv(
    client: TestClient, people: dict[str, str]
) -> None:
    token = sign_in(client, "vic")  # any signed-in role reads customers
    assert token and "Upload the dataset, with its customers" in client.get("/app/customers").text
    assert client.get("/app/customers.csv").status_code == 409
    upload_example(client, people["bob"])
    page = client.get("/app/customers").text
    assert "Tiers" in page and page.count('<th scope="row">') >= 3  # tiers A, B, C
    assert "To care for" in page
    csv = client.get("/app/customers.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    text = csv.content.decode("utf-8-sig")
    header, *rows = text.strip().splitlines()
    assert header.startswith("customer_id,tier,score,amount,margin")
    assert len(rows) == 40  # every customer of the example shop


def _upload_page(client: TestClient, token: str, table: str, content: bytes) -> Any:
    return client.post(
        f"/app/uploads/{table}", data={"csrf_token": token},
        files={"file": (f"{table}.csv", content, "text/csv")},
    )  # fmt: skip


def test_a_buyer_uploads_the_dataset_in_the_browser(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    from api.models import DatasetTable
    from tests.api.conftest import EXAMPLE

    token = sign_in(client, "bob")
    assert "Still missing" in client.get("/app/uploads").text
    for table in ("suppliers", "skus", "customers", "orders", "inventory"):
        r = _upload_page(client, token, table, (EXAMPLE / f"{table}.csv").read_bytes())
        assert r.status_code == 200 and f"{table} stored" in r.text, r.text
    assert "Still missing" not in r.text
    # A broken table is refused whole, with its column and rows; the stored one stays.
    with Session(migrated) as db:
        before = db.get(DatasetTable, "skus")
        assert before is not None
        kept = before.sha256
    lines = (EXAMPLE / "skus.csv").read_text().splitlines()
    header = lines[0].split(",")
    cost = header.index("unit_cost")
    row = lines[1].split(",")
    row[cost] = "-3"
    broken = "\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n"
    r = _upload_page(client, token, "skus", broken.encode())
    assert r.status_code == 422
    assert "skus was not stored" in r.text and "unit_cost" in r.text
    with Session(migrated) as db:
        after = db.get(DatasetTable, "skus")
        assert after is not None and after.sha256 == kept


def test_uploads_are_for_buyers_and_need_a_file(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    from tests.api.conftest import EXAMPLE

    token = sign_in(client, "vic")
    assert 'type="file"' not in client.get("/app/uploads").text
    content = (EXAMPLE / "suppliers.csv").read_bytes()
    assert _upload_page(client, token, "suppliers", content).status_code == 403
    token = _switch(client, "bob")
    assert _upload_page(client, token, "nonsense", content).status_code == 404
    r = client.post("/app/uploads/suppliers", data={"csrf_token": token})
    assert r.status_code == 422 and "Choose a file" in r.text
    r = client.post("/app/uploads/suppliers", files={"file": ("s.csv", content, "text/csv")})
    assert r.status_code == 403  # no CSRF token


def test_pages_forbid_framing_and_foreign_scripts(
    client: TestClient, people: dict[str, str]
) -> None:
    for page in (client.get("/app/signin"), client.get("/app/signin?next=/app/plans")):
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
    sign_in(client, "bob")
    assert "frame-ancestors" in client.get("/app/plans").headers["content-security-policy"]


def test_the_review_page_charts_what_each_budget_buys_from_json(
    client: TestClient, people: dict[str, str]
) -> None:
    upload_example(client, people["bob"])
    token = sign_in(client, "bob")
    plan_id = _request_plan(client, token, budget="600")
    page = client.get(f"/app/plans/{plan_id}").text
    assert f'data-frontier="/app/plans/{plan_id}/frontier.json"' in page
    assert "/app/static/uPlot.iife.min.js" in page
    data = client.get(f"/app/plans/{plan_id}/frontier.json").json()
    assert data["budget"] == [150.0, 300.0, 450.0, 600.0, 900.0, 1200.0]  # 1/4 to 2x the plan's
    assert [t["tier"] for t in data["tiers"]] == ["A", "B", "C"]
    for tier in data["tiers"]:
        assert all(0 <= f <= 100 for f in tier["fill"]) and len(tier["fill"]) == 6
    lost = data["customers_lost"]
    assert all(x >= 0 for x in lost) and lost[0] >= lost[-1]  # more budget, fewer lost
    assert client.get("/app/plans/999/frontier.json").status_code == 404
    assert client.get("/app/static/uPlot.iife.min.js").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/app/plans/99999999999999999999",
        "/app/plans/0",
        "/app/simulations/99999999999999999999/charts/x.png",
    ],
)
def test_an_id_beyond_the_database_is_refused_not_an_error(
    client: TestClient, people: dict[str, str], path: str
) -> None:
    sign_in(client, "bob")
    assert client.get(path).status_code == 422


def test_the_first_page_after_an_upload_analyses_the_dataset_apart_from_the_route_threads(
    client: TestClient, people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Segments, churn and alerts take seconds on a real dataset: the first page that needs
    them computes them once under the slow-work limit (`api.deps.heavy`), as the API does,
    not in one of the few route threads every page shares."""
    from api import datasets
    from api.deps import heavy
    from api.web import rendering

    upload_example(client, people["bob"])
    slow: list[str] = []

    async def counted(request: Any, work: Any, *args: Any) -> Any:
        slow.append(work.__name__)
        return await heavy(request, work, *args)

    monkeypatch.setattr(rendering, "heavy", counted)
    datasets._CACHE.clear()  # as in a process that has not read the dataset yet
    sign_in(client, "bob")  # reads the home page
    assert slow == ["analysis"]
    home = client.get("/app/").text
    assert "Upload the dataset to see stock alerts." not in home
    assert client.get("/app/customers").status_code == 200
    assert client.get("/app/customers.csv").text.startswith("\ufeffcustomer_id")
    assert slow == ["analysis"]  # once per dataset and process
    datasets._CACHE.clear()
    assert client.get("/app/customers").status_code == 200
    assert slow == ["analysis", "analysis"]
