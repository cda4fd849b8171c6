"""Protection-interval demand: proper pmfs, textbook quantiles, sensible edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from forecast.distribution import grouped_pmfs, negbin_params, pmf, pmfs, quantiles


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


def test_a_random_lead_time_widens_demand_over_the_interval_as_a_monte_carlo_does() -> None:
    """Daily demand Poisson(4) over T = L + 7 days, L ~ N(10, 3) rounded (at least 1):
    the negative binomial with the compound variance matches the simulated quantiles."""
    from forecast.distribution import quantiles, random_length_variance

    rng = np.random.default_rng(0)
    daily, review, lead, lead_sd = 4.0, 7, 10.0, 3.0
    days = np.maximum(np.round(rng.normal(lead, lead_sd, 200_000)), 1) + review
    totals = rng.poisson(daily * days)
    mean = daily * (lead + review)
    fixed = daily * (lead + review)  # Poisson: the variance over a known length
    extra = random_length_variance(np.array([mean]), np.array([lead + review]), np.array([lead_sd]))
    assert extra[0] == pytest.approx(daily**2 * lead_sd**2)
    assert totals.var() == pytest.approx(fixed + extra[0], rel=0.03)
    q = quantiles(np.array([mean]), np.array([fixed + extra[0]]), (0.5, 0.9, 0.95, 0.99))[0]
    simulated = np.quantile(totals, [0.5, 0.9, 0.95, 0.99])
    assert np.allclose(q, simulated, rtol=0.03)
    naive = quantiles(np.array([mean]), np.array([fixed]), (0.95,))[0, 0]
    assert naive < simulated[2] * 0.9  # ignoring the lead time's spread is far too short


def test_the_engine_adds_the_lead_time_spread_to_every_segment() -> None:
    from forecast.engine import forecast_panel
    from tests.forecast.test_engine import panel_of

    rng = np.random.default_rng(1)
    demand = rng.poisson(3.0, (1, 2, 200)).astype(float)
    fixed = forecast_panel(panel_of(demand, ("A", "B")), np.array([14.0]))
    spread = forecast_panel(
        panel_of(demand, ("A", "B")), np.array([14.0]), lead_time_sd=np.array([4.0])
    )
    a, b = fixed.protection, spread.protection
    assert np.allclose(a["mean"], b["mean"])
    total = a["segment"] == "ALL"
    daily = a.loc[total, "mean"].iloc[0] / 14
    added = b["variance"].to_numpy() - a["variance"].to_numpy()
    assert added[total.to_numpy()][0] == pytest.approx(daily**2 * 16)
    # The segments share the added variance by their demand shares: it adds up.
    assert added[~total.to_numpy()].sum() == pytest.approx(daily**2 * 16)


@given(
    means=st.lists(st.floats(0.0, 400.0), min_size=1, max_size=12),
    dispersion=st.floats(1.0, 30.0),
    upto=st.lists(st.integers(0, 300), min_size=12, max_size=12),
)
def test_many_pmfs_at_once_are_each_pmf(
    means: list[float], dispersion: float, upto: list[int]
) -> None:
    """One call for a whole problem equals one `pmf` per pair, to the bit, with or
    without a cut at `upto` (the tail beyond one atom)."""
    mean = np.array(means)
    var = mean * dispersion + 0.1 * mean**2
    cut = np.array(upto[: mean.size], dtype=float)
    one_by_one = [pmf(m, v, upto=u) for m, v, u in zip(mean, var, cut, strict=True)]
    for got, one in zip(pmfs(mean, var, upto=cut), one_by_one, strict=True):
        assert np.array_equal(got, one)
    uncut = [pmf(m, v) for m, v in zip(mean, var, strict=True)]
    for got, one in zip(pmfs(mean, var), uncut, strict=True):
        assert np.array_equal(got, one)


def test_pmfs_in_lots_keep_the_mean_and_the_spread_of_a_wide_demand() -> None:
    """A wholesaler's SKU: 6,000 units on average over the interval, in lots of units
    that share a row's points; each lot's mass is the demand that rounds to it."""
    mean = np.array([[6_000.0, 400.0, 0.0]])
    var = np.array([[6_000.0 * 40 + 0.2 * 6_000.0**2, 400.0 * 5, 0.0]])
    flat, lot = grouped_pmfs(mean, var, 511)
    assert lot[0] > 1 and sum(p.size for p in flat) <= 511 + 3
    n, p = negbin_params(mean[0, :2], var[0, :2])
    for j in range(2):
        units = np.arange(flat[j].size) * lot[0]
        assert units @ flat[j] == pytest.approx(stats.nbinom.mean(n[j], p[j]), rel=0.01)
        sd = np.sqrt(((units - units @ flat[j]) ** 2) @ flat[j])
        assert sd == pytest.approx(stats.nbinom.std(n[j], p[j]), rel=0.02)
        edge = np.ceil(1.5 * lot[0]) - 1  # the first two lots: units up to 1.5 lots
        assert flat[j][:2].sum() == pytest.approx(stats.nbinom.cdf(edge, n[j], p[j]), abs=2e-3)
    assert np.array_equal(flat[2], [1.0])  # no demand: all mass at zero
