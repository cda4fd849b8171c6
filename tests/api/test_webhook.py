"""Approved purchase orders pushed to a local receiver: signed, retried, never lost."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.config import Settings
from api.models import OutboxMessage
from tests.api.conftest import auth, make_plan, upload_example
from tests.patience import eventually

SECRET = "s3cret"


class Receiver:
    """A webhook receiver on 127.0.0.1 that fails its first `fail_first` calls (503)."""

    def __init__(self, port: int = 0, fail_first: int = 0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls.append(
                    {"body": body, "event": self.headers["X-Replenish-Event-Id"],
                     "signature": self.headers["X-Replenish-Signature"]}
                )  # fmt: skip
                failing = len(outer.calls) <= outer.fail_first
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self) -> dict[str, dict[str, Any]]:
        """Delivered events (the 2xx answers), by event id."""
        ok = self.calls[self.fail_first :]
        return {c["event"]: json.loads(c["body"]) for c in ok}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _approve(client: TestClient, keys: dict[str, str]) -> list[dict[str, Any]]:
    upload_example(client, keys["buyer"])
    plan = make_plan(client, keys["buyer"])
    client.post(f"/v1/plans/{plan['id']}/submit", headers=auth(keys["buyer"]))
    assert (
        client.post(f"/v1/plans/{plan['id']}/approve", headers=auth(keys["approver"])).status_code
        == 200
    )
    feed: list[dict[str, Any]] = client.get(
        "/v1/purchase-orders", headers=auth(keys["approver"])
    ).json()["items"]
    assert feed
    return feed


def _until(check: Any) -> None:
    eventually(check, "webhook deliveries", every=0.05)


def _settings(url: str) -> Settings:
    return Settings(webhook_url=url, webhook_secret=SECRET, webhook_backoff_seconds=0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=3)
    yield r
    r.close()


def test_orders_reach_a_flaky_receiver_signed_once_each(
    migrated: Engine, keys: dict[str, str], receiver: Receiver
) -> None:
    with TestClient(create_app(_settings(receiver.url), migrated)) as client:
        orders = _approve(client, keys)
        _until(lambda: len(receiver.accepted()) == len(orders))
    accepted = receiver.accepted()
    assert {e["purchase_order"]["id"] for e in accepted.values()} == {o["id"] for o in orders}
    for call in receiver.calls:
        expected = "sha256=" + hmac.new(SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
        assert call["signature"] == expected
        assert json.loads(call["body"])["event_id"] == call["event"]
    # Redeliveries (after the 503s) reuse their event id: no order arrives under two ids.
    by_order: dict[int, set[str]] = {}
    for call in receiver.calls:
        order = json.loads(call["body"])["purchase_order"]["id"]
        by_order.setdefault(order, set()).add(call["event"])
    assert all(len(ids) == 1 for ids in by_order.values())
    with Session(migrated) as db:
        messages = db.scalars(select(OutboxMessage)).all()
        assert all(m.delivered_at is not None for m in messages)
        assert sum(m.attempts for m in messages) == len(receiver.calls)


def test_orders_wait_in_the_outbox_while_the_receiver_and_service_are_down(
    migrated: Engine, keys: dict[str, str]
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hook"
    with TestClient(create_app(_settings(url), migrated)) as client:  # nobody listens
        orders = _approve(client, keys)
        time.sleep(0.5)
    with Session(migrated) as db:
        waiting = db.scalars(select(OutboxMessage)).all()
        assert len(waiting) == len(orders)
        assert all(m.delivered_at is None and m.last_error for m in waiting)
    later = Receiver(port=port)  # the receiver comes back, then the service restarts
    try:
        with TestClient(create_app(_settings(url), migrated)):
            _until(lambda: len(later.accepted()) == len(orders))
    finally:
        later.close()
    assert len(later.calls) == len(orders)
