"""The one path from a dataset to a reorder plan: forecast -> churn -> problem -> solve ->
reasons, and the plan files.

`plan_dataset` is what `replenish plan`, the main job (`replenish run`) and the
service's plan jobs all call; the computations live in `forecast`, `simulations`
(churn fitted on the history) and `optimize`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from contract.atomic import replace_files
from contract.dataset import Dataset
from forecast.engine import DatasetForecast, ForecastConfig, forecast_dataset
from forecast.segments import Segments, segment_customers
from optimize.inputs import ChurnAssumptions, PlanSettings, build_problem
from optimize.plan import ReorderPlan, build_plan
from optimize.problem import ReorderProblem
from optimize.reasons import explain
from optimize.reservation import reservation_levels
from optimize.solve import Solution, solve
from optimize.value_curve import SkuCurve
from simulations.churn import churn_from_history, exposure_days
from simulations.world import PRESETS

EXPOSED_DAYS = 90
EXPOSED_PER_LINE = 3
#: The budget when none is given: this share of what an unlimited plan would spend.
DEFAULT_BUDGET_SHARE = 0.6
#: Where churn per stockout comes from: fitted on the history, or the preset rates.
ChurnSource = Literal["fitted", "preset"]
#: A named stage of work, entered as a context (progress bars, timings, job progress).
Stage = Callable[[str], AbstractContextManager[None]]


def no_stage(_name: str) -> AbstractContextManager[None]:
    return nullcontext()


@dataclass(frozen=True)
class PlanRequest:
    """What a buyer asks for. `budget` (currency; None: `budget_share` of what an
    unlimited plan would spend), `capacity` (volume), where churn per stockout comes
    from, pack rounding ("up" or "cap"), the forecast horizon (days), and the suppliers
    and categories whose SKUs the plan covers."""

    budget: float | None = None
    capacity: float | None = None
    churn: ChurnSource = "fitted"
    rounding: str = "up"
    horizon_days: int = 28
    budget_share: float = DEFAULT_BUDGET_SHARE
    sector: str = "retail"  # the churn prior (DESIGN.md's sector presets)
    suppliers: tuple[str, ...] = ()  # plan only these suppliers' SKUs (empty: all)
    categories: tuple[str, ...] = ()  # ... and these categories' SKUs (empty: all)

    def __post_init__(self) -> None:
        if self.budget is not None and not (np.isfinite(self.budget) and self.budget >= 0):
            raise ValueError(f"the budget must be a non-negative amount, got {self.budget}")
        if self.capacity is not None and not (np.isfinite(self.capacity) and self.capacity >= 0):
            raise ValueError(f"the capacity must be a non-negative volume, got {self.capacity}")
        if self.churn not in ("fitted", "preset"):
            raise ValueError(f"churn comes from 'fitted' or 'preset', not {self.churn!r}")
        if self.rounding not in ("up", "cap"):
            raise ValueError(f"rounding is 'up' or 'cap', not {self.rounding!r}")
        if self.sector not in PRESETS:
            raise ValueError(f"unknown sector {self.sector!r}; choose one of {sorted(PRESETS)}")
        if not 0 < self.budget_share <= 1 or self.horizon_days < 1:
            raise ValueError("budget_share must lie in (0, 1] and horizon_days be at least 1")


@dataclass(frozen=True)
class PlanRun:
    problem: ReorderProblem
    solution: Solution
    plan: ReorderPlan


@dataclass(frozen=True)
class PlannedDataset:
    """A plan with everything it was made from: the forecast, the churn per stockout it
    priced stockouts with (and where that came from), and the plan itself."""

    forecast: DatasetForecast
    churn: ChurnAssumptions
    churn_source: str
    run: PlanRun


def plan_dataset(
    dataset: Dataset,
    request: PlanRequest,
    engine: str = "auto",
    address: str | None = None,
    stage: Stage = no_stage,
    forecast_progress: Callable[[int, int], None] | None = None,
) -> PlannedDataset:
    """Forecast `dataset`, price stockouts by churn, and plan what to order.

    Stages "forecast" and "plan" are entered through `stage`; `forecast_progress(done,
    total)` is called as chunks of SKUs are forecast (it may raise to stop the work).
    """
    whole = dataset
    dataset = restrict(whole, request.suppliers, request.categories)
    with stage("forecast"):
        config = ForecastConfig(horizon=request.horizon_days)
        # Tiers, churn and customer value come from the whole history: a customer's worth
        # does not shrink because this plan covers one supplier.
        segments = segment_customers(whole) if whole.customers is not None else None
        run = forecast_dataset(
            dataset, config, engine=engine, address=address, progress=forecast_progress,
            segments=segments,
        )  # fmt: skip
    with stage("plan"):
        churn, source = churn_assumptions(whole, segments, request.churn, request.sector)
        settings = PlanSettings(budget=request.budget, capacity=request.capacity, churn=churn)
        problem = build_problem(dataset, run.result, run.segments, settings)
        curves = None
        if request.budget is None:  # the budget follows from what an unlimited plan buys
            ample = solve(problem, request.rounding)
            budget = round(request.budget_share * ample.cost, 2)
            problem, settings = replace(problem, budget=budget), replace(settings, budget=budget)
            curves = ample.curves
        planned = plan_problem(problem, dataset, run, settings, request.rounding, source, curves)
    return PlannedDataset(run, churn, source, planned)


def restrict(dataset: Dataset, suppliers: Sequence[str], categories: Sequence[str]) -> Dataset:
    """The dataset cut to the SKUs of these suppliers and categories (empty: all), and
    their orders and stock. ValueError if no SKU matches."""
    skus = dataset.skus
    keep = np.ones(len(skus), dtype=bool)
    if suppliers:
        keep &= skus["supplier_id"].isin(list(suppliers)).to_numpy()
    if categories:
        keep &= skus["category"].isin(list(categories)).to_numpy()
    if keep.all():
        return dataset
    if not keep.any():
        raise ValueError("no SKU matches the suppliers and categories asked for")
    ids = set(skus.loc[keep, "sku_id"])
    inventory = dataset.inventory
    return replace(
        dataset,
        skus=skus[keep].reset_index(drop=True),
        orders=dataset.orders[dataset.orders["sku_id"].isin(ids)].reset_index(drop=True),
        inventory=None if inventory is None else inventory[inventory["sku_id"].isin(ids)],
    )


def churn_assumptions(
    dataset: Dataset,
    segments: Segments | None,
    source: ChurnSource = "fitted",
    sector: str = "retail",
) -> tuple[ChurnAssumptions, str]:
    """Churn per stockout per tier and where it came from: estimated on the history
    (shrunk toward the sector's preset, `simulations.churn`), or the preset figures when
    asked for."""
    if source == "preset":
        return ChurnAssumptions(), "preset (asked for)"
    return fitted_churn(dataset, segments, sector)


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


def fitted_churn(
    dataset: Dataset, segments: Segments | None, sector: str = "retail"
) -> tuple[ChurnAssumptions, str]:
    """Churn per stockout estimated on the dataset's history with its 90% interval
    (`simulations.churn`, on the days out judged for it: `exposure_days`), or the
    defaults and why."""
    defaults = ChurnAssumptions()
    if segments is None:
        return defaults, "preset (no customers table)"
    tiers = segments.customers.set_index("customer_id")["tier"]
    try:
        out, start = exposure_days(dataset)
        estimate = churn_from_history(dataset, tiers, out, start, sector)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return defaults, f"preset (could not estimate: {exc})"
    detail = {t: c.to_json() for t, c in estimate.per_tier.items()}
    sources = sorted({c.source for c in estimate.per_tier.values()})
    note = (
        f"{'/'.join(sources)}: {estimate.note}, {estimate.recorded:,.0f} stockouts recorded "
        f"and {estimate.inferred:,.0f} inferred, shrunk toward the {sector} preset"
    )
    return ChurnAssumptions(estimate.means(), detail), note


def make_plan(
    dataset: Dataset,
    run: DatasetForecast,
    settings: PlanSettings,
    rounding: str = "up",
    churn_source: str = "given",
) -> PlanRun:
    """ReorderProblem -> solution -> reasons -> plan.

    `churn_source` says where settings.churn came from (kept in the plan's record).
    """
    problem = build_problem(dataset, run.result, run.segments, settings)
    return plan_problem(problem, dataset, run, settings, rounding, churn_source)


def plan_problem(
    problem: ReorderProblem,
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
        "churn_per_stockout": settings.churn.record(),
        "churn_source": churn_source,
        "holding_rate_per_year": settings.holding_rate,
        "rounding": rounding,
        "demand_history": run.history_notes(),
    }
    return PlanRun(problem, solution, build_plan(problem, solution, reasons, assumptions))


def write_plan(plan: ReorderPlan, out: str | Path) -> Path:
    """plan.csv and plan.json into `out`, each replaced in one rename."""
    document = json.dumps(plan.to_json(), indent=2, default=json_default)
    return replace_files(
        out,
        {
            "plan.csv": lambda path: plan.lines.to_csv(path, index=False),
            "plan.json": lambda path: path.write_text(document, encoding="utf-8"),
        },
    )


def json_default(value: object) -> object:
    """`json.dumps` default for numpy values (non-finite floats become null)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
