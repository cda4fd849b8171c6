"""Health, metrics, request ids, and the OpenAPI document."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api import migrate
from tests.api.conftest import auth


def test_health_reports_the_database_and_its_revision(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "revision": migrate.head()}


def test_request_ids_are_echoed_or_made(client: TestClient) -> None:
    given = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32


def test_metrics_count_requests_by_route_and_status(
    client: TestClient, keys: dict[str, str]
) -> None:
    client.get("/v1/me", headers=auth(keys["viewer"]))
    client.get("/v1/me")
    text = client.get("/metrics").text
    assert 'replenish_requests_total{method="GET",route="/v1/me",status="200"} 1' in text
    assert 'replenish_requests_total{method="GET",route="/v1/me",status="401"} 1' in text
    assert "# TYPE replenish_request_seconds_sum counter" in text


def test_openapi_documents_the_bearer_key_and_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/users" in spec["paths"] and "/health" in spec["paths"]
    assert any(s.get("scheme") == "bearer" for s in spec["components"]["securitySchemes"].values())
    assert spec["components"]["schemas"]["UserIn"]["examples"] == [{"name": "ana", "role": "buyer"}]
