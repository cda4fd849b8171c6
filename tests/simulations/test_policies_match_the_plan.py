"""One economics core: every policy the simulator runs orders what the plan's own rule
orders, on the same demand, stock, packs, MOQs and budget.

The plan side is `optimize` on a reorder problem (its baselines, or the optimizer);
the simulator side is the policy's `levels(view)` through the engine's review
(`simulations.engine.review_orders`). For each policy kind they must agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize import baselines
from optimize.economics import holding_cost, stockout_cost
from optimize.problem import ReorderProblem
from optimize.reservation import reservation_levels
from optimize.solve import solve
from simulations.engine import review_orders
from simulations.policies import (
    BaseStockPolicy,
    MinMaxPolicy,
    OptimizerPolicy,
    PlanningView,
    SsPolicy,
)

HOLDING_RATE = 0.25


@dataclass(frozen=True)
class Case:
    """One planning situation, seen by both sides."""

    view: PlanningView
    position: np.ndarray
    pack_size: np.ndarray
    moq: np.ndarray
    budget: float | None

    def problem(self) -> ReorderProblem:
        """The plan's reorder problem on the same numbers (each SKU its own supplier,
        with the SKU's order cost)."""
        n = self.position.size
        base = OptimizerPolicy().problem(self.view, self.position)
        return replace(
            base,
            pack_size=self.pack_size,
            moq=self.moq,
            supplier=np.arange(n),
            supplier_ids=tuple(f"S{i}" for i in range(n)),
            supplier_min_value=np.zeros(n),
            supplier_order_cost=self.view.order_cost,
            budget=self.budget,
        )

    def simulated(self, policy: object) -> np.ndarray:
        """Units the engine's review orders under `policy` (every SKU under review)."""
        levels = policy.levels(self.view)  # type: ignore[attr-defined]
        n = self.position.size
        return review_orders(
            levels, self.position, np.ones(n, dtype=bool), self.pack_size, self.moq,
            self.view.unit_cost, self.budget,
        )  # fmt: skip


@st.composite
def cases(draw: st.DrawFn, unit_packs: bool = False) -> Case:
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 3))
    floats = st.floats(0.0, 6.0, allow_nan=False).map(lambda v: round(v, 2))
    mean = np.array(draw(st.lists(floats, min_size=n * k, max_size=n * k))).reshape(n, k)
    spread = np.array(draw(st.lists(st.floats(1.0, 3.0), min_size=n * k, max_size=n * k)))
    days = np.array(draw(st.lists(st.integers(2, 21), min_size=n, max_size=n)), dtype=float)
    cost = np.array(draw(st.lists(st.floats(0.5, 40.0), min_size=n, max_size=n)))
    price = cost * np.array(draw(st.lists(st.floats(1.05, 2.5), min_size=n, max_size=n)))
    churn = np.array(draw(st.lists(st.floats(0.0, 0.2), min_size=k, max_size=k)))
    clv = np.array(draw(st.lists(st.floats(0.0, 500.0), min_size=k, max_size=k)))
    view = PlanningView(
        daily_mean=mean,
        daily_var=mean * spread.reshape(n, k),
        protection_days=days,
        lead_days=days - 1,
        unit_cost=cost,
        unit_price=price,
        stockout_cost=stockout_cost(price - cost, churn, clv, np.ones(k)),
        order_cost=np.array(draw(st.lists(st.floats(0.0, 80.0), min_size=n, max_size=n))),
        holding_rate=HOLDING_RATE,
        segments=tuple("ABC"[:k]),
    )
    position = np.array(draw(st.lists(st.integers(0, 120), min_size=n, max_size=n)), dtype=float)
    if unit_packs:
        return Case(view, position, np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64), None)
    pack = np.array(draw(st.lists(st.sampled_from([1, 2, 6, 12]), min_size=n, max_size=n)))
    moq = pack * np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    budget = draw(st.none() | st.floats(0.0, 3000.0))
    return Case(view, position, pack.astype(np.int64), moq.astype(np.int64), budget)


