"""Churn after a stockout: from a sector preset, or fitted on a dataset's own history.

Preset: a sector loses `annual` of its customers a year to stockouts (DESIGN.md). A
customer who meets `events` stockouts a year and churns with probability q at each
keeps buying with probability (1 - q)^events, so q = 1 - (1 - annual)^(1 / events).

Fitted on a dataset's own history: `simulations.churn` (with this preset as its prior).
"""

from __future__ import annotations

import numpy as np

MONTH_DAYS = 30


def per_event_churn(annual: float, events_per_year: float) -> float:
    """Per-stockout churn probability that loses `annual` of customers a year."""
    if not 0.0 <= annual < 1.0:
        raise ValueError(f"annual churn share must lie in [0, 1), got {annual}")
    if events_per_year <= 0:
        raise ValueError("a customer must meet some stockouts a year to calibrate on")
    return float(1.0 - (1.0 - annual) ** (1.0 / events_per_year))


def per_event_churn_exposure(annual: float, events_per_year: np.ndarray) -> float:
    """Per-stockout churn q that loses `annual` of customers a year, given each customer's
    own stockout exposure e_i (events a year): mean_i 1 - (1 - q)^e_i = annual.

    Customers meet stockouts unevenly (heavy buyers meet more), so this q is above
    `per_event_churn(annual, mean(e))`: by Jensen, the mean exposure understates it.
    """
    e = np.asarray(events_per_year, dtype=float)
    if not 0.0 <= annual < 1.0:
        raise ValueError(f"annual churn share must lie in [0, 1), got {annual}")
    if e.size == 0 or (e < 0).any() or not np.isfinite(e).all():
        raise ValueError("exposures must be finite, non-negative events per year")
    if float(np.mean(1.0 - (1.0 - 1.0) ** e)) < annual:
        raise ValueError(f"too few customers meet stockouts to lose {annual:.1%} a year to them")
    lo, hi = 0.0, 1.0
    for _ in range(60):  # the loss grows with q: bisection to ~1e-18
        q = 0.5 * (lo + hi)
        if float(np.mean(1.0 - (1.0 - q) ** e)) < annual:
            lo = q
        else:
            hi = q
    return hi
