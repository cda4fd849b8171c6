"""Users and their keys (admin), and who am I (any role)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from api.auth import Admin, CurrentUser, Principal, create_user
from api.deps import DB, Limit, Offset
from api.errors import Problem
from api.models import AuditEntry, User
from api.schemas import AuditOut, NewUser, Page, UserIn, UserOut

router = APIRouter(prefix="/v1", tags=["users"])


@router.get("/me", response_model=UserOut, summary="The user of this API key")
def me(user: CurrentUser) -> Principal:
    return user


@router.get("/users", response_model=Page[UserOut], summary="List users (admin)")
def list_users(db: DB, _: Admin, limit: Limit = 50, offset: Offset = 0) -> dict[str, object]:
    total = db.scalar(select(func.count()).select_from(User)) or 0
    rows = db.scalars(select(User).order_by(User.id).limit(limit).offset(offset)).all()
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


@router.post("/users", response_model=NewUser, status_code=201, summary="Create a user (admin)")
def add_user(
    body: UserIn,
    request: Request,
    db: DB,
    admin: Admin,
) -> dict[str, object]:
    try:
        user, key = create_user(db, body.name, body.role)
    except IntegrityError:
        raise Problem(409, "Conflict", f"a user named {body.name!r} exists") from None
    after = {"name": user.name, "role": user.role}
    db.add(
        AuditEntry(
            actor_id=admin.id, action="create", entity="user", entity_id=str(user.id),
            after=after, request_id=request.state.request_id,
        )
    )  # fmt: skip
    db.commit()
    return {**UserOut.model_validate(user).model_dump(), "key": key}


@router.get("/audit", response_model=Page[AuditOut], summary="The audit log, newest first (admin)")
def audit(db: DB, _: Admin, limit: Limit = 50, offset: Offset = 0) -> dict[str, object]:
    total = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
    rows = db.scalars(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    ).all()
    return {"items": rows, "total": total, "limit": limit, "offset": offset}
