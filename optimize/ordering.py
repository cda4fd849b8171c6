"""From stock levels to an order: whole packs, the MOQ, and a budget that runs out.

Every policy, in the plan's baselines and in the simulator alike, orders through these
two functions, so a simulated policy orders exactly what the plan's rule would.
"""

from __future__ import annotations

import numpy as np


def order_units(
    position: np.ndarray,
    reorder_point: np.ndarray,
    order_up_to: np.ndarray,
    pack_size: np.ndarray,
    moq: np.ndarray,
) -> np.ndarray:
    """Units to order per SKU (int64): where the position (on hand + on order -
    backorders) is at or below the reorder point s, whole packs that lift it to at least
    the order-up-to level S; an order below the MOQ is raised to the MOQ's packs."""
    need = np.where(position <= reorder_point, np.maximum(order_up_to - position, 0.0), 0.0)
    packs = np.ceil(need / pack_size)
    moq_packs = np.ceil(moq / pack_size)
    packs = np.where((packs > 0) & (packs < moq_packs), moq_packs, packs)
    return np.asarray(packs * pack_size, dtype=np.int64)


def within_budget(
    units: np.ndarray,
    unit_cost: np.ndarray,
    budget: float | None,
    priority: np.ndarray | None = None,
) -> np.ndarray:
    """The lines of `units` kept whole, best `priority` first (else in SKU order), while
    their running cost stays within `budget`; the rest are cut to 0. None: no budget.

    A line that does not fit ends the run: later lines are cut too, as a buyer working
    down a list stops when the money is gone (`unit_cost` may be a volume per unit to
    apply a capacity the same way)."""
    if budget is None:
        return units
    order = np.argsort(-priority, kind="stable") if priority is not None else np.arange(units.size)
    spend = np.cumsum((units * unit_cost)[order])
    keep = np.zeros(units.size, dtype=bool)
    keep[order] = spend <= budget + 1e-9
    return np.where(keep, units, 0)


def fit_to_budget(
    units: np.ndarray,
    unit_cost: np.ndarray,
    budget: float | None,
    priority: np.ndarray,
    pack_size: np.ndarray,
    moq: np.ndarray,
) -> np.ndarray:
    """The lines of `units`, best `priority` first, each kept whole while it fits the
    money left, else cut to the whole packs that still fit (none if that falls below
    the MOQ), and the next line tried: a buyer trimming a list to a budget rather than
    stopping at the first line too dear. None: no budget.

    A loop over lines in priority order (each line depends on the money the ones before
    it left); `unit_cost` may be a volume per unit to apply a capacity the same way."""
    if budget is None:
        return units
    out = np.zeros_like(units)
    left = float(budget) + 1e-9
    pack_cost = pack_size * unit_cost
    min_packs = np.ceil(moq / pack_size)
    for i in np.argsort(-priority, kind="stable"):
        if units[i] <= 0:
            continue
        cost = units[i] * unit_cost[i]
        if cost <= left:
            out[i] = units[i]
        else:
            packs = np.floor(left / pack_cost[i]) if pack_cost[i] > 0 else 0.0
            out[i] = packs * pack_size[i] if packs >= max(min_packs[i], 1) else 0
        left -= out[i] * unit_cost[i]
    return out
