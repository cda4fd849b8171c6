"""Reasons that add up, reservations, baselines, the frontier, and plans from a dataset."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from forecast.engine import ForecastConfig, forecast_dataset
from optimize.baselines import base_stock, min_max
from optimize.frontier import budget_frontier, outcomes
from optimize.inputs import (
    ChurnAssumptions,
    PlanSettings,
    build_problem,
    buyer_clv_per_unit,
    stockout_costs,
)
from optimize.reasons import explain
from optimize.reservation import reservation_levels
from optimize.solve import solve
from replenish.planning import make_plan
from simulations.world import GeneratedWorld
from tests.optimize.problems import poisson, problem


def test_reason_steps_add_up_to_the_quantity() -> None:
    pmfs = [[poisson(12), poisson(6)], [poisson(4), poisson(20)], [poisson(30), poisson(1)]]
    p = problem(
        pmfs, [[25.0, 3.0]] * 3, pack=[5, 1, 12], moq=[0, 0, 24], position=[3, 0, 10], budget=60.0
    )
    s = solve(p)
    rows = np.flatnonzero(s.packs > 0)
    reasons = explain(p, s, rows)
    assert len(reasons) == len(rows) > 0
    for i, r in zip(rows, reasons, strict=True):
        assert sum(r.steps.values()) == pytest.approx(s.quantity[i])
        assert r.steps["forecast"] >= 0
        for seg in r.segments.values():
            assert seg["service_with_order"] >= seg["service_without_order"] - 1e-12
            assert 0 <= seg["fill_rate_with_order"] <= 1 + 1e-9
    assert any(r.binding == "budget" for r in reasons)


def test_priority_uplift_is_positive_for_what_valuable_customers_buy() -> None:
    # SKU 0 is bought by A, SKU 1 by C: the blind view prices both at the average.
    p = problem(
        [[poisson(20), poisson(0.1)], [poisson(0.1), poisson(20)]],
        [[40.0, 2.0]] * 2,
        holding=[1.0, 1.0],
    )
    r0, r1 = explain(p, solve(p), np.array([0, 1]))
    assert r0.steps["priority_uplift"] > 0 > r1.steps["priority_uplift"]


def test_over_ordering_is_flagged_only_where_the_pack_forces_it() -> None:
    """A 48-unit pack for a demand of 2 per interval: flagged. The same demand in
    single units, bought up to a high service level because stockouts are dear,
    covers several intervals too, but that is what its costs call for: not flagged."""
    p = problem([[poisson(2)]], [[100.0]], pack=[48], holding=[0.01])
    (r,) = explain(p, solve(p), np.array([0]))
    assert r.warnings and "packs and MOQ add" in r.warnings[0]
    assert r.cover_intervals > 20
    single = problem([[poisson(2)]], [[100.0]], pack=[1], holding=[0.01])
    (u,) = explain(single, solve(single), np.array([0]))
    assert u.cover_intervals > 2 and not u.warnings


def test_reservation_follows_littlewoods_rule() -> None:
    a = poisson(10)
    p = problem([[a, poisson(10)]], [[20.0, 5.0]])
    # Protect r units for A while P(D_A > r) >= c_B / c_A = 0.25.
    expected = int(np.argmax(1 - np.cumsum(a) < 0.25))
    assert reservation_levels(p, np.array([100.0]))[0] == expected
    assert reservation_levels(p, np.array([4.0]))[0] == 4.0  # never more than the stock
    equal = problem([[a, a]], [[5.0, 5.0]])
    assert reservation_levels(equal, np.array([100.0]))[0] == 0.0


def test_baselines_order_to_their_rules() -> None:
    p = problem([[poisson(10)], [poisson(10)]], [[5.0], [5.0]], position=[30.0, 5.0], pack=[4, 1])
    assert min_max(p).tolist() == [0, 15]  # SKU 0 is above its min; SKU 1 goes to max = 20
    # Base-stock to the 95% quantile of Poisson(10), 15 units: SKU 1 needs 10 more.
    assert base_stock(p, 0.95).tolist() == [0, 10]
    tight = replace(p, budget=5.0)  # lines that do not fit are cut
    assert (base_stock(tight, 0.95) * tight.pack_size * tight.unit_cost).sum() <= 5.0
    with pytest.raises(ValueError, match="service_level"):
        base_stock(p, 1.0)


def test_stockout_cost_follows_the_design_formula(tiny_world: GeneratedWorld) -> None:
    import pandas as pd

    tiers = pd.DataFrame({"clv": [1000.0, 100.0], "units_per_line": [2.0, 1.0]}, index=["A", "B"])
    costs = stockout_costs(
        np.array([3.0, -1.0]), ("A", "B", "anon"), tiers, ChurnAssumptions({"A": 0.1, "B": 0.05})
    )
    assert costs.tolist() == [[3.0 + 0.1 * 1000 / 2, 3.0 + 0.05 * 100, 3.0], [50.0, 5.0, 0.0]]
    with pytest.raises(ValueError):
        ChurnAssumptions({"A": 1.5})


def test_a_stockout_of_what_a_vip_buys_costs_that_vips_value() -> None:
    import pandas as pd

    from contract import Dataset
    from forecast.segments import Segments

    day = pd.Timestamp("2026-06-01")
    skus = pd.DataFrame({"sku_id": ["S1", "S2", "S3"]})
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4"],
            "date": [day] * 4,
            "customer_id": ["vip", "small", "small", "vip"],
            "sku_id": ["S1", "S2", "S2", "S2"],
            "quantity": [2, 1, 1, 4],
            "quantity_short": [0, 0, 0, 0],
        }
    )
    customers = pd.DataFrame(
        {"customer_id": ["vip", "small"], "tier": ["A", "A"], "clv": [3000.0, 100.0]}
    )
    tiers = pd.DataFrame({"clv": [1550.0], "units_per_line": [2.0]}, index=["A"])
    segments = Segments(as_of=day.date(), customers=customers, tiers=tiers, clv_source="bgnbd")
    dataset = Dataset(pd.DataFrame(), skus, orders, None)
    per_unit = buyer_clv_per_unit(dataset, segments, skus["sku_id"].to_numpy(), ("A",))
    # The VIP asks 3 units a line (6 / 2): 1,000 per unit. The other customer 1 a line.
    # S1: the VIP alone. S2: 2 units of the other, 4 of the VIP. S3: nobody, the tier's.
    expected = [1000.0, (2 * 100.0 + 4 * 1000.0) / 6, 1550.0 / 2]
    assert per_unit[:, 0].tolist() == pytest.approx(expected)
    costs = stockout_costs(
        np.array([3.0, 3.0, 3.0]), ("A",), tiers, ChurnAssumptions({"A": 0.1}), per_unit
    )
    assert costs[:, 0].tolist() == pytest.approx([3.0 + 0.1 * e for e in expected])


def test_frontier_buys_more_service_with_more_budget() -> None:
    pmfs = [[poisson(10), poisson(5)], [poisson(3), poisson(12)]]
    p = problem(pmfs, [[30.0, 3.0]] * 2, unit_cost=[2.0, 1.0])
    churn, units = np.array([0.1, 0.04]), np.array([1.0, 1.0])
    table = budget_frontier(p, [0.0, 10.0, 20.0, 40.0, 80.0], churn, units)
    assert (np.diff(table["objective"]) >= -1e-9).all()
    assert (np.diff(table["customers_lost"]) <= 1e-9).all()
    assert (table["spend"] <= table["budget"] + 1e-9).all()
    assert (np.diff(table["fill_A"]) >= -1e-9).all()


def test_churn_aware_plan_loses_less_customer_value_than_segment_blind(
    tiny_world: GeneratedWorld,
) -> None:
    run = forecast_dataset(tiny_world.dataset, ForecastConfig(horizon=14))
    ample = make_plan(tiny_world.dataset, run, PlanSettings())
    settings = PlanSettings(budget=0.4 * ample.solution.cost)
    aware = make_plan(tiny_world.dataset, run, settings)
    problem_ = aware.problem
    from optimize.baselines import solve_segment_blind

    blind = solve_segment_blind(problem_)
    assert run.segments is not None
    tiers = run.segments.tiers
    churn = np.array([settings.churn.of(s) for s in problem_.segments])
    units = np.array([float(tiers["units_per_line"].to_dict()[s]) for s in problem_.segments])
    with_aware = outcomes(problem_, aware.solution, churn, units)
    with_blind = outcomes(problem_, blind, churn, units)
    # Tier A is served better and the value lost (CLV-weighted) is lower; by head count
    # the blind plan may lose fewer, cheaper customers.
    assert with_aware["fill_A"] > with_blind["fill_A"]
    assert with_aware["value_lost"] < with_blind["value_lost"]
    assert aware.solution.cost <= settings.budget + 1e-6  # type: ignore[operator]
    # The plan's lines and reasons are consistent with the solution.
    lines = aware.plan.lines
    assert lines["line_cost"].sum() == pytest.approx(aware.solution.cost)
    assert set(lines["sku_id"]) == set(problem_.sku_ids[aware.solution.packs > 0])
    steps = lines[[c for c in lines.columns if c.startswith("step_")]].sum(axis=1)
    assert np.allclose(steps, lines["quantity"])
    exposed = lines["exposed_tier_a_customers"].str.split(";").explode()
    exposed = exposed[exposed != ""]
    a_customers = set(run.segments.customers.query("tier == 'A'")["customer_id"])
    assert len(exposed) > 0 and set(exposed) <= a_customers


def test_build_problem_uses_stock_and_suppliers(tiny_world: GeneratedWorld) -> None:
    run = forecast_dataset(tiny_world.dataset, ForecastConfig(horizon=7))
    p = build_problem(tiny_world.dataset, run.result, run.segments, PlanSettings(budget=100.0))
    inv = tiny_world.dataset.inventory
    assert inv is not None
    assert np.allclose(p.position, (inv["on_hand"] + inv["on_order"]).to_numpy())
    assert p.segments == ("A", "B", "C")
    assert (p.stockout_cost[:, 0] >= p.stockout_cost[:, 2]).all()
    p.validate()
    capped = build_problem(
        tiny_world.dataset, run.result, run.segments, PlanSettings(max_cover_days=10)
    )
    assert np.isfinite(capped.max_units).all()


def test_money_left_unspent_is_explained() -> None:
    from optimize.plan import unspent

    pmfs = [[poisson(10.0)], [poisson(5.0)]]
    # Ample budget: the plan stops where a further pack adds less than it costs to hold.
    ample = problem(pmfs, [[4.0], [4.0]], budget=10_000.0)
    s = solve(ample)
    why = unspent(ample, s)
    assert why is not None and why["amount"] == pytest.approx(10_000.0 - s.cost, abs=0.01)
    assert "more stock would lose money" in why["reasons"][0]
    # A budget below a MOQ block of 24: nothing fits, and the plan says the money is short.
    tight = problem(pmfs, [[40.0], [40.0]], moq=[24, 24], unit_cost=[2.0, 2.0], budget=40.0)
    t = solve(tight)
    why = unspent(tight, t)
    assert why is not None and why["skus_stopped"]["budget"] == 2
    assert "costs more than the" in why["reasons"][0]
    # No budget, or all of it spent: nothing to explain.
    assert unspent(replace(ample, budget=None), s) is None
    spent = problem(pmfs, [[40.0], [40.0]], budget=5.0)
    assert unspent(spent, solve(spent)) is None
