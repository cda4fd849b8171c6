"""Supplier terms in the Lagrangian relaxation: minimum order values and fixed order costs.

At prices (lambda_b per currency of budget, lambda_v per unit of volume) a block's net
value is value - lambda_b cost - lambda_v volume, and each SKU alone takes its best
prefix of blocks. A supplier with terms is then either closed (worth 0) or open: its
SKUs' best prefixes, topped up to its minimum order value, less its fixed cost. This
module computes, for every supplier at once (vectorized over blocks):

- `best_prefixes`: each SKU's best block count k* and net value F_i(k*);
- `priced_plan`: a plan that meets every open supplier's minimum: a supplier short of
  it adds the blocks that give up the least net value on the way
  (`optimize.cover.least_loss_cover`);
- `relaxation`: the resulting bound (the least loss to reach a minimum bounded from
  below by `optimize.cover.covering_loss`), and `terms_prices`, the budget price that
  minimizes it (the bound is convex in the price; cutting planes on its slope).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from optimize.cover import CoverOrder, covering_loss, grouped_cumsum, least_loss_cover, sku_starts
from optimize.problem import ReorderProblem

if TYPE_CHECKING:
    from optimize.solve import Blocks


def has_terms(problem: ReorderProblem) -> np.ndarray:
    """Per supplier: a minimum order value or a fixed order cost makes it all-or-nothing."""
    return np.asarray((problem.supplier_min_value > 0) | (problem.supplier_order_cost > 0))


def best_prefixes(net: np.ndarray, blocks: Blocks, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per SKU the block count k* with the largest net prefix (0 when none is positive;
    the shortest on ties) and that prefix's net value F_i(k*)."""
    first, count = sku_starts(blocks, n)
    cum = grouped_cumsum(net, blocks.sku)  # per block, its SKU's net prefix to it
    best_t = np.zeros(n, dtype=np.int64)
    best_f = np.zeros(n)
    has = np.flatnonzero(count > 0)
    if has.size:
        group_max = np.maximum.reduceat(cum, first[has])
        owner = np.repeat(np.arange(has.size), count[has])
        at_max = np.flatnonzero(cum >= group_max[owner] - 1e-12)
        _, earliest = np.unique(owner[at_max], return_index=True)
        good = group_max > 0
        best_t[has[good]] = at_max[earliest][good] - first[has[good]] + 1
        best_f[has[good]] = group_max[good]
    return best_t, best_f


def priced_plan(
    problem: ReorderProblem,
    blocks: Blocks,
    net: np.ndarray,
    drop: bool = True,
) -> np.ndarray:
    """Blocks taken by the priced plan: each SKU at its best prefix; a supplier short of
    its minimum adds the blocks that give up the least net value on the way there
    (`least_loss_cover`), or is closed when even all of them cannot reach it; with
    `drop`, suppliers whose net value does not beat their fixed cost are closed too."""
    n, n_sup = problem.n_skus, len(problem.supplier_ids)
    sup_of = problem.supplier[blocks.sku]
    terms = has_terms(problem)
    minimum = np.where(terms, problem.supplier_min_value, 0.0)
    best_t, _ = best_prefixes(net, blocks, n)
    take = blocks.index < best_t[blocks.sku]
    spend = np.bincount(sup_of[take], weights=blocks.cost[take], minlength=n_sup)
    deficit = np.where(terms, minimum - spend, 0.0)
    extra, reached = least_loss_cover(problem, blocks, net, best_t, deficit)
    take = blocks.index < (best_t + extra)[blocks.sku]
    take[(terms & ~reached)[sup_of]] = False  # out of reach
    if drop:
        value = np.bincount(sup_of[take], weights=net[take], minlength=n_sup)
        take[(terms & (value - problem.supplier_order_cost <= 0))[sup_of]] = False
    return np.asarray(take)


@dataclass(frozen=True)
class Relaxation:
    """The Lagrangian relaxation with supplier terms at some prices. Per SKU: its best
    block count k* and best net value F_i(k*). Per supplier: H_s, its SKUs' best net
    values summed (its open value, minimums ignored); `open_bound`, a bound on its open
    value with the minimum and the fixed cost (-inf if the minimum is out of reach);
    `term`, its part of `bound` (max(0, open_bound) for suppliers with terms, else H_s);
    and `spend`, what the relaxed plan spends there (0 where it stays closed; currency)."""

    bound: float
    best_t: np.ndarray
    best_f: np.ndarray
    open_value: np.ndarray
    open_bound: np.ndarray
    term: np.ndarray
    spend: np.ndarray


