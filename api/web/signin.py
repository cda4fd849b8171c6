"""Passwords, sign-in with lock-out, and browser sessions with their CSRF tokens.

A user signs in to the app with their name and a password (argon2 via pwdlib: a slow,
salted hash, since people choose guessable passwords); their API key stays for
programs. `MAX_FAILURES` wrong passwords in a row lock the user out for `LOCK_MINUTES`
(a correct password is refused too while locked). Every attempt lands in the audit log,
an unknown name included, and a wrong name costs the same hash as a wrong password (no
timing tells which names exist). A session is 32 random bytes in an HttpOnly cookie,
stored as its SHA-256 with its expiry and the CSRF token its forms carry. Revoking a
user (api.accounts.revoke) ends their sessions: at once in the process that revoked them,
in the others within REPLENISH_AUTH_CACHE_SECONDS (`SessionCache`), as for API keys.
Functions here commit: each attempt is recorded even when it is refused.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.accounts import AccountError
from api.auth import Principal
from api.models import AuditEntry, User, WebSession, utcnow

#: Wrong passwords in a row that lock a user out, and for how long (minutes).
MAX_FAILURES = 5
LOCK_MINUTES = 15
#: How long a session lasts after sign-in (hours).
SESSION_HOURS = 12
#: Shortest password accepted (characters); longer ones are limited by what argon2
#: takes cheaply.
MIN_PASSWORD = 10
MAX_PASSWORD = 256

_hasher = PasswordHash.recommended()
#: Verified against when the name is unknown, so that case costs one hash as well.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class SignInRefused(Exception):
    """Why a sign-in was refused: `code` is "invalid" (unknown name or wrong password,
    never said apart) or "locked" (until `until`)."""

    def __init__(self, code: str, until: datetime | None = None) -> None:
        super().__init__(code)
        self.code, self.until = code, until


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session: the cookie's token (shown once), its CSRF token, who, until when."""

    token: str
    csrf_token: str
    user: Principal
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def check_password(password: str) -> None:
    """ValueError saying what is wrong with `password` as a new password."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"a password has at most {MAX_PASSWORD} characters")
    if password.strip() != password or "\x00" in password:
        raise ValueError("a password may not start or end with spaces or hold a NUL")


def set_password(
    db: Session, user: User, password: str, actor_id: int | None, request_id: str | None = None
) -> None:
    """Give `user` a new app password (ValueError if too weak; AccountError 409 if the
    user is revoked). Ends the user's other sessions and any lock-out. Flushes and
    audits; the caller commits."""
    if user.revoked_at is not None:
        raise AccountError(409, f"{user.name} is revoked: cannot set a password")
    check_password(password)
    user.password_hash = _hasher.hash(password)
    user.failed_signins, user.locked_until = 0, None
    db.execute(delete(WebSession).where(WebSession.user_id == user.id))
    db.flush()
    db.add(
        AuditEntry(
            actor_id=actor_id, action="set-password", entity="user", entity_id=str(user.id),
            after={"password": "changed"}, request_id=request_id,
        )
    )  # fmt: skip


def sign_in(db: Session, name: str, password: str, request_id: str | None) -> SignedIn:
    """A new session for `name` with `password`, or SignInRefused; commits the attempt
    (audit, failure count, lock-out) either way."""
    now = utcnow()
    user = db.scalar(select(User).where(User.name == name).with_for_update()) if name else None
    usable = user is not None and user.revoked_at is None and user.password_hash is not None
    if user is not None and user.locked_until is not None and _aware(user.locked_until) > now:
        _hasher.verify(password, _DUMMY_HASH)  # the same cost as any other attempt
        _signin_audit(db, user, name, "signin-locked", request_id)
        db.commit()
        raise SignInRefused("locked", _aware(user.locked_until))
    stored = user.password_hash if usable and user is not None else None
    ok = _hasher.verify(password, stored or _DUMMY_HASH) and stored is not None
    if not ok or user is None:
        if user is not None:
            user.failed_signins += 1
            if user.failed_signins >= MAX_FAILURES:
                user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                user.failed_signins = 0
        _signin_audit(db, user, name, "signin-failed", request_id)
        db.commit()
        raise SignInRefused("invalid")
    user.failed_signins, user.locked_until = 0, None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(hours=SESSION_HOURS)
    db.add(WebSession(token_hash=_digest(token), user_id=user.id, csrf_token=csrf,
                      created_at=now, expires_at=expires))  # fmt: skip
    db.execute(delete(WebSession).where(WebSession.expires_at < now))  # tidy the old ones
    _signin_audit(db, user, name, "signin", request_id)
    db.commit()
    return SignedIn(token, csrf, Principal.of(user), expires)


def _signin_audit(
    db: Session, user: User | None, name: str, action: str, request_id: str | None
) -> None:
    db.add(
        AuditEntry(
            actor_id=user.id if user is not None else None, action=action, entity="user",
            entity_id=str(user.id) if user is not None else name[:100],
            after={"name": name[:100]}, request_id=request_id,
        )
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Current:
    """The signed-in user of a request, their session's CSRF token and language."""

    user: Principal
    csrf_token: str
    language: str | None
    expires_at: datetime


def session_user(db: Session, token: str) -> Current | None:
    """The live session of cookie `token` and its user; None if unknown, expired or the
    user was revoked."""
    found = db.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == _digest(token))
    ).first()
    if found is None:
        return None
    web, user = found
    if _aware(web.expires_at) <= utcnow() or user.revoked_at is not None:
        return None
    return Current(Principal.of(user), web.csrf_token, user.language, _aware(web.expires_at))


class SessionCache:
    """Live sessions remembered for `ttl` seconds per process, as `api.auth.KeyCache`
    remembers API keys (the same setting, REPLENISH_AUTH_CACHE_SECONDS).

    Looking the session up is a query and a trip to a worker thread on every page; a
    remembered session needs neither. A session still ends at its expiry. Sign-out,
    revocation and a new language are seen at once by the process that made them
    (`forget`), by the other processes within `ttl` seconds (0 turns the cache off).
    """

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._items: dict[str, tuple[float, Current]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Current | None:
        """The remembered live session of cookie `token`, if any."""
        hit = self._items.get(_digest(token))
        if hit is None or time.monotonic() - hit[0] >= self.ttl:
            return None
        return hit[1] if hit[1].expires_at > utcnow() else None

    def put(self, token: str, current: Current) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()  # rare (more live sessions than `size`): start over
            self._items[_digest(token)] = (time.monotonic(), current)

    def forget(self, user_id: int | None = None, token: str | None = None) -> None:
        """Drop the session of cookie `token`, or every session of `user_id`."""
        with self._lock:
            if token is not None:
                self._items.pop(_digest(token), None)
            if user_id is not None:
                for digest, (_, current) in list(self._items.items()):
                    if current.user.id == user_id:
                        self._items.pop(digest, None)


def sign_out(db: Session, token: str, user_id: int, request_id: str | None) -> None:
    """End the session of cookie `token` (commits)."""
    db.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))
    db.add(
        AuditEntry(
            actor_id=user_id, action="signout", entity="user", entity_id=str(user_id),
            request_id=request_id,
        )
    )  # fmt: skip
    db.commit()


def set_language(db: Session, user_id: int, language: str | None) -> None:
    """Remember `user_id`'s language for the app (commits)."""
    user = db.get(User, user_id)
    if user is not None:
        user.language = language
        db.commit()
