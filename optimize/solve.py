"""Solving the reorder problem: a Lagrangian bound and priced plans, then OR-Tools.

The structure that scales (measured, see benchmarks/README.md): value curves are
concave per SKU and only two constraints (budget, volume) couple the SKUs. So:

1. **Bound**: relax budget and volume with prices (lambda_b, lambda_v). Each SKU then
   picks its best number of packs alone (exactly, MOQ included), and minimizing the
   resulting dual over the two prices gives an upper bound on the value any plan can
   add. With supplier minimums and fixed costs, each supplier is then open (its SKUs'
   best packs, topped up to its minimum at the least loss, less its fixed cost) or
   closed, and the budget price is searched again for that tighter bound
   (`optimize.terms`).
2. **Plans**, cheapest first, each only while the best so far is not within the target
   gap (`ExactSettings.relative_gap`) of the bound:
   - the supplier master: each supplier's plan at the bound's prices (every open one at
     its minimum, reached with the packs that give up the least, `optimize.cover`), a
     small SCIP model choosing which suppliers to order from within budget and volume,
     then the priced greedy filling what is left;
   - the priced greedy: pack blocks (the MOQ block first, then packs or lots) in order
     of value per dual-priced resource while they fit; suppliers short of their minimum
     topped up at the least loss or dropped whole; the budget refilled;
   - the supplier master with each supplier's plans at a range of prices.
3. **Exact stage** (`optimize.mip`, OR-Tools SCIP or CP-SAT): unless the best plan is
   within the target gap, every choice that cannot beat it is fixed by reduced costs
   and OR-Tools decides the packs and suppliers that remain, with that plan as its hint
   and its fallback. Its best bound and the Lagrangian bound (with supplier terms)
   bound the plan: the tighter is reported.

The objective is the expected value the order adds (served value under priority
rationing, minus holding and order costs), in currency.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp

from optimize.cover import least_loss_cover
from optimize.mip import ExactSettings, neighbourhood_domains, solve_domains, solve_exact
from optimize.problem import ReorderProblem
from optimize.terms import has_terms, priced_plan, relaxation, terms_prices
from optimize.value_curve import PackItems, SkuCurve, pack_items, sku_curves

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
    status: str  # "optimal", "near-optimal" (within the target gap), "feasible", "nothing to order"
    seconds: float
    solver: str  # who decided the packs: `MASTER`, "priced greedy" or the exact stage's solver
    solver_status: str  # the exact stage's own word: optimal, time limit, ... ("" if none)
    prices: tuple[float, float]  # dual prices of budget (per currency) and volume (per unit)
    binding: np.ndarray  # per SKU: none, budget, volume, moq, supplier minimum, max units
    cost: float
    volume: float
    notes: tuple[str, ...] = ()
    curves: list[SkuCurve] = field(default_factory=list, repr=False)
    items: PackItems | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Blocks:
    """Pack items merged into blocks: each SKU's MOQ block first, then single packs."""

    sku: np.ndarray
    index: np.ndarray  # block number within its SKU
    packs: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    volume: np.ndarray


def _blocks(items: PackItems) -> Blocks:
    """Merge each SKU's first max(MOQ packs, 1) packs into one block; the rest stay single."""
    head = np.maximum(items.moq_packs, 1)[items.sku]
    block_id = np.where(items.k < head, 0, items.k - head + 1)
    key = items.sku * (int(items.k.max()) + 2 if items.k.size else 1) + block_id
    uniq, inverse = np.unique(key, return_inverse=True)
    sku = np.zeros(uniq.size, dtype=np.int64)
    sku[inverse] = items.sku
    index = np.zeros(uniq.size, dtype=np.int64)
    index[inverse] = block_id
    return Blocks(
        sku=sku,
        index=index,
        packs=np.bincount(inverse, weights=items.packs).astype(np.int64),
        value=np.bincount(inverse, weights=items.value),
        cost=np.bincount(inverse, weights=items.cost),
        volume=np.bincount(inverse, weights=items.volume),
    )


