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
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

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


def install(app: FastAPI, metrics: Metrics) -> None:
    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("X-Request-ID", "")
        request.state.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.observe(request.method, route, response.status_code, elapsed)
        response.headers["X-Request-ID"] = request.state.request_id
        log.info(
            json.dumps(
                {
                    "event": "request",
                    "method": request.method,
                    "path": request.url.path,
                    "route": route,
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 1),
                    "request_id": request.state.request_id,
                    "user": getattr(request.state, "user", None),
                }
            )
        )
        return response
