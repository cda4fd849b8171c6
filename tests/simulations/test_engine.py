"""The daily engine: churn at probability 0 and 1, common random numbers, conservation,
backorders, coupons, budgets, and demand against the world's expected rates."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from simulations.engine import Conditions, run_policy
from simulations.model import Behaviour, SimWorld
from simulations.policies import BaseStockPolicy, MinMaxPolicy, OptimizerPolicy

Sim = tuple[SimWorld, Behaviour]
# A lean policy (stock at half the protection demand) so stockouts are frequent.
LEAN = MinMaxPolicy(name="lean", min_factor=0.3, max_factor=0.6)


def _churn(behaviour: Behaviour, q: float, returns: float = 0.0) -> Behaviour:
    k = behaviour.churn_per_stockout.size
    return replace(
        behaviour,
        churn_per_stockout=np.full(k, q),
        return_probability=np.full(k, returns),
        base_churn_daily=np.zeros(k),
    )


def test_with_churn_probability_zero_nobody_churns(sim: Sim) -> None:
    world, behaviour = sim
    run = run_policy(world, _churn(behaviour, 0.0), LEAN, Conditions(days=120), seed=3)
    assert run.segment["lines_short"].sum() > 50  # stockouts did happen
    assert run.segment["customers_lost"].sum() == 0
    assert not run.lost.any()
    assert np.array_equal(run.active_end, world.active)
    assert run.active.min() == run.active.max() == world.active.sum()


def test_with_churn_probability_one_every_hit_customer_churns(sim: Sim) -> None:
    world, behaviour = sim
    run = run_policy(world, _churn(behaviour, 1.0), LEAN, Conditions(days=120), seed=3)
    hit = run.hits > 0
    assert hit.sum() > 10
    assert np.array_equal(run.lost, hit)  # lost exactly the customers hit
    assert run.segment["customers_lost"].sum() == hit.sum()  # no returns, so each left once
    assert not run.active_end[hit].any()
    assert run.active[-1] == world.active.sum() - hit.sum()
    # Their CLV is what the run lost, per segment.
    lost_clv = np.bincount(world.segment[hit], world.clv[hit], len(world.segments))
    np.testing.assert_allclose(run.segment["clv_lost"], lost_clv)


def test_churned_customers_come_back_when_they_return_for_sure(sim: Sim) -> None:
    world, behaviour = sim
    lean = replace(_churn(behaviour, 1.0, returns=1.0), mean_days_to_return=5.0)
    run = run_policy(world, lean, LEAN, Conditions(days=200), seed=3)
    assert run.segment["customers_regained"].sum() > 0.8 * run.segment["customers_lost"].sum()


def test_identical_policies_give_identical_results(sim: Sim) -> None:
    world, behaviour = sim
    a = run_policy(world, behaviour, BaseStockPolicy(name="a"), Conditions(days=90), 5, 2)
    b = run_policy(world, behaviour, BaseStockPolicy(name="b"), Conditions(days=90), 5, 2)
    for key in a.segment:
        assert np.array_equal(a.segment[key], b.segment[key]), key
    assert a.totals == b.totals
    assert np.array_equal(a.hits, b.hits) and np.array_equal(a.active, b.active)


def test_policies_meet_the_same_demand_when_nobody_churns(sim: Sim) -> None:
    world, behaviour = sim
    calm = _churn(behaviour, 0.0)
    a = run_policy(world, calm, LEAN, Conditions(days=90), 5, 1)
    b = run_policy(world, calm, BaseStockPolicy(), Conditions(days=90), 5, 1)
    # Same customers, same baskets: units asked for agree exactly, whatever the policy.
    assert np.array_equal(a.segment["units_requested"], b.segment["units_requested"])
    assert a.segment["units_filled_now"].sum() != b.segment["units_filled_now"].sum()


def test_other_replications_draw_other_demand(sim: Sim) -> None:
    world, behaviour = sim
    a = run_policy(world, behaviour, LEAN, Conditions(days=60), 5, 0)
    b = run_policy(world, behaviour, LEAN, Conditions(days=60), 5, 1)
    assert a.segment["units_requested"].sum() != b.segment["units_requested"].sum()


@hsettings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    lead=st.floats(0.5, 3.0),
    demand=st.floats(0.5, 2.0),
    budget=st.one_of(st.none(), st.floats(0.0, 1.5)),
    lean=st.booleans(),
)
def test_units_are_conserved(
    sim: Sim, seed: int, lead: float, demand: float, budget: float | None, lean: bool
) -> None:
    """Stock at the start + units received = units sold + stock at the end."""
    world, behaviour = sim
    cond = Conditions(days=60, lead_time_factor=lead, demand_factor=demand, budget_factor=budget)
    run = run_policy(world, behaviour, LEAN if lean else BaseStockPolicy(), cond, seed)
    t = run.totals
    assert t["on_hand_start"] + t["units_received"] == t["units_sold"] + t["on_hand_end"]
    seg = run.segment
    sold = seg["units_filled_now"] + seg["units_substituted"] + seg["units_backorder_filled"]
    assert sold.sum() == t["units_sold"]
    # Every unit asked for was served, substituted, backordered or lost.
    short = seg["units_requested"] - seg["units_filled_now"]
    assert np.allclose(
        short, seg["units_substituted"] + seg["units_backordered"] + seg["units_lost"]
    )
    assert seg["units_backorder_filled"].sum() + t["backlog_end"] == seg["units_backordered"].sum()
    assert t["on_hand_end"] >= 0


def test_a_full_coupon_stops_stockout_churn_and_costs_per_event(sim: Sim) -> None:
    world, behaviour = sim
    coupon = replace(_churn(behaviour, 0.5), coupon_effect=1.0, coupon_cost=4.0)
    run = run_policy(world, coupon, LEAN, Conditions(days=60, compensation=True), seed=2)
    assert run.segment["customers_lost"].sum() == 0
    assert np.allclose(run.segment["compensation_cost"], 4.0 * run.segment["lines_short"])
    without = run_policy(world, coupon, LEAN, Conditions(days=60, compensation=False), seed=2)
    assert without.segment["customers_lost"].sum() > 0
    assert without.segment["compensation_cost"].sum() == 0


def test_a_zero_budget_orders_nothing(sim: Sim) -> None:
    world, behaviour = sim
    run = run_policy(world, behaviour, BaseStockPolicy(), Conditions(days=60, budget_factor=0.0))
    assert run.totals["purchase_cost"] == 0.0
    assert run.totals["orders_placed"] == 0.0
    free = run_policy(world, behaviour, BaseStockPolicy(), Conditions(days=60))
    assert free.totals["purchase_cost"] > 0.0


def test_a_review_budget_keeps_what_runs_out_first_and_trims_the_rest() -> None:
    """A rule without values (ERP min/max) ranks lines by the share of their order-up-to
    level held: SKUs 1 and 2 (empty) before SKU 0 (8 of 100 held), which gets the 5 units
    left, not nothing; with values, the best value per currency goes first."""
    from simulations.engine import review_orders
    from simulations.policies import Levels

    levels = Levels(np.array([10.0, 10.0, 10.0]), np.array([100.0, 20.0, 20.0]))
    position, reviewing = np.array([8.0, 0.0, 0.0]), np.ones(3, dtype=bool)
    ones, zeros = np.ones(3, dtype=np.int64), np.zeros(3, dtype=np.int64)
    args = (position, reviewing, ones, zeros, np.ones(3))
    assert review_orders(levels, *args, None).tolist() == [92, 20, 20]
    assert review_orders(levels, *args, 45.0).tolist() == [5, 20, 20]
    valued = Levels(levels.reorder_point, levels.order_up_to, priority=np.array([3.0, 1.0, 2.0]))
    assert review_orders(valued, *args, 45.0).tolist() == [45, 0, 0]


def test_an_optimizer_skips_a_supplier_whose_lines_are_not_worth_its_order_cost() -> None:
    """Supplier 0's two lines add units worth 2 + 1 against an order cost of 10: skipped.
    Supplier 1's line, worth 15, is ordered. A rule without unit values orders anyway."""
    from simulations.engine import worth_the_order
    from simulations.policies import Levels

    start, values = np.array([0, 3, 6, 9]), np.array([5, 2, 1, 4, 1, 0, 9, 6, 3.0])
    levels = Levels(np.zeros(3), np.full(3, 3.0), unit_value=(start, values))
    position, units = np.array([1.0, 1.0, 0.0]), np.array([1, 1, 2])
    supplier, cost = np.array([0, 0, 1]), np.array([10.0, 10.0])
    assert worth_the_order(levels, position, units, supplier, cost).tolist() == [0, 0, 2]
    assert worth_the_order(levels, position, units, supplier, cost / 4).tolist() == [1, 1, 2]
    plain = Levels(np.zeros(3), np.full(3, 3.0))
    assert worth_the_order(plain, position, units, supplier, cost).tolist() == [1, 1, 2]


