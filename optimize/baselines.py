"""What buyers do today, on the same problem: ERP min/max, base-stock, segment-blind.

- min/max: when the position falls to `min` (mean demand over the protection interval
  x `min_factor`), order up to `max` (x `max_factor`), in whole packs, MOQ respected;
  no budget awareness beyond cutting lines in SKU order when money runs out.
- base-stock: order up to the `service_level` quantile of total demand, segment-blind.
- segment-blind optimizer: the same optimizer with every segment's stockout cost set to
  the SKU's demand-weighted average (no customer priority).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from optimize.problem import Problem
from optimize.solve import Solution, solve


def _packs_to(problem: Problem, target_units: np.ndarray) -> np.ndarray:
    """Whole packs to lift the position to the targets (MOQ respected).

    Lines that no longer fit the budget or capacity, taken in SKU order, are cut.
    """
    need = np.maximum(target_units - problem.position, 0.0)
    packs = np.ceil(need / problem.pack_size).astype(np.int64)
    moq_packs = np.ceil(problem.moq / problem.pack_size).astype(np.int64)
    packs = np.where((packs > 0) & (packs < moq_packs), moq_packs, packs)
    if problem.budget is not None:
        spend = np.cumsum(packs * problem.pack_size * problem.unit_cost)
        packs = np.where(spend <= problem.budget + 1e-9, packs, 0)
    if problem.capacity is not None:
        used = np.cumsum(packs * problem.pack_size * problem.unit_volume)
        packs = np.where(used <= problem.capacity + 1e-9, packs, 0)
    return np.asarray(packs, dtype=np.int64)


def min_max(problem: Problem, min_factor: float = 1.0, max_factor: float = 2.0) -> np.ndarray:
    """Packs per SKU under an ERP min/max rule."""
    mean = problem.demand_means.sum(axis=1)
    reorder = problem.position <= min_factor * mean
    target = np.where(reorder, max_factor * mean, 0.0)
    return _packs_to(problem, target)


def base_stock(problem: Problem, service_level: float = 0.95) -> np.ndarray:
    """Packs per SKU to reach the `service_level` quantile of total demand."""
    if not 0 < service_level < 1:
        raise ValueError("service_level must lie strictly between 0 and 1")
    target = np.array(
        [
            float(np.searchsorted(np.cumsum(problem.total_pmf(i)), service_level))
            for i in range(problem.n_skus)
        ]
    )
    return _packs_to(problem, target)


def segment_blind(problem: Problem) -> Problem:
    """The problem as a planner who does not know the customers sees it.

    Every segment of every SKU gets the SKU's stockout cost averaged with the same
    weights, the catalogue's demand mix across segments: which customers buy a SKU no
    longer matters, only its margin.
    """
    average = (problem.stockout_cost * problem.segment_mix[None, :]).sum(axis=1, keepdims=True)
    return replace(problem, stockout_cost=np.repeat(average, len(problem.segments), axis=1))


def solve_segment_blind(problem: Problem, rounding: str = "up") -> Solution:
    return solve(segment_blind(problem), rounding)
