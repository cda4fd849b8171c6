"""API keys and roles: `Authorization: Bearer KEY`, checked on every route.

Roles: viewer (read), buyer (plans), approver (approvals), planner (simulations), admin
(everything, users). A missing or unknown key is 401, a known key without the role a
route needs is 403. Keys are 32 random bytes (urlsafe base64) and stored as SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DB
from api.errors import Problem
from api.models import User


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


def create_user(db: Session, name: str, role: Role) -> tuple[User, str]:
    """A new user and their key (the key is returned once and never stored)."""
    key = new_key()
    user = User(name=name, role=role.value, key_hash=key_hash(key), key_prefix=key[:8])
    db.add(user)
    db.flush()
    return user, key


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer KEY`")


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    db: DB,
) -> User:
    """The user of the request's key; 401 problem when there is none or it is unknown."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "Not authenticated", "send an API key as `Authorization: Bearer KEY`")
    user = db.scalar(select(User).where(User.key_hash == key_hash(credentials.credentials)))
    if user is None:
        raise Problem(401, "Not authenticated", "the API key is not valid")
    request.state.user = user.name
    return user


def require(*roles: Role) -> Callable[..., User]:
    """A dependency that lets through admins and the given roles (403 for the others)."""
    allowed = {r.value for r in roles} | {Role.admin.value}

    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in allowed:
            raise Problem(
                403,
                "Forbidden",
                f"this needs the role {' or '.join(sorted(allowed))}; your key has {user.role}",
            )
        return user

    return check


CurrentUser = Annotated[User, Depends(current_user)]
Admin = Annotated[User, Depends(require(Role.admin))]
#: Any role may read (admins included).
Reader = Annotated[User, Depends(require(Role.viewer, Role.buyer, Role.approver, Role.planner))]
