"""The exact stage: OR-Tools decides the packs where the priced greedy may be wrong.

Supplier minimum order values and fixed order costs make a supplier's lines
all-or-nothing, and the budget couples every SKU: the priced greedy can end percent
below the optimum there. This stage solves the problem exactly, at the scale of a whole
catalogue, by solving only the part that can still change:

1. **Relaxation with supplier terms** (`optimize.terms`). At the Lagrangian prices
   (lambda_b per currency, lambda_v per unit of volume), each SKU alone picks its best
   number of blocks k* (its MOQ block, then packs or lots of packs; values fall beyond
   the MOQ block, so the net value F_i(k) is concave there). A supplier is worth
   H_s = sum_i F_i(k*_i) when open, less the cheapest way (a fractional covering bound)
   to reach its minimum order value, less its fixed cost; UB = sum_s max(0, that) +
   lambda_b B + lambda_v V bounds every plan (Fisher 1981, "The Lagrangian relaxation
   method for solving integer programming problems", Management Science 27(1)).
2. **Reduced-cost fixing** against the incumbent LB (the greedy's feasible plan): a SKU
   at k blocks can reach at most UB - (F_i(k*) - F_i(k)) (its supplier open, minimums
   ignored), so every k whose bound falls below LB is ruled out. What remains per SKU
   is an interval around k* (F is concave) and perhaps 0; most SKUs keep one choice
   and leave the model as constants.
3. **Model** over what remains (data -> variables -> constraints -> objective -> solve
   -> extract, as the OR-Tools samples do): an integer block count per free SKU with an
   on/off binary where 0 is still possible, its concave value as the minimum of its
   tangent lines (exact at whole counts), a binary per supplier with terms (open/closed),
   the minimum order values, the budget and the volume.

The model's optimum is the problem's optimum (the fixing removes only choices that
cannot beat the incumbent, which the model contains), and its best bound is a bound on
the whole problem. The incumbent is passed as a hint.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from ortools.linear_solver import pywraplp

from optimize.cover import grouped_cumsum, sku_starts
from optimize.problem import ReorderProblem
from optimize.terms import has_terms, relaxation

if TYPE_CHECKING:
    from optimize.solve import Blocks

#: The solvers the model can be given to (pywraplp names).
SOLVERS = {"SCIP": "SCIP", "CP-SAT": "CP_SAT"}


@dataclass(frozen=True)
class ExactSettings:
    """How the exact stage runs: the OR-Tools solver ("SCIP" or "CP-SAT"), its time limit
    (seconds), threads, random seed, and the relative gap to the bound at which a plan
    is good enough (the stage does not run for a warm start already within it, and stops
    once it proves it)."""

    solver: str = "SCIP"
    time_limit: float = 10.0
    threads: int = 1
    seed: int = 0
    relative_gap: float = 1e-3

    def __post_init__(self) -> None:
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {self.solver!r}")
        if not self.time_limit > 0 or self.threads < 1 or not 0 <= self.relative_gap < 1:
            raise ValueError("time_limit must be positive, threads at least 1, gap in [0, 1)")


@dataclass(frozen=True)
class ExactResult:
    """The plan the model chose (blocks taken), its objective and best bound (currency),
    the solver's status, and how many SKUs and suppliers it decided (the rest fixed)."""

    take: np.ndarray
    objective: float
    bound: float
    status: str
    seconds: float
    free_skus: int
    free_suppliers: int


@dataclass(frozen=True)
class _Prefixes:
    """Per SKU the blocks in order (CSR: `first`, `count`), and cumulative sums over each
    SKU's blocks: the prefix of t blocks ends at block first + t - 1."""

    first: np.ndarray
    count: np.ndarray
    value: np.ndarray
    net: np.ndarray
    cost: np.ndarray
    volume: np.ndarray
    packs: np.ndarray

    @classmethod
    def of(cls, blocks: Blocks, n: int, net: np.ndarray) -> _Prefixes:
        first, count = sku_starts(blocks, n)

        def cum(x: np.ndarray) -> np.ndarray:
            return grouped_cumsum(x, blocks.sku)

        return cls(
            first, count, cum(blocks.value), cum(net), cum(blocks.cost), cum(blocks.volume),
            cum(blocks.packs.astype(float)),
        )  # fmt: skip

    def at(self, cum: np.ndarray, i: int, t: int) -> float:
        """The cumulative sum of SKU i's first t blocks (0 for t = 0)."""
        return float(cum[self.first[i] + t - 1]) if t > 0 else 0.0


