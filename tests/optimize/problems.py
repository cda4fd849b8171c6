"""Hand-made optimizer problems for tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from optimize.problem import ReorderProblem
from optimize.value_curve import sku_curve


def poisson(mean: float) -> np.ndarray:
    """A Poisson pmf cut where the tail is below 1e-9, renormalized."""
    top = int(stats.poisson.ppf(1 - 1e-9, mean)) + 1
    p = stats.poisson.pmf(np.arange(top + 1), mean)
    return np.asarray(p / p.sum())


def problem(
    pmfs: Sequence[Sequence[np.ndarray]],
    stockout_cost: Sequence[Sequence[float]],
    *,
    position: Sequence[float] | None = None,
    unit_cost: Sequence[float] | None = None,
    holding: Sequence[float] | None = None,
    pack: Sequence[int] | None = None,
    moq: Sequence[int] | None = None,
    volume: Sequence[float] | None = None,
    max_units: Sequence[float] | None = None,
    supplier: Sequence[int] | None = None,
    min_value: Sequence[float] | None = None,
    order_cost: Sequence[float] | None = None,
    budget: float | None = None,
    capacity: float | None = None,
) -> ReorderProblem:
    n, k = len(pmfs), len(pmfs[0])
    sup = np.zeros(n, dtype=np.int64) if supplier is None else np.asarray(supplier, dtype=np.int64)
    n_sup = int(sup.max()) + 1 if n else 1

    def arr(values: Sequence[float] | None, default: float, dtype: type = float) -> np.ndarray:
        return (
            np.full(n, default, dtype=dtype) if values is None else np.asarray(values, dtype=dtype)
        )

    return ReorderProblem(
        sku_ids=np.array([f"S{i}" for i in range(n)], dtype=object),
        segments=tuple("ABCDE"[:k]),
        pmfs=tuple(tuple(np.asarray(p, dtype=float) for p in row) for row in pmfs),
        stockout_cost=np.asarray(stockout_cost, dtype=float),
        position=arr(position, 0.0),
        unit_cost=arr(unit_cost, 1.0),
        holding_cost=arr(holding, 0.5),
        pack_size=arr(pack, 1, np.int64),
        moq=arr(moq, 0, np.int64),
        unit_volume=arr(volume, 0.0),
        max_units=arr(max_units, np.inf),
        supplier=sup,
        supplier_ids=tuple(f"P{j}" for j in range(n_sup)),
        supplier_min_value=np.zeros(n_sup)
        if min_value is None
        else np.asarray(min_value, dtype=float),
        supplier_order_cost=np.zeros(n_sup)
        if order_cost is None
        else np.asarray(order_cost, dtype=float),
        budget=budget,
        capacity=capacity,
    )


def plan_value(p: ReorderProblem, quantity: np.ndarray) -> float:
    """Exact expected value a quantity adds (sum of unit values), minus the order costs
    of the suppliers used."""
    total = 0.0
    for i in range(p.n_skus):
        q = int(quantity[i])
        if q:
            total += float(sku_curve(p, i).unit_values(int(p.position[i]), q).sum())
    used = np.unique(p.supplier[quantity > 0])
    return total - float(p.supplier_order_cost[used].sum())
