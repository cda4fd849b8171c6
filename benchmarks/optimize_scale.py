"""Optimizer time and optimality gap on generated problems, against one monolithic MIP.

Problems: N SKUs, 3 segments (negative-binomial demand over the protection interval),
packs, MOQs, 50 suppliers with minimum order values and fixed costs, and a budget and a
warehouse volume that both bind (about half of what an unlimited plan would take).
replenish's solve (`optimize.solve`) reports its objective, its Lagrangian bound and
gap; the greedy alone (before the OR-Tools supplier stage) is scored against the same
bound. The peer, in the same run, is the whole problem as one MIP for OR-Tools' SCIP
(a binary per pack, precedence per SKU, supplier on/off with minimums and fixed costs)
with a time limit.

    python -m benchmarks.optimize_scale [--sizes 1000 10000 100000] [--mip-sizes 1000 10000]
        [--mip-seconds 60]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from ortools.linear_solver import pywraplp
from rich.console import Console
from rich.table import Table

from forecast.distribution import pmf
from optimize.problem import ReorderProblem
from optimize.solve import _blocks, _greedy, _usage, lagrangian_bound, solve
from optimize.value_curve import pack_items, sku_curve


def generate_problem(n: int, seed: int = 0, suppliers: int = 50) -> ReorderProblem:
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


def binding(problem: ReorderProblem) -> ReorderProblem:
    """The problem with budget and volume at half of what the unlimited plan takes."""
    free = solve(problem)
    return replace(problem, budget=0.5 * free.cost, capacity=0.6 * free.volume)


def mip(problem: ReorderProblem, seconds: float) -> tuple[float, float, float, str]:
    """(objective, best bound, seconds, status) of the monolithic MIP with SCIP."""
    started = time.perf_counter()
    curves = [sku_curve(problem, i) for i in range(problem.n_skus)]
    items = pack_items(problem, curves, "up", problem.supplier_min_value[problem.supplier] > 0)
    solver = pywraplp.Solver.CreateSolver("SCIP")
    x = [solver.BoolVar(f"x{j}") for j in range(items.sku.size)]
    y = [solver.BoolVar(f"y{s}") for s in range(len(problem.supplier_ids))]
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
    solver.Add(
        solver.Sum([items.cost[j] * x[j] for j in range(len(x))]) <= float(problem.budget or np.inf)
    )
    solver.Add(
        solver.Sum([items.volume[j] * x[j] for j in range(len(x))])
        <= float(problem.capacity or np.inf)
    )
    solver.Maximize(
        solver.Sum([items.value[j] * x[j] for j in range(len(x))])
        - solver.Sum([problem.supplier_order_cost[s] * y[s] for s in range(len(y))])
    )
    solver.SetTimeLimit(int(seconds * 1000))
    status = solver.Solve()
    names = {pywraplp.Solver.OPTIMAL: "optimal", pywraplp.Solver.FEASIBLE: "time limit"}
    objective = solver.Objective().Value() if status in names else float("nan")
    return (
        objective,
        solver.Objective().BestBound(),
        time.perf_counter() - started,
        names.get(status, "none"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--mip-sizes", nargs="+", type=int, default=[1_000, 10_000])
    parser.add_argument("--mip-seconds", type=float, default=60.0)
    args = parser.parse_args()
    table = Table(title="Reorder optimization: budget and volume binding, 50 suppliers with terms")
    for column in ("SKUs", "method", "seconds", "objective", "bound", "gap %", "status"):
        table.add_column(column, justify="right")
    for n in args.sizes:
        problem = binding(generate_problem(n))
        sol = solve(problem)
        table.add_row(
            f"{n:,}",
            "replenish",
            f"{sol.seconds:.2f}",
            f"{sol.objective:,.1f}",
            f"{sol.bound:,.1f}",
            f"{100 * sol.gap:.4f}",
            sol.status,
        )
        # The greedy alone, before suppliers' terms (scored without order costs).
        assert sol.items is not None
        blocks = _blocks(sol.items)
        bound, lb, lv = lagrangian_bound(blocks, n, problem.budget, problem.capacity)
        take = _greedy(
            blocks, n, lb, lv, float(problem.budget or np.inf), float(problem.capacity or np.inf)
        )
        greedy = float(blocks.value[take].sum())
        spent = _usage(blocks, take)
        table.add_row(
            f"{n:,}", "greedy only (no supplier terms)", "", f"{greedy:,.1f}", f"{bound:,.1f}",
            f"{100 * (bound - greedy) / max(bound, 1):.4f}", f"spend {spent[0]:,.0f}",
        )  # fmt: skip
        if n in args.mip_sizes:
            obj, best, secs, status = mip(problem, args.mip_seconds)
            gap = (best - obj) / max(abs(best), 1) if np.isfinite(obj) else float("nan")
            table.add_row(
                f"{n:,}",
                "one MIP (OR-Tools SCIP)",
                f"{secs:.1f}",
                f"{obj:,.1f}",
                f"{best:,.1f}",
                f"{100 * gap:.4f}",
                status,
            )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
