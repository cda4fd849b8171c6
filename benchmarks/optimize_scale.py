"""Optimizer time and optimality gap against one monolithic MIP and the priced greedy alone.

Two families of generated problems (`optimize.instances`):

- binding supplier terms (`with_binding_terms`): about 10 SKUs per supplier, each
  supplier's minimum order value at 0.6-1.4 x what an unlimited plan buys from it, fixed
  order costs, a budget at half and a volume at 60% of what that plan takes: keeping or
  dropping whole suppliers is the decision;
- the catalogue (`random_problem`): 50 suppliers with terms over many SKUs each.

Per instance, in the same run: replenish's `solve` (supplier master, priced greedy,
polishing model and the exact OR-Tools stage, each only while the best plan is not within
0.1% of the bound), the priced greedy alone as the optimizer planned before the exact
stage existed (greedy by dual-priced value, minimums topped up at the least loss, SCIP
keeping or dropping whole suppliers, refill), and the whole problem as one MIP for
OR-Tools' SCIP with a time limit (`monolithic_optimum`). Gaps are to the best bound any
of them proved.

    python -m benchmarks.optimize_scale [--binding 20 200 2000] [--seeds 3]
        [--large 10000 100000] [--catalogue 1000 10000 100000] [--mip-seconds 120]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from rich.console import Console
from rich.table import Table

from optimize.instances import monolithic_optimum, random_problem, with_binding_terms
from optimize.problem import ReorderProblem
from optimize.solve import _blocks, _objective, greedy_plan, plain_bound, solve
from optimize.value_curve import pack_items, sku_curves


def greedy_alone(problem: ReorderProblem) -> tuple[float, float]:
    """(objective, seconds) of the priced greedy alone (`optimize.solve.greedy_plan`):
    greedy, minimums topped up, whole suppliers kept or dropped by SCIP, refill."""
    started = time.perf_counter()
    items = pack_items(
        problem, sku_curves(problem), "up", problem.supplier_min_value[problem.supplier]
    )
    blocks = _blocks(items)
    budget = np.inf if problem.budget is None else float(problem.budget)
    capacity = np.inf if problem.capacity is None else float(problem.capacity)
    take = greedy_plan(problem, blocks, plain_bound(problem, blocks)[1], budget, capacity)
    return _objective(problem, blocks, take), time.perf_counter() - started


def _row(table: Table, label: str, n: int, method: str, seconds: float, value: float,
         best: float, status: str) -> None:  # fmt: skip
    gap = (best - value) / max(abs(best), 1.0) if np.isfinite(value) else float("nan")
    cells = (
        label, f"{n:,}", method, f"{seconds:.2f}", f"{value:,.1f}", f"{best:,.1f}",
        f"{100 * gap:.4f}", status,
    )  # fmt: skip
    table.add_row(*cells)
    print(" | ".join(cells), flush=True)  # as it goes: a long run that dies keeps its rows


def compare(table: Table, label: str, problem: ReorderProblem, mip_seconds: float | None) -> None:
    """One instance: replenish, the priced greedy alone and (with `mip_seconds`) one MIP."""
    n = problem.n_skus
    sol = solve(problem)
    old, old_s = greedy_alone(problem)
    ref = monolithic_optimum(problem, mip_seconds) if mip_seconds else None
    best = min(sol.bound, ref.bound if ref else np.inf)
    status = f"{sol.status} ({sol.solver}{', ' + sol.solver_status if sol.solver_status else ''})"
    _row(table, label, n, "replenish", sol.seconds, sol.objective, best, status)
    _row(table, label, n, "priced greedy alone", old_s, old, best, "")
    if ref is not None:
        _row(table, label, n, "one MIP (SCIP)", ref.seconds, ref.objective, best, ref.status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binding", nargs="+", type=int, default=[20, 200, 2_000])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--large", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--catalogue", nargs="+", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--mip-seconds", type=float, default=120.0)
    args = parser.parse_args()
    console = Console(width=180)
    table = Table(title="Reorder optimization: gap to the best proven bound")
    for column in ("instance", "SKUs", "method", "seconds", "objective", "best bound", "gap %",
                   "status"):  # fmt: skip
        table.add_column(column, justify="right")
    for n in args.binding:
        for seed in range(args.seeds):
            problem = with_binding_terms(n, seed, per_supplier=10)
            compare(table, f"binding terms, seed {seed}", problem, args.mip_seconds)
            console.print(f"binding terms {n} seed {seed} done")
    for n in args.large:
        compare(table, "binding terms, seed 0", with_binding_terms(n, 0, per_supplier=10), None)
        console.print(f"binding terms {n} done")
    for n in args.catalogue:
        problem = random_problem(n)
        free = solve(problem)
        problem = replace(problem, budget=0.5 * free.cost, capacity=0.6 * free.volume)
        compare(table, "catalogue", problem, args.mip_seconds if n <= 1_000 else None)
        console.print(f"catalogue {n} done")
    console.print(table)


if __name__ == "__main__":
    main()
