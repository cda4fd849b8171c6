"""Worlds for the simulator: the generator's truth, and a dataset's history estimated."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from simulations.engine import Conditions, run_policy
from simulations.estimate import from_dataset, from_generated
from simulations.policies import BaseStockPolicy
from simulations.world import GeneratedWorld


def test_the_generated_world_is_picked_up_where_its_history_ends(
    tiny_world: GeneratedWorld,
) -> None:
    world, behaviour = from_generated(tiny_world)
    world.validate()
    behaviour.validate(3)
    inv = tiny_world.dataset.inventory
    assert inv is not None
    assert np.array_equal(world.on_hand, inv["on_hand"].to_numpy())
    assert np.array_equal(world.active, ~tiny_world.customer_truth["churned"].to_numpy())
    assert behaviour.churn_per_stockout.tolist() == [
        tiny_world.churn_per_stockout[t] for t in ("A", "B", "C")
    ]
    # Tier A customers are worth more than tier C ones.
    assert world.clv[world.segment == 0].mean() > world.clv[world.segment == 2].mean()


def test_a_dataset_is_estimated_close_to_the_truth_behind_it(tiny_world: GeneratedWorld) -> None:
    world, behaviour, source = from_dataset(tiny_world.dataset, churn="preset")
    world.validate()
    assert "retail preset" in source
    truth = tiny_world.customer_truth
    active = world.active & ~truth["churned"].to_numpy()
    true_rate = truth["orders_per_year"].to_numpy() / 365.25
    corr = np.corrcoef(world.rate[active], true_rate[active])[0, 1]
    assert corr > 0.8
    # Lines per order and total demand land near the truth.
    assert world.lines[active].mean() == pytest.approx(
        truth["lines_per_order"][active].mean(), rel=0.2
    )
    est_mean, _ = world.expected_daily_demand()
    true_world, _ = from_generated(tiny_world)
    true_mean, _ = true_world.expected_daily_demand()
    assert est_mean.sum() == pytest.approx(true_mean.sum(), rel=0.25)
    assert (behaviour.churn_per_stockout > 0).all()
    # The estimated world runs.
    run = run_policy(world, behaviour, BaseStockPolicy(), Conditions(days=30))
    assert run.segment["units_requested"].sum() > 0


def test_a_one_off_bulk_line_does_not_become_the_units_of_every_line(
    tiny_world: GeneratedWorld,
) -> None:
    """A wholesaler's 80,995 units once (the forecast keeps it out of demand): the
    simulated SKU's lines stay the size they usually are."""
    orders = tiny_world.dataset.orders
    sku = orders["sku_id"].value_counts().index[0]
    before, _, _ = from_dataset(tiny_world.dataset, churn="preset")
    bulk = orders[orders["sku_id"] == sku].iloc[[-1]].copy()
    bulk["order_id"], bulk["quantity"] = "BULK-1", 80_995
    dataset = replace(tiny_world.dataset, orders=pd.concat([orders, bulk], ignore_index=True))
    after, _, _ = from_dataset(dataset, churn="preset")
    i = list(after.sku_ids).index(sku)
    assert after.mean_quantity[i] == pytest.approx(before.mean_quantity[i])
    assert after.mean_quantity.max() < 1_000


def test_fitted_churn_is_used_when_the_history_allows(tiny_world: GeneratedWorld) -> None:
    _, behaviour, source = from_dataset(tiny_world.dataset, churn="fitted")
    assert "shrunk toward the retail preset" in source
    assert behaviour.churn_per_stockout.shape == (3,)
    # Estimated with shrinkage: thin data give the prior, never a churn of 0.
    assert ((behaviour.churn_per_stockout > 0) & (behaviour.churn_per_stockout < 1)).all()


def test_a_dataset_without_customers_cannot_be_simulated(tiny_world: GeneratedWorld) -> None:
    anonymous = replace(tiny_world.dataset, customers=None)
    with pytest.raises(ValueError, match="no customers table"):
        from_dataset(anonymous)
    with pytest.raises(ValueError, match="sector"):
        from_dataset(tiny_world.dataset, sector="moon")
    with pytest.raises(ValueError, match="churn"):
        from_dataset(tiny_world.dataset, churn="guess")


