"""Users and their keys (admin): create, list, revoke, rotate, change role; who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from api import accounts
from api.auth import Admin, CurrentUser, KeyCache, Principal
from api.deps import DB, Limit, Offset, RowId
from api.errors import HTTPProblem
from api.models import AuditEntry, User
from api.schemas import AuditOut, NewUser, Page, RoleChange, UserIn, UserOut

router = APIRouter(prefix="/v1", tags=["users"])


@router.get("/me", response_model=UserOut, summary="The user of this API key")
def me(user: CurrentUser) -> Principal:
    return user


@router.get("/users", response_model=Page[UserOut], summary="List users (admin)")
def list_users(db: DB, _: Admin, limit: Limit = 50, offset: Offset = 0) -> dict[str, object]:
    rows = accounts.list_users(db, limit, offset)
    return {"items": rows, "total": accounts.count_users(db), "limit": limit, "offset": offset}


@router.post("/users", response_model=NewUser, status_code=201, summary="Create a user (admin)")
def add_user(body: UserIn, request: Request, db: DB, admin: Admin) -> dict[str, object]:
    try:
        user, key = accounts.create_user(
            db, body.name, body.role, admin.id, request.state.request_id
        )
    except accounts.AccountError as exc:
        raise _refused(exc) from None
    db.commit()
    return {**UserOut.model_validate(user).model_dump(), "key": key}


def _changed(request: Request, db: DB, user: User) -> None:
    """Commit a lifecycle change and forget the user's cached key and app sessions in this
    process (the others see it within REPLENISH_AUTH_CACHE_SECONDS)."""
    db.commit()
    keys: KeyCache = request.app.state.keys
    keys.forget(user.id)
    request.app.state.web_sessions.forget(user_id=user.id)


def _user(db: DB, user_id: int) -> User:
    try:
        return accounts.find_user(db, user_id)
    except accounts.AccountError as exc:
        raise HTTPProblem(exc.status, "Not Found", exc.message) from None


def _refused(exc: accounts.AccountError) -> HTTPProblem:
    return HTTPProblem(exc.status, "Conflict" if exc.status == 409 else "Not Found", exc.message)


@router.post(
    "/users/{user_id}/revoke", response_model=UserOut, summary="Revoke a user's key (admin)"
)
def revoke(user_id: RowId, request: Request, db: DB, admin: Admin) -> User:
    user = _user(db, user_id)
    try:
        accounts.revoke(db, user, admin.id, request.state.request_id)
    except accounts.AccountError as exc:
        raise _refused(exc) from None
    _changed(request, db, user)
    return user


@router.post(
    "/users/{user_id}/rotate",
    response_model=NewUser,
    summary="Give a user a new key; the old one stops working (admin)",
)
def rotate(user_id: RowId, request: Request, db: DB, admin: Admin) -> dict[str, object]:
    user = _user(db, user_id)
    try:
        _, key = accounts.rotate(db, user, admin.id, request.state.request_id)
    except accounts.AccountError as exc:
        raise _refused(exc) from None
    _changed(request, db, user)
    return {**UserOut.model_validate(user).model_dump(), "key": key}


@router.patch("/users/{user_id}", response_model=UserOut, summary="Change a user's role (admin)")
def set_role(user_id: RowId, body: RoleChange, request: Request, db: DB, admin: Admin) -> User:
    user = _user(db, user_id)
    try:
        accounts.set_role(db, user, body.role, admin.id, request.state.request_id)
    except accounts.AccountError as exc:
        raise _refused(exc) from None
    _changed(request, db, user)
    return user


@router.get("/audit", response_model=Page[AuditOut], summary="The audit log, newest first (admin)")
def audit(db: DB, _: Admin, limit: Limit = 50, offset: Offset = 0) -> dict[str, object]:
    total = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
    rows = db.scalars(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    ).all()
    return {"items": rows, "total": total, "limit": limit, "offset": offset}
