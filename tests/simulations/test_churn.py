"""Churn per stockout on a history: stockouts met (recorded and unrecorded), the hazard
model, and shrinkage toward the sector's prior when the data cannot tell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from contract import Dataset
from simulations.churn import (
    PREFERENCE_PRIOR,
    churn_from_history,
    estimate_churn,
    stockouts_met,
    visits_followed,
)
from simulations.world import generate, params_for

START = pd.Timestamp("2026-01-01")


def _orders(rows: list[tuple[str, str, int, str, int, int]]) -> pd.DataFrame:
    """(order_id, customer_id, day, sku_id, quantity, quantity_short) rows."""
    frame = pd.DataFrame(
        rows, columns=["order_id", "customer_id", "day", "sku_id", "quantity", "quantity_short"]
    )
    frame["date"] = START + pd.to_timedelta(frame.pop("day"), unit="D")
    return frame


def test_stockouts_nobody_recorded_are_counted_where_they_would_have_been_met() -> None:
    # c1 buys S1 alone, one line an order, on days 0, 3 and 5; c3 orders S2 and S3 on
    # day 2; c2 buys S2 once. S1 is out of stock on day 2 only.
    orders = _orders(
        [
            ("o1", "c1", 0, "S1", 1, 0),
            ("o2", "c1", 3, "S1", 1, 0),
            ("o3", "c2", 3, "S2", 1, 0),
            ("o4", "c1", 5, "S1", 0, 1),
            ("o5", "c3", 2, "S2", 1, 0),
            ("o5", "c3", 2, "S3", 1, 0),
        ]
    )
    p_out = np.zeros((3, 6), dtype=np.float32)
    p_out[0, 2] = 1.0
    met = stockouts_met(orders, np.array(["S1", "S2", "S3"]), p_out, START)
    inferred = pd.Series(
        met.inferred, index=pd.MultiIndex.from_arrays([met.customers[met.customer], met.day])
    )
    mix_s1 = 3 / 6  # the catalogue's lines on S1
    # c1 visits every 2.5 days (rounded: 2): a visit on day 2, had it come, would have
    # failed on its only line and left no trace. Day 0 carries it: chance on day 2 = the
    # catalogue's and c1's own mix, averaged over days 1-2, times one line an order.
    w1 = PREFERENCE_PRIOR / (3 + PREFERENCE_PRIOR)
    assert inferred[("c1", 0)] == pytest.approx((w1 * mix_s1 + (1 - w1) * 1.0) / 2)
    assert inferred[("c1", 3)] == 0.0  # nothing out in the days after
    # c3's visit on day 2 left a trace (its first line); its second line asked for S1
    # with the catalogue's chance only (c3 never bought S1).
    w3 = PREFERENCE_PRIOR / (2 + PREFERENCE_PRIOR)
    assert inferred[("c3", 2)] == pytest.approx(1 * w3 * mix_s1)
    assert met.recorded.sum() == 1.0  # the short line of day 5
    assert met.orders.tolist() == [1.0, 1.0, 1.0, 1.0, 1.0]


def test_a_customer_silent_after_a_visit_has_churned_there() -> None:
    orders = _orders(
        [("o1", "c1", 0, "S1", 1, 0), ("o2", "c1", 10, "S1", 1, 0), ("o3", "c1", 200, "S1", 1, 0)]
    )
    met = stockouts_met(orders, np.array(["S1"]), None, START)
    rows = visits_followed(met, follow_days=60)
    assert rows["churned"].tolist() == [0, 1]  # day 200's follow-up is not in the history


def _without_stockouts(dataset: Dataset) -> Dataset:
    orders = dataset.orders.assign(
        quantity=dataset.orders["quantity"] + dataset.orders["quantity_short"], quantity_short=0
    )
    return Dataset(dataset.suppliers, dataset.skus, orders, dataset.customers)


def test_a_history_without_stockouts_gives_the_prior_not_zero() -> None:
    world = generate(params_for("tiny", seed=4))
    dataset = _without_stockouts(world.dataset)
    tiers = world.customer_truth.set_index("customer_id")["tier"].astype(str)
    estimate = churn_from_history(dataset, tiers, None, dataset.orders["date"].min())
    for figure in estimate.per_tier.values():
        assert figure.source == "prior" and figure.estimate is None
        assert figure.low < figure.prior < figure.high
        assert figure.mean == pytest.approx(figure.prior, rel=0.15)  # E[q] of the prior
        assert figure.mean > 0.01


@pytest.mark.slow
def test_recorded_stockouts_recover_the_generators_churn_per_stockout() -> None:
    """Seeds 5-9 (the model was shaped on 1-3), stockouts recorded: tiers A and B meet
    thousands of stockouts each; their 90% intervals cover the truth in at least 8 of
    the 10 (seed, tier) cells, and every estimate is within 30% of it. C, thinner and
    with a prior far above its truth, stays within a factor of two."""
    truth = {"A": 0.04, "B": 0.06, "C": 0.08}
    covered, cells = 0, 0
    for seed in range(5, 10):
        world = generate(
            params_for(
                "small", seed=seed, churn_per_stockout=(0.04, 0.06, 0.08), return_probability=0.0
            )
        )
        ds = world.dataset
        tiers = world.customer_truth.set_index("customer_id")["tier"].astype(str)
        met = stockouts_met(ds.orders, ds.skus["sku_id"].to_numpy(), None, ds.orders["date"].min())
        estimate = estimate_churn(met, tiers, annual=0.185)
        for tier in ("A", "B"):
            figure = estimate.per_tier[tier]
            assert figure.source == "fitted" and figure.events > 1_000
            assert figure.estimate is not None
            assert abs(figure.estimate / truth[tier] - 1) < 0.3, (seed, tier, figure)
            covered += figure.low <= truth[tier] <= figure.high
            cells += 1
        c = estimate.per_tier["C"]
        assert c.estimate is not None and truth["C"] / 2 < c.estimate < truth["C"] * 2
    assert covered >= 8, f"{covered} of {cells} intervals cover the truth"
