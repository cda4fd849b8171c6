"""O(1) inverse-CDF draws agree exactly with binary search and with the distributions."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from simulations.sampling import GuideTable, RowTables


@given(
    weights=st.lists(st.floats(0.0, 100.0), min_size=1, max_size=200),
    seed=st.integers(0, 2**32 - 1),
)
def test_guide_table_equals_searchsorted(weights: list[float], seed: int) -> None:
    cum = np.cumsum(weights)
    if cum[-1] <= 0:
        return
    u = np.random.default_rng(seed).random(500) * cum[-1]
    expected = np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)
    assert np.array_equal(GuideTable(cum).draw(u), expected)


def test_guide_table_never_draws_a_zero_weight() -> None:
    cum = np.cumsum([0.0, 3.0, 0.0, 0.0, 1.0, 0.0])
    drawn = GuideTable(cum).draw(np.random.default_rng(1).random(10_000) * cum[-1])
    assert set(np.unique(drawn)) == {1, 4}
    assert abs(np.mean(drawn == 1) - 0.75) < 0.02


@given(lam=st.lists(st.floats(0.0, 8.0), min_size=1, max_size=20), seed=st.integers(0, 10**6))
def test_row_tables_equal_counting_cdf_steps(lam: list[float], seed: int) -> None:
    table = RowTables.poisson(np.asarray(lam))
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(lam), 300)
    u = rng.random(300)
    expected = [(u_i >= table.row(r)).sum() for r, u_i in zip(rows, u, strict=True)]
    assert np.array_equal(table.draw(rows, u), expected)


@given(
    lam=st.lists(st.floats(0.0, 8.0), min_size=1, max_size=12),
    wide=st.floats(50.0, 5_000.0),
    seed=st.integers(0, 10**6),
)
def test_one_wide_row_costs_its_own_width(lam: list[float], wide: float, seed: int) -> None:
    """A wholesaler's SKU of thousands of units a line beside small ones: each row is as
    wide as its own distribution, and draws still count the row's CDF steps exactly."""
    table = RowTables.poisson(np.asarray([*lam, wide]))
    assert table.width[:-1].max() < 40
    assert table.cdf.size < 40 * len(lam) + wide + 8 * np.sqrt(wide) + 10
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(lam) + 1, 300)
    u = rng.random(300)
    expected = [(u_i >= table.row(r)).sum() for r, u_i in zip(rows, u, strict=True)]
    assert np.array_equal(table.draw(rows, u), expected)


def test_row_tables_guide_lands_on_ties() -> None:
    """CDF values equal to a bucket's start (a point mass) are counted as below it."""
    table = RowTables(np.array([0.5, 0.5, 1.0, 0.25, 0.5, 0.75, 1.0]), np.array([3, 4]))
    assert table.draw(
        np.array([0, 0, 1, 1, 1]), np.array([0.49, 0.5, 0.25, 0.5, 0.99])
    ).tolist() == [
        0,
        2,
        1,
        2,
        3,
    ]


def test_row_tables_draw_poisson() -> None:
    table = RowTables.poisson(np.array([0.4, 2.5]))
    rng = np.random.default_rng(3)
    x = table.draw(np.ones(100_000, dtype=np.int64), rng.random(100_000))
    freq = np.bincount(x, minlength=6)[:6] / x.size
    assert np.allclose(freq, stats.poisson.pmf(np.arange(6), 2.5), atol=0.005)
    assert abs(x.mean() - 2.5) < 0.02
