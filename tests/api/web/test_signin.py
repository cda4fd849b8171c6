"""Signing in to the web app: passwords, sessions, CSRF, lock-out, audit."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.accounts import find_user, revoke
from api.app import create_app
from api.config import Settings
from api.models import AuditEntry, User, WebSession, utcnow
from api.web import signin
from tests.api.web.conftest import PASSWORD, csrf_of, sign_in

pytestmark = pytest.mark.database


def _attempt(client: TestClient, name: str, password: str) -> int:
    page = client.get("/app/signin")
    r = client.post(
        "/app/signin",
        data={"name": name, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    return int(r.status_code)


def _audit(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back(
    client: TestClient, people: dict[str, str]
) -> None:
    r = client.get("/app/plans", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/app/signin?next=/app/plans"
    page = client.get("/app/signin?next=/app/plans")
    r = client.post(
        "/app/signin",
        data={"name": "bob", "password": PASSWORD, "csrf_token": csrf_of(page.text),
              "next": "/app/plans"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/app/plans"
    cookie = r.headers["set-cookie"]
    assert "replenish_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind HTTPS it is Secure (next test)
    assert client.get("/app/plans").status_code == 200


def test_the_session_cookie_is_secure_behind_https(
    client: TestClient, people: dict[str, str]
) -> None:
    page = client.get("/app/signin")
    r = client.post(
        "/app/signin",
        data={"name": "bob", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        headers={"X-Forwarded-Proto": "https"}, follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    assert "Secure" in r.headers["set-cookie"]


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer_and_are_audited(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    assert _attempt(client, "bob", "not the password") == 401
    assert _attempt(client, "nobody", "not the password") == 401
    assert client.get("/app/", follow_redirects=False).status_code == 303  # not signed in
    failed = _audit(migrated, "signin-failed")
    assert [e.after["name"] for e in failed if e.after] == ["bob", "nobody"]
    assert failed[1].actor_id is None


def test_repeated_failures_lock_the_user_out_even_with_the_right_password(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    for _ in range(signin.MAX_FAILURES):
        assert _attempt(client, "bob", "wrong wrong wrong") == 401
    assert _attempt(client, "bob", PASSWORD) == 423
    assert len(_audit(migrated, "signin-locked")) == 1
    # Another user is not affected, and setting a new password lifts the lock.
    assert _attempt(client, "ann", PASSWORD) == 303
    with Session(migrated) as db:
        signin.set_password(db, find_user(db, "bob"), "a brand new password", None)
        db.commit()
    assert _attempt(client, "bob", "a brand new password") == 303


def test_a_success_resets_the_count_of_failures(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    for _ in range(signin.MAX_FAILURES - 1):
        _attempt(client, "bob", "wrong wrong wrong")
    assert _attempt(client, "bob", PASSWORD) == 303
    with Session(migrated) as db:
        assert find_user(db, "bob").failed_signins == 0


def test_the_signin_form_needs_its_csrf_token(client: TestClient, people: dict[str, str]) -> None:
    client.get("/app/signin")  # sets the form's cookie
    r = client.post(
        "/app/signin", data={"name": "bob", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 403
    assert "replenish_session" not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/v1/users"])
def test_after_sign_in_the_browser_goes_nowhere_but_the_app(
    client: TestClient, people: dict[str, str], target: str
) -> None:
    page = client.get("/app/signin")
    r = client.post(
        "/app/signin",
        data={"name": "bob", "password": PASSWORD, "csrf_token": csrf_of(page.text),
              "next": target},
        follow_redirects=False,
    )  # fmt: skip
    assert r.headers["location"] == "/app/"


def test_sign_out_ends_the_session(client: TestClient, people: dict[str, str]) -> None:
    token = sign_in(client, "bob")
    cookie = client.cookies["replenish_session"]
    r = client.post("/app/signout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set("replenish_session", cookie, path="/app")  # a copied cookie is dead
    assert client.get("/app/", follow_redirects=False).status_code == 303


def test_a_user_revoked_through_the_service_is_let_through_no_more(
    client: TestClient, people: dict[str, str], migrated: Engine
) -> None:
    sign_in(client, "bob")
    with Session(migrated) as db:
        bob = find_user(db, "bob").id
    r = client.post(f"/v1/users/{bob}/revoke", headers={"Authorization": f"Bearer {people['ada']}"})
    assert r.status_code == 200
    assert client.get("/app/", follow_redirects=False).status_code == 303  # at once
    assert _attempt(client, "bob", PASSWORD) == 401


def test_other_processes_see_a_revocation_within_their_cache_time(
    people: dict[str, str], migrated: Engine
) -> None:
    """A session is remembered per process as a key is (REPLENISH_AUTH_CACHE_SECONDS): a
    process that did not revoke the user lets the session through until its cache time
    has passed (the documented bound); with no cache, not at all."""
    cached = TestClient(create_app(Settings(auth_cache_seconds=3600), migrated))
    uncached = TestClient(create_app(Settings(auth_cache_seconds=0), migrated))
    with cached, uncached:
        sign_in(cached, "bob")
        sign_in(uncached, "bob")
        with Session(migrated) as db:
            revoke(db, find_user(db, "bob"), None)
            db.commit()
        assert uncached.get("/app/", follow_redirects=False).status_code == 303
        assert cached.get("/app/", follow_redirects=False).status_code == 200  # until its TTL


def test_an_expired_session_is_refused_even_when_remembered(
    people: dict[str, str], migrated: Engine
) -> None:
    cached = TestClient(create_app(Settings(auth_cache_seconds=3600), migrated))
    with cached:
        sign_in(cached, "bob")
        token = cached.cookies["replenish_session"]
        remembered = cached.app.state.web_sessions.get(token)  # type: ignore[attr-defined]
        assert remembered is not None and remembered.user.name == "bob"
        # The clock reaches the session's expiry: remembered or not, it is over.
        now = utcnow()
        with Session(migrated) as db:
            for web in db.scalars(select(WebSession)).all():
                web.expires_at = now
            db.commit()
        expired = dataclasses.replace(remembered, expires_at=now)
        cached.app.state.web_sessions.put(token, expired)  # type: ignore[attr-defined]
        assert cached.get("/app/", follow_redirects=False).status_code == 303


def test_an_expired_session_is_refused(people: dict[str, str], migrated: Engine) -> None:
    uncached = TestClient(create_app(Settings(auth_cache_seconds=0), migrated))
    with uncached:
        sign_in(uncached, "bob")
        with Session(migrated) as db:
            for web in db.scalars(select(WebSession)).all():
                web.expires_at = web.created_at
            db.commit()
        assert uncached.get("/app/", follow_redirects=False).status_code == 303


def test_a_user_without_a_password_cannot_sign_in(client: TestClient, migrated: Engine) -> None:
    from api.accounts import create_user
    from api.auth import Role

    with Session(migrated) as db:
        create_user(db, "keyonly", Role.buyer)
        db.commit()
    assert _attempt(client, "keyonly", "") == 422  # nothing to check
    assert _attempt(client, "keyonly", "anything at all") == 401


def test_passwords_are_stored_as_argon2_hashes(people: dict[str, str], migrated: Engine) -> None:
    with Session(migrated) as db:
        stored = db.scalar(select(User.password_hash).where(User.name == "bob"))
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("password", "why"),
    [("short", "at least"), (" padded password ", "spaces"), ("x" * 300, "at most")],
)
def test_a_weak_password_is_refused_and_the_old_one_kept(
    people: dict[str, str], migrated: Engine, password: str, why: str
) -> None:
    with Session(migrated) as db:
        user = find_user(db, "bob")
        before = user.password_hash
        with pytest.raises(ValueError, match=why):
            signin.set_password(db, user, password, None)
        db.rollback()
        assert find_user(db, "bob").password_hash == before


@pytest.mark.parametrize("name", ["bo\x00b", "x" * 5000, "bob' OR '1'='1"])
def test_an_odd_name_is_a_failed_sign_in_not_an_error(
    client: TestClient, people: dict[str, str], name: str
) -> None:
    assert _attempt(client, name, PASSWORD) == 401
