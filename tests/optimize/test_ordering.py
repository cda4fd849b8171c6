"""Orders under a budget, and ERP min/max with safety stock."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.levels import min_max_levels, safety_min_max_levels
from optimize.ordering import fit_to_budget, within_budget


def test_a_line_too_dear_is_trimmed_to_the_packs_that_fit_and_the_list_goes_on() -> None:
    units = np.array([100, 10, 6])
    cost = np.array([1.0, 2.0, 1.0])
    pack, moq = np.array([10, 1, 6]), np.array([0, 0, 0])
    urgency = np.array([3.0, 2.0, 1.0])  # line 0 first
    # 45 of money: line 0 gets 4 packs (40), line 1 (20) no longer fits and gets 2 units,
    # line 2 (a pack of 6 at 6) does not fit the 1 left.
    assert fit_to_budget(units, cost, 45.0, urgency, pack, moq).tolist() == [40, 2, 0]
    # The cumulative rule stops at the first line that does not fit: nothing at all.
    assert within_budget(units, cost, 45.0, urgency).tolist() == [0, 0, 0]


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
    pack = np.array([r[2] for r in rows])
    units = np.array([r[0] for r in rows]) // pack * pack
    cost = np.array([r[1] for r in rows])
    moq = np.array([r[3] for r in rows]) * pack
    units = np.where(units > 0, np.maximum(units, moq), 0)  # as order_units makes them
    out = fit_to_budget(units, cost, budget, -np.arange(len(rows), dtype=float), pack, moq)
    assert (out @ cost) <= budget + 1e-6
    assert ((out % pack) == 0).all() and (out <= units).all()
    assert ((out == 0) | (out >= moq)).all()
    assert np.array_equal(fit_to_budget(units, cost, None, np.zeros(len(rows)), pack, moq), units)


def test_min_max_with_safety_stock_adds_z_sd_to_both_levels() -> None:
    mean, var = np.array([10.0, 0.0]), np.array([16.0, 0.0])
    low, high = safety_min_max_levels(mean, var, 1.645)
    assert low.tolist() == [17.0, 0.0]  # ceil(10 + 1.645 x 4) = ceil(16.58)
    assert high.tolist() == [27.0, 0.0]  # ceil(20 + 6.58)
    plain = min_max_levels(mean)
    assert (low >= plain[0]).all() and (high >= plain[1]).all()
    with pytest.raises(ValueError):
        safety_min_max_levels(mean, var, float("nan"))