@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_min_max_orders_what_the_plan_orders(case: Case) -> None:
    p = case.problem()
    assert np.array_equal(baselines.min_max(p) * p.pack_size, case.simulated(MinMaxPolicy()))
    wide = MinMaxPolicy(min_factor=0.5, max_factor=3.0)
    planned = baselines.min_max(p, 0.5, 3.0) * p.pack_size
    assert np.array_equal(planned, case.simulated(wide))


@settings(max_examples=60, deadline=None)
@given(case=cases(), z=st.sampled_from([0.5, 1.0, 1.645]))
def test_min_max_with_safety_stock_orders_what_the_plan_orders(case: Case, z: float) -> None:
    p = case.problem()
    planned = baselines.min_max_safety(p, z, 2.0, min_factor=1.0) * p.pack_size
    assert np.array_equal(planned, case.simulated(MinMaxPolicy(z=z)))


@settings(max_examples=60, deadline=None)
@given(case=cases(), level=st.sampled_from([0.5, 0.8, 0.95, 0.99]))
def test_base_stock_orders_what_the_plan_orders(case: Case, level: float) -> None:
    p = case.problem()
    planned = baselines.base_stock(p, level) * p.pack_size
    assert np.array_equal(planned, case.simulated(BaseStockPolicy(service_level=level)))


@settings(max_examples=60, deadline=None)
@given(case=cases(), z=st.sampled_from([0.0, 0.5, 1.0, 1.65]))
def test_ss_orders_what_the_plan_orders(case: Case, z: float) -> None:
    p = case.problem()
    planned = baselines.ss(p, z, holding_rate=HOLDING_RATE) * p.pack_size
    assert np.array_equal(planned, case.simulated(SsPolicy(z=z)))


@settings(max_examples=40, deadline=None)
@given(case=cases(unit_packs=True), churn_aware=st.booleans())
def test_the_optimizer_policy_orders_what_the_plan_orders(case: Case, churn_aware: bool) -> None:
    """In whole units without a budget the optimizer's best stock level does not depend on
    the stock on hand (its value curve is concave), so the simulator's order-up-to level
    from empty shelves orders what a plan from today's stock would. (The simulated
    policy leaves suppliers' fixed order costs to its review period, so the plan here
    has none either.)"""
    policy = OptimizerPolicy(churn_aware=churn_aware, reserve=churn_aware)
    problem = replace(case.problem(), supplier_order_cost=np.zeros(case.position.size))
    if not churn_aware:
        problem = baselines.segment_blind(problem)
    planned = solve(problem).quantity
    assert np.array_equal(planned, case.simulated(policy))
    levels = policy.levels(case.view)
    if levels.reserve is not None:  # the same Littlewood reserve over the interval
        stock = np.full(case.position.size, np.inf)
        held = levels.reserve.units(case.view.protection_days)
        assert np.array_equal(reservation_levels(problem, stock), held)


def test_holding_and_stockout_costs_are_the_plans() -> None:
    view = PlanningView(
        daily_mean=np.ones((2, 2)), daily_var=np.ones((2, 2)), protection_days=np.array([10.0, 20.0]),
        lead_days=np.array([7.0, 14.0]), unit_cost=np.array([4.0, 8.0]),
        unit_price=np.array([6.0, 7.0]),
        stockout_cost=stockout_cost(np.array([2.0, -1.0]), np.array([0.1, 0.0]),
                                    np.array([300.0, 50.0]), np.array([2.0, 1.0])),
        order_cost=np.zeros(2), holding_rate=HOLDING_RATE, segments=("A", "B"),
    )  # fmt: skip
    # margin (never below 0) + churn x CLV / units per purchase
    assert np.allclose(view.stockout_cost, [[2.0 + 15.0, 2.0], [0.0 + 15.0, 0.0]])
    problem = OptimizerPolicy().problem(view)
    assert np.allclose(
        problem.holding_cost, holding_cost(view.unit_cost, 0.25, view.protection_days)
    )
    assert np.allclose(problem.holding_cost, [0.25 * 4 * 10 / 365, 0.25 * 8 * 20 / 365])
