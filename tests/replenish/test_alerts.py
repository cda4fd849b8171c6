"""Stock alerts against hand-computed reorder points, on a small hand-made dataset."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contract import Dataset
from forecast.segments import segment_customers
from optimize.inputs import ChurnAssumptions
from replenish.alerts import WINDOW_DAYS, stock_alerts

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


@pytest.fixture(scope="module")
def shop() -> Dataset:
    """The example shop with every other SKU's stock emptied, so some SKUs are short."""
    data = Dataset.read(EXAMPLE)
    assert data.inventory is not None
    inv = data.inventory.copy()
    inv.loc[inv.index % 2 == 0, ["on_hand", "on_order"]] = 0
    return replace(data, inventory=inv)


def test_alerts_follow_the_reorder_point_and_rank_by_value(shop: Dataset) -> None:
    segments = segment_customers(shop)
    table = stock_alerts(shop, segments, ChurnAssumptions())
    assert len(table) >= 4 and table["value_at_risk"].is_monotonic_decreasing
    assert table["value_at_risk"].iloc[0] > 0
    last = shop.orders["date"].max() - pd.Timedelta(days=WINDOW_DAYS)
    orders = shop.orders[shop.orders["date"] > last]
    asked = orders["quantity"] + orders["quantity_short"]
    rate = (asked.groupby(orders["sku_id"]).sum() / WINDOW_DAYS).to_dict()
    assert shop.inventory is not None
    inv = shop.inventory.set_index("sku_id")
    on_hand, on_order = inv["on_hand"].to_dict(), inv["on_order"].to_dict()
    sku_table = shop.skus.set_index("sku_id")
    lead, supplier = sku_table["lead_time_days"].to_dict(), sku_table["supplier_id"].to_dict()
    review = shop.suppliers.set_index("supplier_id")["review_period_days"].to_dict()
    for row in table.to_dict(orient="records"):
        s = row["sku_id"]
        point = rate[s] * (lead[s] + review[supplier[s]])
        assert row["reorder_point"] == pytest.approx(point)
        position = on_hand[s] + on_order[s]
        assert position < point or on_hand[s] / rate[s] < lead[s]
        assert row["expected_units_short"] == pytest.approx(max(point - position, 0.0))


def test_an_empty_shelf_is_an_alert_and_a_full_one_is_not(shop: Dataset) -> None:
    assert shop.inventory is not None
    sku = str(shop.orders["sku_id"].value_counts().index[0])  # the busiest SKU
    inv = shop.inventory.copy()
    inv.loc[inv["sku_id"] == sku, ["on_hand", "on_order"]] = 0
    empty = stock_alerts(replace(shop, inventory=inv), None, ChurnAssumptions())
    assert sku in set(empty["sku_id"])
    assert empty.set_index("sku_id")["days_of_cover"].to_dict()[sku] == 0.0
    inv.loc[inv["sku_id"] == sku, "on_hand"] = 1_000_000
    full = stock_alerts(replace(shop, inventory=inv), None, ChurnAssumptions())
    assert sku not in set(full["sku_id"])
    assert np.isfinite(empty["value_at_risk"]).all()
