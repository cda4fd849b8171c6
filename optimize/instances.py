"""Named reorder-problem instances and the exact reference they are checked against.

- `random_problem`: N SKUs, 3 segments (negative-binomial demand over the protection
  interval), packs, MOQs, suppliers with minimum order values and fixed order costs.
- `with_binding_terms`: the same with few SKUs per supplier, each supplier's minimum
  set near what an unlimited plan would buy from it, and a budget and a volume that
  bind: the case where keeping or dropping whole suppliers matters most.
- `monolithic_optimum`: the whole problem as one MIP for OR-Tools' SCIP (a binary per
  pack item, the MOQ block together, precedence within a SKU, a binary per supplier
  with its minimum and fixed cost), the reference `optimize.solve` is measured against.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from ortools.linear_solver import pywraplp

from forecast.distribution import pmf
from optimize.problem import ReorderProblem
from optimize.solve import solve
from optimize.value_curve import pack_items, sku_curves


def random_problem(n: int, seed: int = 0, suppliers: int = 50) -> ReorderProblem:
    """N SKUs of skewed demand and prices, 3 tiers, packs, MOQs, `suppliers` with terms."""
    rng = np.random.default_rng(seed)
    means = rng.gamma(0.6, 12.0, (n, 3)) * np.array([1.0, 0.7, 0.4])
    pmfs = tuple(
        tuple(pmf(float(m), float(m * rng.uniform(1.0, 3.0))) for m in row) for row in means
    )
    cost = np.round(np.exp(rng.normal(1.5, 0.8, n)), 2)
    margin = cost * rng.uniform(0.2, 1.0, n)
    churn_value = np.array([60.0, 15.0, 3.0])
    pack = rng.choice(np.array([1, 1, 2, 6, 12]), n)
    moq = np.where(rng.random(n) < 0.3, pack * rng.integers(2, 6, n), 0)
    return ReorderProblem(
        sku_ids=np.array([f"S{i}" for i in range(n)], dtype=object),
        segments=("A", "B", "C"),
        pmfs=pmfs,
        stockout_cost=margin[:, None] + churn_value[None, :],
        position=np.floor(means.sum(axis=1) * rng.uniform(0.0, 0.8, n)),
        unit_cost=cost,
        holding_cost=0.25 * cost * 21 / 365,
        pack_size=pack,
        moq=moq,
        unit_volume=np.round(rng.uniform(0.001, 0.02, n), 4),
        max_units=np.full(n, np.inf),
        supplier=rng.integers(0, suppliers, n),
        supplier_ids=tuple(f"P{j}" for j in range(suppliers)),
        supplier_min_value=rng.choice(np.array([0.0, 200.0, 500.0]), suppliers),
        supplier_order_cost=rng.uniform(20.0, 80.0, suppliers),
    )


def with_binding_terms(
    n: int, seed: int = 0, per_supplier: int = 5, budget_share: float = 0.5
) -> ReorderProblem:
    """`random_problem` with about `per_supplier` SKUs per supplier, each supplier's
    minimum order value at 0.6-1.4 x what an unlimited plan buys from it, order costs of
    20-80, and the budget at `budget_share` (volume at 0.6) of what that plan takes."""
    suppliers = max(1, n // per_supplier)
    base = random_problem(n, seed, suppliers)
    rng = np.random.default_rng(seed + 1)
    free = solve(replace(base, supplier_min_value=np.zeros(suppliers)))
    spend = np.bincount(base.supplier, weights=free.quantity * base.unit_cost, minlength=suppliers)
    minimum = np.round(spend * rng.uniform(0.6, 1.4, suppliers), 2)
    return replace(
        base,
        supplier_min_value=minimum,
        budget=budget_share * free.cost,
        capacity=0.6 * free.volume,
    )


@dataclass(frozen=True)
class Reference:
    """The monolithic MIP's objective and best bound (currency), time and status."""

    objective: float
    bound: float
    seconds: float
    status: str


def monolithic_optimum(problem: ReorderProblem, seconds: float = 60.0) -> Reference:
    """Solve the whole problem as one MIP with SCIP (the peer and the reference)."""
    started = time.perf_counter()
    curves = sku_curves(problem)
    items = pack_items(problem, curves, "up", problem.supplier_min_value[problem.supplier])
    solver = pywraplp.Solver.CreateSolver("SCIP")
    x = [solver.BoolVar(f"x{j}") for j in range(items.sku.size)]  # pack item j ordered
    y = [solver.BoolVar(f"y{s}") for s in range(len(problem.supplier_ids))]  # supplier used
    for i in range(problem.n_skus):
        lo, hi = items.start[i], items.start[i + 1]
        m = int(items.moq_packs[i])
        for j in range(lo + 1, hi):
            if j - lo < m:
                solver.Add(x[j] == x[lo])  # the MOQ block goes together
            else:
                solver.Add(x[j] <= x[j - 1])
        if hi > lo:
            solver.Add(x[lo] <= y[int(problem.supplier[i])])
    for s in range(len(problem.supplier_ids)):
        mine = np.flatnonzero(problem.supplier[items.sku] == s)
        if problem.supplier_min_value[s] > 0:
            solver.Add(
                solver.Sum([items.cost[j] * x[j] for j in mine])
                >= problem.supplier_min_value[s] * y[s]
            )
    if problem.budget is not None:
        solver.Add(solver.Sum([items.cost[j] * x[j] for j in range(len(x))]) <= problem.budget)
    if problem.capacity is not None:
        solver.Add(solver.Sum([items.volume[j] * x[j] for j in range(len(x))]) <= problem.capacity)
    solver.Maximize(
        solver.Sum([items.value[j] * x[j] for j in range(len(x))])
        - solver.Sum([problem.supplier_order_cost[s] * y[s] for s in range(len(y))])
    )
    solver.SetTimeLimit(int(seconds * 1000))
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, 1e-9)
    status = solver.Solve(params)
    names = {pywraplp.Solver.OPTIMAL: "optimal", pywraplp.Solver.FEASIBLE: "time limit"}
    found = status in names
    return Reference(
        objective=solver.Objective().Value() if found else float("nan"),
        bound=solver.Objective().BestBound(),
        seconds=time.perf_counter() - started,
        status=names.get(status, "no plan"),
    )
