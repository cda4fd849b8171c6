"""The generated world looks like real retail data, and is reproducible."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract import check_frames
from replenish.overview import demand_classes, top_share
from simulations.world import PRESETS, GeneratedWorld, WorldParams, generate, params_for


@pytest.fixture(scope="module")
def world() -> GeneratedWorld:
    """A two-year world: 300 SKUs, 2,000 customers (about half a second to make)."""
    return generate(params_for("small", seed=11))


def daily_demand(world: GeneratedWorld) -> pd.DataFrame:
    """Units asked for (delivered + short) per SKU (columns) per day (rows), zero-filled."""
    o = world.dataset.orders
    demand = (o["quantity"] + o["quantity_short"]).rename("units")
    table = demand.groupby([o["date"], o["sku_id"]]).sum().unstack(fill_value=0)
    days = pd.date_range(world.params.start_date, world.params.end_date, freq="D")
    return table.reindex(index=days, columns=world.dataset.skus["sku_id"], fill_value=0)


def test_same_seed_same_world_other_seed_other_world() -> None:
    a = generate(params_for("tiny", seed=3))
    b = generate(params_for("tiny", seed=3))
    c = generate(params_for("tiny", seed=4))
    for name, frame in a.dataset.tables().items():
        pd.testing.assert_frame_equal(frame, b.dataset.tables()[name])
    pd.testing.assert_frame_equal(a.customer_truth, b.customer_truth)
    assert not a.dataset.orders.equals(c.dataset.orders)
    assert not a.dataset.skus["unit_cost"].equals(c.dataset.skus["unit_cost"])


def test_world_passes_the_data_contract(world: GeneratedWorld) -> None:
    frames = {k: v for k, v in world.dataset.tables().items()}
    report, dataset = check_frames(frames, today=world.params.end_date)
    assert report.errors == ()
    assert dataset is not None
    for name, frame in dataset.tables().items():
        pd.testing.assert_frame_equal(frame, world.dataset.tables()[name])


def test_history_spans_the_requested_days(world: GeneratedWorld) -> None:
    o = world.dataset.orders
    assert o["date"].min() == pd.Timestamp(world.params.start_date)
    assert o["date"].max() == pd.Timestamp(world.params.end_date)
    assert (world.params.end_date - world.params.start_date).days == world.params.days - 1


def test_customer_spend_is_pareto_like(world: GeneratedWorld) -> None:
    o = world.dataset.orders
    spend = (o["quantity"] * o["unit_price"]).groupby(o["customer_id"]).sum()
    spend = spend.reindex(world.dataset.customers["customer_id"], fill_value=0.0)  # type: ignore[index]
    assert 0.6 <= top_share(spend.to_numpy(), 0.2) <= 0.8


def test_tiers_differ_in_rate_and_basket(world: GeneratedWorld) -> None:
    o = world.dataset.orders
    tier = world.customer_truth.set_index("customer_id")["tier"]
    per_order = o.groupby("order_id").agg(
        customer=("customer_id", "first"), lines=("sku_id", "size")
    )
    per_order["tier"] = tier.reindex(per_order["customer"]).to_numpy()
    lines = per_order.groupby("tier", observed=True)["lines"].mean()
    orders_per_customer = per_order.groupby("tier", observed=True).size() / tier.value_counts()
    assert lines["A"] > lines["B"] > lines["C"]
    assert orders_per_customer["A"] > 2 * orders_per_customer["B"] > 2 * orders_per_customer["C"]


def test_most_skus_are_intermittent_and_some_are_smooth(world: GeneratedWorld) -> None:
    classes, label = demand_classes(world.dataset)
    days_with_demand = (daily_demand(world) > 0).sum()
    adi = world.params.days / days_with_demand.clip(lower=1)
    assert (adi > 1.32).mean() >= 0.5
    assert (label == "smooth").sum() >= 5  # the head of the catalogue sells every day
    assert classes["skus"].sum() == len(world.dataset.skus)


def test_weekly_seasonality_follows_the_sector(world: GeneratedWorld) -> None:
    total = daily_demand(world).sum(axis=1)
    by_weekday = total.groupby(pd.DatetimeIndex(total.index).dayofweek).mean()
    assert by_weekday.idxmax() == 5  # retail: Saturday
    assert by_weekday[5] > 1.3 * by_weekday[1]
    factory = generate(params_for("tiny", sector="manufacturing", seed=1))
    total = daily_demand(factory).sum(axis=1)
    by_weekday = total.groupby(pd.DatetimeIndex(total.index).dayofweek).mean()
    assert by_weekday[[5, 6]].max() < 0.25 * by_weekday[[0, 1, 2, 3]].min()


def test_yearly_seasonality_is_detectable(world: GeneratedWorld) -> None:
    """Demand-weighted mean of sin(2 pi t / 365.25 + phase) is about amplitude / 2."""
    demand = daily_demand(world)
    truth = world.sku_truth.set_index("sku_id")
    t = np.arange(len(demand))[:, None] / 365.25
    wave = np.sin(2 * np.pi * t + truth["season_phase"].to_numpy()[None, :])
    weighted = (demand.to_numpy() * wave).sum(axis=0) / np.maximum(demand.to_numpy().sum(axis=0), 1)
    score = pd.Series(weighted, index=demand.columns)
    seasonal = truth.index[(truth["pattern"] == "seasonal") & (truth["popularity"] > 0.002)]
    flat = truth.index[(truth["pattern"] == "smooth") & (truth["popularity"] > 0.002)]
    assert len(seasonal) >= 10 and len(flat) >= 10
    assert score[seasonal].mean() > 0.15
    assert abs(score[flat].mean()) < 0.08


def test_trends_show_in_the_second_year(world: GeneratedWorld) -> None:
    demand = daily_demand(world)
    half = len(demand) // 2
    growth = demand.iloc[half:].sum() / demand.iloc[:half].sum().clip(lower=1)
    truth = world.sku_truth.set_index("sku_id")
    busy = truth["popularity"] > 0.002
    up = growth[truth.index[busy & (truth["trend_per_year"] > 0.3)]].median()
    flat = growth[truth.index[busy & (truth["pattern"] == "smooth")]].median()
    down = growth[truth.index[busy & (truth["trend_per_year"] < -0.3)]].median()
    assert up > 1.2 * flat > 1.2 * down


def test_catalogue_and_suppliers_vary(world: GeneratedWorld) -> None:
    skus, suppliers = world.dataset.skus, world.dataset.suppliers
    margin = 1 - skus["unit_cost"] / skus["unit_price"]
    assert margin.min() > 0 and margin.std() > 0.05
    assert skus["pack_size"].nunique() >= 3 and (skus["moq"] > 0).mean() > 0.2
    assert suppliers["lead_time_days"].nunique() == len(suppliers)
    assert (suppliers["lead_time_sd_days"] > 0).all()
    assert skus["substitutes"].notna().sum() > 0


def test_stockouts_happen_and_are_recorded(world: GeneratedWorld) -> None:
    o = world.dataset.orders
    short_rate = (o["quantity_short"] > 0).mean()
    assert 0.01 < short_rate < 0.15
    fully_short = (o["quantity"] == 0) & (o["quantity_short"] > 0)
    assert fully_short.any()
    assert world.dataset.inventory is not None
    assert (world.dataset.inventory["on_hand"] >= 0).all()


def test_stockouts_are_followed_by_more_churn(world: GeneratedWorld) -> None:
    """Orders hit by a stockout are far more often followed by the customer's first churn."""
    o = world.dataset.orders
    truth = world.customer_truth.set_index("customer_id")
    day = (o["date"] - pd.Timestamp(world.params.start_date)).dt.days.to_numpy()
    first = truth["first_churn_day"].reindex(o["customer_id"]).to_numpy()
    before_churn = (first < 0) | (day <= first)
    churn_within_30 = (first >= day) & (first <= day + 30)
    hit = (o["quantity_short"] > 0).to_numpy()
    rate_hit = churn_within_30[before_churn & hit].mean()
    rate_clean = churn_within_30[before_churn & ~hit].mean()
    assert rate_hit > 1.5 * rate_clean


