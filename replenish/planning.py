"""The planning pipeline on a dataset: forecast -> problem -> solve -> reasons -> plan files.

This is the facade the CLI and (later) the service call; the computations live in
`forecast` and `optimize`.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.engine import DatasetForecast
from forecast.segments import Segments
from optimize.inputs import ChurnAssumptions, PlanSettings, build_problem
from optimize.plan import Plan, build_plan
from optimize.problem import Problem
from optimize.reasons import explain
from optimize.reservation import reservation_levels
from optimize.solve import Solution, solve
from optimize.value_curve import SkuCurve
from replenish.dataset import Dataset
from simulations.calibration import fit_churn

EXPOSED_DAYS = 90
EXPOSED_PER_LINE = 3


@dataclass(frozen=True)
class PlanRun:
    problem: Problem
    solution: Solution
    plan: Plan


def exposed_customers(
    dataset: Dataset, segments: Segments | None, top: str = "A"
) -> dict[str, tuple[str, ...]]:
    """Per SKU, the top-tier customers who bought the most of it in the last 90 days."""
    if segments is None:
        return {}
    orders = dataset.orders
    recent = orders[orders["date"] > orders["date"].max() - pd.Timedelta(days=EXPOSED_DAYS)]
    tier = segments.customers.set_index("customer_id")["tier"].astype(str)
    recent = recent[recent["customer_id"].notna()]
    recent = recent[tier.reindex(recent["customer_id"]).to_numpy() == top]
    units = (
        (recent["quantity"] + recent["quantity_short"])
        .groupby([recent["sku_id"], recent["customer_id"]])
        .sum()
    )
    out: dict[str, tuple[str, ...]] = {}
    for sku, group in units.groupby(level=0):
        best = group.sort_values(ascending=False, kind="stable").head(EXPOSED_PER_LINE)
        out[str(sku)] = tuple(str(c) for c in best.index.get_level_values(1))
    return out


def fitted_churn(dataset: Dataset, segments: Segments | None) -> tuple[ChurnAssumptions, str]:
    """Churn per stockout fitted on the dataset's history, or the defaults and why."""
    defaults = ChurnAssumptions()
    if segments is None:
        return defaults, "defaults (no customers table)"
    tiers = segments.customers.set_index("customer_id")["tier"]
    try:
        fit = fit_churn(dataset, tiers)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return defaults, f"defaults (could not fit: {exc})"
    per_tier = {t: fit.per_event.get(t, defaults.of(t)) for t in defaults.per_tier}
    return ChurnAssumptions(per_tier), f"fitted: logit on {fit.observations:,} customer-months"


def make_plan(
    dataset: Dataset,
    run: DatasetForecast,
    settings: PlanSettings,
    rounding: str = "up",
    churn_source: str = "given",
) -> PlanRun:
    """Problem -> solution -> reasons -> plan.

    `churn_source` says where settings.churn came from (kept in the plan's record).
    """
    problem = build_problem(dataset, run.result, run.segments, settings)
    return plan_problem(problem, dataset, run, settings, rounding, churn_source)


def plan_problem(
    problem: Problem,
    dataset: Dataset,
    run: DatasetForecast,
    settings: PlanSettings,
    rounding: str = "up",
    churn_source: str = "given",
    curves: list[SkuCurve] | None = None,
) -> PlanRun:
    """Solve a built problem and explain its lines (reuse `curves` of an earlier solve)."""
    solution = solve(problem, rounding, curves)
    rows = np.flatnonzero(solution.packs > 0)
    reserve = reservation_levels(problem, problem.position + solution.quantity)
    reasons = explain(problem, solution, rows, exposed_customers(dataset, run.segments), reserve)
    assumptions = {
        "churn_per_stockout": dict(settings.churn.per_tier),
        "churn_source": churn_source,
        "holding_rate_per_year": settings.holding_rate,
        "rounding": rounding,
    }
    return PlanRun(problem, solution, build_plan(problem, solution, reasons, assumptions))


def write_plan(plan: Plan, out: str | Path) -> Path:
    """plan.csv and plan.json into `out`, each replaced in one rename."""
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    tmp = uuid.uuid4().hex[:8]
    csv_tmp, json_tmp = target / f".plan.csv.{tmp}", target / f".plan.json.{tmp}"
    try:
        plan.lines.to_csv(csv_tmp, index=False)
        json_tmp.write_text(
            json.dumps(plan.to_json(), indent=2, default=json_default), encoding="utf-8"
        )
        os.replace(csv_tmp, target / "plan.csv")
        os.replace(json_tmp, target / "plan.json")
    finally:
        for leftover in (csv_tmp, json_tmp):
            if leftover.exists():
                leftover.unlink()
    return target


def json_default(value: object) -> object:
    """`json.dumps` default for numpy values (non-finite floats become null)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
