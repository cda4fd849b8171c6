"""Replaying recorded demand against a policy's stock: what it would have served.

The core of the decision backtest (`replenish.backtesting`): the lines customers asked
for, in the order they came, are served from the stock a policy would have held, day by
day, with its orders arriving when the supplier's lead time says. Lost sales: what the
stock cannot cover at once is short (a line covered in part gets that part), never
backordered. A policy may hold back a reserve for the protected tier: other lines only
draw on the stock above it (Littlewood, `optimize.reservation`).

Accounting (tested): per line served + short = asked; per SKU, stock at the end = stock
at the start + arrivals - served, never negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Lines:
    """Demand lines of one period, in the order they came (by day, then arrival).

    `day`: day within the period (0-based); `sku`: SKU index; `units`: units asked
    for; `protected`: the line's customer is in the protected tier (may use the reserve).
    """

    day: np.ndarray
    sku: np.ndarray
    units: np.ndarray
    protected: np.ndarray

    def __post_init__(self) -> None:
        n = self.day.size
        if not (self.sku.size == self.units.size == self.protected.size == n):
            raise ValueError("day, sku, units and protected must have one entry per line")
        if n and (np.diff(self.day) < 0).any():
            raise ValueError("lines must come in day order")
        if n and (self.units < 0).any():
            raise ValueError("a line cannot ask for negative units")


@dataclass(frozen=True)
class Replay:
    """What a period's stock served: `served` per line (units), `on_hand` per SKU at the
    end of the period, `stock_days` per SKU (unit-days: end-of-day stock summed over
    the days, for average stock and holding cost)."""

    served: np.ndarray
    on_hand: np.ndarray
    stock_days: np.ndarray


def replay(
    on_hand: np.ndarray,
    arrivals: np.ndarray,
    lines: Lines,
    reserve: np.ndarray | None = None,
) -> Replay:
    """Serve `lines` over `arrivals.shape[0]` days from `on_hand` (units per SKU).

    `arrivals[t, i]`: units of SKU i received at the start of day t. `reserve[i]`:
    units only protected lines may take. Vectorized over SKUs: lines are taken in
    rounds, the r-th line of each SKU on a day in round r, which keeps each SKU's own
    arrival order (the only order that matters: SKUs do not share stock).
    """
    stock = np.asarray(on_hand, dtype=np.int64).copy()
    n = stock.size
    days = arrivals.shape[0]
    if arrivals.ndim != 2 or arrivals.shape[1] != n:
        raise ValueError(f"arrivals must be (days, {n} SKUs), got {arrivals.shape}")
    if (stock < 0).any() or (arrivals < 0).any():
        raise ValueError("stock and arrivals cannot be negative")
    if lines.day.size and (lines.day.max() >= days or lines.day.min() < 0):
        raise ValueError(f"line days must fall within the {days} days of the period")
    held = np.zeros(n, dtype=np.int64) if reserve is None else np.asarray(reserve, np.int64)
    served = np.zeros(lines.units.size, dtype=np.int64)
    stock_days = np.zeros(n, dtype=np.int64)
    # Rank of each line among its SKU's lines of the same day (stable: arrival order).
    key = lines.day.astype(np.int64) * n + lines.sku
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    first = np.r_[True, sorted_key[1:] != sorted_key[:-1]] if order.size else np.zeros(0, bool)
    group_start = np.maximum.accumulate(np.where(first, np.arange(order.size), 0))
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size) - group_start
    bounds = np.searchsorted(lines.day, np.arange(days + 1))
    for t in range(days):
        stock += arrivals[t].astype(np.int64)
        lo, hi = bounds[t], bounds[t + 1]
        if hi > lo:
            today = np.arange(lo, hi)
            for r in range(int(rank[lo:hi].max()) + 1):
                j = today[rank[lo:hi] == r]  # at most one line per SKU
                sku = lines.sku[j]
                floor = np.where(lines.protected[j], 0, held[sku])
                take = np.minimum(lines.units[j], np.maximum(stock[sku] - floor, 0))
                served[j] = take
                stock[sku] -= take
        stock_days += stock
    return Replay(served=served, on_hand=stock, stock_days=stock_days)
