"""What buyers do today, on the same problem: ERP min/max, base-stock, (s,S), segment-blind.

The levels come from `optimize.levels` and the order from `optimize.ordering`, the
rules the simulator's policies apply too, so a simulated baseline orders what the plan
says it would:

- min/max: when the position falls to `min` (mean demand over the protection interval
  x `min_factor`), order up to `max` (x `max_factor`); `min_max_safety` adds z sd of
  safety stock to both, as a well-set ERP does.
- base-stock: order up to the `service_level` quantile of total demand, segment-blind.
- (s,S): reorder at mean + z sd of total demand, order up to s + EOQ.
- segment-blind optimizer: the same optimizer with every segment's stockout cost set to
  the SKU's demand-weighted average (no customer priority).

All in whole packs with the MOQ respected; lines that no longer fit the budget or the
capacity are trimmed to fit, best first: what runs out first, the least of its
order-up-to level held (`optimize.ordering.runs_out_first`, as in the simulator), or a
given `priority` (`urgency`: the fewest protection intervals of demand covered).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from optimize.economics import DAYS_PER_YEAR
from optimize.levels import (
    Levels,
    base_stock_levels,
    min_max_levels,
    safety_min_max_levels,
    ss_levels,
)
from optimize.ordering import fit_to_budget, order_units, runs_out_first
from optimize.problem import ReorderProblem
from optimize.solve import Solution, solve

#: The service target every baseline is set for when compared with the plan, and the
#: normal safety factor z that gives it (a 95% cycle service level).
SERVICE_LEVEL = 0.95
SERVICE_Z = 1.645


def packs_for(
    problem: ReorderProblem, levels: Levels, priority: np.ndarray | None = None
) -> np.ndarray:
    """Packs per SKU that the levels (s, S) order from the problem's position, trimmed
    to the budget and the capacity best first (`optimize.ordering.fit_to_budget`): by
    `priority`, or by what runs out first (`runs_out_first`, as the simulator does)."""
    units = order_units(problem.position, *levels, problem.pack_size, problem.moq)
    if priority is None:
        priority = runs_out_first(problem.position, levels[1])
    pack, moq = problem.pack_size, problem.moq
    units = fit_to_budget(units, problem.unit_cost, problem.budget, priority, pack, moq)
    units = fit_to_budget(units, problem.unit_volume, problem.capacity, priority, pack, moq)
    return np.asarray(units // problem.pack_size, dtype=np.int64)


def urgency(problem: ReorderProblem) -> np.ndarray:
    """Priority of a line when the money runs out: the fewer protection intervals of
    mean demand its position covers, the sooner it runs out, the higher it ranks."""
    mean = problem.demand_means.sum(axis=1)
    return np.asarray(-problem.position / np.maximum(mean, 1e-9))


def min_max_safety(
    problem: ReorderProblem,
    z: float = 1.645,
    max_factor: float = 2.0,
    priority: np.ndarray | None = None,
    min_factor: float = 1.0,
) -> np.ndarray:
    """Packs per SKU under ERP min/max with z sd of safety stock (1.645: a 95% cycle
    service target for normal demand)."""
    mean, var = problem.demand_means.sum(axis=1), problem.demand_vars.sum(axis=1)
    levels = safety_min_max_levels(mean, var, z, max_factor, min_factor)
    return packs_for(problem, levels, priority)


def min_max(
    problem: ReorderProblem, min_factor: float = 1.0, max_factor: float = 2.0
) -> np.ndarray:
    """Packs per SKU under an ERP min/max rule."""
    mean = problem.demand_means.sum(axis=1)
    return packs_for(problem, min_max_levels(mean, min_factor, max_factor))


def base_stock(
    problem: ReorderProblem, service_level: float = 0.95, priority: np.ndarray | None = None
) -> np.ndarray:
    """Packs per SKU to reach the `service_level` quantile of total demand."""
    mean, var = problem.demand_means.sum(axis=1), problem.demand_vars.sum(axis=1)
    return packs_for(problem, base_stock_levels(mean, var, service_level), priority)


def ss(
    problem: ReorderProblem,
    z: float = 1.0,
    holding_rate: float | None = None,
    priority: np.ndarray | None = None,
) -> np.ndarray:
    """Packs per SKU under (s,S) with an EOQ. Annual demand and the yearly holding cost
    come from the protection interval's (the problem must know its length)."""
    if problem.protection_days is None:
        raise ValueError("(s,S) needs the problem's protection_days for its EOQ")
    days = np.maximum(np.asarray(problem.protection_days, dtype=float), 1e-9)
    mean, var = problem.demand_means.sum(axis=1), problem.demand_vars.sum(axis=1)
    annual = mean / days * DAYS_PER_YEAR
    per_year = (
        problem.holding_cost / days * DAYS_PER_YEAR
        if holding_rate is None
        else holding_rate * problem.unit_cost
    )
    order_cost = problem.supplier_order_cost[problem.supplier]
    return packs_for(problem, ss_levels(mean, var, z, order_cost, annual, per_year), priority)


def segment_blind(problem: ReorderProblem) -> ReorderProblem:
    """The problem as a planner who does not know the customers sees it.

    Every segment of every SKU gets the SKU's stockout cost averaged with the same
    weights, the catalogue's demand mix across segments: which customers buy a SKU no
    longer matters, only its margin.
    """
    return replace(problem, stockout_cost=blind_costs(problem.stockout_cost, problem.segment_mix))


def blind_costs(stockout_cost: np.ndarray, mix: np.ndarray) -> np.ndarray:
    """Stockout costs per (SKU, segment) as a segment-blind planner prices them: each
    SKU's costs averaged with the catalogue's segment `mix` (`catalogue_mix`), the same
    for every segment."""
    average = (stockout_cost * mix[None, :]).sum(axis=1, keepdims=True)
    return np.asarray(np.repeat(average, stockout_cost.shape[1], axis=1))


def solve_segment_blind(problem: ReorderProblem, rounding: str = "up") -> Solution:
    return solve(segment_blind(problem), rounding)
