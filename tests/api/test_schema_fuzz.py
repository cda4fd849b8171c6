"""Schemathesis against the OpenAPI document: generated requests never get a 500.

Every operation of the schema gets property-based requests (valid and invalid bodies,
parameters and files, strings with NUL characters) with an admin key; whatever they
are, the answer is below 500 and, for errors, a problem document.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from sqlalchemy import Engine

from api.app import create_app
from api.config import Settings


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(migrated: Engine, keys: dict[str, str]) -> None:
    app = create_app(Settings(max_upload_bytes=100_000), migrated)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Strings may hold NUL (PostgreSQL cannot store it: the service must answer 422).
    schema.config.generation.update(allow_x00=True)
    headers = {"Authorization": f"Bearer {keys['admin']}"}
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 20
    seen: list[tuple[str, str, int]] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def check(case: Case) -> None:
            response = case.call(headers=headers)
            seen.append((case.method, case.path, response.status_code))
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            if response.status_code >= 400:
                kinds = {k.lower(): v for k, v in response.headers.items()}["content-type"]
                assert kinds[0].startswith("application/problem+json"), (case.path, kinds)

        check()
    assert len({(m, p) for m, p, _ in seen}) == len(operations)
    ok = {(m, p) for m, p, status in seen if 200 <= status < 300}
    assert len(ok) >= 8  # the key is sent: many operations also answered successfully