def _dual(blocks: Blocks, n_skus: int, lb: float, lv: float) -> tuple[float, np.ndarray]:
    """Sum over SKUs of the best net value at prices (lb, lv), and the blocks chosen."""
    net = blocks.value - lb * blocks.cost - lv * blocks.volume
    head = blocks.index == 0
    head_ok = np.zeros(n_skus, dtype=bool)
    head_ok[blocks.sku[head]] = net[head] > 0
    take = np.where(head, net > 0, (net > 0) & head_ok[blocks.sku])
    return float(net[take].sum()), take


def _usage(blocks: Blocks, take: np.ndarray) -> tuple[float, float]:
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
    blocks: Blocks,
    n_skus: int,
    budget: float | None,
    capacity: float | None,
    supplier: np.ndarray | None = None,
    order_cost: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """(bound, budget price, volume price): the dual minimized over the budget price
    (exactly, `best_lb`) within a bisection over the volume price.

    With `supplier` (per SKU) and `order_cost` (per supplier), the bound at the chosen
    prices also charges each supplier's fixed cost where its SKUs' relaxed value exceeds
    it (a supplier is ordered from or not): still an upper bound, and a tighter one.
    """
    ratio_v = np.where(blocks.volume > 0, blocks.value / np.maximum(blocks.volume, 1e-12), 0.0)
    hi_v = float(ratio_v.max(initial=0.0)) * 1.01 + 1e-9

    def best_lb(lv: float) -> float:
        """The least budget price at which the blocks taken (`_dual`) fit the budget: a
        block is taken below its own break-even price and its SKU's first block's, so
        the blocks sorted by that price and their spend summed give it at once."""
        if budget is None:
            return 0.0
        gain = blocks.value - lv * blocks.volume
        with np.errstate(divide="ignore", invalid="ignore"):
            own = np.where(blocks.cost > 0, gain / blocks.cost, np.where(gain > 0, np.inf, -np.inf))
        head = np.full(n_skus, -np.inf)
        head[blocks.sku[blocks.index == 0]] = own[blocks.index == 0]
        until = np.minimum(own, head[blocks.sku])  # taken at budget prices below this
        order = np.argsort(-until, kind="stable")
        fits = int(np.searchsorted(np.cumsum(blocks.cost[order]), budget, side="right"))
        if fits >= order.size:
            return 0.0
        return max(float(until[order[fits]]), 0.0)

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
    blocks: Blocks,
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
    problem: ReorderProblem,
    blocks: Blocks,
    take: np.ndarray,
    budget: float,
    capacity: float,
    prices: tuple[float, float],
) -> np.ndarray:
    """Choose suppliers under fixed costs and minimums with OR-Tools: each supplier's
    lines as planned, topped up to its minimum with the blocks that give up the least
    value at `prices` (`optimize.cover.least_loss_cover`), kept or dropped whole (a
    supplier whose minimum is out of reach is dropped). Returns the blocks taken."""
    n_sup = len(problem.supplier_ids)
    sup_of = problem.supplier[blocks.sku]
    terms = has_terms(problem)
    active = np.zeros(n_sup, dtype=bool)
    active[sup_of[take]] = True
    if not (terms & active).any():
        return take
    have = np.bincount(blocks.sku[take], minlength=problem.n_skus)  # take: a prefix per SKU
    spend = np.bincount(sup_of[take], weights=blocks.cost[take], minlength=n_sup)
    deficit = np.where(terms & active, problem.supplier_min_value - spend, 0.0)
    net = blocks.value - prices[0] * blocks.cost - prices[1] * blocks.volume
    extra, reached = least_loss_cover(problem, blocks, net, have, deficit)
    candidates = np.flatnonzero(active & reached)
    plan = (blocks.index < (have + extra)[blocks.sku]) & (active & reached)[sup_of]
    value = np.bincount(sup_of[plan], weights=blocks.value[plan], minlength=n_sup)
    cost = np.bincount(sup_of[plan], weights=blocks.cost[plan], minlength=n_sup)
    volume = np.bincount(sup_of[plan], weights=blocks.volume[plan], minlength=n_sup)
    gain = value - problem.supplier_order_cost
    solver = pywraplp.Solver.CreateSolver("SCIP")
    y = [solver.BoolVar(f"order_{s}") for s in candidates]  # supplier s ordered from

    def total(per_supplier: np.ndarray) -> Any:
        return solver.Sum([float(per_supplier[s]) * v for s, v in zip(candidates, y, strict=True)])

    solver.Add(total(cost) <= budget)
    solver.Add(total(volume) <= capacity)
    solver.Maximize(total(gain))
    if solver.Solve() not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return np.zeros_like(take)
    chosen = np.zeros(n_sup, dtype=bool)
    chosen[candidates] = [v.solution_value() > 0.5 for v in y]
    return np.asarray(plan & chosen[sup_of])


