"""Supplier terms in the Lagrangian relaxation: its slope and the price that minimizes it."""

from __future__ import annotations

import numpy as np
import pytest

from optimize.instances import with_binding_terms
from optimize.solve import _blocks, plain_bound
from optimize.terms import relaxation, terms_prices
from optimize.value_curve import pack_items, sku_curves


@pytest.fixture(scope="module")
def binding() -> tuple:
    p = with_binding_terms(60, 1, per_supplier=5)
    items = pack_items(p, sku_curves(p), "up", p.supplier_min_value[p.supplier])
    return p, _blocks(items)


def test_the_budget_less_the_relaxed_spend_is_a_slope_of_the_bound(binding: tuple) -> None:
    """f(y) >= f(x) + (B - spend(x)) (y - x) at every pair of prices: the cutting planes
    that `terms_prices` draws lie under the bound."""
    p, blocks = binding
    prices = np.linspace(0.0, 4.0, 41)
    at = [relaxation(p, blocks, (x, 0.0)) for x in prices]
    for x, rx in zip(prices, at, strict=True):
        slope = float(p.budget) - float(rx.spend.sum())
        for y, ry in zip(prices, at, strict=True):
            assert ry.bound >= rx.bound + slope * (y - x) - 1e-6 * abs(rx.bound)


def test_the_terms_price_is_where_the_bound_is_least(binding: tuple) -> None:
    p, blocks = binding
    _, plain = plain_bound(p, blocks)
    (price, volume_price), bound = terms_prices(p, blocks, plain)
    assert volume_price == plain[1]
    assert bound == pytest.approx(relaxation(p, blocks, (price, volume_price)).bound)
    grid = np.linspace(0.0, 3.0 * max(price, plain[0]), 301)
    least = min(relaxation(p, blocks, (x, volume_price)).bound for x in grid)
    assert bound <= least + 1e-6 * abs(least)
    assert bound <= relaxation(p, blocks, plain).bound + 1e-9
