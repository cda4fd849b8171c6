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
    expected = (u[:, None] >= table.cdf[rows]).sum(axis=1)
    assert np.array_equal(table.draw(rows, u), expected)


def test_row_tables_draw_poisson() -> None:
    table = RowTables.poisson(np.array([0.4, 2.5]))
    rng = np.random.default_rng(3)
    x = table.draw(np.ones(100_000, dtype=np.int64), rng.random(100_000))
    freq = np.bincount(x, minlength=6)[:6] / x.size
    assert np.allclose(freq, stats.poisson.pmf(np.arange(6), 2.5), atol=0.005)
    assert abs(x.mean() - 2.5) < 0.02
