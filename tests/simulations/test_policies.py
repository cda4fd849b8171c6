"""Policies' levels against closed forms: quantiles, EOQ, min/max, the newsvendor fractile,
and Littlewood's reserve."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from simulations.policies import (
    BaseStockPolicy,
    MinMaxPolicy,
    OptimizerPolicy,
    PlanningView,
    SsPolicy,
)


def _view(mean: list[float], var: list[float] | None = None, k: int = 1) -> PlanningView:
    """One segment (or k equal ones) per SKU, 10-day protection, cost 10, price 15."""
    m = np.asarray(mean, dtype=float)[:, None] / k * np.ones((1, k))
    v = (np.asarray(var if var is not None else mean, dtype=float))[:, None] / k * np.ones((1, k))
    n = m.shape[0]
    return PlanningView(
        daily_mean=m,
        daily_var=v,
        protection_days=np.full(n, 10.0),
        lead_days=np.full(n, 7.0),
        unit_cost=np.full(n, 10.0),
        unit_price=np.full(n, 15.0),
        stockout_cost=np.full((n, k), 5.0),
        order_cost=np.full(n, 50.0),
        holding_rate=0.25,
        segments=tuple("ABC"[:k]),
    )


def test_base_stock_orders_up_to_the_service_quantile() -> None:
    levels = BaseStockPolicy(service_level=0.9).levels(_view([2.0, 0.5]))
    # Poisson (variance = mean) over 10 days: the 90% quantiles of Poisson(20), Poisson(5).
    assert levels.order_up_to.tolist() == [stats.poisson.ppf(0.9, 20), stats.poisson.ppf(0.9, 5)]
    assert np.array_equal(levels.reorder_point, levels.order_up_to - 1)


def test_min_max_is_a_multiple_of_protection_demand() -> None:
    levels = MinMaxPolicy(min_factor=1.0, max_factor=2.5).levels(_view([2.0, 0.33]))
    assert levels.reorder_point.tolist() == [20.0, 3.0]
    assert levels.order_up_to.tolist() == [50.0, 9.0]


def test_ss_adds_the_economic_order_quantity() -> None:
    view = _view([4.0], var=[16.0])
    levels = SsPolicy(z=1.5).levels(view)
    s = np.ceil(40 + 1.5 * np.sqrt(160))
    eoq = np.sqrt(2 * 50 * 4 * 365 / (0.25 * 10))  # sqrt(2 K D / h)
    assert levels.reorder_point[0] == s
    assert levels.order_up_to[0] == s + np.ceil(eoq)


def test_optimizer_without_budget_stocks_to_the_newsvendor_fractile_less_carrying() -> None:
    """The newsvendor with the shelf time charged: one more unit at stock S is worth
    c P(D > S) - h P(D <= S) - (h_d / d) E[(S + 1 - D)^+] (optimize.value_curve)."""
    view = _view([3.0, 1.0])
    levels = OptimizerPolicy(churn_aware=False).levels(view)
    c, h = 5.0, 0.25 * 10 * 10 / 365  # stockout cost; holding a unit over the 10 days
    for i, daily in enumerate((3.0, 1.0)):
        mean = daily * 10
        carry = (h / 10) / daily  # holding per day, per unit of demand a day

        def worth(s: int, mean: float = mean, carry: float = carry) -> float:
            waiting = stats.poisson.cdf(np.arange(s + 1), mean).sum()
            return float(
                c * stats.poisson.sf(s, mean) - h * stats.poisson.cdf(s, mean) - carry * waiting
            )

        expected = next(s for s in range(1_000) if worth(s) <= 0)
        assert levels.order_up_to[i] == expected
        # At most the plain newsvendor level: carrying only takes away.
        assert stats.poisson.cdf(expected - 1, mean) < c / (c + h)


def test_an_investment_cap_holds_the_stock_value_down() -> None:
    view = _view([3.0, 1.0, 5.0])
    free = OptimizerPolicy().levels(view).order_up_to @ view.unit_cost
    capped = OptimizerPolicy(investment=0.5 * free).levels(view).order_up_to @ view.unit_cost
    assert capped <= 0.5 * free + 1e-9
    assert capped > 0.4 * free


def test_littlewood_reserve_protects_the_costly_segment() -> None:
    view = replace(_view([6.0], k=2), stockout_cost=np.array([[40.0, 10.0]]))
    levels = OptimizerPolicy(churn_aware=True).levels(view)
    reserve = levels.reserve
    assert reserve is not None and reserve.segment == 0
    # Littlewood: the smallest R with P(D_A > R) <= c_B / c_A = 0.25, D_A the tier's demand
    # over the 4 days until stock arrives: Poisson(3 x 4) here (its variance is its mean).
    t = np.array([4.0])
    assert reserve.units(t)[0] == stats.poisson.ppf(0.75, 3.0 * 4)
    assert reserve.units(np.array([0.0]))[0] == 0.0
    blind = OptimizerPolicy(churn_aware=False).levels(view)
    assert blind.reserve is None


def test_no_reserve_when_segments_cost_the_same() -> None:
    levels = OptimizerPolicy(churn_aware=True).levels(_view([6.0], k=2))
    assert levels.reserve is not None
    assert levels.reserve.units(np.array([10.0]))[0] == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: BaseStockPolicy(service_level=0.0),
        lambda: BaseStockPolicy(service_level=1.0),
        lambda: MinMaxPolicy(min_factor=2.0, max_factor=1.0),
        lambda: SsPolicy(z=float("inf")),
        lambda: OptimizerPolicy(investment=-1.0),
        lambda: OptimizerPolicy(holding_factor=0.0),
    ],
)
def test_policies_refuse_bad_parameters(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()


def test_no_reserve_for_a_premium_below_ten_percent() -> None:
    close = replace(_view([6.0], k=2), stockout_cost=np.array([[10.5, 10.0]]))
    reserve = OptimizerPolicy(churn_aware=True).levels(close).reserve
    assert reserve is not None and reserve.units(np.array([10.0]))[0] == 0.0
    apart = replace(_view([6.0], k=2), stockout_cost=np.array([[12.0, 10.0]]))
    reserve = OptimizerPolicy(churn_aware=True).levels(apart).reserve
    assert reserve is not None and reserve.units(np.array([10.0]))[0] > 0.0


@pytest.mark.parametrize("k", [1, 3])
def test_a_wide_sku_is_planned_in_lots_within_a_lot_of_the_unit_plan(k: int) -> None:
    """A wholesaler's SKU (300 units a day, lumpy) beside a small one: the policy plans
    the wide one in lots of units (its curve in a few hundred points), and its level
    lands within one lot of the optimizer's level in single units; the small one is
    planned in units, exactly as the optimizer plans it."""
    from optimize.solve import solve

    view = _view([300.0, 2.0], var=[300.0 * 60, 2.0 * 3], k=k)
    policy = OptimizerPolicy()
    problem, lot = policy.lot_problem(view)
    assert lot[0] > 1 and lot[1] == 1
    assert sum(p.size for p in problem.pmfs[0]) < 600
    levels = policy.levels(view)
    exact = solve(policy.problem(view)).quantity
    assert abs(levels.order_up_to[0] - exact[0]) <= lot[0]
    assert levels.order_up_to[1] == exact[1]
    # Every unit up to the level has a value; a lot's units share it.
    assert levels.unit_value is not None
    start, values = levels.unit_value
    first = values[start[0] : start[0] + lot[0]]
    assert np.allclose(first, first[0]) and first[0] > 0


def test_a_replan_of_some_skus_gives_the_levels_of_a_replan_of_all() -> None:
    """Churn-aware and without an investment cap, one SKU's level does not depend on
    another's: replanning only the SKUs whose view moved gives every level and unit value
    a full replan gives. A segment-blind policy (whose every stockout price follows the
    catalogue's mix) replans them all."""
    from simulations.policies import relevel

    view = _view([3.0, 0.5, 300.0, 8.0, 0.0], var=[6.0, 0.5, 300.0 * 40, 20.0, 0.0], k=3)
    view = replace(view, stockout_cost=np.tile([20.0, 5.0, 1.0], (5, 1)))
    moved = np.array([True, False, True, False, False])
    factor = np.where(moved[:, None], 1.7 * np.array([1.0, 2.0, 0.5]), 1.0)
    later = replace(view, daily_mean=view.daily_mean * factor)
    for policy in (OptimizerPolicy(), OptimizerPolicy(churn_aware=False)):
        before = policy.levels(view)
        again = relevel(policy, before, later, moved)
        full = policy.levels(later)
        assert np.array_equal(again.order_up_to, full.order_up_to)
        assert again.unit_value is not None and full.unit_value is not None
        assert np.array_equal(again.unit_value[0], full.unit_value[0])
        assert np.allclose(again.unit_value[1], full.unit_value[1])
        assert not np.array_equal(again.order_up_to, before.order_up_to)
        if policy.churn_aware:
            assert relevel(policy, before, view, np.zeros(5, dtype=bool)) is before
