"""Solving the reorder problem: a Lagrangian bound, a dual-priced greedy, OR-Tools for suppliers.

The structure that scales (measured, see benchmarks/README.md): value curves are
concave per SKU and only two constraints (budget, volume) couple the SKUs. So:

1. **Bound**: relax budget and volume with prices (lambda_b, lambda_v). Each SKU then
   picks its best number of packs alone (exactly, MOQ included), and minimizing the
   resulting dual over the two prices (nested bisection on their subgradients) gives
   an upper bound on the value any plan can add.
2. **Plan**: take pack blocks (the MOQ block first, then single packs) in order of
   value per dual-priced resource while they fit.
3. **Suppliers** (OR-Tools, SCIP): which suppliers to order from, when a fixed order
   cost or a minimum order value makes a supplier's lines all-or-nothing; the freed
   budget is then refilled with the best remaining packs.

The objective is the expected value the order adds (served value under priority
rationing, minus holding and order costs), in currency; the gap is measured against
the bound, which ignores supplier terms (so it stays valid).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp

from optimize.problem import ReorderProblem
from optimize.value_curve import PackItems, SkuCurve, pack_items, sku_curve

log = logging.getLogger(__name__)

#: A plan within this relative gap of the bound is reported "optimal" (SCIP's own
#: default tolerance is 1e-4).
OPTIMAL_GAP = 1e-6


@dataclass(frozen=True)
class Solution:
    """A plan and its solve record. `packs[i]` packs of SKU i (`quantity` in units)."""

    packs: np.ndarray
    quantity: np.ndarray
    objective: float  # expected value added, currency
    bound: float
    gap: float  # (bound - objective) / max(|bound|, 1)
    status: str  # "optimal", "feasible", "nothing to order"
    seconds: float
    prices: tuple[float, float]  # dual prices of budget (per currency) and volume (per unit)
    binding: np.ndarray  # per SKU: none, budget, volume, moq, supplier minimum, max units
    cost: float
    volume: float
    notes: tuple[str, ...] = ()
    curves: list[SkuCurve] = field(default_factory=list, repr=False)
    items: PackItems | None = field(default=None, repr=False)


@dataclass(frozen=True)
class _Blocks:
    """Pack items merged into blocks: each SKU's MOQ block first, then single packs."""

    sku: np.ndarray
    index: np.ndarray  # block number within its SKU
    packs: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    volume: np.ndarray


def _blocks(items: PackItems) -> _Blocks:
    """Merge each SKU's first max(MOQ packs, 1) packs into one block; the rest stay single."""
    head = np.maximum(items.moq_packs, 1)[items.sku]
    block_id = np.where(items.k < head, 0, items.k - head + 1)
    key = items.sku * (int(items.k.max()) + 2 if items.k.size else 1) + block_id
    uniq, inverse = np.unique(key, return_inverse=True)
    sku = np.zeros(uniq.size, dtype=np.int64)
    sku[inverse] = items.sku
    index = np.zeros(uniq.size, dtype=np.int64)
    index[inverse] = block_id
    return _Blocks(
        sku=sku,
        index=index,
        packs=np.bincount(inverse),
        value=np.bincount(inverse, weights=items.value),
        cost=np.bincount(inverse, weights=items.cost),
        volume=np.bincount(inverse, weights=items.volume),
    )


def _dual(blocks: _Blocks, n_skus: int, lb: float, lv: float) -> tuple[float, np.ndarray]:
    """Sum over SKUs of the best net value at prices (lb, lv), and the blocks chosen."""
    net = blocks.value - lb * blocks.cost - lv * blocks.volume
    head = blocks.index == 0
    head_ok = np.zeros(n_skus, dtype=bool)
    head_ok[blocks.sku[head]] = net[head] > 0
    take = np.where(head, net > 0, (net > 0) & head_ok[blocks.sku])
    return float(net[take].sum()), take


def _usage(blocks: _Blocks, take: np.ndarray) -> tuple[float, float]:
    return float(blocks.cost[take].sum()), float(blocks.volume[take].sum())


