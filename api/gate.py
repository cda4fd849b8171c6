"""The gate every /v1 request passes before any of its body is read: key, then size.

Pure ASGI, in front of the routes: a request without a valid key gets its 401 before a
byte of its body is read (FastAPI parses a body before it runs a route's dependencies,
so the check cannot wait for them); then a body larger than the route's cap is refused
with 413 from its Content-Length alone, and a body that arrives without one (chunked)
is counted as it streams and cut off at the cap (Starlette's body-limit middleware).
Uploads (`/v1/datasets/...`) may be REPLENISH_MAX_UPLOAD_BYTES plus the multipart
envelope; every other route REPLENISH_MAX_JSON_BYTES, and so do the web app's forms
(/app/, whose pages check their session cookie themselves) but its uploads
(/app/uploads/, capped as the API's). With the database
unreachable the key cannot be checked: 503 with a retry hint.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import BAD_KEY, NO_KEY, KeyCache, bearer_token
from api.errors import problem_response, unavailable_response

GUARDED = "/v1/"
UPLOADS = "/v1/datasets/"
#: The web app's forms (api.web): signed in by cookie, their bodies capped as JSON's.
PAGES = "/app/"
PAGE_UPLOADS = "/app/uploads/"
#: Methods whose routes read no body (reads: the hot path skips the byte counting).
BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
#: Room for the multipart envelope (boundaries, part headers) around an uploaded file.
MULTIPART_ENVELOPE = 64 * 1024


class Gate:
    def __init__(
        self,
        app: ASGIApp,
        keys: KeyCache,
        routes: Sequence[BaseRoute],
        upload_bytes: int,
        json_bytes: int,
    ) -> None:
        self.keys, self.routes = keys, routes
        self.caps = {
            UPLOADS: (upload_bytes + MULTIPART_ENVELOPE, upload_bytes),
            GUARDED: (json_bytes, json_bytes),
        }
        self.limited = {
            prefix: RequestBodyLimitMiddleware(app, cap) for prefix, (cap, _) in self.caps.items()
        }
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(GUARDED):
            posted = scope["type"] == "http" and scope["method"] not in BODILESS
            if posted and scope["path"].startswith(PAGES):  # signed in by cookie (api.web)
                cap = UPLOADS if scope["path"].startswith(PAGE_UPLOADS) else GUARDED
                await self._capped(cap, scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            await self._refuse(
                problem_response(request, 401, "Not authenticated", NO_KEY), scope, receive, send
            )
            return
        try:
            principal = await self.keys.principal(token)
        except SQLAlchemyError as exc:
            await self._refuse(unavailable_response(request, exc), scope, receive, send)
            return
        if principal is None:
            await self._refuse(
                problem_response(request, 401, "Not authenticated", BAD_KEY), scope, receive, send
            )
            return
        scope.setdefault("state", {}).update(principal=principal, user=principal.name)
        if scope["method"] in BODILESS:  # no route reads a body here: nothing to count
            await self.app(scope, receive, send)
            return
        prefix = UPLOADS if scope["path"].startswith(UPLOADS) else GUARDED
        await self._capped(prefix, scope, receive, send)

    async def _capped(self, prefix: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its body capped at `prefix`'s limit (413 beyond)."""
        cap, said = self.caps[prefix]
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            detail = f"the request body is {declared:,} bytes, more than the {said:,} allowed here"
            await self._refuse(
                problem_response(Request(scope), 413, "Content Too Large", detail),
                scope, receive, send,
            )  # fmt: skip
            return
        await self.limited[prefix](scope, receive, send)

    async def _refuse(self, response: Response, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer without running the route, labelled with the route it was for (metrics
        and the request log group by route template)."""
        for route in self.routes:
            if route.matches(scope)[0] == Match.FULL:
                scope["route"] = route
                break
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    raw = Headers(scope=scope).get("content-length")
    return int(raw) if raw is not None and raw.isdigit() else None
