"""Forecast fans: a SKU's recent demand and, per day ahead, its forecast mean with 50%
and 90% bands, for the SKU total and each customer segment.

What the fan charts draw: the report's PNGs (`forecast.plots.fan_chart`) and the
review page's interactive chart (stored with each plan line by the service's plan job).
A day's band is the negative binomial with the day's mean and the SKU's calibrated
dispersion (variance = dispersion × mean, units²), so bands widen with the level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    forecast units on day `dates[d]`; `dispersion`: the SKU's variance-to-mean ratio.
    The bands are computed when drawn (`bands`): stored fans stay small and cheap to make.
    """

    sku_id: str
    model: str
    demand_class: str
    dispersion: float
    segments: tuple[str, ...]
    history_dates: pd.DatetimeIndex
    history: np.ndarray
    dates: pd.DatetimeIndex
    mean: np.ndarray

    def bands(self) -> np.ndarray:
        """[s, d, k]: the quantile at LEVELS[k] of segment s's demand on day d (units)."""
        flat = self.mean.reshape(-1)
        q = quantiles(flat, self.dispersion * flat, LEVELS)
        return q.reshape(*self.mean.shape, len(LEVELS))

    def record(self) -> dict[str, object]:
        """Plain JSON (what `of_record` reads): units/day rounded to 0.01, one list per
        segment; the history's first day (ISO) and days per period, the forecast's first
        day (a point per day)."""
        step = (
            int((self.history_dates[1] - self.history_dates[0]).days)
            if len(self.history_dates) > 1
            else 1
        )
        return {
            "sku_id": self.sku_id, "model": self.model, "demand_class": self.demand_class,
            "dispersion": round(self.dispersion, 6), "segments": list(self.segments),
            "history_start": self.history_dates[0].date().isoformat(), "period_days": step,
            "history": np.round(self.history, 2).tolist(),
            "start": self.dates[0].date().isoformat() if len(self.dates) else None,
            "mean": np.round(self.mean, 2).tolist(),
        }  # fmt: skip

    @classmethod
    def of_record(cls, record: dict[str, Any]) -> Fan:
        """The fan `record()` wrote."""
        history = np.asarray(record["history"], dtype=float)
        mean = np.asarray(record["mean"], dtype=float)
        return cls(
            sku_id=str(record["sku_id"]), model=str(record["model"]),
            demand_class=str(record["demand_class"]), dispersion=float(record["dispersion"]),
            segments=tuple(record["segments"]), history=history, mean=mean,
            history_dates=pd.date_range(record["history_start"], periods=history.shape[1],
                                        freq=f"{int(record['period_days'])}D"),
            dates=pd.date_range(record["start"], periods=mean.shape[1], freq="D")
            if record.get("start") else pd.DatetimeIndex([]),
        )  # fmt: skip


def fans(
    panel: Panel, result: ForecastResult, sku_ids: list[str], history_days: int = 120
) -> list[Fan]:
    """The fans of `sku_ids` (KeyError naming an unknown one), the last `history_days`
    days of history each, the whole forecast horizon ahead."""
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
    rows = np.array([row[s] for s in ids])
    recent = panel.demand[rows][:, :, -periods:]  # sku, segment, period
    total = recent.sum(axis=1)
    out = []
    for k, sku in enumerate(ids):
        asked = [total[k], *(recent[k, s] for s in seg_rows)]
        out.append(
            Fan(
                sku_id=sku, model=str(selection["model"].iloc[k]),
                demand_class=str(selection["demand_class"].iloc[k]),
                dispersion=float(dispersion[k]), segments=labels, history_dates=history_dates,
                history=np.vstack(asked) / panel.period_days, dates=dates, mean=mean[k],
            )
        )  # fmt: skip
    return out