def relaxation(
    problem: ReorderProblem,
    blocks: Blocks,
    prices: tuple[float, float],
    order: CoverOrder | None = None,
) -> Relaxation:
    """The bound with supplier terms at `prices`, and what reduced-cost fixing needs
    (`order`: the blocks in covering order at the same volume price, if known)."""
    n, n_sup = problem.n_skus, len(problem.supplier_ids)
    lb, lv = prices
    net = blocks.value - lb * blocks.cost - lv * blocks.volume
    best_t, best_f = best_prefixes(net, blocks, n)
    open_value = np.bincount(problem.supplier, weights=best_f, minlength=n_sup)
    terms = has_terms(problem)
    taken = blocks.index < best_t[blocks.sku]
    sup_of = problem.supplier[blocks.sku]
    spend = np.bincount(sup_of[taken], weights=blocks.cost[taken], minlength=n_sup)
    deficit = np.where(terms, problem.supplier_min_value - spend, 0.0)
    if (order is None or order.volume_price != lv) and (deficit > 1e-9).any():
        order = CoverOrder.of(problem, blocks, lv)
    loss, added = (
        covering_loss(problem, order, lb, best_t, deficit)  # a lower bound on the loss
        if order is not None
        else (np.zeros(n_sup), np.zeros(n_sup))
    )
    open_bound = open_value - problem.supplier_order_cost - loss
    term = np.where(terms, np.maximum(open_bound, 0.0), open_value)
    bound = float(term.sum()) + lb * (problem.budget or 0.0) + lv * (problem.capacity or 0.0)
    spend = np.where(~terms | (open_bound > 0), spend + added, 0.0)
    return Relaxation(bound, best_t, best_f, open_value, open_bound, term, spend)


def terms_prices(
    problem: ReorderProblem,
    blocks: Blocks,
    prices: tuple[float, float],
    tolerance: float = 1e-7,
    iterations: int = 60,
) -> tuple[tuple[float, float], float]:
    """The budget price minimizing the bound with supplier terms (volume's price kept),
    and that bound: (prices, bound).

    The bound is convex in the price, and the budget less the relaxed plan's spend is a
    slope of it (`Relaxation.spend`). Between a price where the slope is negative and
    one where it is not, the next price tried is where their tangents cross (Kelley's
    cutting planes), or the middle when that is too near either end; the tangents'
    crossing bounds the least bound from below, so the search stops once the best bound
    found is within `tolerance` (relative) of it. Without a budget: `prices` kept."""
    lb, lv = prices
    order = CoverOrder.of(problem, blocks, lv)
    if problem.budget is None:
        return prices, relaxation(problem, blocks, prices, order).bound
    budget = float(problem.budget)
    ratio = np.where(blocks.cost > 0, blocks.value / np.maximum(blocks.cost, 1e-12), 0.0)

    def at(price: float) -> tuple[float, float, float]:  # (price, bound, slope)
        relaxed = relaxation(problem, blocks, (price, lv), order)
        return price, relaxed.bound, budget - float(relaxed.spend.sum())

    lo = at(0.0)
    if lo[2] >= 0:  # the bound is least at price 0
        return (0.0, lv), lo[1]
    hi = at(max(float(ratio.max(initial=0.0)) * 1.01, 2.0 * lb, 1e-9))
    start = at(lb)  # the price without terms: often near, it narrows the range
    if start[2] < 0:
        lo = start
    else:
        hi = start
    best = min((start[1], start[0]), (lo[1], lo[0]), (hi[1], hi[0]))
    for _ in range(iterations):
        (a, fa, ga), (b, fb, gb) = lo, hi
        cross = (fb - fa + ga * a - gb * b) / (ga - gb) if ga < gb else (a + b) / 2
        floor = fa + ga * (cross - a)  # no price bounds below this
        if best[0] - floor <= tolerance * max(abs(best[0]), 1.0):
            break
        inside = a + 0.01 * (b - a) < cross < b - 0.01 * (b - a)
        point = at(cross if inside else (a + b) / 2)
        best = min(best, (point[1], point[0]))
        if point[2] < 0:
            lo = point
        else:
            hi = point
    return (best[1], lv), best[0]
