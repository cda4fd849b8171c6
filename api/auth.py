"""API keys and roles: `Authorization: Bearer KEY`, checked on every route.

Roles: viewer (read), buyer (plans), approver (approvals), planner (simulations), admin
(everything, users). A missing, unknown or revoked key is 401, a known key without the
role a route needs is 403. Keys are 32 random bytes (urlsafe base64) and stored as
SHA-256. The key is checked by `api.gate` before any of a request's body is read; the
routes' dependencies take the principal it found. Creating, revoking and rotating keys
is `api.accounts`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.errors import HTTPProblem
from api.models import User

NO_KEY = "send an API key as `Authorization: Bearer KEY`"
BAD_KEY = "the API key is not valid (unknown or revoked)"


class Role(StrEnum):
    viewer = "viewer"
    buyer = "buyer"
    approver = "approver"
    planner = "planner"
    admin = "admin"


KEY_PREFIX = "rpl_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """The user behind a request's key: an immutable snapshot, safe to share between
    requests and threads (unlike an ORM row bound to one session)."""

    id: int
    name: str
    role: str
    key_prefix: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(user.id, user.name, user.role, user.key_prefix, user.created_at)


class KeyCache:
    """Who holds which key, remembered for `ttl` seconds per process.

    Checking the key is most of a cached read's cost if it needs a query and a trip to
    a worker thread; remembered keys need neither. Only known keys are remembered, so a
    new key works at once and an unknown one is always looked up; a user changed in the
    database is seen within `ttl` seconds (0 turns the cache off), at once by the process
    that changed it (`forget`).
    """

    def __init__(self, sessions: sessionmaker[Session], ttl: float, size: int = 10_000) -> None:
        self.sessions, self.ttl, self.size = sessions, ttl, size
        self._items: dict[str, tuple[float, Principal]] = {}

    async def principal(self, key: str) -> Principal | None:
        digest = key_hash(key)
        now = time.monotonic()
        hit = self._items.get(digest)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        found = await run_in_threadpool(self._lookup, digest)
        if found is not None and self.ttl > 0:
            if len(self._items) >= self.size:
                self._items.clear()  # rare (more users than `size`): start over
            self._items[digest] = (now, found)
        return found

    def forget(self, user_id: int) -> None:
        """Drop what this process remembers of `user_id` (revoked, rotated, new role)."""
        for digest, (_, who) in list(self._items.items()):
            if who.id == user_id:
                self._items.pop(digest, None)

    def _lookup(self, digest: str) -> Principal | None:
        # Its own short session, opened and closed in this one thread call: a request
        # never holds a pooled connection while it waits for a worker thread.
        with self.sessions() as db:
            user = db.scalar(select(User).where(User.key_hash == digest, User.revoked_at.is_(None)))
            return None if user is None else Principal.of(user)


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer KEY`")


def bearer_token(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer KEY` header value (None if there is none)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def current_user(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The user of the request's key, as `api.gate` found it before the body was read
    (`_credentials` only declares the scheme in the OpenAPI document); 401 if none."""
    user: Principal | None = getattr(request.state, "principal", None)
    if user is None:
        raise HTTPProblem(401, "Not authenticated", NO_KEY)
    return user


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through admins and the given roles (403 for the others)."""
    allowed = {r.value for r in roles} | {Role.admin.value}

    async def check(user: Annotated[Principal, Depends(current_user)]) -> Principal:
        if user.role not in allowed:
            raise HTTPProblem(
                403,
                "Forbidden",
                f"this needs the role {' or '.join(sorted(allowed))}; your key has {user.role}",
            )
        return user

    return check


CurrentUser = Annotated[Principal, Depends(current_user)]
Admin = Annotated[Principal, Depends(require(Role.admin))]
#: Any role may read (admins included).
_READ_ROLES = (Role.viewer, Role.buyer, Role.approver, Role.planner)
Reader = Annotated[Principal, Depends(require(*_READ_ROLES))]
