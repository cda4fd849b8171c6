"""Limits before work: the key is checked and the body's size capped before any of the
body is read; text the database cannot store is a 422 naming the field; a database that
cannot be reached is a 503 with a retry hint on every route."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from api.app import create_app
from api.config import Settings
from tests.api.conftest import auth, make_plan

SMALL = Settings(max_upload_bytes=100_000, max_json_bytes=10_000)


def _call(app: FastAPI, method: str, path: str, headers: dict[str, str]) -> tuple[int, int, bytes]:
    """Send a request straight to the ASGI app whose body never comes; returns the status,
    how many times the app asked for the body, and the response body."""
    asked = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        await asyncio.sleep(3600)  # a client that declared a body and never sends it
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "server": ("test", 80), "client": ("test", 1),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=60))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], asked, body


@pytest.fixture
def small(migrated: Engine) -> FastAPI:
    return create_app(SMALL, migrated)


def test_a_huge_declared_body_is_refused_before_it_is_read(
    small: FastAPI, keys: dict[str, str]
) -> None:
    huge = {"content-type": "application/json", "content-length": str(300_000_000)}
    assert _call(small, "POST", "/v1/plans", huge)[:2] == (401, 0)  # no key: 401 first
    status, asked, body = _call(small, "POST", "/v1/plans", {**huge, **auth(keys["buyer"])})
    assert (status, asked) == (413, 0) and b"10,000" in body
    upload = {"content-type": "multipart/form-data; boundary=x", "content-length": "500000000"}
    for headers in (upload, {**upload, **auth(keys["buyer"])}):
        status, asked, _ = _call(small, "POST", "/v1/datasets/orders", headers)
        assert asked == 0 and status in (401, 413)
    bad_key = {**huge, **auth("rpl_not-a-key")}
    assert _call(small, "POST", "/v1/plans", bad_key)[:2] == (401, 0)


def test_a_streamed_body_is_cut_off_at_the_cap(migrated: Engine, keys: dict[str, str]) -> None:
    with TestClient(create_app(SMALL, migrated)) as client:
        chunks = iter([b'{"budget": 1, "x": "' + b"a" * 6_000, b"a" * 6_000 + b'"}'])
        r = client.post(
            "/v1/plans", content=chunks,
            headers={**auth(keys["buyer"]), "Content-Type": "application/json"},
        )  # fmt: skip
        assert r.status_code == 413
        assert r.headers["content-type"].startswith("application/problem+json")
        big_file = {"file": ("orders.csv", b"x" * 200_000, "text/csv")}
        r = client.post("/v1/datasets/orders", files=big_file, headers=auth(keys["buyer"]))
        assert r.status_code == 413
        ok = client.post("/v1/plans", json={"budget": 1}, headers=auth(keys["buyer"]))
        assert ok.status_code == 202  # under the cap: served


NUL = "bad\x00text"


@pytest.fixture
def drafted(
    stocked: TestClient, keys: dict[str, str]
) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    yield stocked, make_plan(stocked, keys["buyer"], budget=2000.0)


def test_text_the_database_cannot_store_is_422_naming_the_field(
    drafted: tuple[TestClient, dict[str, Any]], keys: dict[str, str]
) -> None:
    client, plan = drafted
    buyer, approver = auth(keys["buyer"]), auth(keys["approver"])
    pid, line = plan["id"], plan["lines"][0]
    cases = [
        ("PATCH", f"/v1/plans/{pid}/lines/{line['sku_id']}",
         {"packs": 1, "reason": NUL, "version": plan["version"]}, buyer, "reason"),
        ("PATCH", f"/v1/plans/{pid}/lines/SKU%00", {"packs": 1, "reason": "ok ok", "version": 1},
         buyer, "sku_id"),
        ("GET", "/v1/jobs/job%00", None, buyer, "job_id"),
        ("POST", "/v1/jobs/job%00/retry", None, buyer, "job_id"),
        ("POST", "/v1/plans", {"budget": 5, "suppliers": [NUL]}, buyer, "suppliers"),
        # an unpaired surrogate, as a JSON escape (no client could encode it otherwise)
        ("POST", "/v1/plans", '{"budget": 5, "categories": ["\\ud800"]}', buyer, "categories"),
        ("POST", f"/v1/plans/{pid}/reject", {"reason": NUL}, approver, "reason"),
        ("POST", f"/v1/plans/{pid}/approve", {"reason": NUL}, approver, "reason"),
    ]  # fmt: skip
    for method, url, body, headers, field in cases:
        if isinstance(body, str):
            typed = {**headers, "Content-Type": "application/json"}
            r = client.request(method, url, content=body, headers=typed)
        else:
            r = client.request(method, url, json=body, headers=headers)
        assert r.status_code == 422, (url, r.text)
        assert any(field in e["loc"] for e in r.json()["errors"]), (url, r.json())
    assert client.post(f"/v1/plans/{pid}/submit", headers=buyer).status_code == 200
    assert client.post(f"/v1/plans/{pid}/approve", headers=approver).status_code == 200
    order = client.get("/v1/purchase-orders", headers=buyer).json()["items"][0]
    r = client.post(
        f"/v1/purchase-orders/{order['id']}/ordered", json={"reference": NUL}, headers=buyer
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "reference"]
    still = client.get(f"/v1/plans/{pid}", headers=buyer).json()
    assert still["state"] == "approved" and still["reason"] is None  # nothing stored


def test_plan_requests_name_unknown_suppliers_and_categories(
    stocked: TestClient, keys: dict[str, str]
) -> None:
    buyer = auth(keys["buyer"])
    r = stocked.post(
        "/v1/plans", json={"budget": 9, "suppliers": ["SUP000", "NOPE"]}, headers=buyer
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "suppliers", "1"]
    r = stocked.post("/v1/plans", json={"budget": 9, "categories": ["Moon"]}, headers=buyer)
    assert r.status_code == 422 and "Moon" in r.json()["detail"]
    ok = stocked.post("/v1/plans", json={"budget": 9, "suppliers": ["SUP000"]}, headers=buyer)
    assert ok.status_code == 202


def test_a_scoped_plan_request_before_any_data_is_409(
    client: TestClient, keys: dict[str, str]
) -> None:
    r = client.post(
        "/v1/plans", json={"budget": 9, "suppliers": ["SUP000"]}, headers=auth(keys["buyer"])
    )
    assert r.status_code == 409 and "upload" in r.json()["detail"]


def test_every_route_answers_503_while_the_database_is_down(
    stocked: TestClient, keys: dict[str, str], migrated: Engine
) -> None:
    client, viewer = stocked, auth(keys["viewer"])
    plan = make_plan(client, keys["buyer"])
    assert client.get("/v1/me", headers=viewer).status_code == 200  # the key is cached
    down = {"on": False}
    dbapi_error = migrated.dialect.loaded_dbapi.OperationalError

    @event.listens_for(migrated, "do_connect")
    def refuse(*_: Any) -> None:
        if down["on"]:
            raise dbapi_error("connection refused (the test took the database away)")

    down["on"] = True
    migrated.pool.dispose()  # pooled connections would still work
    try:
        for method, url, headers in [
            ("GET", f"/v1/plans/{plan['id']}", viewer),
            ("GET", "/v1/purchase-orders", viewer),
            ("GET", "/v1/skus", viewer),
            ("POST", "/v1/plans", auth(keys["buyer"])),
            ("GET", "/v1/me", auth(keys["approver"])),  # not cached: the key check itself
            ("GET", "/health", {}),
        ]:
            body = {"budget": 1} if method == "POST" else None
            r = client.request(method, url, json=body, headers=headers)
            assert r.status_code == 503, (url, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            if url != "/health":
                assert r.headers["retry-after"] == "5", url
    finally:
        down["on"] = False
    assert client.get(f"/v1/plans/{plan['id']}", headers=viewer).status_code == 200
