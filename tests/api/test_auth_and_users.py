"""Keys, roles and users over HTTP: 401 without a key, 403 without the role, problem+json."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.auth import Role, key_hash
from api.models import AuditEntry, User
from tests.api.conftest import auth

ADMIN_ONLY = [("GET", "/v1/users"), ("POST", "/v1/users"), ("GET", "/v1/audit")]


def test_no_key_or_a_wrong_key_is_401_problem_json(
    client: TestClient, keys: dict[str, str]
) -> None:
    for headers in ({}, auth("rpl_not-a-key"), {"Authorization": "Basic abc"}):
        r = client.get("/v1/me", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["www-authenticate"] == "Bearer"
        body = r.json()
        assert body["status"] == 401 and body["instance"] == "/v1/me" and body["request_id"]


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_every_admin_route_checks_key_and_role(
    client: TestClient, keys: dict[str, str], method: str, path: str
) -> None:
    body = {"name": "new", "role": "viewer"} if method == "POST" else None
    assert client.request(method, path, json=body).status_code == 401
    for role in ("viewer", "buyer", "approver", "planner"):
        r = client.request(method, path, json=body, headers=auth(keys[role]))
        assert r.status_code == 403, role
        assert "admin" in r.json()["detail"]
    ok = client.request(method, path, json=body, headers=auth(keys["admin"]))
    assert ok.status_code in (200, 201)


def test_me_answers_for_every_role(client: TestClient, keys: dict[str, str]) -> None:
    for role in Role:
        r = client.get("/v1/me", headers=auth(keys[role.value]))
        assert r.status_code == 200
        assert r.json()["role"] == role.value and r.json()["name"] == f"{role.value}-user"


def test_an_admin_creates_a_user_whose_key_works_and_is_stored_hashed(
    client: TestClient, keys: dict[str, str], migrated: Engine
) -> None:
    r = client.post("/v1/users", json={"name": "ana", "role": "buyer"}, headers=auth(keys["admin"]))
    assert r.status_code == 201
    key = r.json()["key"]
    assert client.get("/v1/me", headers=auth(key)).json()["name"] == "ana"
    with Session(migrated) as db:
        user = db.scalar(select(User).where(User.name == "ana"))
        assert user is not None and user.key_hash == key_hash(key) and key not in user.key_hash
        entry = db.scalar(select(AuditEntry).where(AuditEntry.entity_id == str(user.id)))
        assert (
            entry is not None
            and entry.action == "create"
            and entry.after == {"name": "ana", "role": "buyer"}
        )
        assert entry.request_id == r.headers["x-request-id"]
    again = client.post(
        "/v1/users", json={"name": "ana", "role": "viewer"}, headers=auth(keys["admin"])
    )
    assert again.status_code == 409 and again.json()["title"] == "Conflict"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "role": "king"}, "role"),
        ({"name": "", "role": "buyer"}, "name"),
        ({"name": "a" * 101, "role": "buyer"}, "name"),
        ({"name": "x'; DROP TABLE users;--", "role": "buyer"}, "name"),
        ({"name": "x", "role": "buyer", "admin": True}, "admin"),
        ({"role": "buyer"}, "name"),
    ],
)
def test_bad_user_bodies_are_422_with_the_field(
    client: TestClient, keys: dict[str, str], migrated: Engine, body: dict[str, object], field: str
) -> None:
    r = client.post("/v1/users", json=body, headers=auth(keys["admin"]))
    assert r.status_code == 422
    problem = r.json()
    assert problem["title"] == "Invalid request"
    assert any(field in e["loc"] for e in problem["errors"])
    with Session(migrated) as db:  # nothing was written; the table is intact
        assert len(db.scalars(select(User)).all()) == len(Role)


def test_lists_are_paginated(client: TestClient, keys: dict[str, str]) -> None:
    page = client.get("/v1/users?limit=2&offset=1", headers=auth(keys["admin"])).json()
    assert page["total"] == len(Role) and page["limit"] == 2 and page["offset"] == 1
    assert [u["name"] for u in page["items"]] == ["buyer-user", "approver-user"]
    assert "key_hash" not in page["items"][0]
    bad = client.get("/v1/users?limit=0", headers=auth(keys["admin"]))
    assert bad.status_code == 422


def test_unknown_routes_are_404_problems(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/v1/nothing-here", headers=auth(keys["viewer"]))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    # without a key, /v1 says nothing about which routes exist
    assert client.get("/v1/nothing-here").status_code == 401
    assert client.get("/nothing-here").status_code == 404


def test_every_route_checks_the_key_before_anything_else(client: TestClient) -> None:
    """With no dataset uploaded (reads would be 409, "upload these tables first"), every
    /v1 route of every method answers 401 to a request without a key, and to one with a
    wrong key, before it looks at data, path or body. Only the operations routes
    (/health, /metrics) are open, for probes and scrapers."""
    from fastapi.routing import APIRoute

    from api.app import ROUTERS

    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    guarded = [r for r in routes if r.path.startswith("/v1/")]
    assert {r.path for r in routes} - {r.path for r in guarded} == {"/health", "/metrics"}
    assert len(guarded) >= 25
    for route in guarded:
        path = route.path.replace("{", "").replace("}", "")  # any value for a parameter
        for method in route.methods or ():
            for headers in ({}, auth("rpl_not-a-key")):
                r = client.request(method, path, headers=headers, json={"x": 1})
                assert r.status_code == 401, (method, route.path, r.status_code)
