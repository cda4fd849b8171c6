"""The plan beside the plans a buyer would otherwise order, on the same forecast.

Also the budget frontier around the plan's budget (`plan_frontier`).

Segment-blind (the same optimizer, who buys each SKU ignored), ERP min/max with safety
stock and base-stock (both set for a 95% service target and trimmed to the budget by
what runs out first, `optimize.baselines`). Each row: cost (currency), lines, and the
expected outcomes over the protection interval (`optimize.frontier.outcomes`): fill
rate per tier, customers lost, value lost to stockouts; and the value the order adds
(`value_added`), every row judged by one rule: the plan's economics (margin and
customers kept, less holding and order costs) with stock rationed by priority. Value
lost alone favours whoever buys more; value added also charges what the stock costs.
The report shows the table and the plan's record carries it for the approver.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from optimize.baselines import (
    SERVICE_LEVEL,
    SERVICE_Z,
    base_stock,
    min_max_safety,
    solve_segment_blind,
    urgency,
)
from optimize.frontier import budget_frontier, outcomes
from optimize.solve import Solution
from replenish.planning import PlannedDataset, PlanRun

#: The budgets of the frontier, as shares of the plan's budget.
FRONTIER_SHARES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
#: The ERP rule the plan is compared with (and the simulation's reference).
ERP = "ERP min/max + safety stock"
THIS_PLAN = "churn-aware (this plan)"


def value_added(plan: PlanRun, quantity: np.ndarray) -> float:
    """Expected value (currency) that ordering `quantity` units per SKU adds under the
    plan's economics and priority rationing: what the optimizer maximizes (its
    objective, for the plan's own quantities)."""
    problem, curves = plan.problem, plan.solution.curves
    ordered = np.flatnonzero(quantity > 0)
    added = sum(
        float(curves[i].unit_values(int(np.floor(problem.position[i])), int(quantity[i])).sum())
        for i in ordered
    )
    used = np.unique(problem.supplier[ordered])
    return added - float(problem.supplier_order_cost[used].sum())


def _expected(
    plan: PlanRun, solution: Solution, churn: np.ndarray, units: np.ndarray
) -> dict[str, float]:
    out = outcomes(plan.problem, solution, churn, units)
    return {
        "cost": solution.cost, "lines": int((solution.packs > 0).sum()), **out,
        "value_added": value_added(plan, solution.quantity),
    }  # fmt: skip


def churn_and_units(planned: PlannedDataset) -> tuple[np.ndarray, np.ndarray]:
    """Per segment of the plan's problem: P(churn | stockout) and units per purchase."""
    problem = planned.run.problem
    churn = np.array([planned.churn.of(s) for s in problem.segments])
    units = np.ones(len(problem.segments))
    segments = planned.forecast.segments
    if segments is not None:
        per_line = segments.tiers["units_per_line"].to_dict()
        units = np.array([float(per_line.get(s, 1.0)) for s in problem.segments])
    return churn, units


def compare_plans(planned: PlannedDataset) -> pd.DataFrame:
    """One row per plan, indexed by its name (see the module docstring)."""
    plan = planned.run
    problem = plan.problem

    def ordering(packs: np.ndarray) -> Solution:
        quantity = packs * problem.pack_size
        return replace(plan.solution, packs=packs, quantity=quantity,
                       cost=float(quantity @ problem.unit_cost))  # fmt: skip

    first = urgency(problem)
    churn, units = churn_and_units(planned)
    rows = {
        THIS_PLAN: plan.solution,
        "segment-blind": solve_segment_blind(problem),
        ERP: ordering(min_max_safety(problem, SERVICE_Z, priority=first)),
        "base-stock": ordering(base_stock(problem, SERVICE_LEVEL, priority=first)),
    }
    return pd.DataFrame(
        [{"plan": name, **_expected(plan, sol, churn, units)} for name, sol in rows.items()]
    ).set_index("plan")


def plan_frontier(planned: PlannedDataset) -> pd.DataFrame:
    """What each budget buys around the plan's (`FRONTIER_SHARES` of it): one row per
    budget with spend, objective, fill rate per tier and customers lost
    (`optimize.frontier.budget_frontier`)."""
    problem = planned.run.problem
    budget = float(problem.budget or 0.0)
    churn, units = churn_and_units(planned)
    budgets = [budget * f for f in FRONTIER_SHARES]
    # The plan's own curves: a new solve would compute the same ones again.
    return budget_frontier(problem, budgets, churn, units, curves=planned.run.solution.curves)