def _bisect(fn: Callable[[float], float], hi: float, iterations: int = 40) -> float:
    """Smallest price in [0, hi] where fn(price) (a usage minus its limit) is <= 0."""
    lo = 0.0
    if fn(0.0) <= 0:
        return 0.0
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if fn(mid) > 0:
            lo = mid
        else:
            hi = mid
    return hi


def lagrangian_bound(
    blocks: _Blocks,
    n_skus: int,
    budget: float | None,
    capacity: float | None,
    supplier: np.ndarray | None = None,
    order_cost: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """(bound, budget price, volume price): the dual minimized by nested bisection.

    With `supplier` (per SKU) and `order_cost` (per supplier), the bound at the chosen
    prices also charges each supplier's fixed cost where its SKUs' relaxed value exceeds
    it (a supplier is ordered from or not): still an upper bound, and a tighter one.
    """
    ratio_b = np.where(blocks.cost > 0, blocks.value / np.maximum(blocks.cost, 1e-12), 0.0)
    ratio_v = np.where(blocks.volume > 0, blocks.value / np.maximum(blocks.volume, 1e-12), 0.0)
    hi_b = float(ratio_b.max(initial=0.0)) * 1.01 + 1e-9
    hi_v = float(ratio_v.max(initial=0.0)) * 1.01 + 1e-9

    def best_lb(lv: float) -> float:
        if budget is None:
            return 0.0
        return _bisect(
            lambda lb: _usage(blocks, _dual(blocks, n_skus, lb, lv)[1])[0] - budget, hi_b
        )

    if capacity is None:
        lv = 0.0
    else:
        lv = _bisect(
            lambda v: _usage(blocks, _dual(blocks, n_skus, best_lb(v), v)[1])[1] - capacity,
            hi_v,
            30,
        )
    lb = best_lb(lv)
    value, take = _dual(blocks, n_skus, lb, lv)
    if supplier is not None and order_cost is not None:
        net = blocks.value - lb * blocks.cost - lv * blocks.volume
        per_sku = np.bincount(blocks.sku[take], weights=net[take], minlength=n_skus)
        per_supplier = np.bincount(supplier, weights=per_sku, minlength=order_cost.size)
        value = float(np.maximum(per_supplier - order_cost, 0.0).sum())
    bound = value + lb * (budget or 0.0) + lv * (capacity or 0.0)
    return bound, lb, lv


def _greedy(
    blocks: _Blocks,
    n_skus: int,
    lb: float,
    lv: float,
    budget: float,
    capacity: float,
    allowed: np.ndarray | None = None,
    taken: np.ndarray | None = None,
) -> np.ndarray:
    """Blocks taken in order of value per priced resource while they fit."""
    take = np.zeros(blocks.sku.size, dtype=bool) if taken is None else taken.copy()
    price = lb * blocks.cost + lv * blocks.volume
    score = np.where(price > 0, blocks.value / np.maximum(price, 1e-300), blocks.value * 1e12)
    candidates = np.flatnonzero(
        (blocks.value > 0) & ~take & (allowed[blocks.sku] if allowed is not None else True)
    )
    order = candidates[np.lexsort((blocks.index[candidates], -score[candidates]))]
    spent_b, spent_v = _usage(blocks, take)
    have = np.zeros(n_skus, dtype=np.int64)  # blocks taken per SKU
    np.add.at(have, blocks.sku[take], 1)
    # Exact shortcut: the loop below would first take the longest prefix of `order` that
    # fits and keeps each SKU's blocks in sequence; take it at once. Then drop blocks that
    # can never fit (spending only grows), so the loop walks what is left.
    if order.size:
        sku = blocks.sku[order]
        by_sku = np.argsort(sku, kind="stable")
        counts = np.bincount(sku, minlength=n_skus)
        earlier = np.empty(order.size, dtype=np.int64)  # same-SKU blocks before, in order
        starts = np.cumsum(counts) - counts
        earlier[by_sku] = np.arange(order.size) - np.repeat(starts, counts)
        in_sequence = blocks.index[order] == have[sku] + earlier
        fits = (spent_b + np.cumsum(blocks.cost[order]) <= budget + 1e-9) & (
            spent_v + np.cumsum(blocks.volume[order]) <= capacity + 1e-9
        )
        ok = in_sequence & fits
        stop = int(np.argmin(ok)) if not ok.all() else order.size
        prefix = order[:stop]
        take[prefix] = True
        spent_b += float(blocks.cost[prefix].sum())
        spent_v += float(blocks.volume[prefix].sum())
        np.add.at(have, blocks.sku[prefix], 1)
        order = order[stop:]
        order = order[
            (spent_b + blocks.cost[order] <= budget + 1e-9)
            & (spent_v + blocks.volume[order] <= capacity + 1e-9)
        ]
    for b in order:
        if have[blocks.sku[b]] != blocks.index[b]:
            continue  # its predecessor block was not taken
        if spent_b + blocks.cost[b] > budget + 1e-9 or spent_v + blocks.volume[b] > capacity + 1e-9:
            continue
        take[b] = True
        spent_b += blocks.cost[b]
        spent_v += blocks.volume[b]
        have[blocks.sku[b]] += 1
    return take


def _suppliers(
    problem: ReorderProblem, blocks: _Blocks, take: np.ndarray, budget: float, capacity: float
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Choose suppliers under fixed costs and minimums with OR-Tools; top up minimums.

    Returns the blocks taken, notes, and per SKU whether it was topped up to a minimum.
    """
    notes: list[str] = []
    topped = np.zeros(problem.n_skus, dtype=bool)
    sup_of_block = problem.supplier[blocks.sku]
    terms = (problem.supplier_min_value > 0) | (problem.supplier_order_cost > 0)
    active = np.unique(sup_of_block[take])
    if not terms[active].any():
        return take, notes, topped
    # Per supplier: its lines as planned, topped up to the minimum with its next best blocks.
    plans: dict[int, np.ndarray] = {}
    for s in active:
        mine = take & (sup_of_block == s)
        value = float(blocks.cost[mine].sum())
        if value < problem.supplier_min_value[s]:
            extra = np.flatnonzero(~take & (sup_of_block == s))
            extra = extra[
                np.lexsort(
                    (
                        blocks.index[extra],
                        -blocks.value[extra] / np.maximum(blocks.cost[extra], 1e-12),
                    )
                )
            ]
            have = np.zeros(problem.n_skus, dtype=np.int64)
            np.add.at(have, blocks.sku[mine], 1)
            for b in extra:
                if value >= problem.supplier_min_value[s]:
                    break
                if have[blocks.sku[b]] != blocks.index[b]:
                    continue
                mine[b] = True
                have[blocks.sku[b]] += 1
                value += blocks.cost[b]
            if value < problem.supplier_min_value[s]:
                notes.append(
                    f"supplier {problem.supplier_ids[s]}: minimum order value out of reach"
                )
                mine[:] = False
        plans[int(s)] = mine
    solver = pywraplp.Solver.CreateSolver("SCIP")
    y = {s: solver.BoolVar(f"order_{s}") for s in plans}
    solver.Add(sum(float(blocks.cost[m].sum()) * y[s] for s, m in plans.items()) <= budget)
    solver.Add(sum(float(blocks.volume[m].sum()) * y[s] for s, m in plans.items()) <= capacity)
    solver.Maximize(
        sum(
            (float(blocks.value[m].sum()) - float(problem.supplier_order_cost[s])) * y[s]
            for s, m in plans.items()
        )
    )
    status = solver.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        notes.append("supplier selection found no feasible choice; ordering nothing")
        return np.zeros_like(take), notes, topped
    new_take = np.zeros_like(take)
    for s, m in plans.items():
        if y[s].solution_value() > 0.5 and m.any():
            new_take |= m
            added = m & ~take
            topped[blocks.sku[added]] = True
        elif take[sup_of_block == s].any():
            notes.append(
                f"supplier {problem.supplier_ids[s]}: not worth its order cost or minimum; dropped"
            )
    return new_take, notes, topped


def solve(
    problem: ReorderProblem, rounding: str = "up", curves: list[SkuCurve] | None = None
) -> Solution:
    """Plan packs per SKU; see the module docstring. Deterministic for the same input.

    `curves` of an earlier solve of the same SKUs, demand and costs (budget, capacity
    and supplier terms may differ) are reused instead of convolving the pmfs again.
    """
    started = time.perf_counter()
    problem.validate()
    n = problem.n_skus
    if curves is None or len(curves) != n:
        curves = [sku_curve(problem, i) for i in range(n)]
    topup = problem.supplier_min_value[problem.supplier] > 0
    items = pack_items(problem, curves, rounding, topup)
    blocks = _blocks(items)
    budget = np.inf if problem.budget is None else float(problem.budget)
    capacity = np.inf if problem.capacity is None else float(problem.capacity)
    bound, lb, lv = lagrangian_bound(
        blocks, n, problem.budget, problem.capacity, problem.supplier, problem.supplier_order_cost
    )
    take = _greedy(blocks, n, lb, lv, budget, capacity)
    take, notes, topped = _suppliers(problem, blocks, take, budget, capacity)
    # Refill what dropped suppliers freed, from suppliers still ordered or without terms.
    sup = problem.supplier
    ordered = np.zeros(len(problem.supplier_ids), dtype=bool)
    ordered[np.unique(sup[blocks.sku[take]])] = True
    no_terms = (problem.supplier_min_value <= 0) & (problem.supplier_order_cost <= 0)
    take = _greedy(
        blocks, n, lb, lv, budget, capacity, allowed=(ordered | no_terms)[sup], taken=take
    )

    packs = np.zeros(n, dtype=np.int64)
    np.add.at(packs, blocks.sku[take], blocks.packs[take])
    used = np.unique(sup[packs > 0])
    order_costs = float(problem.supplier_order_cost[used].sum())
    objective = float(blocks.value[take].sum()) - order_costs
    cost, volume = _usage(blocks, take)
    gap = max(bound - objective, 0.0) / max(abs(bound), 1.0)
    binding = _binding(
        problem, blocks, take, items, packs, topped, budget - cost, capacity - volume
    )
    if not take.any():
        status = "nothing to order"
        if not (blocks.value > 0).any():
            notes.append("no pack adds value: stock covers the protection interval")
        elif problem.budget is not None and blocks.cost[blocks.value > 0].min() > budget:
            notes.append("the budget is below the cost of any worthwhile pack or MOQ")
    else:
        status = "optimal" if gap <= OPTIMAL_GAP else "feasible"
    return Solution(
        packs=packs,
        quantity=packs * problem.pack_size,
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        seconds=time.perf_counter() - started,
        prices=(lb, lv),
        binding=binding,
        cost=cost,
        volume=volume,
        notes=tuple(notes),
        curves=curves,
        items=items,
    )


def _binding(
    problem: ReorderProblem,
    blocks: _Blocks,
    take: np.ndarray,
    items: PackItems,
    packs: np.ndarray,
    topped: np.ndarray,
    budget_left: float,
    volume_left: float,
) -> np.ndarray:
    """What stopped each SKU from getting its next worthwhile block."""
    out = np.full(problem.n_skus, "none", dtype=object)
    have = np.zeros(problem.n_skus, dtype=np.int64)
    np.add.at(have, blocks.sku[take], 1)
    nxt = np.full(problem.n_skus, -1)
    candidates = np.flatnonzero(blocks.index == have[blocks.sku])
    nxt[blocks.sku[candidates]] = candidates
    for i in np.flatnonzero(nxt >= 0):
        b = nxt[i]
        if blocks.value[b] <= 0:
            continue
        if blocks.cost[b] > budget_left + 1e-9:
            out[i] = "budget"
        elif blocks.volume[b] > volume_left + 1e-9:
            out[i] = "volume"
        else:
            out[i] = "supplier terms"
    moq_only = (
        (problem.moq > 0)
        & (packs * problem.pack_size <= np.maximum(problem.moq, problem.pack_size))
        & (packs > 0)
    )
    out[(out == "none") & moq_only] = "moq"
    capped = (packs > 0) & ((packs + 1) * problem.pack_size > problem.max_units)
    out[(out == "none") & capped & np.isfinite(problem.max_units)] = "max units"
    out[topped & (out == "none")] = "supplier minimum"
    return out
