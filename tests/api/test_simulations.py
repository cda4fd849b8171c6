"""What-if simulations over HTTP: a planner's scenario runs as a job; results and charts."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import auth, wait

SCENARIO: dict[str, Any] = {
    "run": {"days": 30, "replications": 3, "seed": 2, "reference": "min/max"},
    "policies": [
        {"name": "min/max", "kind": "min_max"},
        {"name": "base-stock", "kind": "base_stock", "service_level": 0.9},
    ],
    "scenarios": [{"name": "baseline"}, {"name": "lead x2", "lead_time_factor": 2.0}],
}


def test_a_planner_runs_a_scenario_and_reads_results_and_charts(
    stocked: TestClient, keys: dict[str, str]
) -> None:
    client, planner = stocked, keys["planner"]
    r = client.post("/v1/simulations", json=SCENARIO, headers=auth(planner))
    assert r.status_code == 202
    job = wait(client, planner, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    sim = client.get(f"/v1/simulations/{r.json()['simulation_id']}", headers=auth(keys["viewer"]))
    body = sim.json()
    assert body["state"] == "succeeded" and body["result"]["reference"] == "min/max"
    summary = body["result"]["summary"]
    assert {row["scenario"] for row in summary} == {"baseline", "lead x2"}
    assert all(row["n"] == 3 and row["ci_low"] <= row["mean"] <= row["ci_high"] for row in summary)
    assert {row["policy"] for row in body["result"]["paired"]} == {"base-stock"}
    assert len(body["charts"]) == 3
    png = client.get(body["charts"][0], headers=auth(keys["viewer"]))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:4] == b"\x89PNG"


def test_bad_scenarios_are_refused_before_anything_runs(
    client: TestClient, keys: dict[str, str]
) -> None:
    bad = {**SCENARIO, "run": {"days": -1}, "policies": [{"name": "x", "kind": "magic"}]}
    r = client.post("/v1/simulations", json=bad, headers=auth(keys["planner"]))
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert any("run.days" in p for p in problems) and any("policies[0].kind" in p for p in problems)
    for role in ("viewer", "buyer", "approver"):
        assert (
            client.post("/v1/simulations", json=SCENARIO, headers=auth(keys[role])).status_code
            == 403
        )
    assert client.get("/v1/simulations/42", headers=auth(keys["viewer"])).status_code == 404
