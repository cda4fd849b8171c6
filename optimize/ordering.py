"""From stock levels to an order: whole packs, the MOQ, and a budget that runs out.

Every policy, in the plan's baselines and in the simulator alike, orders through these
functions, so a simulated policy orders exactly what the plan's rule would.
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


def runs_out_first(position: np.ndarray, order_up_to: np.ndarray) -> np.ndarray:
    """Priority of a line under a rule without values (ERP min/max, base-stock, (s,S))
    when the money runs out: the less of its order-up-to level a SKU holds, the sooner it
    runs out and the higher it ranks, as a buyer works down an ERP's reorder list."""
    return np.asarray(-position / np.maximum(order_up_to, 1.0))


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


def unit_values(
    value_start: np.ndarray, values: np.ndarray, i: int, position: float, units: int
) -> np.ndarray:
    """The value (currency) of each of `units` units added to SKU i's stock from
    `position`, read off the table `values[value_start[i] + x]` of its x-th unit of
    stock: below 0 (backorders) the first value holds, past the table the last, and a
    SKU without a table values nothing."""
    lo, hi = int(value_start[i]), int(value_start[i + 1])
    if hi <= lo:
        return np.zeros(units)
    stock = int(np.floor(position)) + np.arange(units)
    return np.asarray(values[lo + np.clip(stock, 0, hi - lo - 1)])


def fit_by_value(
    units: np.ndarray,
    position: np.ndarray,
    unit_cost: np.ndarray,
    budget: float | None,
    pack_size: np.ndarray,
    moq: np.ndarray,
    value_start: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """The order `units` cut to `budget` pack by pack, the best marginal value per
    currency first across all SKUs: the budgeted newsvendor, which keeps the first packs
    of every valuable line before the last packs of any. None: no budget.

    `values[value_start[i] + x]`: the value (currency) of SKU i's x-th unit of stock
    (`unit_values`). Packs add stock from the SKU's position; the packs that reach its MOQ go as one
    block, valued at their average; a SKU's later packs never rank above its earlier
    ones (they are worth less: values fall with stock), so a SKU's packs are taken in
    order, and a block too dear for the money left ends that SKU's order.
    """
    if budget is None:
        return units
    ratio_parts, sku_parts, packs_parts = [], [], []
    for i in np.flatnonzero(units > 0):
        pack = int(pack_size[i])
        n_packs = int(units[i] // pack)
        added = unit_values(value_start, values, int(i), position[i], n_packs * pack)
        per_pack = added.reshape(n_packs, pack).sum(axis=1)
        head = min(max(int(np.ceil(moq[i] / pack)), 1), n_packs)
        block_value = np.r_[per_pack[:head].sum(), per_pack[head:]]
        block_packs = np.r_[head, np.ones(n_packs - head, dtype=np.int64)]
        ratio = block_value / np.maximum(block_packs * pack * unit_cost[i], 1e-12)
        ratio_parts.append(np.minimum.accumulate(ratio))
        sku_parts.append(np.full(ratio.size, i))
        packs_parts.append(block_packs)
    if not ratio_parts:
        return units
    ratio, sku, packs = (np.concatenate(p) for p in (ratio_parts, sku_parts, packs_parts))
    out = np.zeros_like(units)
    closed = np.zeros(units.size, dtype=bool)
    left = float(budget) + 1e-9
    # Stable on ties: a SKU's blocks keep their order, SKUs their index order.
    for b in np.argsort(-ratio, kind="stable"):
        i = sku[b]
        if closed[i]:
            continue
        cost = packs[b] * pack_size[i] * unit_cost[i]
        if cost <= left:
            out[i] += packs[b] * pack_size[i]
            left -= cost
        else:
            closed[i] = True
    return out