@dataclass(frozen=True)
class Domains:
    """What each SKU may still do: take `lo` to `hi` blocks (0 when `hi` is 0), or none
    where `zero_ok`; and whether each supplier may be opened or left closed."""

    lo: np.ndarray
    hi: np.ndarray
    zero_ok: np.ndarray
    open_ok: np.ndarray
    closed_ok: np.ndarray


def fixed_domains(
    problem: ReorderProblem,
    blocks: Blocks,
    prices: tuple[float, float],
    incumbent: np.ndarray,
    incumbent_value: float,
) -> tuple[Domains, float]:
    """Reduced-cost fixing against the incumbent (see the module docstring): the choices
    that can still beat it, and the bound they were fixed with. Exact: the optimum lies
    in these domains, or the incumbent is optimal."""
    n = problem.n_skus
    lb, lv = prices
    relax = relaxation(problem, blocks, prices)
    bound, term = relax.bound, relax.term
    net = blocks.value - lb * blocks.cost - lv * blocks.volume
    pre = _Prefixes.of(blocks, n, net)
    terms = has_terms(problem)
    tol = 1e-9 * max(1.0, abs(incumbent_value)) + 1e-9
    floor = incumbent_value - tol  # a choice that cannot reach this is ruled out
    sup, fee = problem.supplier, problem.supplier_order_cost
    others = bound - term  # the bound without supplier s's part, per supplier
    # SKU i at t >= 1 blocks: its supplier open (minimum ignored), i at F_i(t).
    open_here = np.where(terms, relax.open_value - fee, relax.open_value)
    loss = relax.best_f[blocks.sku] - pre.net
    allowed = others[sup][blocks.sku] + open_here[sup][blocks.sku] - loss >= floor
    # SKU i at 0: its supplier closed (worth 0) or open without it.
    without_i = relax.open_value[sup] - relax.best_f
    zero_ok = np.where(
        terms[sup], others[sup] + np.maximum(0.0, without_i - fee[sup]), others[sup] + without_i
    ) >= floor  # fmt: skip
    open_ok = ~terms | (others + relax.open_bound >= floor)
    closed_ok = ~terms | (others >= floor)
    lo, hi = _range(blocks, n, allowed & open_ok[sup][blocks.sku])
    return _keep(Domains(lo, hi, zero_ok, open_ok, closed_ok), blocks, incumbent), bound


def neighbourhood_domains(
    problem: ReorderProblem,
    blocks: Blocks,
    prices: tuple[float, float],
    plan: np.ndarray,
    width: int,
    margin: float,
) -> Domains:
    """A neighbourhood of the priced plan `plan` (a heuristic, not a proof): each SKU
    anywhere from none to `width` blocks past its plan and its best prefix, suppliers
    kept open or closed as the relaxation prices them unless their open value is within
    `margin` (currency) of nothing."""
    n = problem.n_skus
    relax = relaxation(problem, blocks, prices)
    planned = _counts(plan, blocks, n)
    count = np.bincount(blocks.sku, minlength=n)
    hi = count if width < 0 else np.minimum(np.maximum(planned, relax.best_t) + width, count)
    lo = np.where(hi > 0, 1, 0)
    zero_ok = np.ones(n, dtype=bool)
    terms = has_terms(problem)
    undecided = np.abs(relax.open_bound) <= margin
    open_ok = ~terms | (relax.open_bound > 0) | undecided
    closed_ok = ~terms | (relax.open_bound <= 0) | undecided
    hi = np.where(open_ok[problem.supplier], hi, 0)
    return _keep(Domains(lo, hi, zero_ok, open_ok, closed_ok), blocks, plan)


