"""The forecast files other tools rely on: forecasts.parquet and protection.parquet.

- forecasts.parquet: sku_id, segment, date, mean (units per day), one row per day of
  the horizon, segment "ALL" for the SKU total; dates start the day after the history.
- protection.parquet: sku_id, segment, days (protection interval), mean, variance
  (of the negative binomial, so a pmf can be rebuilt), q50, q80, q90, q95, q99, model.
- selection.parquet: per SKU its demand class, model, backtest MASE / RMSSE.

Written to a staging folder first and moved into place, so a reader never sees a
half-written set.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from contract.atomic import replace_files
from forecast.engine import ForecastResult

FILES = ("forecasts.parquet", "protection.parquet", "selection.parquet")


def write_forecast(result: ForecastResult, out: str | Path) -> Path:
    """Write the three files into `out` (created if needed); returns `out`."""
    frames = (result.forecasts, result.protection, result.selection)
    return replace_files(
        out,
        {
            name: partial(frame.to_parquet, index=False)
            for name, frame in zip(FILES, frames, strict=True)
        },
    )
