"""Reads under concurrency: the hot reads' connection discipline, the rendered-bytes
cache's consistency, the key cache, and the settings that tune them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from api.accounts import create_user
from api.app import create_app
from api.auth import Role, key_hash
from api.config import Settings
from api.models import Plan, PlanLine, PurchaseOrder, User
from api.routes import plans as plan_routes
from tests.api.conftest import auth


def _seed(engine: Engine, lines: int = 30) -> tuple[str, int]:
    """An admin's key and an approved plan of `lines` lines with one order per supplier."""
    with Session(engine) as db:
        user, key = create_user(db, "reader", Role.admin)
        plan = Plan(requested_by=user.id, params={"budget": 1e4}, state="approved", version=3)
        db.add(plan)
        db.flush()
        db.add_all(
            PlanLine(
                plan_id=plan.id, sku_id=f"SKU{i:03d}", supplier_id=f"SUP{i % 3}", pack_size=1,
                packs=i + 1, quantity=i + 1, unit_cost=2.5, reasons={"binding": "budget"},
            )
            for i in range(lines)
        )  # fmt: skip
        for s in range(3):
            db.add(PurchaseOrder(plan_id=plan.id, supplier_id=f"SUP{s}", total=1.0, lines=[]))
        db.commit()
        return key, plan.id


async def _get_all(app: FastAPI, paths: list[str], key: str) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        return await asyncio.gather(*(client.get(p, headers=auth(key)) for p in paths))


@pytest.mark.parametrize("threads", [2, 40])
def test_many_more_concurrent_reads_than_connections_all_succeed(
    migrated: Engine, threads: int
) -> None:
    # 300 requests at once against a pool of 5 + 10 connections: a request that held a
    # connection while it queued for a thread would starve the others until the pool's
    # timeout (the service did, with 40 threads, before reads took one thread call).
    key, plan_id = _seed(migrated)
    app = create_app(Settings(threads=threads), migrated)
    paths = [f"/v1/plans/{plan_id}", "/v1/purchase-orders", "/v1/me"] * 100
    responses = asyncio.run(_get_all(app, paths, key))
    assert [r.status_code for r in responses] == [200] * len(paths)
    plans = {r.content for r in responses[0::3]}
    assert len(plans) == 1 and len(next(iter(plans))) > 1000  # every read: the same plan
    assert {r.json()["total"] for r in responses[1::3]} == {3}


def test_a_rendering_that_straddles_a_change_is_served_but_not_cached(
    client: TestClient, migrated: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, plan_id = _seed(migrated)
    original = plan_routes._plan_out
    changed = False

    def change_then_read(db: Session, plan: Plan) -> dict[str, Any]:
        # Another writer edits a line (and bumps the version) after this read saw the
        # version but before it reads the lines.
        nonlocal changed
        if not changed:
            changed = True
            with Session(migrated) as other:
                other.execute(update(PlanLine).where(PlanLine.plan_id == plan_id).values(packs=99))
                other.execute(update(Plan).where(Plan.id == plan_id).values(version=4))
                other.commit()
        return original(db, plan)

    monkeypatch.setattr(plan_routes, "_plan_out", change_then_read)
    first = client.get(f"/v1/plans/{plan_id}", headers=auth(key))
    assert first.status_code == 200 and first.json()["version"] == 3
    cache = client.app.state.rendered  # type: ignore[attr-defined]
    assert cache.get(("plan", plan_id, 3)) is None  # version 3's bytes hold version 4's lines
    second = client.get(f"/v1/plans/{plan_id}", headers=auth(key))
    assert second.json()["version"] == 4
    assert {line["packs"] for line in second.json()["lines"]} == {99}
    assert cache.get(("plan", plan_id, 4)) == second.content


def _set_role(engine: Engine, name: str, role: str) -> None:
    with Session(engine) as db:
        db.execute(update(User).where(User.name == name).values(role=role))
        db.commit()


def test_keys_are_remembered_for_the_configured_seconds(migrated: Engine) -> None:
    with Session(migrated) as db:
        _, key = create_user(db, "ana", Role.admin)
        db.commit()
    remembering = create_app(Settings(auth_cache_seconds=3600), migrated)
    looking_up = create_app(Settings(auth_cache_seconds=0), migrated)
    with TestClient(remembering) as slow, TestClient(looking_up) as fast:
        assert slow.get("/v1/users", headers=auth(key)).status_code == 200
        assert fast.get("/v1/users", headers=auth(key)).status_code == 200
        _set_role(migrated, "ana", "viewer")  # demoted in the database
        assert fast.get("/v1/users", headers=auth(key)).status_code == 403
        assert slow.get("/v1/users", headers=auth(key)).status_code == 200  # within its ttl
        slow.app.state.keys.ttl = 0  # type: ignore[attr-defined]
        assert slow.get("/v1/users", headers=auth(key)).status_code == 403


def test_an_unknown_key_is_not_remembered(client: TestClient, migrated: Engine) -> None:
    unknown = "rpl_not-yet"
    assert client.get("/v1/me", headers=auth(unknown)).status_code == 401
    with Session(migrated) as db:
        user, _ = create_user(db, "late", Role.viewer)
        user.key_hash = key_hash(unknown)  # the key now exists
        db.commit()
    r = client.get("/v1/me", headers=auth(unknown))
    assert r.status_code == 200 and r.json()["name"] == "late"


def test_an_unhandled_error_is_logged_and_counted_as_500(
    migrated: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(), migrated)

    def boom() -> None:
        raise RuntimeError("bug")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c, caplog.at_level(logging.INFO):
        r = c.get("/boom", headers={"X-Request-ID": "req-42"})
        text = c.get("/metrics").text
    assert r.status_code == 500 and r.json()["request_id"] == "req-42"
    lines = [m for m in caplog.messages if '"request_id": "req-42"' in m]
    assert len(lines) == 1 and '"status": 500' in lines[0] and '"route": "/boom"' in lines[0]
    assert 'replenish_requests_total{method="GET",route="/boom",status="500"} 1' in text


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REPLENISH_MAX_UPLOAD_BYTES", "0", "between 1 and"),
        ("REPLENISH_MAX_UPLOAD_BYTES", "1.5e6", "whole number"),
        ("REPLENISH_THREADS", "0", "between 1 and 256"),
        ("REPLENISH_THREADS", "two", "whole number"),
        ("REPLENISH_AUTH_CACHE_SECONDS", "-1", "between 0 and 3600"),
        ("REPLENISH_AUTH_CACHE_SECONDS", "nan", "between 0 and 3600"),
        ("REPLENISH_AUTH_CACHE_SECONDS", "soon", "must be a number"),
    ],
)
def test_malformed_tuning_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message) as err:
        Settings.from_env()
    assert name in str(err.value)


def test_tuning_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLENISH_THREADS", "6")
    monkeypatch.setenv("REPLENISH_AUTH_CACHE_SECONDS", "0")
    settings = Settings.from_env()
    assert (settings.threads, settings.auth_cache_seconds) == (6, 0.0)
