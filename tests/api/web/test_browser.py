"""Each role's journey in headless Chromium on a real `replenish serve`, over SQLite and
PostgreSQL, in English and in Simplified Chinese.

A buyer signs in with the keyboard, uploads the dataset's tables, requests a plan,
watches its progress, reviews a line's reasons, edits it and submits; an approver (in Chinese) approves it and marks
its purchase orders placed; a planner runs a what-if and reads it with its charts; a
viewer sees no button it may not use and a forged POST is refused. On every page: no console error, no accessibility violation found by
axe-core (vendored in tests/vendor), and on Chinese pages no English string of the
catalog left untranslated.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from babel.messages.pofile import read_po
from sqlalchemy import text
from sqlalchemy.orm import Session

from api import migrate
from api.accounts import create_user
from api.auth import Role
from api.database import make_engine
from api.web.i18n import catalog_path
from api.web.signin import set_password
from tests.api.conftest import EXAMPLE, start_server
from tests.conftest import POSTGRES_ENV, _database_params
from tests.patience import PATIENCE

pytestmark = [pytest.mark.database, pytest.mark.slow]
PASSWORD = "correct horse battery"
AXE = Path(__file__).resolve().parents[2] / "vendor" / "axe.min.js"
WAIT_MS = PATIENCE * 1000


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL a server process can use: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    base = os.environ[POSTGRES_ENV]
    schema = f"web_{uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def bare_server(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """`replenish serve` on a migrated database with one user per role (each with
    PASSWORD) and no data yet: its base URL and the users' API keys."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    keys = {}
    with Session(engine) as db:
        for name, role in [
            ("bob", Role.buyer), ("ann", Role.approver), ("vic", Role.viewer),
            ("pia", Role.planner),
        ]:  # fmt: skip
            user, keys[name] = create_user(db, name, role)
            set_password(db, user, PASSWORD, None)
        db.commit()
    engine.dispose()
    proc, base = start_server(database_url)
    try:
        yield base, keys
    finally:
        proc.terminate()
        proc.wait(timeout=PATIENCE)


@pytest.fixture
def server(bare_server: tuple[str, dict[str, str]]) -> str:
    """The bare server with the example shop uploaded through the API."""
    base, keys = bare_server
    for table in ("suppliers", "skus", "customers", "orders", "inventory"):
        r = httpx.post(
            f"{base}/v1/datasets/{table}",
            files={"file": (f"{table}.csv", (EXAMPLE / f"{table}.csv").read_bytes())},
            headers={"Authorization": f"Bearer {keys['bob']}"}, timeout=PATIENCE,
        )  # fmt: skip
        assert r.status_code == 201, r.text
    return base


@pytest.fixture
def browser(chromium: str) -> Iterator[Any]:
    """Headless Chromium (Debian's), driven by playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _english_strings() -> set[str]:
    """The catalog's English strings that would show as a whole text if untranslated."""
    with catalog_path("zh_CN").open("rb") as po:
        return {m.id for m in read_po(po) if isinstance(m.id, str) and m.id and "%(" not in m.id}


class Checked:
    """A browser page whose every load is checked: console errors, axe-core, and (in
    Chinese) text left in English."""

    def __init__(self, page: Any, chinese: bool) -> None:
        self.page, self.chinese = page, chinese
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        # Before each document's own scripts, outside the pages' Content-Security-Policy
        # (which refuses any script the app did not serve, as it should).
        page.add_init_script(path=str(AXE))
        self.english = _english_strings() if chinese else set()

    def check(self) -> None:
        page = self.page
        page.wait_for_load_state("load")
        assert self.errors == [], f"{page.url}: {self.errors}"
        found = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
        )
        assert found == [], f"{page.url}: accessibility violations {found}"
        if self.chinese:
            assert page.locator("html").get_attribute("lang") == "zh-CN"
            texts = page.evaluate(
                "() => { const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);"
                " const out = []; while (w.nextNode()) { const t = w.currentNode.textContent.trim();"
                " if (t) out.push(t); } return out; }"
            )
            left = sorted(set(texts) & self.english)
            assert left == [], f"{page.url}: untranslated {left}"


def _sign_in_by_keyboard(checked: Checked, base: str, name: str) -> None:
    page = checked.page
    page.goto(f"{base}/app/")
    assert "/app/signin" in page.url
    checked.check()
    page.keyboard.type(name)  # the name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^http://[^/]+/app/$"))
    checked.check()


