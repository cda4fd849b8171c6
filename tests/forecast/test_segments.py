"""Customer scores and tiers: explainable, configurable, and flagging the right people."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from contract import Dataset
from forecast.segments import PARTS, SegmentConfig, segment_customers
from simulations.world import GeneratedWorld

END = date(2025, 6, 30)


def shop(
    lines: list[tuple[str, int, str, int, float]],
    scores: dict[str, tuple[float, float]] | None = None,
    since: dict[str, int] | None = None,
) -> Dataset:
    """A dataset from (customer, days before END, sku, quantity, unit price) lines.

    Customers are 900 days old unless `since` gives their age in days.
    """
    orders = pd.DataFrame(
        [
            {
                "order_id": f"O{i}",
                "date": pd.Timestamp(END - timedelta(days=ago)),
                "customer_id": cust,
                "sku_id": sku,
                "quantity": qty,
                "unit_price": price,
            }
            for i, (cust, ago, sku, qty, price) in enumerate(lines)
        ]
    )
    ids = sorted({line[0] for line in lines} | set(scores or {}))
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "since": [pd.Timestamp(END - timedelta(days=(since or {}).get(c, 900))) for c in ids],
            "strategic": [(scores or {}).get(c, (np.nan, np.nan))[0] for c in ids],
            "reputation": [(scores or {}).get(c, (np.nan, np.nan))[1] for c in ids],
        }
    )
    skus = pd.DataFrame(
        {
            "sku_id": ["X", "Y"],
            "supplier_id": "S",
            "unit_cost": [5.0, 1.0],
            "unit_price": [10.0, 10.0],
        }
    )
    suppliers = pd.DataFrame({"supplier_id": ["S"], "lead_time_days": [7.0]})
    return Dataset.from_frames(
        {"suppliers": suppliers, "skus": skus, "orders": orders, "customers": customers}, today=END
    )


def regulars(n: int, every: int = 14, qty: int = 1) -> list[tuple[str, int, str, int, float]]:
    """n customers buying `qty` of X every `every` days for a year."""
    return [(f"K{k:02d}", ago, "X", qty, 10.0) for k in range(n) for ago in range(0, 365, every)]


def test_a_customer_with_ten_times_the_spend_is_tier_a() -> None:
    lines = regulars(9) + [("BIG", ago, "X", 10, 10.0) for ago in range(0, 365, 14)]
    seg = segment_customers(shop(lines))
    c = seg.customers.set_index("customer_id")
    assert c.loc["BIG", "tier"] == "A"
    assert c.loc["BIG", "amount"] == 1.0 and c.loc["BIG", "margin"] == 1.0
    assert c["score"].idxmax() == "BIG"


def test_score_is_the_weighted_mean_of_its_parts_renormalized() -> None:
    lines = [*regulars(4), ("K00", 3, "Y", 5, 10.0)]
    seg = segment_customers(shop(lines, scores={"K01": (0.9, 0.2)}))
    c = seg.customers.set_index("customer_id")
    w = SegmentConfig().weights
    for cid, row in c.iterrows():
        present = [p for p in PARTS if not np.isnan(row[p])]
        expected = sum(w[p] * row[p] for p in present) / sum(w[p] for p in present)
        assert row["score"] == pytest.approx(expected), cid
        assert all(0.0 <= row[p] <= 1.0 for p in present)
    assert c[["strategic", "reputation"]].isna().loc["K00"].all()


def test_weights_change_tiers_as_expected() -> None:
    lines = regulars(5) + [("RICH", ago, "X", 20, 10.0) for ago in range(0, 365, 14)]
    scores = (
        {"FAMOUS": (0.0, 1.0)} | {f"K{k:02d}": (0.0, 0.1) for k in range(5)} | {"RICH": (0.0, 0.0)}
    )
    lines += [("FAMOUS", ago, "X", 1, 10.0) for ago in range(0, 365, 60)]
    by_spend = segment_customers(shop(lines, scores)).customers.set_index("customer_id")
    fame_only = SegmentConfig(weights={"reputation": 1.0})
    by_fame = segment_customers(shop(lines, scores), config=fame_only).customers.set_index(
        "customer_id"
    )
    assert by_spend.loc["RICH", "tier"] == "A" and by_spend.loc["FAMOUS", "tier"] != "A"
    assert by_fame.loc["FAMOUS", "tier"] == "A" and by_fame.loc["RICH", "tier"] != "A"


def test_a_lapsed_regular_is_at_risk_and_a_newcomer_is_new() -> None:
    lapsed = [
        ("LAPSED", ago, "X", 1, 10.0) for ago in range(120, 365, 7)
    ]  # weekly, silent 120 days
    newcomer = [("NEW", 5, "X", 1, 10.0), ("NEW", 20, "X", 1, 10.0)]
    seg = segment_customers(shop(regulars(3, every=7) + lapsed + newcomer, since={"NEW": 20}))
    c = seg.customers.set_index("customer_id")
    assert bool(c.loc["LAPSED", "at_risk"]) and not bool(c.loc["K00", "at_risk"])
    assert c.loc["LAPSED", "recency_days"] == 120
    assert c.loc["LAPSED", "mean_interval_days"] == pytest.approx(7.0)
    assert bool(c.loc["NEW", "new"]) and not bool(c.loc["K00", "new"])


def test_tier_shares_and_clv_on_a_world(tiny_world: GeneratedWorld) -> None:
    seg = segment_customers(tiny_world.dataset)
    counts = seg.customers["tier"].value_counts()
    n = len(seg.customers)
    assert counts["A"] == round(0.2 * n) and counts["B"] == round(0.5 * n) - round(0.2 * n)
    clv = seg.tiers["clv"]
    assert clv["A"] > clv["B"] > clv["C"] > 0
    assert ((seg.tiers["retention"] >= 0) & (seg.tiers["retention"] <= 1)).all()
    truth = tiny_world.customer_truth.set_index("customer_id")["tier"]
    mine = seg.customers.set_index("customer_id")["tier"].astype(str)
    agree = (mine == truth.reindex(mine.index).astype(str)).mean()
    assert agree > 0.45  # far better than chance (0.38 for 20/30/50 shares)


def test_bad_configurations_are_refused(tiny_world: GeneratedWorld) -> None:
    with pytest.raises(ValueError, match="unknown score parts"):
        SegmentConfig(weights={"charm": 1.0})
    with pytest.raises(ValueError, match="positive sum"):
        SegmentConfig(weights={"amount": 0.0})
    with pytest.raises(ValueError, match="tier_shares"):
        SegmentConfig(tier_shares=(0.5, 0.5, 0.5))
    anonymous = Dataset(
        tiny_world.dataset.suppliers, tiny_world.dataset.skus, tiny_world.dataset.orders
    )
    with pytest.raises(ValueError, match="anonymous"):
        segment_customers(anonymous)
