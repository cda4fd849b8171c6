"""Uploading the dataset over HTTP: all or nothing, rows and columns named, size capped,
idempotent; then SKUs, customers with their tiers, and stock read back."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.config import Settings
from api.models import AuditEntry, DatasetTable
from tests.api.conftest import auth

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"
ORDER = ("suppliers", "skus", "customers", "orders", "inventory")


def _upload(
    client: TestClient, key: str, table: str, content: bytes, name: str | None = None
) -> httpx.Response:
    files = {"file": (name or f"{table}.csv", content, "text/csv")}
    response: httpx.Response = client.post(f"/v1/datasets/{table}", files=files, headers=auth(key))
    return response


def _upload_all(client: TestClient, key: str) -> None:
    for table in ORDER:
        r = _upload(client, key, table, (EXAMPLE / f"{table}.csv").read_bytes())
        assert r.status_code == 201, r.json()


def test_the_example_dataset_uploads_table_by_table(
    client: TestClient, keys: dict[str, str], migrated: Engine
) -> None:
    first = _upload(client, keys["buyer"], "suppliers", (EXAMPLE / "suppliers.csv").read_bytes())
    assert first.status_code == 201 and first.json()["complete"] is False
    for table in ORDER[1:]:
        r = _upload(client, keys["buyer"], table, (EXAMPLE / f"{table}.csv").read_bytes())
        assert r.status_code == 201, r.json()
    assert r.json()["complete"] is True
    again = _upload(client, keys["buyer"], "orders", (EXAMPLE / "orders.csv").read_bytes())
    assert again.status_code == 200 and again.json()["changed"] is False  # idempotent
    with Session(migrated) as db:
        assert len(db.scalars(select(DatasetTable)).all()) == 5
        uploads = db.scalars(select(AuditEntry).where(AuditEntry.action == "upload")).all()
        assert len(uploads) == 5  # the identical re-upload wrote nothing


def test_a_bad_table_is_refused_whole_with_rows_and_columns(
    client: TestClient, keys: dict[str, str], migrated: Engine
) -> None:
    _upload_all(client, keys["buyer"])
    good = (EXAMPLE / "orders.csv").read_text(encoding="utf-8").splitlines()
    header, first, second = good[0], good[1], good[2]
    bad_qty = first.rsplit(",", 3)
    bad_qty[1] = "-4"  # quantity
    unknown_sku = second.split(",")
    unknown_sku[3] = "NOPE"
    body = "\n".join([header, ",".join(bad_qty), ",".join(unknown_sku), *good[3:]]) + "\n"
    r = _upload(client, keys["buyer"], "orders", body.encode())
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert any(p["column"] == "quantity" and p["rows"] == [1] for p in problems)
    assert any(p["column"] == "sku_id" and 2 in p["rows"] for p in problems)
    with Session(migrated) as db:  # the stored orders are the good ones still
        stored = db.get(DatasetTable, "orders")
        assert stored is not None
        assert stored.content == (EXAMPLE / "orders.csv").read_bytes()


@pytest.mark.parametrize(
    ("table", "content", "status", "text"),
    [
        ("nonsense", b"a,b\n1,2\n", 404, "no table"),
        ("skus", b"", 422, "empty"),
        ("suppliers", b"supplier_id,name\nS1,x\n", 422, "lead_time_days"),
        ("suppliers", b"\x00\x01binary", 422, "problem"),
    ],
)
def test_unusable_uploads_are_refused(
    client: TestClient, keys: dict[str, str], table: str, content: bytes, status: int, text: str
) -> None:
    r = _upload(client, keys["buyer"], table, content)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    assert text in str(r.json())


def test_a_file_over_the_limit_is_413(migrated: Engine, keys: dict[str, str]) -> None:
    with TestClient(create_app(Settings(max_upload_bytes=100), migrated)) as small:
        big = (EXAMPLE / "orders.csv").read_bytes()
        r = _upload(small, keys["buyer"], "orders", big)
        assert r.status_code == 413 and "100" in r.json()["detail"]


def test_uploads_need_the_buyer_role(client: TestClient, keys: dict[str, str]) -> None:
    content = (EXAMPLE / "suppliers.csv").read_bytes()
    assert _upload(client, "wrong", "suppliers", content).status_code == 401
    for role in ("viewer", "approver", "planner"):
        assert _upload(client, keys[role], "suppliers", content).status_code == 403
    assert _upload(client, keys["admin"], "suppliers", content).status_code == 201


def test_skus_customers_and_inventory_read_back(client: TestClient, keys: dict[str, str]) -> None:
    incomplete = client.get("/v1/skus", headers=auth(keys["viewer"]))
    assert incomplete.status_code == 409 and "suppliers" in incomplete.json()["detail"]
    _upload_all(client, keys["buyer"])
    skus = client.get("/v1/skus?limit=5&offset=10", headers=auth(keys["viewer"])).json()
    assert skus["total"] == 12 and [s["sku_id"] for s in skus["items"]] == ["SKU010", "SKU011"]
    customers = client.get("/v1/customers?limit=100", headers=auth(keys["viewer"])).json()
    assert customers["total"] == 40
    first = customers["items"][0]
    assert first["tier"] in {"A", "B", "C"} and {"score", "amount", "margin"} <= set(first)
    stock = client.get("/v1/inventory", headers=auth(keys["viewer"])).json()
    assert stock["total"] == 12 and stock["items"][0]["as_of"] == "2026-10-31"


def test_alerts_rank_skus_by_value_at_risk(client: TestClient, keys: dict[str, str]) -> None:
    _upload_all(client, keys["buyer"])
    quiet = client.get("/v1/alerts", headers=auth(keys["viewer"])).json()
    lines = (EXAMPLE / "inventory.csv").read_text(encoding="utf-8").splitlines()
    emptied = [lines[0]] + [
        ",".join([ln.split(",")[0], "0", "0", ln.split(",")[3]]) for ln in lines[1:]
    ]
    r = _upload(client, keys["buyer"], "inventory", ("\n".join(emptied) + "\n").encode())
    assert r.status_code == 201, r.json()
    r = client.get("/v1/alerts", headers=auth(keys["viewer"]))
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) > quiet["total"] and items[0]["value_at_risk"] > 0
    values = [a["value_at_risk"] for a in items]
    assert values == sorted(values, reverse=True)
    for alert in items:
        assert alert["on_hand"] + alert["on_order"] < alert["reorder_point"] or (
            alert["days_of_cover"] is not None and alert["days_of_cover"] < alert["lead_time_days"]
        )
        assert isinstance(alert["tier_a_customers"], list)
