"""The economics the plan and the simulator share (DESIGN.md): what a unit short costs a
segment, and what a unit held costs. One rule, one place: `optimize.inputs` prices a
plan with it, `simulations.engine` prices what its policies plan with.

    stockout_cost[i, s] = unit margin_i + P(churn | stockout, s) x CLV_s / units per purchase_s

A stockout loses the sale's margin (never less than nothing) and, with the segment's
churn probability, the customer: their expected future margin, spread over the units
of the purchase that fell short.
"""

from __future__ import annotations

import numpy as np

DAYS_PER_YEAR = 365.0


def stockout_cost(
    margin: np.ndarray, churn: np.ndarray, clv: np.ndarray, units_per_purchase: np.ndarray
) -> np.ndarray:
    """(n SKUs, k segments), currency per unit short. `margin` per SKU (currency per
    unit); `churn` (probability) per segment; `clv` (currency) and
    `units_per_purchase` per segment (k,) or per SKU and segment (n, k): the CLV of the
    customers who buy that SKU."""
    # A customer worth less than nothing (orders sold below cost) costs nothing to lose.
    per_customer = np.asarray(churn, dtype=float) * np.maximum(np.asarray(clv, dtype=float), 0.0)
    extra = per_customer / np.maximum(np.asarray(units_per_purchase, dtype=float), 1e-9)
    costs: np.ndarray = np.maximum(np.asarray(margin, dtype=float), 0.0)[:, None] + extra
    return costs


def holding_cost(
    unit_cost: np.ndarray, rate_per_year: float, days: np.ndarray | float
) -> np.ndarray:
    """Currency per unit held for `days`: `rate_per_year` x unit cost x days / 365."""
    return np.asarray(rate_per_year * np.asarray(unit_cost, dtype=float) * days / DAYS_PER_YEAR)
