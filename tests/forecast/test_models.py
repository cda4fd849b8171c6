"""Each model recovers known generating processes; the kernels match statsforecast."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from statsforecast.models import TSB as StatsTSB
from statsforecast.models import CrostonClassic, CrostonSBA

from forecast.models import (
    SBA,
    TSB,
    Aggregated,
    Croston,
    Ensemble,
    Forecaster,
    SeasonalNaive,
    Statistical,
    WindowAverage,
    Zero,
    _ses_levels,
    fit,
    forward,
    no_fits,
)

RNG = np.random.default_rng(42)
WEEK = np.array([1.0, 1.0, 1.0, 1.0, 1.2, 2.0, 0.8])
ALL: list[Forecaster] = [
    Zero(),
    SeasonalNaive(7),
    WindowAverage(28, 7),
    Croston(),
    SBA(),
    TSB(),
    Aggregated(Statistical("ets")),
    Aggregated(Statistical("theta")),
    Ensemble((Croston(), WindowAverage(28, 7))),
]


def test_constant_demand_is_forecast_as_constant() -> None:
    y = np.full((2, 140), 10.0)
    for model in ALL[1:]:
        fc = model.forecast(y, 14)
        assert fc.shape == (2, 14)
        # SBA deliberately scales Croston by (1 - alpha / 2) = 0.95.
        expected = 9.5 if model.name == "sba" else 10.0
        assert np.allclose(fc, expected, rtol=0.02), model.name


def test_weekly_seasonality_is_reproduced() -> None:
    days = 26 * 7
    y = (20 * np.tile(WEEK, days // 7))[None, :]
    # The next day follows the last one, so the pattern continues where it stopped.
    expected = 20 * np.tile(WEEK, 3)[:14]
    for model in (
        SeasonalNaive(7),
        WindowAverage(28, 7, shrink=0.0),
        Aggregated(Statistical("ets"), shrink=0.0),
    ):
        assert np.allclose(model.forecast(y, 14)[0], expected, rtol=0.03), model.name


def test_linear_trend_is_followed_by_ets_on_weekly_totals() -> None:
    t = np.arange(364)
    y = (50 + 0.2 * t + RNG.normal(0, 1.0, t.size))[None, :]
    fc = Aggregated(Statistical("ets")).forecast(np.maximum(y, 0), 28)[0]
    truth = 50 + 0.2 * np.arange(364, 392)
    assert abs(fc.mean() - truth.mean()) < 0.05 * truth.mean()
    flat = WindowAverage(28, 7).forecast(y, 28)[0]
    assert abs(fc.mean() - truth.mean()) < abs(flat.mean() - truth.mean())


def test_intermittent_rate_is_recovered() -> None:
    p, lam = 0.15, 4.0  # demand on 15% of days, Poisson(4) + 1 units when it happens
    y = (RNG.random((400, 600)) < p) * (1 + RNG.poisson(lam, (400, 600)))
    true_rate = p * (1 + lam)
    for model in (Croston(), SBA(), TSB(), WindowAverage(56, 1)):
        rate = model.forecast(y.astype(float), 7)[:, 0].mean()
        assert rate == pytest.approx(true_rate, rel=0.1), model.name


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, (3, 60), elements=st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.0, 7.0])))
def test_vectorized_kernels_equal_statsforecast(y: np.ndarray) -> None:
    for mine, theirs in (
        (Croston(), CrostonClassic()),
        (SBA(), CrostonSBA()),
        (TSB(0.1, 0.1), StatsTSB(alpha_d=0.1, alpha_p=0.1)),
    ):
        ours = mine.forecast(y, 3)
        ref = np.array([theirs.forecast(y=row, h=3)["mean"] for row in y])
        assert np.allclose(ours, ref, atol=1e-9), mine.name


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, (2, 35), elements=st.floats(0, 50)), st.integers(1, 30))
def test_forecasts_are_finite_and_never_negative(y: np.ndarray, h: int) -> None:
    for model in ALL:
        fc = model.forecast(y, h)
        assert fc.shape == (2, h)
        assert np.isfinite(fc).all() and (fc >= 0).all(), model.name


def test_tsb_decays_for_a_dead_item_croston_does_not() -> None:
    y = np.zeros((1, 300))
    y[0, :100:5] = 5.0  # sold every 5 days, then nothing for 200 days
    assert TSB().forecast(y, 1)[0, 0] < 0.01
    assert Croston().forecast(y, 1)[0, 0] > 1.0  # still the rate of its selling days


@pytest.mark.parametrize("model", ALL, ids=lambda m: m.name)
def test_bad_input_is_refused(model: object) -> None:
    y = np.ones((1, 30))
    with pytest.raises(ValueError, match="horizon"):
        model.forecast(y, 0)  # type: ignore[attr-defined]
    bad = y.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.forecast(bad, 3)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="matrix"):
        model.forecast(np.ones(30), 3)  # type: ignore[attr-defined]


def test_statistical_model_survives_degenerate_series() -> None:
    y = np.zeros((2, 10))
    y[1, -1] = 3.0
    fc = Statistical("ets", season=7).forecast(y, 5)
    assert np.isfinite(fc).all() and (fc >= 0).all()


def test_unknown_statistical_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown statistical model"):
        Statistical("prophecy")


@pytest.mark.parametrize("kind", ["ets_damped", "dotm"])
def test_damped_ets_and_dynamic_theta_follow_a_seasonal_monthly_series(kind: str) -> None:
    months = np.arange(72)
    y = (100 + months + 20 * np.sin(2 * np.pi * months / 12))[None, :]
    fc = Statistical(kind, season=12).forecast(y, 12)[0]
    truth = 100 + np.arange(72, 84) + 20 * np.sin(2 * np.pi * np.arange(72, 84) / 12)
    naive = SeasonalNaive(12).forecast(y, 12)[0]  # misses the trend: 12 per month
    assert np.abs(fc - truth).mean() < 0.5 * np.abs(naive - truth).mean()


PAIR = Ensemble((Aggregated(Statistical("ets_damped")), Aggregated(Statistical("dotm"))))


def _weekly_demand(days: int) -> np.ndarray:
    level = np.linspace(8.0, 14.0, days)
    return RNG.poisson(level * np.tile(WEEK, -(-days // 7))[:days], (3, days)).astype(float)


def test_fit_forecasts_as_forecast_does_and_forward_on_the_same_history_repeats_it() -> None:
    y = _weekly_demand(26 * 7)
    mean, fitted = fit(PAIR, y, 21)
    assert np.allclose(mean, PAIR.forecast(y, 21))
    assert all(isinstance(entry, tuple) and None not in entry for entry in fitted)
    assert np.allclose(forward(PAIR, fitted, y, 21), mean)


def test_forward_runs_the_fitted_states_over_a_longer_history_as_statsforecast_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four more weeks: statsforecast's own `forward` of the model fitted on the shorter
    history, and no model is estimated again."""
    from statsforecast.models import AutoETS

    y = _weekly_demand(34 * 7).reshape(3, 34, 7).sum(axis=2)  # weekly totals
    short, long = y[:, :30], y
    _, fitted = Statistical("ets_damped").fit(short, 4)
    expected = [
        AutoETS(season_length=1, damped=True).fit(y=row).forward(y=whole, h=4)["mean"]
        for row, whole in zip(short, long, strict=True)
    ]

    def no_estimation(kind: str, season: int) -> None:
        raise AssertionError("forward estimated a model again")

    monkeypatch.setattr("forecast.models._statsforecast_model", no_estimation)
    assert np.allclose(Statistical("ets_damped").forward(fitted, long, 4), expected)


def test_forward_fits_series_without_a_fitted_model_and_models_without_parameters() -> None:
    y = _weekly_demand(20 * 7)
    nothing = no_fits(len(y))
    assert np.allclose(forward(PAIR, nothing, y, 14), PAIR.forecast(y, 14))
    assert np.allclose(forward(Croston(), nothing, y, 14), Croston().forecast(y, 14))


@given(
    x=hnp.arrays(np.float64, (4, 30), elements=st.floats(0.0, 50.0)),
    mask=hnp.arrays(np.bool_, (4, 30)),
    alpha=st.floats(0.01, 0.99),
)
def test_ses_in_closed_form_equals_the_recursion(
    x: np.ndarray, mask: np.ndarray, alpha: float
) -> None:
    level, started = _ses_levels(x, mask, alpha)
    for row in range(x.shape[0]):
        expected, seen = 0.0, False
        for value in x[row, mask[row]]:
            expected = value if not seen else alpha * value + (1 - alpha) * expected
            seen = True
        assert started[row] == seen
        assert level[row] == pytest.approx(expected, rel=1e-9, abs=1e-9)
