"""Prophet learns holidays and promotions when asked; the engine can try it."""

from __future__ import annotations

import numpy as np

from forecast.engine import ForecastConfig, candidates, forecast_panel
from forecast.prophet_model import ProphetModel
from tests.forecast.test_engine import panel_of


def test_promotion_days_lift_the_forecast() -> None:
    days = 400
    y = np.full((1, days), 20.0) + np.tile([0, 0, 0, 0, 2, 6, 1], days // 7 + 1)[:days]
    promos = [37, 137, 237, 337]  # every 100 days from 2025-02-07
    y[0, promos] += 40.0
    dates = np.datetime64("2025-01-01") + np.array([*promos, 437])
    events = tuple(("promo", str(d)) for d in dates)
    fc = ProphetModel("2025-01-01", events=events).forecast(y, 40)[0]
    promo_day = 437 - days  # index in the forecast
    others = np.delete(fc, promo_day)
    assert fc[promo_day] > others.max() + 20


def test_holiday_calendar_is_used_offline() -> None:
    y = np.full((1, 400), 10.0)
    fc = ProphetModel("2025-01-01", country="US").forecast(y, 7)
    assert fc.shape == (1, 7) and np.allclose(fc, 10.0, atol=1.0)


def test_engine_tries_prophet_only_when_asked_and_history_is_long() -> None:
    on = ForecastConfig(prophet=True, holidays_country="US")
    assert any(m.name == "prophet" for m in candidates("smooth", on, "2025-01-01", 400))
    assert not any(m.name == "prophet" for m in candidates("smooth", on, "2025-01-01", 200))
    assert not any(
        m.name == "prophet" for m in candidates("smooth", ForecastConfig(), "2025-01-01", 400)
    )
    demand = np.random.default_rng(1).poisson(30, (1, 1, 380)).astype(float)
    result = forecast_panel(panel_of(demand, ("A",)), np.array([7.0]), on)
    assert np.isfinite(result.protection["mean"]).all()
    tried = {
        part for m in candidates("smooth", on, "2025-01-01", 380) for part in m.name.split("+")
    }
    # With the default ensemble the chosen model is the mean of the two best candidates.
    assert set(result.selection["model"].iloc[0].split("+")) <= tried
