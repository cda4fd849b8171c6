"""The stock levels of the policies buyers use today, from demand over the protection
interval (lead time + review period): reorder point s and order-up-to level S, units.

- ERP min/max: s = min_factor x mean, S = max_factor x mean (whole units); with
  safety stock (`safety_min_max_levels`), both raised by z sd: the reorder point is
  demand over lead time + review + z sd, as ERPs set it when they are set well.
- base-stock: S = the service-level quantile of demand (negative binomial with this
  mean and variance), s = S - 1: order at every review.
- (s, S): s = mean + z sd (safety stock), S = s + EOQ, the economic order quantity
  sqrt(2 K D / h) for order cost K, annual demand D and holding cost h per unit-year
  (Harris 1913; Zipkin, Foundations of Inventory Management, 2000, ch. 3).

The plan's baselines (`optimize.baselines`) and the simulator's policies
(`simulations.policies`) both take their levels from here.
"""

from __future__ import annotations

import numpy as np

from forecast.distribution import quantiles

Levels = tuple[np.ndarray, np.ndarray]
#: Levels are whole units; a value within this of a whole number counts as that number,
#: so the same demand summed in another order (segments, then days, or the other way
#: round) never moves a level by one unit.
WHOLE = 1e-9


def _ceil(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.ceil(np.asarray(x, dtype=float) - WHOLE))


def _floor(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.floor(np.asarray(x, dtype=float) + WHOLE))


def min_max_levels(mean: np.ndarray, min_factor: float = 1.0, max_factor: float = 2.0) -> Levels:
    """ERP min/max as multiples of mean protection-interval demand (units)."""
    if not 0.0 <= min_factor <= max_factor or max_factor <= 0:
        raise ValueError("min/max needs 0 <= min_factor <= max_factor and max_factor > 0")
    mean = np.asarray(mean, dtype=float)
    return _floor(min_factor * mean), _ceil(max_factor * mean)


def safety_min_max_levels(
    mean: np.ndarray,
    var: np.ndarray,
    z: float,
    max_factor: float = 2.0,
    min_factor: float = 1.0,
) -> Levels:
    """ERP min/max with safety stock: min = min_factor x mean + z sd, max = max_factor x
    mean + z sd (units), for demand over the protection interval with this mean and
    variance."""
    if not np.isfinite(z) or not 0.0 <= min_factor <= max_factor or max_factor <= 0:
        raise ValueError(
            "min/max with safety stock needs a finite z and 0 <= min_factor <= max_factor"
        )
    mean = np.asarray(mean, dtype=float)
    safety = z * np.sqrt(np.asarray(var, dtype=float))
    return _ceil(min_factor * mean + safety), _ceil(max_factor * mean + safety)


def base_stock_levels(mean: np.ndarray, var: np.ndarray, service_level: float = 0.95) -> Levels:
    """Order up to the `service_level` quantile of protection-interval demand."""
    if not 0.0 < service_level < 1.0:
        raise ValueError(f"service_level must lie strictly between 0 and 1, got {service_level}")
    mean, var = np.asarray(mean, dtype=float), np.asarray(var, dtype=float)
    target = quantiles(mean, var, (service_level,))
    return target[:, 0] - 1.0, target[:, 0]


def ss_levels(
    mean: np.ndarray,
    var: np.ndarray,
    z: float,
    order_cost: np.ndarray,
    annual_demand: np.ndarray,
    holding_per_year: np.ndarray,
) -> Levels:
    """(s, S): safety stock z sd over the protection interval, then an EOQ on top."""
    if not np.isfinite(z):
        raise ValueError("z must be a finite safety factor")
    s = _ceil(np.asarray(mean, dtype=float) + z * np.sqrt(np.asarray(var, dtype=float)))
    eoq = np.sqrt(2.0 * order_cost * annual_demand / np.maximum(holding_per_year, 1e-9))
    return s, s + np.maximum(_ceil(eoq), 1.0)
