"""Value per customer (BG/NBD + Gamma-Gamma): it ranks customers as their true value
does, P(alive) tells the customers who left, and a history too thin falls back."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy.stats import spearmanr

from forecast.customer_value import MIN_REPEAT_CUSTOMERS, fit_customer_value, rfm
from forecast.segments import SegmentConfig, segment_customers
from simulations.world import generate, params_for


def test_rfm_counts_repeat_days_and_the_mean_margin_of_repeats() -> None:
    day = pd.Timestamp("2026-01-01")
    orders = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c2"],
            "date": [day, day, day + pd.Timedelta(days=10), day + pd.Timedelta(days=5)],
            "sku_id": ["S1", "S1", "S1", "S1"],
            "quantity": [1, 2, 4, 1],
            "unit_price": [3.0, 3.0, 3.0, 3.0],
        }
    )
    summary = rfm(orders, pd.Series({"S1": 1.0}), day + pd.Timedelta(days=20))
    columns = ["frequency", "recency", "T", "monetary_value"]
    c1 = summary[columns].to_numpy()[0]
    assert c1.tolist() == [1.0, 10.0, 20.0, 8.0]  # one repeat day, margin 4 x (3 - 1)
    assert summary["frequency"].tolist() == [1.0, 0.0]
    assert summary["monetary_value"].isna().tolist() == [False, True]


@pytest.mark.slow
def test_customer_value_ranks_customers_as_their_true_value_does() -> None:
    """Seed 3: rank correlation of CLV with the truth (yearly lines of customers still
    alive at the end) above 0.6; customers who had churned have lower P(alive)."""
    world = generate(params_for("small", seed=3))
    segments = segment_customers(world.dataset)
    assert segments.clv_source == "bgnbd"
    truth = world.customer_truth.set_index("customer_id")
    people = segments.customers.set_index("customer_id").reindex(truth.index)
    value = truth["orders_per_year"] * truth["lines_per_order"] * ~truth["churned"]
    rho = spearmanr(people["clv"], value).statistic
    assert rho > 0.6, rho
    alive = people["p_alive"][~truth["churned"]].mean()
    gone = people["p_alive"][truth["churned"]].mean()
    assert alive > gone + 0.2, (alive, gone)
    # "At risk": a customer who was active and is now unlikely to be alive.
    risky = people[people["at_risk"]]
    assert len(risky) > 0 and (risky["p_alive"] < 0.5).all()
    # Tiers keep the value score; the tier's CLV is the mean of its customers'.
    tier_clv = people.groupby("tier", observed=True)["clv"].mean()
    assert segments.tiers["clv"].loc["A"] == pytest.approx(tier_clv.loc["A"])


def test_too_few_returning_customers_fall_back_to_the_tier_clv() -> None:
    summary = pd.DataFrame(
        {"frequency": [1.0] * 5, "recency": [5.0] * 5, "T": [30.0] * 5, "monetary_value": 2.0},
        index=[f"c{i}" for i in range(5)],
    )
    with pytest.raises(ValueError, match=str(MIN_REPEAT_CUSTOMERS)):
        fit_customer_value(summary)
    world = generate(params_for("tiny", seed=1, n_customers=15))
    segments = segment_customers(world.dataset)
    assert segments.clv_source.startswith("tier (could not fit")
    assert (segments.customers["clv"] >= 0).all() and segments.customers["p_alive"].isna().all()
    chosen = segment_customers(world.dataset, config=SegmentConfig(clv_model="tier"))
    assert chosen.clv_source == "tier (asked for)"
