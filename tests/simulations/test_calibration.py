"""Churn per stockout: the preset formula, and a logit that recovers the generator's truth."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from contract import Dataset
from simulations.calibration import (
    customer_months,
    fit_churn,
    per_event_churn,
    per_event_churn_exposure,
)
from simulations.engine import Conditions, run_policy
from simulations.estimate import from_generated
from simulations.experiments import calibrate_preset
from simulations.policies import MinMaxPolicy
from simulations.world import PRESETS, GeneratedWorld, generate, params_for


def test_per_event_churn_inverts_the_yearly_loss() -> None:
    q = per_event_churn(0.185, 4.0)
    assert 1 - (1 - q) ** 4 == pytest.approx(0.185)
    assert per_event_churn(0.0, 3.0) == 0.0
    with pytest.raises(ValueError):
        per_event_churn(1.0, 3.0)
    with pytest.raises(ValueError):
        per_event_churn(0.1, 0.0)


def test_customer_months_mark_churn_and_stockouts() -> None:
    start = date(2025, 1, 1)
    rows = [  # K1 buys monthly for 8 months, short in month 2; K2 buys in month 0 only
        {
            "order_id": f"O1-{m}",
            "date": pd.Timestamp(start + timedelta(days=30 * m)),
            "customer_id": "K1",
            "sku_id": "X",
            "quantity": 1 if m != 2 else 0,
            "quantity_short": 1 if m == 2 else 0,
        }
        for m in range(8)
    ] + [
        {
            "order_id": "O2",
            "date": pd.Timestamp(start),
            "customer_id": "K2",
            "sku_id": "X",
            "quantity": 1,
            "quantity_short": 0,
        }
    ]
    ds = Dataset.from_frames(
        {
            "suppliers": pd.DataFrame({"supplier_id": ["S"], "lead_time_days": [7.0]}),
            "skus": pd.DataFrame(
                {"sku_id": ["X"], "supplier_id": ["S"], "unit_cost": [1.0], "unit_price": [2.0]}
            ),
            "orders": pd.DataFrame(rows),
            "customers": pd.DataFrame(
                {"customer_id": ["K1", "K2"], "since": [pd.Timestamp(start)] * 2}
            ),
        },
        today=date(2026, 1, 1),
    )
    months = customer_months(ds, follow_months=3).set_index(["customer_id", "month"])
    assert months.loc[("K2", 0), "churned"] == 1
    assert months.loc[("K1", 0), "churned"] == 0
    assert months.loc[("K1", 2), "stockout"] == 1 and months.loc[("K1", 1), "stockout"] == 0
    assert ("K1", 5) not in months.index  # its follow-up runs past the history


@pytest.fixture(scope="module")
def world() -> GeneratedWorld:
    return generate(params_for("small", seed=2))


def test_logit_recovers_the_generators_churn_per_stockout(world: GeneratedWorld) -> None:
    tiers = world.customer_truth.set_index("customer_id")["tier"]
    fit = fit_churn(world.dataset, tiers)
    stockout = fit.coefficients.loc["stockout"]
    assert stockout["low_95"] > 0 and stockout["p_value"] < 0.001
    truth = world.churn_per_stockout
    assert fit.per_event["C"] > fit.per_event["B"] > fit.per_event["A"] > 0
    for tier in ("B", "C"):
        assert truth[tier] / 2 < fit.per_event[tier] < truth[tier] * 2
    untiered = fit_churn(world.dataset)
    assert set(untiered.per_event) == {"ALL"} and untiered.per_event["ALL"] > 0


def test_a_history_without_stockouts_cannot_be_fitted(world: GeneratedWorld) -> None:
    orders = world.dataset.orders.copy()
    orders["quantity"] = orders["quantity"] + orders["quantity_short"]
    orders["quantity_short"] = 0
    ds = Dataset(world.dataset.suppliers, world.dataset.skus, orders, world.dataset.customers)
    with pytest.raises(ValueError, match="with and without stockouts"):
        fit_churn(ds)


def test_exposure_calibration_matches_the_formula_for_equal_exposure() -> None:
    q = per_event_churn_exposure(0.185, np.full(50, 4.0))
    assert q == pytest.approx(per_event_churn(0.185, 4.0), rel=1e-9)


def test_uneven_exposure_needs_a_higher_per_event_churn() -> None:
    uneven = np.array([0.5, 1.0, 2.0, 12.5])  # mean 4, as above
    q = per_event_churn_exposure(0.185, uneven)
    assert float(np.mean(1 - (1 - q) ** uneven)) == pytest.approx(0.185, abs=1e-9)
    assert q > per_event_churn(0.185, 4.0)


def test_exposure_calibration_refuses_what_it_cannot_reach() -> None:
    with pytest.raises(ValueError, match="too few customers"):
        per_event_churn_exposure(0.5, np.array([0.0, 0.0, 3.0]))  # at most 1/3 can leave
    with pytest.raises(ValueError):
        per_event_churn_exposure(0.1, np.array([-1.0]))
    with pytest.raises(ValueError):
        per_event_churn_exposure(1.0, np.array([1.0]))


def test_a_calibrated_preset_loses_the_presets_share_in_a_year() -> None:
    """Calibrate on a pilot's exposure, then simulate a year: each tier loses ~18.5%."""
    world, behaviour = from_generated(generate(params_for("small", seed=11)))
    annual = PRESETS["retail"].stockout_churn_annual
    k = len(world.segments)
    no_other = replace(behaviour, return_probability=np.zeros(k), base_churn_daily=np.zeros(k))
    policy = MinMaxPolicy(min_factor=0.8, max_factor=1.6)
    cond = Conditions(days=365)
    calibrated = calibrate_preset(world, no_other, policy, annual, cond, seed=1)
    lost = np.zeros(k)
    for r in range(2):
        run = run_policy(world, calibrated, policy, cond, seed=1, replication=r)
        lost += run.segment["customers_lost"] / run.segment["active_start"]
    lost /= 2
    assert lost.mean() == pytest.approx(annual, abs=0.03)
    assert lost == pytest.approx(np.full(k, annual), abs=0.06)
