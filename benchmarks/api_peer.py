"""The service load benchmark's peer: uvicorn serving the same response bytes, no app work.

A bare ASGI callable answers `GET /v1/plans/...`, `GET /v1/purchase-orders...` and the web
app's `/app/plans/...` and `/app/` with the bodies the real service returned (files
`plan.json`, `feed.json`, `page-plan.json`, `page-home.json` in the directory named by
REPLENISH_PEER_DIR), with no authentication, database, validation or logging. Run under
the same uvicorn, loop, HTTP parser and worker count as `replenish serve`, it is the floor
the HTTP stack itself sets on this machine: the benchmark reports the service against it.

    REPLENISH_PEER_DIR=DIR python -m uvicorn benchmarks.api_peer:app --workers N
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Message = MutableMapping[str, Any]

_DIR = Path(os.environ.get("REPLENISH_PEER_DIR", "."))
_ROUTES = (
    ("/v1/plans/", _DIR / "plan.json"),
    ("/v1/purchase-orders", _DIR / "feed.json"),
    ("/app/plans/", _DIR / "page-plan.json"),
    ("/app/", _DIR / "page-home.json"),
)
_BODIES = {prefix: path.read_bytes() for prefix, path in _ROUTES if path.exists()}


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Answer with the stored body whose route prefixes the path; 404 otherwise."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path: str = scope["path"]
    if path == "/health":
        body, status = b'{"status":"ok"}', 200
    else:
        found = [b for prefix, b in _BODIES.items() if path.startswith(prefix)]
        body, status = (found[0], 200) if found else (b"{}", 404)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
