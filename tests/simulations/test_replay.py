"""Replaying demand lines against a stock: first come first served, lost sales, reserve."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.replay import Lines, replay


def lines(
    day: list[int], sku: list[int], units: list[int], protected: list[bool] | None = None
) -> Lines:
    return Lines(
        np.array(day),
        np.array(sku),
        np.array(units),
        np.array(protected if protected is not None else [False] * len(day)),
    )


def test_lines_are_served_in_the_order_they_came_and_the_last_gets_what_is_left() -> None:
    # SKU 0 holds 5: 3 to the first line, 2 of 4 to the second, nothing to the third.
    out = replay(np.array([5]), np.zeros((1, 1), int), lines([0, 0, 0], [0, 0, 0], [3, 4, 1]))
    assert out.served.tolist() == [3, 2, 0]
    assert out.on_hand.tolist() == [0]


def test_arrivals_land_at_the_start_of_their_day() -> None:
    arrivals = np.array([[0], [4]])
    out = replay(np.array([1]), arrivals, lines([0, 0, 1], [0, 0, 0], [1, 1, 3]))
    assert out.served.tolist() == [1, 0, 3]
    assert out.on_hand.tolist() == [1]
    assert out.stock_days.tolist() == [0 + 1]  # end of day 0: 0, end of day 1: 1


def test_the_reserve_is_kept_for_protected_lines_only() -> None:
    # 4 on hand, 3 held back: the unprotected line gets 1, the protected one all it asks.
    out = replay(
        np.array([4]),
        np.zeros((1, 1), int),
        lines([0, 0], [0, 0], [2, 3], [False, True]),
        reserve=np.array([3]),
    )
    assert out.served.tolist() == [1, 3]


def test_skus_do_not_share_stock() -> None:
    out = replay(np.array([2, 0]), np.zeros((1, 2), int), lines([0, 0, 0], [1, 0, 0], [5, 1, 1]))
    assert out.served.tolist() == [0, 1, 1]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="day order"):
        lines([1, 0], [0, 0], [1, 1])
    with pytest.raises(ValueError, match="negative"):
        lines([0], [0], [-1])
    with pytest.raises(ValueError, match="within the 1 days"):
        replay(np.array([1]), np.zeros((1, 1), int), lines([0, 1], [0, 0], [1, 1]))
    with pytest.raises(ValueError, match="cannot be negative"):
        replay(np.array([-1]), np.zeros((1, 1), int), lines([0], [0], [1]))


@st.composite
def periods(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, Lines, np.ndarray]:
    n = draw(st.integers(1, 4))
    days = draw(st.integers(1, 5))
    m = draw(st.integers(0, 30))
    stock = np.array(draw(st.lists(st.integers(0, 20), min_size=n, max_size=n)))
    arrivals = np.array(
        draw(
            st.lists(
                st.lists(st.integers(0, 10), min_size=n, max_size=n), min_size=days, max_size=days
            )
        )
    )
    day = np.sort(
        np.array(draw(st.lists(st.integers(0, days - 1), min_size=m, max_size=m)), dtype=int)
    )
    sku = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)), dtype=int)
    units = np.array(draw(st.lists(st.integers(0, 12), min_size=m, max_size=m)), dtype=int)
    protected = np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool)
    reserve = np.array(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)))
    return stock, arrivals, Lines(day, sku, units, protected), reserve


@settings(max_examples=200, deadline=None)
@given(periods())
def test_stock_is_conserved_and_nothing_is_short_while_stock_was_there(
    case: tuple[np.ndarray, np.ndarray, Lines, np.ndarray],
) -> None:
    stock, arrivals, demand, reserve = case
    for held in (None, reserve):
        out = replay(stock, arrivals, demand, held)
        assert (out.served >= 0).all() and (out.served <= demand.units).all()
        served = np.bincount(demand.sku, weights=out.served, minlength=stock.size)
        assert np.array_equal(out.on_hand, stock + arrivals.sum(axis=0) - served)
        assert (out.on_hand >= 0).all()
        if held is None:  # lost sales, first come first served: short only once empty
            short_skus = np.unique(demand.sku[out.served < demand.units])
            last_day = demand.day.max() if demand.day.size else 0
            for i in short_skus:
                late = (demand.sku == i) & (demand.day == last_day)
                if late.any() and (out.served[late] < demand.units[late]).any():
                    assert out.on_hand[i] == (arrivals[last_day + 1 :, i].sum())
        again = replay(stock, arrivals, demand, held)
        assert np.array_equal(again.served, out.served)  # the same input, the same answer
