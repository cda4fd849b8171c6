"""Forecast fans: a SKU's recent demand and, per day ahead, its forecast mean with 50%
and 90% bands, for the SKU total and each customer segment.

What the fan charts draw: the report's PNGs (`forecast.plots.fan_chart`) and the
review page's interactive chart (stored with each plan line by the service's plan job).
A day's band is the negative binomial with the day's mean and the SKU's calibrated
dispersion (variance = dispersion × mean, units²), so bands widen with the level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.distribution import quantiles
from forecast.engine import ForecastResult
from forecast.panel import TOTAL, Panel

#: The bands' quantile levels: 90% (0.05-0.95) and 50% (0.25-0.75).
LEVELS = (0.05, 0.25, 0.75, 0.95)


@dataclass(frozen=True)
class Fan:
    """One SKU's fan. Segments are `segments` (TOTAL first), rows of every array.

    `history[s, t]`: units per day segment s asked for in period t starting on
    `history_dates[t]` (a weekly panel's week is spread over its days). `mean[s, d]`:
    forecast units on day `dates[d]`; `bands[s, d, k]`: its quantile at LEVELS[k] (units).
    """

    sku_id: str
    model: str
    demand_class: str
    segments: tuple[str, ...]
    history_dates: pd.DatetimeIndex
    history: np.ndarray
    dates: pd.DatetimeIndex
    mean: np.ndarray
    bands: np.ndarray

    def record(self) -> dict[str, object]:
        """Plain JSON: days as ISO dates, units rounded to 0.01, one list per segment
        (`history`, `mean`, and `bands` as its quantiles at LEVELS, each per day)."""
        return {
            "sku_id": self.sku_id, "model": self.model, "demand_class": self.demand_class,
            "segments": list(self.segments), "levels": list(LEVELS),
            "history_dates": [d.date().isoformat() for d in self.history_dates],
            "history": np.round(self.history, 2).tolist(),
            "dates": [d.date().isoformat() for d in self.dates],
            "mean": np.round(self.mean, 2).tolist(),
            "bands": [np.round(self.bands[:, :, k], 2).tolist() for k in range(len(LEVELS))],
        }  # fmt: skip


def fans(
    panel: Panel, result: ForecastResult, sku_ids: list[str], history_days: int = 120
) -> list[Fan]:
    """The fans of `sku_ids` (KeyError naming an unknown one), the last `history_days`
    days of history each, the whole forecast horizon ahead. One quantile call for all."""
    ids = [str(s) for s in sku_ids]
    row = {str(s): i for i, s in enumerate(panel.sku_ids)}
    unknown = [s for s in ids if s not in row]
    if unknown:
        raise KeyError(f"unknown sku_id {unknown[0]!r}")
    if not ids:
        return []
    parts = [lbl for lbl in result.segments if lbl != TOTAL and lbl in panel.segments]
    labels = (TOTAL, *parts)
    periods = max(1, history_days // panel.period_days)
    history_dates = panel.dates()[-periods:]
    seg_rows = [panel.segments.index(lbl) for lbl in parts]

    fc = result.forecasts[result.forecasts["sku_id"].astype(str).isin(ids)]
    fc = fc[fc["segment"].isin(labels)]
    dates = pd.DatetimeIndex(sorted(pd.to_datetime(fc["date"]).unique()))
    # mean[sku, segment, day] from the long table: a missing cell is a zero forecast.
    mean = np.zeros((len(ids), len(labels), len(dates)))
    at = {s: i for i, s in enumerate(ids)}
    seg_at = {lbl: j for j, lbl in enumerate(labels)}
    day_at = pd.Series(np.arange(len(dates)), index=dates)
    mean[
        fc["sku_id"].astype(str).map(at).to_numpy(),
        fc["segment"].map(seg_at).to_numpy(),
        day_at.reindex(pd.to_datetime(fc["date"])).to_numpy(),
    ] = fc["mean"].to_numpy(dtype=float)

    selection = result.selection.assign(sku_id=result.selection["sku_id"].astype(str))
    selection = selection.set_index("sku_id").reindex(ids)
    dispersion = selection["dispersion"].fillna(1.0).to_numpy(dtype=float)
    flat = mean.reshape(-1)
    variance = np.repeat(dispersion, len(labels) * len(dates)) * flat
    bands = quantiles(flat, variance, LEVELS).reshape(*mean.shape, len(LEVELS))

    out = []
    for k, sku in enumerate(ids):
        i = row[sku]
        asked = [panel.total[i, -periods:], *(panel.demand[i, s, -periods:] for s in seg_rows)]
        out.append(
            Fan(
                sku_id=sku, model=str(selection["model"].iloc[k]),
                demand_class=str(selection["demand_class"].iloc[k]), segments=labels,
                history_dates=history_dates, history=np.vstack(asked) / panel.period_days,
                dates=dates, mean=mean[k], bands=bands[k],
            )
        )  # fmt: skip
    return out