def test_the_products_forecast_is_what_policies_plan_with(tiny_world: GeneratedWorld) -> None:
    """The forecast of the world's history, per day, in the world's SKU and tier order:
    close to the true rates in total, and ranking SKUs as they do."""
    from forecast.engine import forecast_dataset
    from simulations.estimate import planning_demand

    world, _ = from_generated(tiny_world)
    run = forecast_dataset(tiny_world.dataset, engine="inline")
    estimate = planning_demand(world, run)
    truth_mean, _ = world.expected_daily_demand()
    assert estimate.source == "forecast"
    assert estimate.daily_mean.shape == truth_mean.shape
    assert (estimate.daily_mean >= 0).all() and (estimate.daily_var >= 0).all()
    total, true_total = estimate.daily_mean.sum(axis=1), truth_mean.sum(axis=1)
    assert total.sum() == pytest.approx(true_total.sum(), rel=0.3)
    assert np.corrcoef(total, true_total)[0, 1] > 0.8
    assert not np.allclose(estimate.daily_mean, truth_mean)  # a forecast, not the truth


def test_replans_refit_the_products_forecast_on_the_days_observed(
    tiny_world: GeneratedWorld,
) -> None:
    """The refresh appends the run's days to the history and refits the engine: shown
    nothing new it gives the first estimate back, shown four weeks at three times the
    world's rates it plans for more; it survives pickling (runs go to Dask workers)."""
    import pickle

    from forecast.engine import forecast_dataset
    from simulations.estimate import planning_demand

    world, _ = from_generated(tiny_world)
    run = forecast_dataset(tiny_world.dataset, engine="inline")
    estimate = planning_demand(world, run)
    assert estimate.refresh is not None
    k = len(world.segments)
    empty = estimate.refresh(np.zeros((world.n_skus, k, 0)), np.zeros((world.n_skus, 0), bool))
    np.testing.assert_allclose(empty[0], estimate.daily_mean)
    np.testing.assert_allclose(empty[1], estimate.daily_var)

    truth, _ = world.expected_daily_demand()
    busy = np.repeat(3.0 * truth[:, :, None], 28, axis=2)
    refresh = pickle.loads(pickle.dumps(estimate.refresh))
    mean, var = refresh(busy, np.zeros((world.n_skus, 28), bool))
    assert mean.shape == var.shape == truth.shape
    assert mean.sum() > 1.5 * estimate.daily_mean.sum()
    assert planning_demand(world, run, refresh=False).refresh is None


def test_a_replan_refits_only_the_skus_seen_since_and_each_as_a_refit_of_all(
    tiny_world: GeneratedWorld,
) -> None:
    """Three weeks in which only some SKUs were asked for: those are refit, each to what
    a refit of the whole catalogue gives it; the others keep what the policy believed."""
    from forecast.engine import forecast_dataset
    from simulations.estimate import planning_demand

    world, _ = from_generated(tiny_world)
    run = forecast_dataset(tiny_world.dataset, engine="inline")
    estimate = planning_demand(world, run)
    assert estimate.refresh is not None
    rng = np.random.default_rng(5)
    k = len(world.segments)
    days = rng.poisson(estimate.daily_mean[:, :, None] * 2.0, (world.n_skus, k, 21))
    censored = rng.random((world.n_skus, 21)) < 0.05
    changed = np.zeros(world.n_skus, dtype=bool)
    changed[::3] = True
    believed = (estimate.daily_mean * 0.5, estimate.daily_var * 0.5)
    full = estimate.refresh(days.astype(float), censored)
    part = estimate.refresh(days.astype(float), censored, changed, believed)
    np.testing.assert_allclose(part[0][changed], full[0][changed], rtol=1e-6)
    np.testing.assert_allclose(part[1][changed], full[1][changed], rtol=1e-6)
    assert np.array_equal(part[0][~changed], believed[0][~changed])
    nothing = estimate.refresh(days.astype(float), censored, np.zeros_like(changed), believed)
    assert nothing is believed
