"""Fan charts: a SKU's recent demand, its forecast mean and 50% / 90% bands per segment."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forecast.engine import ForecastResult
from forecast.fan import fans
from forecast.panel import TOTAL, Panel
from runtime.figures import pyplot, save_figure


def fan_chart(
    panel: Panel, result: ForecastResult, sku_id: str, path: str | Path, history_days: int = 120
) -> Path:
    """Write a PNG with one panel per segment (the SKU total first); returns the path.

    The fan is `forecast.fan.fans`: per-day negative-binomial bands with the SKU's
    calibrated dispersion, so they widen with the level.
    """
    fan = fans(panel, result, [sku_id], history_days)[0]
    labels = fan.segments
    fig, axes = pyplot().subplots(len(labels), 1, figsize=(10, 2.4 * len(labels)), sharex=True)
    axes = np.atleast_1d(axes)
    bands = fan.bands()
    for s, (ax, label) in enumerate(zip(axes, labels, strict=True)):
        q = bands[s]
        ax.bar(fan.history_dates, fan.history[s], width=float(panel.period_days),
               color="#9aa5b1", label="demand (units/day)")  # fmt: skip
        ax.fill_between(fan.dates, q[:, 0], q[:, 3], color="#f4a261", alpha=0.3, step="mid",
                        label="90%")  # fmt: skip
        ax.fill_between(fan.dates, q[:, 1], q[:, 2], color="#e76f51", alpha=0.4, step="mid",
                        label="50%")  # fmt: skip
        ax.plot(fan.dates, fan.mean[s], color="#264653", linewidth=1.5, label="forecast mean")
        ax.set_ylabel(f"{label}\nunits/day" if label != TOTAL else "all customers\nunits/day")
        ax.grid(alpha=0.3)
    axes[0].set_title(f"{sku_id}: {fan.model} ({fan.demand_class})", loc="left")
    axes[0].legend(loc="upper left", fontsize=8, ncol=4)
    fig.autofmt_xdate()
    return save_figure(fig, path)