def test_demand_matches_the_worlds_expected_rates(sim: Sim) -> None:
    world, behaviour = sim
    calm = _churn(behaviour, 0.0)
    days = 200
    runs = [
        run_policy(world, calm, BaseStockPolicy(), Conditions(days=days), 9, r) for r in range(3)
    ]
    asked = np.mean([r.segment["units_requested"] for r in runs], axis=0) / days
    mean, _ = world.expected_daily_demand()
    assert asked == pytest.approx(mean.sum(axis=0), rel=0.08)


def test_no_demand_means_no_sales(sim: Sim) -> None:
    world, behaviour = sim
    run = run_policy(world, behaviour, BaseStockPolicy(), Conditions(days=30, demand_factor=0.0))
    assert run.segment["units_requested"].sum() == 0
    assert run.segment["revenue"].sum() == 0


def test_the_reserve_serves_the_protected_segment_better(sim: Sim) -> None:
    world, behaviour = sim
    # Make tier A's stockouts far costlier, so the reserve is large.
    costly = replace(behaviour, churn_per_stockout=np.array([0.9, 0.01, 0.01]))
    cond = Conditions(days=120, lead_time_factor=2.0)
    with_reserve = run_policy(world, costly, OptimizerPolicy(reserve=True), cond, seed=4)
    without = run_policy(world, costly, OptimizerPolicy(reserve=False), cond, seed=4)

    def fill(run: object) -> np.ndarray:
        seg = run.segment  # type: ignore[attr-defined]
        return np.asarray(seg["units_filled_now"] / seg["units_requested"])

    assert fill(with_reserve)[0] > fill(without)[0]
    assert fill(with_reserve)[1:].mean() < fill(without)[1:].mean()


