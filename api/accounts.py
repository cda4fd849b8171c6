"""Users and their API keys: create, revoke, rotate, change role; each one audited.

The one place for the key lifecycle, used by the admin routes and by `replenish users`.
A key is shown once, when it is made, and stored only as its SHA-256. A revoked or
rotated key is refused at once by the process that changed it and by every other
service process within REPLENISH_AUTH_CACHE_SECONDS (`api.auth.KeyCache`). The last
active admin can be neither revoked nor made another role: someone must be able to
manage keys. Functions here flush and audit; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Role, key_hash, new_key
from api.models import AuditEntry, User, utcnow


class AccountError(Exception):
    """A lifecycle step that cannot be done: `status` 404 (no such user) or 409."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _audit(
    db: Session,
    action: str,
    user: User,
    actor_id: int | None,
    request_id: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    db.add(
        AuditEntry(
            actor_id=actor_id, action=action, entity="user", entity_id=str(user.id),
            before=before, after=after, request_id=request_id,
        )
    )  # fmt: skip


def create_user(
    db: Session,
    name: str,
    role: Role,
    actor_id: int | None = None,
    request_id: str | None = None,
    via: str | None = None,
) -> tuple[User, str]:
    """A new user and their key (returned once, never stored); 409 if the name is taken.
    `via` notes where it was done from (e.g. "cli") in the audit log."""
    key = new_key()
    user = User(name=name, role=role.value, key_hash=key_hash(key), key_prefix=key[:8])
    db.add(user)
    try:
        db.flush()
    except IntegrityError:  # the name is unique in the schema, so a race ends here too
        db.rollback()
        raise AccountError(409, f"a user named {name!r} exists") from None
    after: dict[str, Any] = {"name": user.name, "role": user.role}
    if via:
        after["via"] = via
    _audit(db, "create", user, actor_id, request_id, after=after)
    return user, key


def list_users(db: Session, limit: int | None = None, offset: int = 0) -> Sequence[User]:
    """Users in the order they were created."""
    return db.scalars(select(User).order_by(User.id).limit(limit).offset(offset)).all()


def count_users(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(User)) or 0)


def find_user(db: Session, who: str | int) -> User:
    """The user with this id (an int, or a string of digits) or name; 404 if none."""
    if isinstance(who, int) or who.isdigit():
        user = db.get(User, int(who))
    else:
        user = db.scalar(select(User).where(User.name == who))
    if user is None:
        raise AccountError(404, f"no user {who!r}")
    return user


def _keep_an_admin(db: Session, user: User, change: str) -> None:
    """409 if `user` is the last active admin. The admins' rows are locked first
    (PostgreSQL), so two admins demoting each other at once cannot both pass."""
    if user.role != Role.admin.value:
        return
    active = select(User.id).where(User.role == Role.admin.value, User.revoked_at.is_(None))
    if db.get_bind().dialect.name == "postgresql":
        db.execute(active.with_for_update())
    others = db.scalar(
        select(func.count()).select_from(active.where(User.id != user.id).subquery())
    )
    if not others:
        raise AccountError(409, f"{user.name} is the last active admin: cannot {change}")


def _active(user: User, change: str) -> None:
    if user.revoked_at is not None:
        raise AccountError(409, f"{user.name}'s key was revoked: cannot {change}")


def revoke(db: Session, user: User, actor_id: int | None, request_id: str | None = None) -> User:
    """Refuse `user`'s key from now on (409 if already revoked or the last admin)."""
    _active(user, "revoke it again")
    _keep_an_admin(db, user, "revoke their key")
    user.revoked_at = utcnow()
    db.flush()
    _audit(db, "revoke", user, actor_id, request_id, after={"revoked": True})
    return user


def rotate(
    db: Session, user: User, actor_id: int | None, request_id: str | None = None
) -> tuple[User, str]:
    """A new key for `user`; the old one is refused from now on. Returns the new key."""
    _active(user, "rotate it")
    key = new_key()
    before = {"key_prefix": user.key_prefix}
    user.key_hash, user.key_prefix = key_hash(key), key[:8]
    db.flush()
    _audit(db, "rotate", user, actor_id, request_id, before, {"key_prefix": user.key_prefix})
    return user, key


def set_role(
    db: Session, user: User, role: Role, actor_id: int | None, request_id: str | None = None
) -> User:
    """Give `user` another role (409 if revoked, or the last admin made something else)."""
    _active(user, "change their role")
    if user.role == role.value:
        return user
    if role != Role.admin:
        _keep_an_admin(db, user, f"make them {role.value}")
    before = {"role": user.role}
    user.role = role.value
    db.flush()
    _audit(db, "set-role", user, actor_id, request_id, before, {"role": role.value})
    return user
