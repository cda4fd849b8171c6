"""Keys can be revoked and rotated and roles changed, by an admin over the API and by
`replenish users`; each change is audited and the last admin is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.app import create_app
from api.config import Settings
from api.models import AuditEntry
from cli.main import app as cli
from tests.api.conftest import auth

runner = CliRunner()


def _id(client: TestClient, admin: str, name: str) -> int:
    users = client.get("/v1/users", headers=auth(admin)).json()["items"]
    return int(next(u["id"] for u in users if u["name"] == name))


def test_an_admin_revokes_rotates_and_changes_roles(
    client: TestClient, keys: dict[str, str], migrated: Engine
) -> None:
    admin, buyer = keys["admin"], keys["buyer"]
    buyer_id = _id(client, admin, "buyer-user")
    assert client.get("/v1/me", headers=auth(buyer)).status_code == 200  # now cached

    for role in ("viewer", "buyer", "approver", "planner"):
        for path in (f"/v1/users/{buyer_id}/revoke", f"/v1/users/{buyer_id}/rotate"):
            assert client.post(path, headers=auth(keys[role])).status_code in (401, 403)

    rotated = client.post(f"/v1/users/{buyer_id}/rotate", headers=auth(admin))
    assert rotated.status_code == 200
    new_key = rotated.json()["key"]
    assert rotated.json()["key_prefix"] == new_key[:8] != buyer[:8]
    assert client.get("/v1/me", headers=auth(buyer)).status_code == 401  # old key: at once
    assert client.get("/v1/me", headers=auth(new_key)).json()["name"] == "buyer-user"

    changed = client.patch(f"/v1/users/{buyer_id}", json={"role": "approver"}, headers=auth(admin))
    assert changed.status_code == 200 and changed.json()["role"] == "approver"
    assert client.get("/v1/me", headers=auth(new_key)).json()["role"] == "approver"
    bad = client.patch(f"/v1/users/{buyer_id}", json={"role": "king"}, headers=auth(admin))
    assert bad.status_code == 422

    revoked = client.post(f"/v1/users/{buyer_id}/revoke", headers=auth(admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = client.get("/v1/me", headers=auth(new_key))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    again = client.post(f"/v1/users/{buyer_id}/revoke", headers=auth(admin))
    assert again.status_code == 409
    assert client.post(f"/v1/users/{buyer_id}/rotate", headers=auth(admin)).status_code == 409
    assert client.post("/v1/users/99999/revoke", headers=auth(admin)).status_code == 404

    with Session(migrated) as db:
        actions = [
            a.action
            for a in db.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity == "user", AuditEntry.entity_id == str(buyer_id))
                .order_by(AuditEntry.id)
            )
        ]
    assert actions == ["create", "rotate", "set-role", "revoke"]


def test_the_last_admin_is_kept(client: TestClient, keys: dict[str, str]) -> None:
    admin = keys["admin"]
    me = _id(client, admin, "admin-user")
    demote = client.patch(f"/v1/users/{me}", json={"role": "viewer"}, headers=auth(admin))
    assert demote.status_code == 409 and "last active admin" in demote.json()["detail"]
    assert client.post(f"/v1/users/{me}/revoke", headers=auth(admin)).status_code == 409
    second = client.post("/v1/users", json={"name": "bo", "role": "admin"}, headers=auth(admin))
    bo = second.json()
    assert client.post(f"/v1/users/{me}/revoke", headers=auth(bo["key"])).status_code == 200
    assert client.get("/v1/me", headers=auth(admin)).status_code == 401
    last = client.patch(f"/v1/users/{bo['id']}", json={"role": "buyer"}, headers=auth(bo["key"]))
    assert last.status_code == 409


def test_other_processes_see_a_revoked_key_within_their_cache_time(
    migrated: Engine, keys: dict[str, str]
) -> None:
    """A second service process on the same database: with a cache it keeps a known key
    until its cache time has passed (the documented bound); with none, not at all."""
    admin, buyer = keys["admin"], keys["buyer"]
    here = TestClient(create_app(Settings(), migrated))
    cached = TestClient(create_app(Settings(auth_cache_seconds=3600), migrated))
    uncached = TestClient(create_app(Settings(auth_cache_seconds=0), migrated))
    with here, cached, uncached:
        for c in (cached, uncached):
            assert c.get("/v1/me", headers=auth(buyer)).status_code == 200
        buyer_id = _id(here, admin, "buyer-user")
        assert here.post(f"/v1/users/{buyer_id}/revoke", headers=auth(admin)).status_code == 200
        assert uncached.get("/v1/me", headers=auth(buyer)).status_code == 401
        assert cached.get("/v1/me", headers=auth(buyer)).status_code == 200  # until its TTL


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    monkeypatch.setenv("REPLENISH_DATABASE_URL", url)
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    return url


def test_users_commands_list_revoke_rotate_and_set_roles(database: str) -> None:
    key = runner.invoke(cli, ["users", "create", "ana", "--role", "buyer"]).stdout.strip()
    root = runner.invoke(cli, ["users", "create", "root", "--role", "admin"]).stdout.strip()
    listed = runner.invoke(cli, ["users", "list"])
    assert listed.exit_code == 0 and "ana" in listed.stdout and key[:8] in listed.stdout

    rotated = runner.invoke(cli, ["users", "rotate", "ana"])
    assert rotated.exit_code == 0
    new_key = rotated.stdout.strip()
    assert new_key.startswith("rpl_") and new_key != key and "\n" not in new_key

    role = runner.invoke(cli, ["users", "set-role", "ana", "approver"])
    assert role.exit_code == 0 and "now approver" in role.stderr
    assert runner.invoke(cli, ["users", "set-role", "ana", "king"]).exit_code == 2

    revoked = runner.invoke(cli, ["users", "revoke", "1"])  # by id
    assert revoked.exit_code == 0 and "revoked" in revoked.stderr
    twice = runner.invoke(cli, ["users", "revoke", "ana"])
    assert twice.exit_code == 1 and "revoked" in twice.stderr
    assert runner.invoke(cli, ["users", "revoke", "nobody"]).exit_code == 1
    last = runner.invoke(cli, ["users", "set-role", "root", "viewer"])
    assert last.exit_code == 1 and "last active admin" in last.stderr

    with TestClient(create_app(Settings(database_url=database))) as c:
        assert c.get("/v1/me", headers=auth(new_key)).status_code == 401
        audit = c.get("/v1/audit", headers=auth(root)).json()["items"]
    assert [a["action"] for a in audit[:3]] == ["revoke", "set-role", "rotate"]
    assert all(a["request_id"] == "cli" for a in audit[:3])
