"""Forecast fans: the history as asked, the forecast's mean, bands that hold their order."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecast.distribution import negbin_params
from forecast.engine import ForecastConfig, ForecastResult, forecast_panel
from forecast.fan import LEVELS, Fan, fans
from forecast.panel import TOTAL, Panel
from tests.forecast.test_engine import mixed_panel

Fanned = tuple[Panel, ForecastResult, list[Fan]]


@pytest.fixture(scope="module")
def fanned() -> Fanned:
    panel = mixed_panel()
    result = forecast_panel(panel, np.array([10.0, 21.0, 7.0]), ForecastConfig(horizon=14))
    return panel, result, fans(panel, result, ["S1", "S0"], history_days=30)


def test_a_fan_holds_the_recent_history_and_the_forecast_per_segment(fanned: Fanned) -> None:
    panel, result, (s1, s0) = fanned
    assert (s1.sku_id, s0.sku_id) == ("S1", "S0")  # in the order asked
    assert s0.segments == (TOTAL, "A", "B")
    assert s0.history.shape == (3, 30) and len(s0.history_dates) == 30
    assert np.array_equal(s0.history[0], panel.total[0, -30:])
    assert np.array_equal(s0.history[1] + s0.history[2], s0.history[0])
    assert s0.history_dates[-1] == panel.dates()[-1]
    daily = result.forecasts[
        (result.forecasts["sku_id"] == "S0") & (result.forecasts["segment"] == "A")
    ]
    assert np.allclose(s0.mean[1], daily["mean"].to_numpy())
    assert list(s0.dates) == list(pd.to_datetime(daily["date"]))
    assert len(s0.dates) == 14 and s0.dates[0] == panel.last_day + pd.Timedelta(days=1)
    chosen = result.selection.set_index("sku_id").loc["S0"]
    assert (s0.model, s0.demand_class) == (chosen["model"], chosen["demand_class"])


def test_the_bands_are_the_negative_binomial_of_the_day_and_nest(fanned: Fanned) -> None:
    _, result, (s1, s0) = fanned
    for fan in (s1, s0):
        bands = fan.bands()
        assert (np.diff(bands, axis=2) >= 0).all()  # 5% <= 25% <= 75% <= 95%
        chosen = result.selection.set_index("sku_id")["dispersion"]
        dispersion = float(chosen.loc[fan.sku_id])
        m = fan.mean[0, 3]
        n, p = negbin_params(np.array([m]), np.array([dispersion * m]))
        expected = [stats.nbinom.ppf(q, n[0], p[0]) for q in LEVELS]
        assert bands[0, 3] == pytest.approx(expected)
        assert fan.dispersion == pytest.approx(dispersion)


def test_an_unknown_sku_is_named() -> None:
    panel = mixed_panel(60)
    result = forecast_panel(panel, np.array([10.0, 21.0, 7.0]), ForecastConfig(horizon=7))
    with pytest.raises(KeyError, match="NOPE"):
        fans(panel, result, ["S0", "NOPE"])
    assert fans(panel, result, []) == []


def test_a_stored_fan_draws_the_same_bands(fanned: Fanned) -> None:
    _, _, (s1, _) = fanned
    again = Fan.of_record(json.loads(json.dumps(s1.record())))
    assert (again.sku_id, again.model, again.segments) == (s1.sku_id, s1.model, s1.segments)
    assert list(again.dates) == list(s1.dates)
    assert list(again.history_dates) == list(s1.history_dates)
    assert np.allclose(again.mean, s1.mean, atol=0.005)  # stored to 0.01 unit
    assert np.array_equal(again.history, np.round(s1.history, 2))
    assert np.abs(again.bands() - s1.bands()).max() <= 1  # whole units, a rounding apart