def test_stockout_churn_is_calibrated_to_the_sector() -> None:
    """A tier-average customer's yearly loss to stockouts matches the preset's share."""
    w = generate(params_for("small", sector="e-commerce", seed=5))
    o = w.dataset.orders
    short_rate = float((o["quantity_short"] > 0).mean())
    preset = PRESETS["e-commerce"]
    p = w.params
    for k, tier in enumerate(("A", "B", "C")):
        events = p.tier_orders_per_year[k] * p.tier_lines_per_order[k] * short_rate
        yearly_loss = 1 - (1 - w.churn_per_stockout[tier]) ** events
        assert yearly_loss == pytest.approx(preset.stockout_churn_annual, rel=0.15)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="sector"):
        WorldParams(sector="mining")
    with pytest.raises(ValueError, match="tier_shares"):
        WorldParams(tier_shares=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="n_skus"):
        WorldParams(n_skus=0)
    with pytest.raises(ValueError, match="size"):
        params_for("huge")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_skus=st.integers(1, 40),
    n_customers=st.integers(1, 150),
    days=st.integers(1, 120),
    seed=st.integers(0, 2**32 - 1),
    sector=st.sampled_from(sorted(PRESETS)),
)
def test_any_small_world_is_a_valid_dataset(
    n_skus: int, n_customers: int, days: int, seed: int, sector: str
) -> None:
    params = WorldParams(
        n_skus=n_skus,
        n_customers=n_customers,
        days=days,
        seed=seed,
        sector=sector,
        end_date=date(2025, 6, 30),
    )
    w = generate(params)
    o = w.dataset.orders
    assert (o["quantity"] >= 0).all() and (o["quantity_short"] >= 0).all()
    assert ((o["quantity"] + o["quantity_short"]) > 0).all()
    if len(o) == 0:
        return  # a world too small to sell anything has nothing more to check
    report, _ = check_frames(w.dataset.tables(), today=params.end_date)
    assert report.errors == (), report.format()


def test_one_day_world_has_no_customer_from_the_future() -> None:
    """Found by the property test above: newcomers must join inside the history."""
    params = WorldParams(n_skus=1, n_customers=11, days=1, seed=0, end_date=date(2025, 6, 30))
    since = generate(params).dataset.customers
    assert since is not None
    assert (since["since"] <= pd.Timestamp("2025-06-30")).all()
