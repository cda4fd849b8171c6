"""People with passwords for the web app, and a browser-like client that signs in."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.accounts import create_user
from api.auth import Role
from api.web.signin import set_password

PASSWORD = "correct horse battery"


@pytest.fixture
def people(migrated: Engine) -> dict[str, str]:
    """One user per role with PASSWORD, and a second approver; their API keys by name."""
    keys = {}
    with Session(migrated) as db:
        for name, role in [
            ("bob", Role.buyer), ("ann", Role.approver), ("amy", Role.approver),
            ("pia", Role.planner), ("vic", Role.viewer), ("ada", Role.admin),
        ]:  # fmt: skip
            user, key = create_user(db, name, role)
            set_password(db, user, PASSWORD, None)
            keys[name] = key
        db.commit()
    return keys


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign `client` in as `name`; the session's CSRF token."""
    page = client.get("/app/signin")
    r = client.post(
        "/app/signin",
        data={"name": name, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/app/").text)
