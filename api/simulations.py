"""What-if simulations: a validated scenario in, a queued job and its simulation out.

The scenario is the scenario file's content (`simulations.scenario_file`), checked
before anything is stored; ScenarioError names every problem by its place. Used by the
API's route and by the planner's page, so both validate and queue the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from api.auth import Principal
from api.jobs import new_job_id
from api.models import Job, Simulation
from simulations.scenario_file import parse


@dataclass(frozen=True)
class Queued:
    job_id: str
    simulation_id: int


def request_simulation(db: Session, user: Principal, scenario: dict[str, Any]) -> Queued:
    """Store a simulation of `scenario` and its job (commits); ScenarioError if the
    scenario is not valid (nothing stored). The caller hands the job to the workers."""
    parse(scenario, "scenario")
    job = Job(id=new_job_id(), kind="simulation", params={}, created_by=user.id, attempt=1)
    db.add(job)
    db.flush()
    sim = Simulation(job_id=job.id, requested_by=user.id, scenario=scenario)
    db.add(sim)
    db.commit()
    return Queued(job.id, sim.id)