def _range(blocks: Blocks, n: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per SKU the least and most block counts among the allowed last blocks."""
    lo = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.zeros(n, dtype=np.int64)
    ok = np.flatnonzero(allowed)
    np.minimum.at(lo, blocks.sku[ok], blocks.index[ok] + 1)
    np.maximum.at(hi, blocks.sku[ok], blocks.index[ok] + 1)
    return lo, hi


def _keep(domains: Domains, blocks: Blocks, plan: np.ndarray) -> Domains:
    """`domains` widened to hold `plan` (whatever the rounding of the bounds)."""
    n = domains.lo.size
    taken = _counts(plan, blocks, n)
    lo, hi, zero_ok = domains.lo.copy(), domains.hi.copy(), domains.zero_ok.copy()
    mine = taken > 0
    lo[mine] = np.minimum(lo[mine], taken[mine])
    hi[mine] = np.maximum(hi[mine], taken[mine])
    zero_ok |= ~mine
    lo[hi == 0] = 0
    zero_ok |= hi == 0
    return Domains(lo, hi, zero_ok, domains.open_ok, domains.closed_ok)


def solve_exact(
    problem: ReorderProblem,
    blocks: Blocks,
    prices: tuple[float, float],
    incumbent: np.ndarray,
    incumbent_value: float,
    settings: ExactSettings,
) -> ExactResult:
    """Fix what cannot change against the incumbent, then solve the rest with OR-Tools."""
    domains, bound = fixed_domains(problem, blocks, prices, incumbent, incumbent_value)
    return solve_domains(problem, blocks, domains, incumbent, incumbent_value, bound, settings)


def solve_domains(
    problem: ReorderProblem,
    blocks: Blocks,
    domains: Domains,
    incumbent: np.ndarray,
    incumbent_value: float,
    bound: float,
    settings: ExactSettings,
) -> ExactResult:
    """The model over what `domains` leave free (data -> variables -> constraints ->
    objective -> solve -> extract); `incumbent` is its hint and its answer when the
    solver finds nothing."""
    started = time.perf_counter()
    n, n_sup = problem.n_skus, len(problem.supplier_ids)
    pre = _Prefixes.of(blocks, n, blocks.value)
    terms = has_terms(problem)
    sup, fee = problem.supplier, problem.supplier_order_cost
    lo, hi, zero_ok = domains.lo, domains.hi, domains.zero_ok
    supplier_closed_ok = domains.closed_ok
    taken_t = _counts(incumbent, blocks, n)
    free = (hi > lo) | ((hi > 0) & zero_ok)
    fixed_t = np.where(free, 0, hi)

    # --- variables -------------------------------------------------------------------------
    solver = pywraplp.Solver.CreateSolver(SOLVERS[settings.solver])
    if solver is None:
        raise RuntimeError(f"OR-Tools has no {settings.solver} solver here")
    inf = solver.infinity()
    count: dict[int, Any] = {}  # blocks of SKU i (integer)
    on: dict[int, Any] = {}  # SKU i ordered at all (binary), where 0 is still allowed
    worth: dict[int, Any] = {}  # SKU i's expected value added (currency)
    for i in map(int, np.flatnonzero(free)):
        count[i] = solver.IntVar(0.0 if zero_ok[i] else float(lo[i]), float(hi[i]), f"n{i}")
        if zero_ok[i]:
            on[i] = solver.BoolVar(f"z{i}")
        worth[i] = solver.NumVar(-inf, inf, f"v{i}")
    fixed_spend = np.zeros(n_sup)
    for i in map(int, np.flatnonzero(fixed_t > 0)):
        fixed_spend[sup[i]] += pre.at(pre.cost, i, int(fixed_t[i]))
    free_here = np.bincount(sup, weights=free, minlength=n_sup) > 0
    must_open = terms & (np.bincount(sup, weights=(fixed_t > 0), minlength=n_sup) > 0)
    must_open |= terms & free_here & ~supplier_closed_ok
    for i in count:
        if i not in on:  # a SKU that must be ordered opens its supplier
            must_open[sup[i]] |= terms[sup[i]]
    opened: dict[int, Any] = {}  # supplier s ordered from (binary), where it may go either way
    for s in map(int, np.flatnonzero(terms & free_here & ~must_open)):
        opened[s] = solver.BoolVar(f"y{s}")

    # --- constraints ----------------------------------------------------------------------
    spend_terms: list[Any] = []
    volume_terms: list[Any] = []
    supplier_spend: dict[int, list[Any]] = {}
    for i, n_i in count.items():
        f, t_lo, t_hi = int(pre.first[i]), int(lo[i]), int(hi[i])
        z = on.get(i, 1)
        step_cost = float(blocks.cost[f + t_lo]) if t_hi > t_lo else 0.0
        step_vol = float(blocks.volume[f + t_lo]) if t_hi > t_lo else 0.0
        base_cost, base_vol = pre.at(pre.cost, i, t_lo), pre.at(pre.volume, i, t_lo)
        if i in on:
            solver.Add(n_i >= t_lo * z)  # the MOQ block (and what fixing keeps) or nothing
            solver.Add(n_i <= t_hi * z)
            s = int(sup[i])
            if s in opened:
                solver.Add(z <= opened[s])  # lines only from suppliers ordered from
        # Cost and volume are linear beyond the first allowed count (equal blocks).
        spend = (base_cost - step_cost * t_lo) * z + step_cost * n_i
        spend_terms.append(spend)
        volume_terms.append((base_vol - step_vol * t_lo) * z + step_vol * n_i)
        supplier_spend.setdefault(int(sup[i]), []).append(spend)
        # Value: the concave prefix values as the minimum of their chords (exact at whole
        # counts), in perspective form so that z = 0 gives 0.
        v_lo = pre.at(pre.value, i, t_lo)
        if t_hi == t_lo:
            solver.Add(worth[i] <= v_lo * z)
        for t in range(t_lo, t_hi):
            v_t, v_next = pre.at(pre.value, i, t), pre.at(pre.value, i, t + 1)
            slope = v_next - v_t
            solver.Add(worth[i] <= (v_t - slope * t) * z + slope * n_i)
    for s, y in opened.items():  # a supplier's minimum order value, when ordered from
        if problem.supplier_min_value[s] > 0:
            solver.Add(
                solver.Sum(supplier_spend.get(s, [])) + fixed_spend[s]
                >= problem.supplier_min_value[s] * y
            )
    for s in map(int, np.flatnonzero(must_open)):
        if problem.supplier_min_value[s] > 0 and s in supplier_spend:
            solver.Add(
                solver.Sum(supplier_spend[s]) + fixed_spend[s] >= problem.supplier_min_value[s]
            )
    chosen = [(i, int(fixed_t[i])) for i in map(int, np.flatnonzero(fixed_t > 0))]
    fixed_cost = sum(pre.at(pre.cost, i, t) for i, t in chosen)
    fixed_volume = sum(pre.at(pre.volume, i, t) for i, t in chosen)
    if problem.budget is not None:
        solver.Add(solver.Sum(spend_terms) <= problem.budget - fixed_cost)
    if problem.capacity is not None:
        solver.Add(solver.Sum(volume_terms) <= problem.capacity - fixed_volume)

    # --- objective: value added minus fixed order costs -------------------------------------
    fixed_value = sum(pre.at(pre.value, i, t) for i, t in chosen)
    objective = solver.Objective()
    for v in worth.values():
        objective.SetCoefficient(v, 1.0)
    for s, y in opened.items():
        objective.SetCoefficient(y, -float(fee[s]))
    objective.SetOffset(fixed_value - float(fee[must_open].sum()))
    objective.SetMaximization()

    # --- solve ------------------------------------------------------------------------------
    hint_vars, hint_values = [], []
    for i, n_i in count.items():
        hint_vars.append(n_i)
        hint_values.append(float(taken_t[i]))
        if i in on:
            hint_vars.append(on[i])
            hint_values.append(float(taken_t[i] > 0))
    for s, y in opened.items():
        hint_vars.append(y)
        hint_values.append(float((taken_t[sup == s] > 0).any()))
    if hint_vars:
        solver.SetHint(hint_vars, hint_values)
    if os.environ.get("REPLENISH_SOLVER_LOG"):
        solver.EnableOutput()
    solver.SetTimeLimit(int(settings.time_limit * 1000))
    solver.SetNumThreads(settings.threads)
    solver.SetSolverSpecificParametersAsString(_seed(settings))
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, settings.relative_gap)
    code = solver.Solve(params)
    names = {pywraplp.Solver.OPTIMAL: "optimal", pywraplp.Solver.FEASIBLE: "time limit"}
    status = names.get(code, "no solution")

    # --- extract ----------------------------------------------------------------------------
    t_final = fixed_t.copy()
    if status != "no solution":
        for i, n_i in count.items():
            t_final[i] = round(n_i.solution_value())
        value, best = objective.Value(), max(objective.BestBound(), objective.Value())
    else:
        t_final = taken_t
        value, best = incumbent_value, bound
    take = blocks.index < t_final[blocks.sku]
    return ExactResult(
        take=take,
        objective=float(value),
        bound=float(min(best, bound)),
        status=status,
        seconds=time.perf_counter() - started,
        free_skus=len(count),
        free_suppliers=len(opened),
    )


def _counts(take: np.ndarray, blocks: Blocks, n: int) -> np.ndarray:
    """Blocks taken per SKU (a prefix of its blocks)."""
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, blocks.sku[take], 1)
    return out


def _seed(settings: ExactSettings) -> str:
    if settings.solver == "SCIP":
        return f"randomization/randomseedshift = {settings.seed}\n"
    return f"random_seed:{settings.seed}"
