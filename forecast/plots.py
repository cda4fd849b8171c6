"""Fan charts: a SKU's recent demand, its forecast mean and 50% / 90% bands per segment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forecast.distribution import quantiles
from forecast.engine import ForecastResult
from forecast.panel import TOTAL, Panel
from runtime.figures import pyplot, save_figure


def fan_chart(
    panel: Panel, result: ForecastResult, sku_id: str, path: str | Path, history_days: int = 120
) -> Path:
    """Write a PNG with one panel per segment (the SKU total first); returns the path.

    Bands are per-day quantiles of the negative binomial with the day's mean and the
    SKU's calibrated dispersion, so they widen with the level.
    """
    matches = np.flatnonzero(panel.sku_ids == sku_id)
    if matches.size == 0:
        raise KeyError(f"unknown sku_id {sku_id!r}")
    i = int(matches[0])
    dates = panel.dates()[-history_days:]
    history = {TOTAL: panel.total[i, -history_days:]}
    for s, label in enumerate(panel.segments):
        if label != TOTAL:
            history[label] = panel.demand[i, s, -history_days:]
    fc = result.forecasts[result.forecasts["sku_id"] == sku_id]
    selection = result.selection[result.selection["sku_id"] == sku_id].iloc[0]
    labels = [lbl for lbl in result.segments if lbl in history]
    fig, axes = pyplot().subplots(len(labels), 1, figsize=(10, 2.4 * len(labels)), sharex=True)
    axes = np.atleast_1d(axes)
    for ax, label in zip(axes, labels, strict=True):
        seg = fc[fc["segment"] == label]
        mean = seg["mean"].to_numpy()
        var = float(selection["dispersion"]) * mean
        q = quantiles(mean, var, (0.05, 0.25, 0.75, 0.95))
        when = pd.to_datetime(seg["date"])
        ax.bar(dates, history[label], width=1.0, color="#9aa5b1", label="demand (units/day)")
        ax.fill_between(when, q[:, 0], q[:, 3], color="#f4a261", alpha=0.3, step="mid", label="90%")
        ax.fill_between(when, q[:, 1], q[:, 2], color="#e76f51", alpha=0.4, step="mid", label="50%")
        ax.plot(when, mean, color="#264653", linewidth=1.5, label="forecast mean")
        ax.set_ylabel(f"{label}\nunits/day" if label != TOTAL else "all customers\nunits/day")
        ax.grid(alpha=0.3)
    axes[0].set_title(f"{sku_id}: {selection['model']} ({selection['demand_class']})", loc="left")
    axes[0].legend(loc="upper left", fontsize=8, ncol=4)
    fig.autofmt_xdate()
    return save_figure(fig, path)