#: The solve record's name for plans the supplier master decided (its supplier choice is
#: an OR-Tools SCIP model).
MASTER = "supplier master (OR-Tools SCIP)"

#: Budget prices, as multiples of the bound's, at which each supplier's priced plan is an
#: option of the supplier master (`_supplier_master`): first the bound's price alone
#: (where every open supplier sits at its minimum when the budget binds), then a wider
#: set where that is not yet within the target gap.
MASTER_SCALES = (1.0,)
WIDE_SCALES = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 1e3)


def _supplier_master(
    problem: ReorderProblem,
    blocks: Blocks,
    prices: tuple[float, float],
    budget: float,
    capacity: float,
    scales: tuple[float, ...],
    seconds: float,
) -> np.ndarray:
    """A plan that chooses whole suppliers well: each supplier's priced plans at budget
    prices `scales` times the bound's (1e3: it reaches its minimum with the packs worth
    most per currency) are its options, and a small MIP (OR-Tools SCIP: one binary per
    option, at most one per supplier, budget and volume) picks one per supplier or none;
    the priced greedy then fills what is left with the chosen suppliers' packs."""
    n_sup = len(problem.supplier_ids)
    sup_of = problem.supplier[blocks.sku]
    lb, lv = prices
    base = max(lb, 1e-3)
    options: list[np.ndarray] = []
    for scale in scales:
        net = blocks.value - scale * base * blocks.cost - scale * lv * blocks.volume
        options.append(priced_plan(problem, blocks, net, drop=False))
    solver = pywraplp.Solver.CreateSolver("SCIP")
    chosen: list[tuple[int, int, Any]] = []  # (option, supplier, its binary)
    by_supplier: dict[int, list[Any]] = {}
    spend, volume, objective = [], [], []
    for k, take in enumerate(options):
        value = np.bincount(sup_of[take], weights=blocks.value[take], minlength=n_sup)
        cost = np.bincount(sup_of[take], weights=blocks.cost[take], minlength=n_sup)
        vol = np.bincount(sup_of[take], weights=blocks.volume[take], minlength=n_sup)
        for s in np.flatnonzero(np.bincount(sup_of[take], minlength=n_sup) > 0):
            gain = float(value[s] - problem.supplier_order_cost[s])
            if gain <= 0:
                continue
            x = solver.BoolVar(f"o{k}_{s}")  # supplier s ordered from with option k
            chosen.append((k, int(s), x))
            by_supplier.setdefault(int(s), []).append(x)
            spend.append(float(cost[s]) * x)
            volume.append(float(vol[s]) * x)
            objective.append(gain * x)
    if not chosen:
        return np.zeros(blocks.sku.size, dtype=bool)
    for xs in by_supplier.values():
        solver.Add(solver.Sum(xs) <= 1)  # one option per supplier, or none
    if np.isfinite(budget):
        solver.Add(solver.Sum(spend) <= budget)
    if np.isfinite(capacity):
        solver.Add(solver.Sum(volume) <= capacity)
    solver.Maximize(solver.Sum(objective))
    solver.SetTimeLimit(int(seconds * 1000))
    if solver.Solve() not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return np.zeros(blocks.sku.size, dtype=bool)
    option = np.full(n_sup, -1)  # per supplier the option chosen, -1 for none
    for k, supplier, x in chosen:
        if x.solution_value() > 0.5:
            option[supplier] = k
    take = np.zeros(blocks.sku.size, dtype=bool)
    for k, plan in enumerate(options):
        take |= plan & (option[sup_of] == k)
    return _fill(problem, blocks, prices, budget, capacity, take)


