"""The whole workflow against a real `replenish serve` process on 127.0.0.1: upload the
example shop, request a plan, submit it, approve it as another user, read the
purchase-order feed, and receive each order on a local webhook receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.api.conftest import EXAMPLE, start_server
from tests.api.test_webhook import Receiver
from tests.patience import PATIENCE, eventually

runner = CliRunner()


@pytest.mark.slow
def test_upload_plan_submit_approve_feed_and_webhook(tmp_path: Path, monkeypatch: Any) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    monkeypatch.setenv("REPLENISH_DATABASE_URL", url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    buyer = runner.invoke(app, ["users", "create", "ana", "--role", "buyer"]).stdout.strip()
    approver = runner.invoke(app, ["users", "create", "bo", "--role", "approver"]).stdout.strip()
    receiver = Receiver()
    monkeypatch.setenv("REPLENISH_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("REPLENISH_WEBHOOK_SECRET", "e2e-secret")
    proc, base = start_server(url)
    as_buyer = {"Authorization": f"Bearer {buyer}"}
    as_approver = {"Authorization": f"Bearer {approver}"}
    try:
        for table in ("suppliers", "skus", "customers", "orders", "inventory"):
            files = {"file": (f"{table}.csv", (EXAMPLE / f"{table}.csv").read_bytes())}
            r = httpx.post(f"{base}/v1/datasets/{table}", files=files, headers=as_buyer)
            assert r.status_code == 201, r.text
        accepted = httpx.post(f"{base}/v1/plans", json={"budget": 800}, headers=as_buyer).json()
        job_url = f"{base}/v1/jobs/{accepted['job_id']}"

        def finished() -> dict[str, Any] | None:
            job: dict[str, Any] = httpx.get(job_url, headers=as_buyer).json()
            return job if job["status"] in ("succeeded", "failed") else None

        job = eventually(finished, "the plan job")
        assert job["status"] == "succeeded", job
        plan_url = f"{base}/v1/plans/{accepted['plan_id']}"
        assert httpx.post(f"{plan_url}/submit", headers=as_buyer).json()["state"] == "submitted"
        assert httpx.post(f"{plan_url}/approve", headers=as_buyer).status_code == 403  # role
        approved = httpx.post(f"{plan_url}/approve", headers=as_approver).json()
        assert approved["state"] == "approved"
        feed = httpx.get(f"{base}/v1/purchase-orders?status=approved", headers=as_approver).json()
        assert feed["total"] == len({line["supplier_id"] for line in approved["lines"]}) > 0
        eventually(lambda: len(receiver.accepted()) >= feed["total"], "webhook deliveries")
    finally:
        proc.terminate()
        proc.wait(timeout=PATIENCE)
        receiver.close()
    received = receiver.accepted()
    assert {e["purchase_order"]["id"] for e in received.values()} == {
        o["id"] for o in feed["items"]
    }
    for call in receiver.calls:
        mac = hmac.new(b"e2e-secret", call["body"], hashlib.sha256).hexdigest()
        assert call["signature"] == f"sha256={mac}"
        assert json.loads(call["body"])["type"] == "purchase_order.approved"
