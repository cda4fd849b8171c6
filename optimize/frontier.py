"""The budget frontier: what each budget buys in fill rate per segment and customers kept."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from optimize.problem import ReorderProblem
from optimize.solve import Solution, solve
from optimize.value_curve import SkuCurve
from runtime.figures import pyplot, save_figure


def outcomes(
    problem: ReorderProblem,
    solution: Solution,
    churn: np.ndarray,
    units_per_purchase: np.ndarray,
) -> dict[str, float]:
    """Expected fill rate per segment, customers lost and value lost to stockouts.

    Customers lost = sum over segments of expected units short / units per purchase x
    P(churn | stockout): each short purchase is one customer let down. Value lost =
    expected units short x their stockout cost (currency): what the optimizer weighs,
    where a tier-A customer counts for their CLV, not as one head.
    """
    served = np.zeros(len(problem.segments))
    demand = np.zeros(len(problem.segments))
    value_lost = 0.0
    for i, curve in enumerate(solution.curves):
        stock = problem.position[i] + solution.quantity[i]
        got = curve.served(stock)
        asked = problem.demand_means[i]
        served += got
        demand += asked
        value_lost += float((np.maximum(asked - got, 0.0) * problem.stockout_cost[i]).sum())
    short = np.maximum(demand - served, 0.0)
    lost = short / np.maximum(units_per_purchase, 1e-9) * churn
    out = {
        f"fill_{s}": float(served[j] / demand[j]) if demand[j] > 0 else 1.0
        for j, s in enumerate(problem.segments)
    }
    out["customers_lost"] = float(lost.sum())
    out["value_lost"] = value_lost
    return out


def budget_frontier(
    problem: ReorderProblem,
    budgets: list[float],
    churn: np.ndarray,
    units_per_purchase: np.ndarray,
    rounding: str = "up",
    curves: list[SkuCurve] | None = None,
) -> pd.DataFrame:
    """One row per budget: spend, objective, bound, fill rate per segment, customers lost.
    `curves`: those of an earlier solve of the same problem (they do not depend on the
    budget); computed once here when not given."""
    rows = []
    if curves is None:
        curves = solve(problem, rounding).curves
    for budget in budgets:
        sol = solve(replace(problem, budget=budget), rounding, curves)
        rows.append(
            {
                "budget": budget,
                "spend": sol.cost,
                "objective": sol.objective,
                "bound": sol.bound,
                **outcomes(problem, sol, churn, units_per_purchase),
            }
        )
    return pd.DataFrame(rows)


def plot_frontier(
    frontier: pd.DataFrame, segments: tuple[str, ...], customers: float, path: str | Path
) -> Path:
    """PNG: fill rate per segment and customers kept against the budget."""
    fig, (ax1, ax2) = pyplot().subplots(1, 2, figsize=(11, 4))
    for s in segments:
        ax1.plot(frontier["budget"], 100 * frontier[f"fill_{s}"], marker="o", label=f"tier {s}")
    ax1.set_xlabel("budget")
    ax1.set_ylabel("expected fill rate over the interval (%)")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax2.plot(
        frontier["budget"], customers - frontier["customers_lost"], marker="o", color="#264653"
    )
    ax2.set_xlabel("budget")
    ax2.set_ylabel("customers kept (expected)")
    ax2.grid(alpha=0.3)
    fig.suptitle("What each budget buys")
    return save_figure(fig, path)
