"""Reservation: units held back for the most valuable segment when stock is short.

Littlewood's rule (Littlewood 1972; Talluri & van Ryzin, The Theory and Practice of
Revenue Management, 2004, sec. 2.2.1): keep R units for the protected segment (stockout
cost c_top) against the next one (c_next) while the chance that the protected segment's
demand exceeds R is at least c_next / c_top:

    R = the smallest r with P(D_top > r) <= c_next / c_top

where D_top is the protected segment's demand until fresh stock can arrive. The plan
states R over the protection interval (`reservation_levels`); the simulator applies it
day by day over the days left until the next delivery. Both take the rule
(`reserve_rule`) and the level (`reserve_units`) from here.

The protected segment is the one a stockout costs most across the catalogue; a SKU
keeps a reserve only where that segment is its own most costly one and its stockouts
cost at least `RESERVE_PREMIUM` more than the next segment's: below that the gain per
reserved unit, c_top P(D > R) - c_next, is negligible while the errors of the demand
estimate are not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from forecast.distribution import negbin_params
from optimize.problem import ReorderProblem

RESERVE_PREMIUM = 0.10


@dataclass(frozen=True)
class ReserveRule:
    """The protected segment (index) and, per SKU, the critical ratio c_next / c_top
    (NaN where the SKU keeps no reserve)."""

    segment: int
    ratio: np.ndarray


def reserve_rule(stockout_cost: np.ndarray) -> ReserveRule:
    """Who is protected and how hard, from stockout costs (n SKUs, k segments)."""
    costs = np.asarray(stockout_cost, dtype=float)
    n, k = costs.shape
    if k < 2:
        return ReserveRule(0, np.full(n, np.nan))
    top = int(np.argmax(costs.mean(axis=0)))
    c_top = costs[:, top]
    c_next = np.sort(costs, axis=1)[:, -2]
    is_top = np.argmax(costs, axis=1) == top
    ratio = np.where(c_top > 0, c_next / np.maximum(c_top, 1e-12), 1.0)
    material = is_top & (ratio * (1.0 + RESERVE_PREMIUM) <= 1.0)
    return ReserveRule(top, np.where(material, ratio, np.nan))


def reserve_units(mean: np.ndarray, var: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Littlewood's R per SKU (units): the smallest r with P(D > r) <= ratio for demand D
    negative binomial with this mean and variance; 0 where the ratio is NaN or no demand
    is expected."""
    mean = np.asarray(mean, dtype=float)
    ratio = np.asarray(ratio, dtype=float)
    out = np.zeros(mean.shape)
    keep = np.isfinite(ratio) & (mean > 0)
    if keep.any():
        n, p = negbin_params(mean[keep], np.asarray(var, dtype=float)[keep])
        out[keep] = np.nan_to_num(stats.nbinom.ppf(1.0 - ratio[keep], n, p), nan=0.0)
    return out


def reservation_levels(problem: ReorderProblem, stock: np.ndarray) -> np.ndarray:
    """Units of each SKU to hold back for the protected segment over the protection
    interval, at most the `stock` available."""
    rule = reserve_rule(problem.stockout_cost)
    if np.isnan(rule.ratio).all():
        return np.zeros(problem.n_skus)
    level = reserve_units(
        problem.demand_means[:, rule.segment], problem.demand_vars[:, rule.segment], rule.ratio
    )
    return np.asarray(np.minimum(level, np.maximum(np.asarray(stock, dtype=float), 0.0)))
