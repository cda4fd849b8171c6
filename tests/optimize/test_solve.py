"""The optimizer against closed forms, brute force and the invariants a buyer relies on."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from optimize.baselines import segment_blind
from optimize.solve import Blocks, _greedy, solve
from tests.optimize.problems import plan_value, poisson, problem


@pytest.mark.parametrize(
    ("mean", "underage", "overage"), [(20, 3.0, 1.0), (8, 9.0, 1.0), (50, 1.0, 1.0)]
)
def test_single_sku_orders_up_to_the_newsvendor_fractile(
    mean: float, underage: float, overage: float
) -> None:
    p = problem([[poisson(mean)]], [[underage]], holding=[overage])
    s = solve(p)
    fractile = underage / (underage + overage)
    assert s.quantity[0] == stats.poisson.ppf(fractile, mean)
    assert s.status == "optimal" and s.gap < 1e-12


def test_stock_on_hand_is_netted() -> None:
    p = problem([[poisson(20)]], [[3.0]], holding=[1.0], position=[15.0])
    assert solve(p).quantity[0] == stats.poisson.ppf(0.75, 20) - 15


def test_rounding_rule_up_or_cap() -> None:
    base = problem([[poisson(20)]], [[3.0]], holding=[1.0], pack=[6])
    unit_optimum = stats.poisson.ppf(0.75, 20)  # 23 units
    up, cap = solve(base, rounding="up"), solve(base, rounding="cap")
    assert cap.quantity[0] <= unit_optimum < up.quantity[0]
    assert up.quantity[0] % 6 == 0 and cap.quantity[0] % 6 == 0
    assert up.quantity[0] - unit_optimum < 6 and unit_optimum - cap.quantity[0] < 6
    with pytest.raises(ValueError, match="rounding"):
        solve(base, rounding="sideways")


small_pmf = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=7).filter(lambda v: sum(v) > 0.1)


@settings(max_examples=40, deadline=None)
@given(
    pmfs=st.lists(small_pmf, min_size=2, max_size=3),
    costs=st.lists(st.floats(1.0, 20.0), min_size=3, max_size=3),
    prices=st.lists(st.floats(0.5, 5.0), min_size=3, max_size=3),
    packs=st.lists(st.integers(1, 3), min_size=3, max_size=3),
    moqs=st.lists(st.integers(0, 4), min_size=3, max_size=3),
    budget=st.floats(0.0, 25.0),
)
def test_budgeted_plan_is_within_its_gap_of_brute_force(
    pmfs: list[list[float]],
    costs: list[float],
    prices: list[float],
    packs: list[int],
    moqs: list[int],
    budget: float,
) -> None:
    n = len(pmfs)
    dist = [[np.array(v) / sum(v)] for v in pmfs]
    p = problem(
        dist,
        [[c] for c in costs[:n]],
        unit_cost=prices[:n],
        pack=packs[:n],
        moq=moqs[:n],
        holding=[0.3] * n,
        budget=budget,
    )
    s = solve(p)
    # Brute force over every pack count that respects MOQ and budget.
    ranges = [range(0, 10 // p.pack_size[i] + 2) for i in range(n)]
    best = 0.0
    for combo in itertools.product(*ranges):
        q = np.array(combo) * p.pack_size
        if any(0 < q[i] < p.moq[i] for i in range(n)) or (q * p.unit_cost).sum() > budget + 1e-9:
            continue
        best = max(best, plan_value(p, q))
    assert s.cost <= budget + 1e-9
    assert all(q == 0 or q >= m for q, m in zip(s.quantity, p.moq, strict=True))
    assert s.objective == pytest.approx(plan_value(p, s.quantity), abs=1e-9)
    assert s.bound >= best - 1e-6  # the bound bounds every plan, the best one included
    assert s.objective >= best - s.gap * max(abs(s.bound), 1.0) - 1e-6


@settings(max_examples=30, deadline=None)
@given(
    means=st.lists(st.floats(0.5, 15.0), min_size=2, max_size=4),
    bump=st.floats(0.1, 30.0),
    budget=st.one_of(st.none(), st.floats(5.0, 60.0)),
)
def test_raising_a_segments_cost_never_lowers_its_skus_stock(
    means: list[float], bump: float, budget: float | None
) -> None:
    # Segment B buys every SKU; raise its stockout cost on SKU 0 only.
    pmfs = [[poisson(m), poisson(m / 2)] for m in means]
    costs = np.array([[10.0, 4.0]] * len(means))
    p = problem(pmfs, costs.tolist(), budget=None)
    higher = replace(
        p, stockout_cost=costs + np.array([[0.0, bump]] + [[0.0, 0.0]] * (len(means) - 1))
    )
    assert solve(higher).quantity[0] >= solve(p).quantity[0]
    if budget is not None:  # with a budget the others may give way, never SKU 0
        assert (
            solve(replace(higher, budget=budget)).quantity[0]
            >= solve(replace(p, budget=budget)).quantity[0]
        )


@settings(max_examples=30, deadline=None)
@given(
    means=st.lists(st.floats(0.5, 30.0), min_size=1, max_size=6),
    packs=st.lists(st.integers(1, 12), min_size=6, max_size=6),
    moqs=st.lists(st.integers(0, 30), min_size=6, max_size=6),
    budget=st.floats(0.0, 200.0),
    capacity=st.floats(0.0, 20.0),
)
def test_packs_moq_budget_and_volume_always_hold(
    means: list[float], packs: list[int], moqs: list[int], budget: float, capacity: float
) -> None:
    n = len(means)
    p = problem(
        [[poisson(m), poisson(m / 3)] for m in means],
        [[12.0, 5.0]] * n,
        unit_cost=[2.0] * n,
        volume=[0.1] * n,
        pack=packs[:n],
        moq=moqs[:n],
        budget=budget,
        capacity=capacity,
    )
    s = solve(p)
    assert (s.quantity % p.pack_size == 0).all()
    assert ((s.quantity == 0) | (s.quantity >= p.moq)).all()
    assert (s.quantity * p.unit_cost).sum() <= budget + 1e-9
    assert (s.quantity * p.unit_volume).sum() <= capacity + 1e-9
    assert s.bound >= s.objective - 1e-9
    assert s.gap >= 0.0


def test_segment_blind_and_churn_aware_differ_only_when_the_budget_binds() -> None:
    # SKU 0 is bought by A (costly to disappoint), SKU 1 by C; same volume and price.
    pmfs = [[poisson(10), poisson(0.01)], [poisson(0.01), poisson(10)]]
    costs = [[30.0, 2.0], [30.0, 2.0]]
    p = problem(pmfs, costs, unit_cost=[1.0, 1.0], holding=[0.2, 0.2])
    aware, blind = solve(replace(p, budget=12.0)), solve(segment_blind(replace(p, budget=12.0)))
    assert aware.quantity[0] > blind.quantity[0]
    assert aware.quantity[1] < blind.quantity[1]
    # With an ample budget both order each SKU up to its own optimum: the same units of
    # the SKU nobody valuable buys are still worth their margin.
    ample = replace(p, budget=1_000.0)
    assert solve(ample).quantity[0] >= solve(segment_blind(ample)).quantity[0]
    same = problem(pmfs, [[5.0, 5.0], [5.0, 5.0]], budget=1_000.0)  # segments alike
    assert np.array_equal(solve(same).quantity, solve(segment_blind(same)).quantity)


def test_ample_budget_gives_the_unconstrained_plan() -> None:
    pmfs = [[poisson(10), poisson(4)], [poisson(3), poisson(9)]]
    p = problem(pmfs, [[30.0, 2.0], [30.0, 2.0]], unit_cost=[1.0, 1.0])
    free, ample = solve(p), solve(replace(p, budget=10_000.0))
    assert np.array_equal(free.quantity, ample.quantity)
    assert ample.status == "optimal"


def test_bad_input_is_refused_clearly() -> None:
    good = problem([[poisson(5)]], [[3.0]])
    with pytest.raises(ValueError, match="budget"):
        solve(replace(good, budget=-1.0))
    with pytest.raises(ValueError, match="sums to"):
        solve(replace(good, pmfs=((np.array([0.5, 0.3]),),)))
    for broken in (np.array([1.2, -0.2]), np.array([np.nan, 1.0]), np.zeros(0), np.eye(2)):
        with pytest.raises(ValueError, match="not a probability vector"):
            solve(replace(good, pmfs=((broken,),)))
    with pytest.raises(ValueError, match="pack sizes"):
        solve(replace(good, pack_size=np.array([0])))
    with pytest.raises(ValueError, match="one value per SKU"):
        solve(replace(good, position=np.array([1.0, 2.0])))


def test_moq_beyond_the_budget_means_nothing_to_order_with_the_reason() -> None:
    p = problem(
        [[poisson(10)], [poisson(8)]],
        [[5.0], [5.0]],
        moq=[50, 60],
        unit_cost=[2.0, 2.0],
        budget=40.0,
    )
    s = solve(p)
    assert s.status == "nothing to order" and s.quantity.sum() == 0
    assert any("budget is below" in note for note in s.notes)


def test_supplier_fixed_costs_and_minimums() -> None:
    pmfs = [[poisson(10)], [poisson(0.3)], [poisson(5)]]
    # Supplier 1 sells one slow item and charges 100 per order: not worth it.
    p = problem(pmfs, [[5.0], [5.0], [5.0]], supplier=[0, 1, 0], order_cost=[1.0, 100.0])
    s = solve(p)
    assert s.quantity[1] == 0 and s.quantity[0] > 0
    assert any("P1" in note for note in s.notes)
    # Supplier 0 requires orders of at least 40: its lines are topped up to reach it.
    q = solve(replace(p, supplier_min_value=np.array([40.0, 0.0]))).quantity
    assert q[0] + q[2] >= 40
    assert s.objective == pytest.approx(plan_value(p, s.quantity))


def test_reused_curves_give_the_same_plan_under_another_budget() -> None:
    pmfs = [[poisson(10), poisson(4)], [poisson(3), poisson(9)], [poisson(6), poisson(6)]]
    p = problem(pmfs, [[30.0, 2.0]] * 3, unit_cost=[1.0, 2.0, 1.5], pack=[1, 2, 3])
    curves = solve(p).curves
    for budget in (5.0, 20.0, 45.0):
        tight = replace(p, budget=budget)
        fresh, reused = solve(tight), solve(tight, curves=curves)
        assert np.array_equal(fresh.quantity, reused.quantity)
        assert fresh.objective == reused.objective and fresh.bound == reused.bound


def _greedy_by_the_book(
    blocks: Blocks, n_skus: int, lb: float, lv: float, budget: float, capacity: float
) -> np.ndarray:
    """The greedy as specified: one block at a time in score order, nothing vectorized."""
    take = np.zeros(blocks.sku.size, dtype=bool)
    price = lb * blocks.cost + lv * blocks.volume
    score = np.where(price > 0, blocks.value / np.maximum(price, 1e-300), blocks.value * 1e12)
    candidates = np.flatnonzero(blocks.value > 0)
    order = candidates[np.lexsort((blocks.index[candidates], -score[candidates]))]
    spent_b = spent_v = 0.0
    have = np.zeros(n_skus, dtype=np.int64)
    for b in order:
        if have[blocks.sku[b]] != blocks.index[b]:
            continue
        if spent_b + blocks.cost[b] > budget + 1e-9 or spent_v + blocks.volume[b] > capacity + 1e-9:
            continue
        take[b] = True
        spent_b += blocks.cost[b]
        spent_v += blocks.volume[b]
        have[blocks.sku[b]] += 1
    return take


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    budget_share=st.one_of(st.none(), st.floats(0.05, 1.2)),
    capacity_share=st.one_of(st.none(), st.floats(0.05, 1.2)),
    lb=st.floats(0.0, 2.0),
)
def test_the_vectorized_greedy_takes_what_the_plain_loop_takes(
    seed: int, budget_share: float | None, capacity_share: float | None, lb: float
) -> None:
    """Any blocks (values need not fall along a SKU, so order and sequence may clash)."""
    rng = np.random.default_rng(seed)
    n = 8
    per_sku = rng.integers(0, 6, n)
    sku = np.repeat(np.arange(n), per_sku)
    index = np.concatenate([np.arange(k) for k in per_sku]) if sku.size else sku
    blocks = Blocks(
        sku=sku,
        index=index,
        packs=np.ones(sku.size, dtype=np.int64),
        value=rng.normal(3.0, 3.0, sku.size),
        cost=rng.uniform(0.5, 5.0, sku.size),
        volume=rng.uniform(0.0, 1.0, sku.size),
    )
    budget = np.inf if budget_share is None else budget_share * float(blocks.cost.sum())
    capacity = np.inf if capacity_share is None else capacity_share * float(blocks.volume.sum())
    got = _greedy(blocks, n, lb, 0.5, budget, capacity)
    assert np.array_equal(got, _greedy_by_the_book(blocks, n, lb, 0.5, budget, capacity))