def test_bad_conditions_are_refused() -> None:
    with pytest.raises(ValueError, match="days"):
        Conditions(days=0)
    with pytest.raises(ValueError, match="lead_time_factor"):
        Conditions(lead_time_factor=0.0)
    with pytest.raises(ValueError, match="demand_factor"):
        Conditions(demand_factor=-1.0)
    with pytest.raises(ValueError, match="budget_factor"):
        Conditions(budget_factor=float("nan"))


def test_policies_plan_with_the_demand_they_are_given(sim: Sim) -> None:
    """The true rates given as the estimate are the oracle default, exactly; a policy told
    demand is half what it is holds less stock and loses more customers."""
    from simulations.engine import DemandEstimate

    world, behaviour = sim
    cond = Conditions(days=60)
    policy = BaseStockPolicy()
    oracle = run_policy(world, behaviour, policy, cond)
    given = run_policy(world, behaviour, policy, cond, planning=DemandEstimate.oracle(world))
    assert given.totals == oracle.totals
    mean, var = world.expected_daily_demand()
    low = DemandEstimate(0.5 * mean, 0.5 * var)
    short = run_policy(world, behaviour, policy, cond, planning=low)
    assert short.totals["inventory_value"] < oracle.totals["inventory_value"]
    assert short.segment["lines_short"].sum() > oracle.segment["lines_short"].sum()
    with pytest.raises(ValueError, match="cannot be negative"):
        DemandEstimate(-mean, var)
    with pytest.raises(ValueError, match="the world"):
        DemandEstimate(mean[:, :1], var[:, :1]).fits(world)


class _Recorded:
    """A refresh that says demand is `level` x the true rates, and records the days and
    units it was shown (a list shared by reference, so it survives the frozen estimate)."""

    def __init__(self, world: SimWorld, level: float) -> None:
        self.mean, self.var = world.expected_daily_demand()
        self.level = level
        self.calls: list[tuple[int, float, int]] = []

    def __call__(
        self,
        demand: np.ndarray,
        censored: np.ndarray,
        changed: np.ndarray | None = None,
        previous: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append((demand.shape[2], float(demand.sum()), int(censored.sum())))
        return self.level * self.mean, self.level * self.var


def test_replans_re_estimate_demand_from_the_days_observed(sim: Sim) -> None:
    """The refresh is shown every day so far at each replan (the units asked add up to
    the run's, short days included), and the policy then plans with what it answers: told
    demand stopped, it orders nothing after the first replan."""
    from simulations.engine import DemandEstimate

    world, behaviour = sim
    mean, var = world.expected_daily_demand()
    cond = Conditions(days=29, replan_days=28)
    seen = _Recorded(world, 1.0)
    run = run_policy(world, behaviour, LEAN, cond, planning=DemandEstimate(mean, var, refresh=seen))
    assert len(seen.calls) == 1
    days, units, short_days = seen.calls[0]
    assert days == 29
    assert units == pytest.approx(run.segment["units_requested"].sum())
    assert short_days > 0  # LEAN runs short
    assert (
        run.totals
        == run_policy(
            world,
            behaviour,
            LEAN,
            cond,
            planning=DemandEstimate(mean, var, refresh=_Recorded(world, 1.0)),
        ).totals
    )

    long = Conditions(days=120, replan_days=28)
    stopped = DemandEstimate(mean, var, refresh=_Recorded(world, 0.0))
    dry = run_policy(world, behaviour, LEAN, long, planning=stopped)
    going = run_policy(
        world,
        behaviour,
        LEAN,
        long,
        planning=DemandEstimate(mean, var, refresh=_Recorded(world, 1.0)),
    )
    assert dry.totals["orders_placed"] < going.totals["orders_placed"]
    # Told demand stopped, it only buys back what customers wait for.
    assert dry.totals["purchase_cost"] < 0.5 * going.totals["purchase_cost"]
