"""Request ids, one structured log line per request, and Prometheus metrics.

Every request gets an id (the client's `X-Request-ID` if it sent a sane one, else a new
one), returned in the response header, put in problem documents and in the log line:
`{"event": "request", "method", "path", "route", "status", "ms", "request_id", "user"}`.
`/metrics` serves request counts and latency sums per route and status in the
Prometheus text format (no client library needed for counters and sums).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import defaultdict

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("replenish.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Metrics:
    """Counters and latency sums per (method, route template, status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count: dict[tuple[str, str, int], int] = defaultdict(int)
        self.seconds: dict[tuple[str, str, int], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.count[(method, route, status)] += 1
            self.seconds[(method, route, status)] += seconds

    def render(self) -> str:
        lines = [
            "# HELP replenish_requests_total Requests answered.",
            "# TYPE replenish_requests_total counter",
        ]
        with self._lock:
            items = sorted(self.count.items())
            sums = dict(self.seconds)
        for key, n in items:
            lines.append(f"replenish_requests_total{_labels(key)} {n}")
        lines += [
            "# HELP replenish_request_seconds_sum Time spent answering, seconds.",
            "# TYPE replenish_request_seconds_sum counter",
        ]
        for key, _ in items:
            lines.append(f"replenish_request_seconds_sum{_labels(key)} {sums[key]:.6f}")
        return "\n".join(lines) + "\n"


def _labels(key: tuple[str, str, int]) -> str:
    method, route, status = key
    return f'{{method="{method}",route="{route}",status="{status}"}}'


class Observe:
    """Pure ASGI middleware: request id, metrics and one log line per HTTP request.

    Written against ASGI directly rather than as `@app.middleware("http")`: Starlette's
    BaseHTTPMiddleware runs every request through an extra task and memory streams,
    which cost more than the plan and feed reads themselves.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500  # what the client gets if the app raises before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(scope["method"], route, status, elapsed)
            log.info(
                json.dumps(
                    {
                        "event": "request",
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "ms": round(elapsed * 1000, 1),
                        "request_id": request_id,
                        "user": state.get("user"),
                    }
                )
            )


def install(app: FastAPI, metrics: Metrics) -> None:
    app.add_middleware(Observe, metrics=metrics)