def test_buyer_uploads_requests_and_submits_approver_approves_and_orders(
    browser: Any, bare_server: tuple[str, dict[str, str]]
) -> None:
    server, _keys = bare_server
    # The buyer, in English: the dataset first, table by table.
    buyer = Checked(browser.new_context(locale="en-US").new_page(), chinese=False)
    page = buyer.page
    _sign_in_by_keyboard(buyer, server, "bob")
    page.get_by_role("link", name="Data").click()
    buyer.check()
    for table in ("suppliers", "skus", "customers", "orders", "inventory"):
        page.get_by_label(f"File for {table}").set_input_files(str(EXAMPLE / f"{table}.csv"))
        row = page.locator("tr", has=page.get_by_label(f"File for {table}"))
        row.get_by_role("button", name="Upload").click()
        page.get_by_text(f"{table} stored").wait_for()
        buyer.check()
    assert page.get_by_text("Still missing").count() == 0
    page.get_by_role("link", name="Home").click()
    page.get_by_role("link", name="Request a plan").first.click()
    buyer.check()
    page.get_by_label("Budget").fill("600")
    page.get_by_role("button", name="Request the plan").click()
    page.wait_for_url(re.compile(r".*/app/plans/\d+$"), timeout=WAIT_MS)  # htmx polled
    buyer.check()
    plan_url = page.url
    page.locator(".frontier[data-drawn=true] canvas").first.wait_for()  # uPlot drew it
    first = page.locator("table.lines tbody > tr").first
    first.locator("summary").click()  # htmx loads the line's reasons into it
    first.locator("table.steps").first.wait_for(state="visible")
    assert "Steps that add up to the quantity" in first.inner_text()
    first.locator(".fan [data-drawn=true] canvas").first.wait_for()  # the forecast fan
    first.get_by_label("Customers").select_option(index=1)  # one tier's fan instead
    first.locator(".fan [data-drawn=true] canvas").first.wait_for()
    buyer.check()
    packs = first.get_by_label("Packs")
    packs.fill(str(int(packs.input_value()) + 1))
    first.get_by_label("Reason").fill("promotion next week")
    first.get_by_role("button", name="Change").click()
    page.wait_for_load_state("load")
    buyer.check()
    assert page.locator("table.lines").get_by_text("promotion next week").count() == 1
    page.get_by_role("button", name="Submit for approval").click()
    page.wait_for_load_state("load")
    assert page.locator("[data-state]").get_attribute("data-state") == "submitted"
    assert page.get_by_role("button", name="Approve").count() == 0
    buyer.check()

    # The approver, in Chinese.
    approver = Checked(browser.new_context(locale="zh-CN").new_page(), chinese=True)
    page = approver.page
    _sign_in_by_keyboard(approver, server, "ann")
    plan_id = plan_url.rsplit("/", 1)[1]
    page.get_by_role("link", name=f"计划 {plan_id}").click()
    approver.check()
    assert "与 ERP 最小/最大计划对比" in page.content()
    page.get_by_label("备注（可选）").fill("同意")
    page.get_by_role("button", name="批准").click()
    page.wait_for_url(re.compile(r".*/app/orders\?plan=\d+$"))
    approver.check()
    while page.get_by_role("button", name="标记为已下单").count():
        row = page.locator("tr", has=page.get_by_role("button", name="标记为已下单")).first
        row.get_by_label("供应商订单号").fill("SO-1001")
        row.get_by_role("button", name="标记为已下单").click()
        page.wait_for_load_state("load")
        approver.check()
    page.goto(plan_url)
    assert page.locator("[data-state]").get_attribute("data-state") == "ordered"
    approver.check()


def test_a_viewer_sees_no_buttons_and_a_forged_post_is_refused(browser: Any, server: str) -> None:
    viewer = Checked(browser.new_context(locale="zh-CN").new_page(), chinese=True)
    page = viewer.page
    _sign_in_by_keyboard(viewer, server, "vic")
    for path in ("/app/", "/app/plans", "/app/orders", "/app/customers", "/app/simulations"):
        page.goto(server + path)
        viewer.check()
        buttons = page.get_by_role("button").all_inner_texts()
        assert sorted(buttons) == sorted(["修改", "退出登录"]), (path, buttons)
    token = page.locator("input[name=csrf_token]").first.input_value()
    forged = page.request.post(
        f"{server}/app/plans/new", form={"budget": "100", "csrf_token": token}
    )
    assert forged.status == 403
    no_token = page.request.post(f"{server}/app/signout", form={})
    assert no_token.status == 403


def test_a_planner_goes_from_sign_in_to_a_what_if_with_charts(browser: Any, server: str) -> None:
    planner = Checked(browser.new_context(locale="en-GB").new_page(), chinese=False)
    page = planner.page
    _sign_in_by_keyboard(planner, server, "pia")
    page.get_by_role("link", name="New what-if simulation").click()
    planner.check()
    page.get_by_label("Days simulated").fill("30")
    page.get_by_label("Replications").fill("3")
    page.get_by_label("(s,S)").uncheck()
    page.get_by_role("button", name="Run the simulation").click()
    page.wait_for_url(re.compile(r".*/app/simulations/\d+$"), timeout=WAIT_MS)
    planner.check()
    assert page.locator("[data-state]").first.get_attribute("data-state") == "succeeded"
    assert page.locator("svg.chart").count() == 2
    for image in page.locator("img.png").all():
        image.scroll_into_view_if_needed()  # they load lazily, as they come into view
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    loaded = page.evaluate("Array.from(document.images).map(i => i.naturalWidth > 0)")
    assert loaded and all(loaded)
    # The trade-off chart: the planner picks the what-if and the two metrics it plots.
    page.locator(".tradeoffs[data-drawn=true] canvas").first.wait_for()
    page.get_by_label("What-if").select_option(index=1)
    page.get_by_label("Up").select_option("net_value")
    page.locator(".tradeoffs[data-drawn=true] canvas").first.wait_for()
    page.locator('.tradeoffs[data-plotted="1 inventory_value net_value"] canvas').wait_for()
    assert "min/max" in page.locator(".tradeoffs .u-legend").inner_text()
    planner.check()