def _fill(
    problem: ReorderProblem,
    blocks: Blocks,
    prices: tuple[float, float],
    budget: float,
    capacity: float,
    take: np.ndarray,
) -> np.ndarray:
    """`take` and the priced greedy's best packs that still fit, from suppliers already
    ordered from or without terms."""
    ordered = np.zeros(len(problem.supplier_ids), dtype=bool)
    ordered[problem.supplier[blocks.sku[take]]] = True
    allowed = (ordered | ~has_terms(problem))[problem.supplier]
    return _greedy(blocks, problem.n_skus, *prices, budget, capacity, allowed=allowed, taken=take)


def greedy_plan(
    problem: ReorderProblem,
    blocks: Blocks,
    prices: tuple[float, float],
    budget: float,
    capacity: float,
) -> np.ndarray:
    """The priced greedy: blocks by value per priced resource while they fit, suppliers
    short of their minimum topped up or dropped whole (`_suppliers`), then what they
    freed refilled from suppliers still ordered or without terms."""
    take = _greedy(blocks, problem.n_skus, *prices, budget, capacity)
    take = _suppliers(problem, blocks, take, budget, capacity, prices)
    return _fill(problem, blocks, prices, budget, capacity, take)


def plain_bound(problem: ReorderProblem, blocks: Blocks) -> tuple[float, tuple[float, float]]:
    """The Lagrangian bound without minimums (fixed order costs charged per supplier)
    and its prices (`lagrangian_bound`)."""
    bound, lb, lv = lagrangian_bound(
        blocks, problem.n_skus, problem.budget, problem.capacity, problem.supplier,
        problem.supplier_order_cost,
    )  # fmt: skip
    return bound, (lb, lv)


def _plans(
    problem: ReorderProblem,
    blocks: Blocks,
    plain: tuple[float, float],
    bound: float,
    budget: float,
    capacity: float,
    exact: ExactSettings,
) -> tuple[np.ndarray, float, str, float, tuple[float, float]]:
    """The best plan before polish and the exact stage (see the module docstring):
    cheapest first, each next plan only while the best is not within the target gap of
    the bound. Returns (blocks taken, objective, who decided, bound, the bound's prices)
    from `plain`, the prices and `bound` without minimums."""
    started = time.perf_counter()
    terms = bool(has_terms(problem).any())
    prices = plain
    take, objective, solver = np.zeros(blocks.sku.size, dtype=bool), 0.0, "priced greedy"

    def consider(other: np.ndarray, source: str) -> None:
        nonlocal take, objective, solver
        value = _objective(problem, blocks, other)
        if value > objective:
            take, objective, solver = other, value, source
        log.debug(
            "%s: %.4f%% from the bound (best so far %.4f%%) at %.2f s", source,
            100 * _gap(bound, value), 100 * _gap(bound, objective),
            time.perf_counter() - started,
        )  # fmt: skip

    if terms:
        priced, relaxed = terms_prices(problem, blocks, plain)
        if relaxed < bound:
            bound, prices = relaxed, priced
        consider(_supplier_master(
            problem, blocks, priced, budget, capacity, MASTER_SCALES, exact.time_limit / 4
        ), MASTER)  # fmt: skip
    if not terms or _gap(bound, objective) > exact.relative_gap:
        consider(greedy_plan(problem, blocks, plain, budget, capacity), "priced greedy")
    if terms and _gap(bound, objective) > exact.relative_gap:
        consider(_supplier_master(
            problem, blocks, priced, budget, capacity, WIDE_SCALES, exact.time_limit / 4
        ), MASTER)  # fmt: skip
    if not terms:
        bound = min(bound, relaxation(problem, blocks, prices).bound)
    return take, objective, solver, bound, prices


