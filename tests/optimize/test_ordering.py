"""Orders under a budget, and ERP min/max with safety stock."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.levels import min_max_levels, safety_min_max_levels
from optimize.ordering import fit_by_value, fit_to_budget


def test_a_line_too_dear_is_trimmed_to_the_packs_that_fit_and_the_list_goes_on() -> None:
    units = np.array([100, 10, 6])
    cost = np.array([1.0, 2.0, 1.0])
    pack, moq = np.array([10, 1, 6]), np.array([0, 0, 0])
    urgency = np.array([3.0, 2.0, 1.0])  # line 0 first
    # 45 of money: line 0 gets 4 packs (40), line 1 (20) no longer fits and gets 2 units,
    # line 2 (a pack of 6 at 6) does not fit the 1 left.
    assert fit_to_budget(units, cost, 45.0, urgency, pack, moq).tolist() == [40, 2, 0]


def test_a_trimmed_line_below_its_moq_is_dropped() -> None:
    got = fit_to_budget(
        np.array([20, 5]),
        np.array([1.0, 1.0]),
        15.0,
        np.array([2.0, 1.0]),
        np.array([5, 5]),
        np.array([20, 0]),
    )
    assert got.tolist() == [0, 5]


def _lines(rows: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Units, unit cost, pack and MOQ of drawn lines (units, cost, pack, MOQ packs, ...),
    units in whole packs and at least the MOQ, as `order_units` makes them."""
    pack = np.array([r[2] for r in rows])
    units = np.array([r[0] for r in rows]) // pack * pack
    cost = np.array([r[1] for r in rows])
    moq = np.array([r[3] for r in rows]) * pack
    return np.where(units > 0, np.maximum(units, moq), 0), cost, pack, moq


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.floats(0.1, 20), st.integers(1, 6), st.integers(0, 3)),
        min_size=1,
        max_size=12,
    ),
    st.floats(0, 500),
)
def test_fit_to_budget_keeps_the_budget_packs_and_moq(
    rows: list[tuple[int, float, int, int]], budget: float
) -> None:
    units, cost, pack, moq = _lines(rows)
    out = fit_to_budget(units, cost, budget, -np.arange(len(rows), dtype=float), pack, moq)
    assert (out @ cost) <= budget + 1e-6
    assert ((out % pack) == 0).all() and (out <= units).all()
    assert ((out == 0) | (out >= moq)).all()
    assert np.array_equal(fit_to_budget(units, cost, None, np.zeros(len(rows)), pack, moq), units)


def _table(*per_sku: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(start, values) of per-unit values, one list per SKU."""
    return np.r_[0, np.cumsum([len(v) for v in per_sku])], np.concatenate(per_sku)


def test_packs_are_bought_by_marginal_value_per_currency() -> None:
    """Three units of money: the best three units across both SKUs (10, 9.5, 9), not the
    first line whole; from a position of 1, SKU 0's first unit is already held."""
    start, values = _table([10.0, 9.0, 8.0, 7.0], [9.5, 4.0, 3.0])
    units, cost = np.array([4, 3]), np.ones(2)
    one, none = np.ones(2, dtype=np.int64), np.zeros(2, dtype=np.int64)
    zero = np.zeros(2)
    assert fit_by_value(units, zero, cost, 3.0, one, none, start, values).tolist() == [2, 1]
    held = np.array([1.0, 0.0])
    assert fit_by_value(units, held, cost, 3.0, one, none, start, values).tolist() == [2, 1]
    assert fit_by_value(units, zero, cost, None, one, none, start, values).tolist() == [4, 3]


def test_a_moq_block_is_valued_at_its_average() -> None:
    """SKU 0's MOQ of 3 buys units worth 10, 1, 1 (4 a unit): SKU 1's units at 5 go first."""
    start, values = _table([10.0, 1.0, 1.0], [5.0, 5.0, 5.0])
    one, cost = np.ones(2, dtype=np.int64), np.ones(2)
    got = fit_by_value(
        np.array([3, 3]), np.zeros(2), cost, 3.0, one, np.array([3, 0]), start, values
    )
    assert got.tolist() == [0, 3]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 40),
            st.floats(0.1, 20),
            st.integers(1, 6),
            st.integers(0, 3),
            st.integers(-5, 10),
            st.lists(st.floats(-5, 50), min_size=1, max_size=30),
        ),
        min_size=1,
        max_size=10,
    ),
    st.floats(0, 500),
)
def test_fit_by_value_keeps_the_budget_packs_and_moq(
    rows: list[tuple[int, float, int, int, int, list[float]]], budget: float
) -> None:
    units, cost, pack, moq = _lines(rows)
    position = np.array([float(r[4]) for r in rows])
    start, values = _table(*[sorted(r[5], reverse=True) for r in rows])
    out = fit_by_value(units, position, cost, budget, pack, moq, start, values)
    assert (out @ cost) <= budget + 1e-6
    assert ((out % pack) == 0).all() and (out <= units).all()
    assert ((out == 0) | (out >= moq)).all()
    if (units @ cost) <= budget:
        assert np.array_equal(out, units)


def test_min_max_with_safety_stock_adds_z_sd_to_both_levels() -> None:
    mean, var = np.array([10.0, 0.0]), np.array([16.0, 0.0])
    low, high = safety_min_max_levels(mean, var, 1.645)
    assert low.tolist() == [17.0, 0.0]  # ceil(10 + 1.645 x 4) = ceil(16.58)
    assert high.tolist() == [27.0, 0.0]  # ceil(20 + 6.58)
    plain = min_max_levels(mean)
    assert (low >= plain[0]).all() and (high >= plain[1]).all()
    with pytest.raises(ValueError):
        safety_min_max_levels(mean, var, float("nan"))
