"""Rolling-origin backtests choose the model that matches the data."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.backtest import backtest, mase_scale
from forecast.models import TSB, Croston, SeasonalNaive, WindowAverage

RNG = np.random.default_rng(7)


def test_mase_scale_is_the_seasonal_naive_error() -> None:
    y = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    assert mase_scale(y, season=2)[0] == pytest.approx(2.0)
    assert mase_scale(np.zeros((1, 10)), 7)[0] == 1.0


def test_seasonal_series_choose_a_seasonal_model_flat_ones_a_smoother() -> None:
    weeks = 30
    seasonal = np.tile([5.0, 5, 5, 5, 5, 30, 30], weeks) + RNG.normal(0, 0.5, 7 * weeks)
    intermittent = (RNG.random(7 * weeks) < 0.1) * 4.0
    models = (SeasonalNaive(7), WindowAverage(28, 7), Croston(), TSB())
    bt = backtest(np.vstack([seasonal, intermittent]), models, h=14, n_origins=3, season=7)
    first = bt.ranking()[:, 0]
    assert bt.names[first[0]] in ("seasonal_naive", "window_average")
    assert bt.names[first[1]] in ("croston", "tsb", "window_average")
    assert bt.mase.shape == (2, 4) and bt.rmsse.shape == (2, 4)
    # Totals are kept per origin over each series' window.
    assert bt.totals_actual.shape == (2, 3)
    assert bt.totals_actual[0, -1] == pytest.approx(seasonal[-14:].sum())


def test_per_series_windows_sum_the_first_days_only() -> None:
    y = np.tile(np.arange(1.0, 8.0), (2, 10))
    bt = backtest(y, (SeasonalNaive(7),), h=7, n_origins=1, season=7, window=np.array([2, 7]))
    assert bt.totals_actual[:, 0].tolist() == [1.0 + 2.0, 28.0]
    assert bt.totals_forecast[:, 0, 0].tolist() == [3.0, 28.0]


def test_too_short_history_is_refused() -> None:
    with pytest.raises(ValueError, match="too few"):
        backtest(np.ones((1, 20)), (Croston(),), h=14, season=7)