def solve(
    problem: ReorderProblem,
    rounding: str = "up",
    curves: list[SkuCurve] | None = None,
    exact: ExactSettings | None = None,
) -> Solution:
    """Plan packs per SKU; see the module docstring. Deterministic for the same input
    (and `exact.seed`, while the exact stage ends before its time limit).

    `curves` of an earlier solve of the same SKUs, demand and costs (budget, capacity
    and supplier terms may differ) are reused instead of convolving the pmfs again.
    """
    started = time.perf_counter()
    problem.validate()
    exact = exact or ExactSettings()
    n = problem.n_skus
    if curves is None or len(curves) != n:
        curves = sku_curves(problem)
    items = pack_items(problem, curves, rounding, problem.supplier_min_value[problem.supplier])
    blocks = _blocks(items)
    budget = np.inf if problem.budget is None else float(problem.budget)
    capacity = np.inf if problem.capacity is None else float(problem.capacity)
    bound, plain = plain_bound(problem, blocks)
    terms = bool(has_terms(problem).any())
    take, objective, solver, bound, (lb, lv) = _plans(
        problem, blocks, plain, bound, budget, capacity, exact
    )
    solver_status = ""
    if _gap(bound, objective) > exact.relative_gap and (blocks.value > 0).any() and terms:
        take, objective = _polish(problem, blocks, (lb, lv), take, objective, bound, exact)
    if _gap(bound, objective) > exact.relative_gap and (blocks.value > 0).any():
        result = solve_exact(problem, blocks, (lb, lv), take, objective, exact)
        solver, solver_status = f"OR-Tools {exact.solver}", result.status
        if result.status != "no solution" and result.objective >= objective - 1e-9:
            take, objective = result.take, _objective(problem, blocks, result.take)
        bound = min(bound, max(result.bound, objective))
        log.info(
            "exact stage (%s): %s in %.2f s, %d SKUs and %d suppliers left free",
            exact.solver, result.status, result.seconds, result.free_skus, result.free_suppliers,
        )  # fmt: skip

    packs = np.zeros(n, dtype=np.int64)
    np.add.at(packs, blocks.sku[take], blocks.packs[take])
    cost, volume = _usage(blocks, take)
    gap = _gap(bound, objective)
    topped = np.zeros(n, dtype=bool)  # ordered past what pays for itself: a minimum
    topped[blocks.sku[take & (blocks.value <= 0)]] = True
    binding = _binding(
        problem, blocks, take, items, packs, topped, budget - cost, capacity - volume
    )
    notes: list[str] = []
    if not take.any():
        status = "nothing to order"
        notes += _why_nothing(problem, blocks)
    else:
        status = (
            "optimal" if gap <= OPTIMAL_GAP else "near-optimal" if gap <= exact.relative_gap
            else "feasible"
        )  # fmt: skip
        _report_dropped(problem, blocks, take, notes)
    return Solution(
        packs=packs,
        quantity=packs * problem.pack_size,
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        seconds=time.perf_counter() - started,
        solver=solver,
        solver_status=solver_status,
        prices=(lb, lv),
        binding=binding,
        cost=cost,
        volume=volume,
        notes=tuple(dict.fromkeys(notes)),  # each said once
        curves=curves,
        items=items,
    )


#: The neighbourhood the polishing model searches: blocks either side of the priced plan,
#: and suppliers whose open value is within this share of the bound of nothing.
POLISH_WIDTH = 2
POLISH_MARGIN = 0.003


def _polish(
    problem: ReorderProblem,
    blocks: Blocks,
    prices: tuple[float, float],
    take: np.ndarray,
    objective: float,
    bound: float,
    exact: ExactSettings,
) -> tuple[np.ndarray, float]:
    """A better incumbent for the exact stage: OR-Tools on a neighbourhood of the priced
    plan (`optimize.mip.neighbourhood_domains`), where the minimums are met with the
    right packs rather than the first that fit; the incumbent if that finds nothing
    better. Its time is a quarter of the exact stage's."""
    net = blocks.value - prices[0] * blocks.cost - prices[1] * blocks.volume
    plan = priced_plan(problem, blocks, net)
    domains = neighbourhood_domains(
        problem, blocks, prices, plan, POLISH_WIDTH, POLISH_MARGIN * max(abs(bound), 1.0)
    )
    quick = replace(exact, time_limit=exact.time_limit / 4)
    result = solve_domains(problem, blocks, domains, take, objective, bound, quick)
    if result.status == "no solution":
        return take, objective
    found = _objective(problem, blocks, result.take)
    feasible = _fits(problem, blocks, result.take)
    return (result.take, found) if feasible and found > objective else (take, objective)


