"""Protection-interval demand: proper pmfs, textbook quantiles, sensible edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from forecast.distribution import negbin_params, pmf, quantiles


@given(st.floats(0.01, 500), st.floats(1.0, 20.0))
def test_pmf_sums_to_one_is_nonnegative_and_has_the_mean(mean: float, dispersion: float) -> None:
    probs = pmf(mean, dispersion * mean)
    assert (probs >= 0).all()
    assert probs.sum() == pytest.approx(1.0)
    assert (np.arange(probs.size) * probs).sum() == pytest.approx(mean, rel=1e-3, abs=1e-3)


def test_variance_equal_to_mean_is_poisson() -> None:
    mean = np.array([3.0, 12.5])
    q = quantiles(mean, mean, (0.5, 0.9, 0.99))
    expected = np.column_stack([stats.poisson.ppf(level, mean) for level in (0.5, 0.9, 0.99)])
    assert np.array_equal(q, expected)


def test_negative_binomial_matches_its_moments() -> None:
    n, p = negbin_params(np.array([10.0]), np.array([40.0]))
    assert stats.nbinom.mean(n, p)[0] == pytest.approx(10.0)
    assert stats.nbinom.var(n, p)[0] == pytest.approx(40.0)


def test_zero_mean_is_a_point_mass_at_zero() -> None:
    assert pmf(0.0, 0.0).tolist() == [1.0]
    assert quantiles(np.array([0.0]), np.array([0.0]), (0.5, 0.99)).tolist() == [[0.0, 0.0]]


@given(st.floats(0.0, 300), st.floats(1.0, 10.0))
def test_quantiles_increase_with_the_level(mean: float, dispersion: float) -> None:
    q = quantiles(np.array([mean]), np.array([dispersion * mean]), (0.5, 0.8, 0.9, 0.95, 0.99))[0]
    assert (np.diff(q) >= 0).all() and (q >= 0).all() and np.isfinite(q).all()
