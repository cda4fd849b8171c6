"""The dataset overview: tier and class tables add up, shares are what they claim."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from replenish.overview import overview, top_share
from simulations.world import GeneratedWorld


def test_top_share_closed_forms() -> None:
    assert top_share(np.ones(10), 0.2) == pytest.approx(0.2)  # equal spend: 20% hold 20%
    assert top_share(np.array([100.0, 0, 0, 0, 0]), 0.2) == 1.0
    assert top_share(np.zeros(4)) == 0.0


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50))
def test_top_share_is_at_least_the_fair_share(values: list[float]) -> None:
    share = top_share(np.array(values), 0.2)
    k = max(1, round(len(values) * 0.2))
    assert 0.0 <= share <= 1.0 + 1e-12
    if sum(values) > 0:
        assert share >= k / len(values) - 1e-9


def test_overview_of_a_world(tiny_world: GeneratedWorld) -> None:
    tiers = tiny_world.customer_truth.set_index("customer_id")["tier"]
    ov = overview(tiny_world.dataset, tiers)
    assert ov.tiers is not None
    assert ov.tiers["customers"].sum() == len(tiny_world.dataset.customers)  # type: ignore[arg-type]
    assert ov.tiers["revenue_share"].sum() == pytest.approx(1.0)
    share = ov.tiers["revenue_share"]
    assert share["A"] > share["C"]
    assert ov.demand_classes["skus"].sum() == len(tiny_world.dataset.skus)
    assert ov.demand_classes["demand_share"].sum() == pytest.approx(1.0)
    orders = tiny_world.dataset.orders
    assert ov.stockout_totals["lines_short"] == (orders["quantity_short"] > 0).sum()
    assert ov.stockouts["lines"].sum() == len(orders)
    assert ov.revenue == pytest.approx(float((orders["quantity"] * orders["unit_price"]).sum()))
