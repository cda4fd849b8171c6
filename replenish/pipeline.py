"""The main job on a dataset: segments -> forecasts -> plans -> simulation -> care list.

`run` computes everything a buyer's report needs and `write` puts it in a folder in
one step (all files are written to a staging folder that then replaces the target), so
an interrupted run leaves the previous outputs, or none, never half of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from contract.atomic import replace_folder
from contract.dataset import Dataset
from forecast.engine import DatasetForecast, protection_days
from optimize.baselines import SERVICE_LEVEL, SERVICE_Z
from replenish.care import care_list
from replenish.comparison import ERP, compare_plans, plan_frontier
from replenish.planning import (
    DEFAULT_BUDGET_SHARE,
    PlanRequest,
    PlanRun,
    Stage,
    no_stage,
    plan_dataset,
    write_plan,
)
from simulations.estimate import from_dataset, planning_demand
from simulations.experiments import ExperimentResult, run_experiment
from simulations.scenario_file import parse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSettings:
    """Budget (currency; None: 60% of an unlimited plan), simulation days, replications."""

    budget: float | None = None
    days: int = 90
    replications: int = 10
    sector: str = "retail"
    engine: str = "auto"
    seed: int = 1

    def __post_init__(self) -> None:
        if self.budget is not None and not self.budget >= 0:
            raise ValueError("the budget must be a non-negative amount")
        if self.days < 1 or self.replications < 2:
            raise ValueError("simulate at least 1 day and 2 replications (for intervals)")


@dataclass(frozen=True)
class Outcome:
    """Everything the report shows. `comparison`: one row per plan (churn-aware,
    segment-blind, ERP min/max with safety stock, base-stock) with its cost and expected
    outcomes over the protection interval; `simulation`: the 90-day policy comparison
    (None without customers)."""

    dataset: Dataset
    forecast: DatasetForecast
    plan: PlanRun
    comparison: pd.DataFrame
    frontier: pd.DataFrame
    simulation: ExperimentResult | None
    care: pd.DataFrame
    churn_source: str
    settings: RunSettings
    notes: tuple[str, ...]
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(seconds: dict[str, float], name: str, stage: Stage) -> Iterator[None]:
    """`stage(name)`, its seconds kept (the stage itself says them to the person)."""
    started = time.perf_counter()
    with stage(name):
        yield
    seconds[name] = time.perf_counter() - started


def run(
    dataset: Dataset,
    settings: RunSettings | None = None,
    stage: Stage = no_stage,
    forecast_progress: Callable[[int, int], None] | None = None,
    simulation_progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Forecast, plan (and the two baselines), simulate and list customers to care for.
    `forecast_progress` and `simulation_progress` get (done, total) as the forecast's
    chunks and the simulation's runs finish."""
    cfg = settings or RunSettings()
    seconds: dict[str, float] = {}
    notes: list[str] = []
    if dataset.customers is None:
        notes.append(
            "No customers table: sales are anonymous, so the plan uses one segment and "
            "no customer-level simulation or care list is possible."
        )
    if dataset.inventory is None:
        notes.append(
            "No inventory table: stock on hand and on order are taken as zero, so the "
            "plan orders as if the shelves were empty."
        )
    planned = plan_dataset(
        dataset,
        PlanRequest(budget=cfg.budget, budget_share=DEFAULT_BUDGET_SHARE, sector=cfg.sector),
        engine=cfg.engine,
        stage=lambda name: _timed(seconds, name, stage),
        forecast_progress=forecast_progress,
    )
    forecast, churn, source, plan = (
        planned.forecast, planned.churn, planned.churn_source, planned.run
    )  # fmt: skip
    budget = float(plan.problem.budget or 0.0)
    with _timed(seconds, "compare", stage):
        comparison = compare_plans(planned)
    with _timed(seconds, "budget frontier", stage):
        frontier = plan_frontier(planned)
    simulation = None
    care = care_list(
        dataset, forecast.segments, plan.problem, plan.solution, churn, protection_days(dataset)
    )
    if dataset.customers is not None:
        with _timed(seconds, "simulation", stage):
            # The plan's churn per stockout replaces the world's (one estimate per run).
            world, behaviour, _ = from_dataset(dataset, forecast.segments, cfg.sector, "preset")
            behaviour = replace(
                behaviour, churn_per_stockout=np.array([churn.of(s) for s in world.segments])
            )
            experiment = parse(
                {
                    "run": {
                        "days": cfg.days,
                        "replications": cfg.replications,
                        "seed": cfg.seed,
                        "reference": ERP,
                        "match_inventory": ERP,
                    },
                    "policies": [
                        {"name": ERP, "kind": "min_max", "z": SERVICE_Z},
                        {
                            "name": "base-stock",
                            "kind": "base_stock",
                            "service_level": SERVICE_LEVEL,
                        },
                        {"name": "segment-blind", "kind": "segment_blind"},
                        {"name": "churn-aware", "kind": "churn_aware"},
                    ],
                    "scenarios": [{"name": f"next {cfg.days} days"}],
                }
            )
            # The policies plan with the product's forecast, not the world's own rates.
            planning = planning_demand(world, forecast)
            simulation = run_experiment(
                world, behaviour, experiment, engine=cfg.engine, planning=planning,
                progress=simulation_progress,
            )  # fmt: skip
            notes.extend(simulation.notes)
    return Outcome(
        dataset=dataset,
        forecast=forecast,
        plan=plan,
        comparison=comparison,
        frontier=frontier,
        simulation=simulation,
        care=care,
        churn_source=source,
        settings=replace(cfg, budget=budget),
        notes=tuple(notes),
        seconds=seconds,
    )


def write(outcome: Outcome, out: str | Path, report_html: Callable[[Outcome, Path], Path]) -> Path:
    """Write plan.csv, plan.json, care_list.csv, charts and report.html into `out` at once.

    Everything goes to a staging folder beside `out`, which then takes its place; a
    failure on the way leaves the previous `out` as it was.
    """

    def fill(staging: Path) -> None:
        write_plan(outcome.plan.plan, staging)
        outcome.care.to_csv(staging / "care_list.csv", index=False)
        report_html(outcome, staging)

    return replace_folder(out, fill)
