"""Reservation levels: units held back for the most valuable segment when stock is short.

Littlewood's rule: keep R units for segment A (highest stockout cost c_A) against the
next segment (cost c_B) while the chance that A's demand exceeds R is at least
c_B / c_A, i.e. R = the smallest r with P(D_A > r) < c_B / c_A. Capped at the stock.
"""

from __future__ import annotations

import numpy as np

from optimize.problem import Problem


def reservation_levels(problem: Problem, stock: np.ndarray) -> np.ndarray:
    """Units of each SKU to hold back for its top segment, given `stock` units available."""
    out = np.zeros(problem.n_skus)
    if len(problem.segments) < 2:
        return out
    for i in range(problem.n_skus):
        order = np.argsort(-problem.stockout_cost[i], kind="stable")
        top, nxt = order[0], order[1]
        c_top, c_next = problem.stockout_cost[i, top], problem.stockout_cost[i, nxt]
        if c_top <= 0 or c_next >= c_top:
            continue
        tail = 1.0 - np.cumsum(problem.pmfs[i][top])  # P(D_A > r)
        r = int(np.argmax(tail < c_next / c_top)) if (tail < c_next / c_top).any() else tail.size
        out[i] = min(r, max(float(stock[i]), 0.0))
    return out
