"""Prophet for long daily histories with holidays and promotions (optional: it is slow).

Fitted per series on dated days: yearly and weekly seasonality, a country's holiday
calendar (the `holidays` package ships it, nothing is downloaded), and custom events
such as promotions, each a (name, day) pair. Negative predictions are cut at zero.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.models import check_series

log = logging.getLogger(__name__)

MIN_DAYS = 365  # shorter histories cannot show a year's seasonality


@dataclass(frozen=True)
class ProphetModel:
    """Prophet over series whose first day is `start` (daily periods).

    `country`: holiday calendar code such as "US" or "CN"; `events`: (name, YYYY-MM-DD)
    days of promotions or other known events, past and future.
    """

    start: str
    country: str | None = None
    events: tuple[tuple[str, str], ...] = ()
    name: str = "prophet"

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        arr = check_series(y, h)
        for noisy in ("cmdstanpy", "prophet", "prophet.plot"):
            logging.getLogger(noisy).disabled = True
        from prophet import Prophet

        days = pd.date_range(self.start, periods=arr.shape[1], freq="D")
        holidays = (
            pd.DataFrame(
                {
                    "holiday": [e[0] for e in self.events],
                    "ds": pd.to_datetime([e[1] for e in self.events]),
                }
            )
            if self.events
            else None
        )
        out = np.empty((arr.shape[0], h))
        for i, row in enumerate(arr):
            model = Prophet(
                yearly_seasonality=arr.shape[1] >= MIN_DAYS,
                weekly_seasonality=True,
                daily_seasonality=False,
                holidays=holidays,
            )
            if self.country:
                model.add_country_holidays(country_name=self.country)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(pd.DataFrame({"ds": days, "y": row}))
                future = model.make_future_dataframe(periods=h, freq="D", include_history=False)
                out[i] = model.predict(future)["yhat"].to_numpy()
        return np.maximum(out, 0.0)