def _fits(problem: ReorderProblem, blocks: Blocks, take: np.ndarray) -> bool:
    """Whether `take` keeps the budget, the volume and every used supplier's minimum."""
    cost, volume = _usage(blocks, take)
    if problem.budget is not None and cost > problem.budget + 1e-6:
        return False
    if problem.capacity is not None and volume > problem.capacity + 1e-6:
        return False
    n_sup = len(problem.supplier_ids)
    sup_of = problem.supplier[blocks.sku[take]]
    spend = np.bincount(sup_of, weights=blocks.cost[take], minlength=n_sup)
    used = np.bincount(sup_of, minlength=n_sup) > 0
    return bool((spend[used] >= problem.supplier_min_value[used] - 1e-6).all())


def _objective(problem: ReorderProblem, blocks: Blocks, take: np.ndarray) -> float:
    """Expected value the taken blocks add, minus the fixed costs of the suppliers used."""
    used = np.unique(problem.supplier[blocks.sku[take]])
    return float(blocks.value[take].sum()) - float(problem.supplier_order_cost[used].sum())


def _gap(bound: float, objective: float) -> float:
    return max(bound - objective, 0.0) / max(abs(bound), 1.0)


def _why_nothing(problem: ReorderProblem, blocks: Blocks) -> list[str]:
    """The true reason an empty plan is empty, in a buyer's words."""
    worth = blocks.value > 0
    if not worth.any():
        return ["no pack adds value: stock covers the protection interval"]
    first = worth & (blocks.index == 0)
    if problem.capacity is not None and problem.capacity <= 0 and (blocks.volume[worth] > 0).all():
        return ["the capacity is 0: nothing that takes warehouse volume can be ordered"]
    if problem.budget is not None and first.any() and blocks.cost[first].min() > problem.budget:
        i = int(np.argmin(np.where(first, blocks.cost, np.inf)))
        sku = problem.sku_ids[blocks.sku[i]]
        return [
            f"the budget is below the cost of any worthwhile pack or MOQ: {problem.budget:,.2f} "
            f"against {blocks.cost[i]:,.2f} for the cheapest ({sku})"
        ]
    suppliers = np.unique(problem.supplier[blocks.sku[worth]])
    out = []
    for s in suppliers:
        minimum = float(problem.supplier_min_value[s])
        if problem.budget is not None and minimum > problem.budget:
            out.append(
                f"supplier {problem.supplier_ids[s]}: its minimum order value ({minimum:,.2f}) "
                f"is above the budget ({problem.budget:,.2f})"
            )
    return out or ["no supplier's order is worth its fixed cost and minimum order value"]


def _report_dropped(
    problem: ReorderProblem, blocks: Blocks, take: np.ndarray, notes: list[str]
) -> None:
    """Name the suppliers with worthwhile packs that the plan does not order from, and
    why: a minimum order value above all that can be ordered from them, or not worth
    its order cost and minimum."""
    n_sup = len(problem.supplier_ids)
    used = np.zeros(n_sup, dtype=bool)
    used[problem.supplier[blocks.sku[take]]] = True
    worth = np.zeros_like(used)
    worth[problem.supplier[blocks.sku[blocks.value > 0]]] = True
    reach = np.bincount(problem.supplier[blocks.sku], weights=blocks.cost, minlength=n_sup)
    for s in np.flatnonzero(has_terms(problem) & worth & ~used):
        if reach[s] < problem.supplier_min_value[s] - 1e-9:
            notes.append(
                f"supplier {problem.supplier_ids[s]}: minimum order value out of reach "
                f"({problem.supplier_min_value[s]:,.2f} against {reach[s]:,.2f} at most)"
            )
        else:
            notes.append(
                f"supplier {problem.supplier_ids[s]}: not worth its order cost or minimum; dropped"
            )


def _binding(
    problem: ReorderProblem,
    blocks: Blocks,
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
