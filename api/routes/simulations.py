"""What-if simulations over HTTP (planners): a scenario in, results with CIs and PNG charts out.

The body is the scenario file's content as JSON (`run`, `behaviour`, `policies`,
`scenarios`; see examples/what-if.toml); it is validated before anything runs, every
problem named by its place (422).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from sqlalchemy import select

from api.auth import Principal, Reader, Role, require
from api.deps import DB, RowId
from api.errors import HTTPProblem
from api.models import Simulation, SimulationChart
from api.simulations import request_simulation
from simulations.scenario_file import DEFAULT, ScenarioError

router = APIRouter(prefix="/v1", tags=["simulations"])
Planner = Annotated[Principal, Depends(require(Role.planner))]
EXAMPLE = {**DEFAULT, "run": {**DEFAULT["run"], "days": 90, "replications": 5}}  # type: ignore[dict-item]


@router.post("/simulations", status_code=202, summary="Run a what-if simulation (a job)")
def start(
    request: Request,
    response: Response,
    db: DB,
    user: Planner,
    scenario: Annotated[dict[str, Any], Body(openapi_examples={"default": {"value": EXAMPLE}})],
) -> dict[str, Any]:
    try:
        queued = request_simulation(db, user, scenario)
    except ScenarioError as exc:
        lines = str(exc).splitlines()
        raise HTTPProblem(422, "Invalid scenario", lines[0], {"problems": lines[1:]}) from None
    request.app.state.workers.submit(queued.job_id, 1)
    response.headers["Location"] = f"/v1/jobs/{queued.job_id}"
    return {"job_id": queued.job_id, "simulation_id": queued.simulation_id}


@router.get("/simulations/{simulation_id}", summary="A simulation's state and results with CIs")
def get(simulation_id: RowId, db: DB, _: Reader) -> dict[str, Any]:
    sim = db.get(Simulation, simulation_id)
    if sim is None:
        raise HTTPProblem(404, "Not Found", f"no simulation {simulation_id}")
    charts = db.scalars(
        select(SimulationChart.name).where(SimulationChart.simulation_id == simulation_id)
    ).all()
    return {
        "id": sim.id, "job_id": sim.job_id, "state": sim.state, "scenario": sim.scenario,
        "result": sim.result,
        "charts": [f"/v1/simulations/{simulation_id}/charts/{name}.png" for name in charts],
    }  # fmt: skip


@router.get(
    "/simulations/{simulation_id}/charts/{name}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    summary="One chart of a simulation (PNG)",
)
def chart(simulation_id: RowId, name: str, db: DB, _: Reader) -> Response:
    row = db.get(SimulationChart, (simulation_id, name))
    if row is None:
        raise HTTPProblem(404, "Not Found", f"no chart {name!r} for simulation {simulation_id}")
    return Response(content=row.png, media_type="image/png")
