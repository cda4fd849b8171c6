"""Pushing approved purchase orders to a webhook, from a transactional outbox.

The approval writes one outbox message per purchase order in its own transaction, so
no approved order can be lost to a crash between "approved" and "sent". A dispatcher
thread sends due messages: POST of the JSON payload with `X-Replenish-Event-Id` (the
idempotency id, the same on every attempt) and `X-Replenish-Signature: sha256=<HMAC
of the body with the secret>`. A 2xx marks the message delivered; anything else (or
no answer) schedules a retry with exponential backoff (doubling from
`webhook_backoff_seconds`, at most 5 minutes). Delivery is at least once: a receiver
de-duplicates on the event id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from api.models import OutboxMessage, PurchaseOrder, utcnow

log = logging.getLogger("replenish.api")
MAX_BACKOFF_SECONDS = 300.0
BATCH = 50


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def enqueue(db: Session, order: PurchaseOrder) -> None:
    """Owe the webhook this order (call inside the approval's transaction)."""
    payload = {
        "type": "purchase_order.approved",
        "purchase_order": {
            "id": order.id, "plan_id": order.plan_id, "supplier_id": order.supplier_id,
            "total": order.total, "lines": order.lines,
        },
    }  # fmt: skip
    db.add(OutboxMessage(event_id=str(uuid.uuid4()), purchase_order_id=order.id, payload=payload))


class Dispatcher:
    """Sends due outbox messages in a background thread until stopped."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        if not settings.webhook_url:
            raise ValueError("no webhook URL configured")
        self.sessions, self.settings = sessions, settings
        self.url: str = settings.webhook_url
        self.secret = (settings.webhook_secret or "").encode("utf-8")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="replenish-webhook", daemon=True)
        self.client = httpx.Client(timeout=5.0)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.deliver_due()
            except Exception:  # a database hiccup: try again next round
                log.exception("webhook dispatch round failed")
                sent = 0
            self._stop.wait(0.05 if sent else 0.25)

    def deliver_due(self) -> int:
        """Try every due message once; returns how many were delivered."""
        delivered = 0
        with self.sessions() as db:
            query = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.delivered_at.is_(None), OutboxMessage.next_attempt_at <= utcnow()
                )
                .order_by(OutboxMessage.id)
                .limit(BATCH)
            )
            if db.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)  # several service processes
            for message in db.scalars(query).all():
                ok, error = self._post(message.event_id, message.payload)
                message.attempts += 1
                if ok:
                    message.delivered_at, message.last_error = utcnow(), None
                    delivered += 1
                else:
                    wait = min(
                        self.settings.webhook_backoff_seconds * 2 ** (message.attempts - 1),
                        MAX_BACKOFF_SECONDS,
                    )
                    message.next_attempt_at = utcnow() + timedelta(seconds=wait)
                    message.last_error = error
                db.commit()
        return delivered

    def _post(self, event_id: str, payload: dict[str, Any]) -> tuple[bool, str | None]:
        body = json.dumps({"event_id": event_id, **payload}, sort_keys=True).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "X-Replenish-Event-Id": event_id,
            "X-Replenish-Signature": signature(self.secret.decode("utf-8"), body),
        }
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return True, None
        return False, f"HTTP {response.status_code}"
