"""The forecast files other tools rely on: forecasts.parquet and protection.parquet.

- forecasts.parquet: sku_id, segment, date, mean (units per day), one row per day of
  the horizon, segment "ALL" for the SKU total; dates start the day after the history.
- protection.parquet: sku_id, segment, days (protection interval), mean, variance
  (of the negative binomial, so a pmf can be rebuilt), q50, q80, q90, q95, q99, model.
- selection.parquet: per SKU its demand class, model, backtest MASE / RMSSE.
- lost_sales.parquet (from a run on a dataset): per SKU with days out of stock, the days
  judged out, the units lost and the days by evidence (snapshot, short, inferred).
- bulk_orders.parquet (likewise): the one-off bulk lines kept out of the forecast.

Written to a staging folder first and moved into place, so a reader never sees a
half-written set.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from contract.atomic import replace_files
from forecast.engine import DatasetForecast, ForecastResult

FILES = ("forecasts.parquet", "protection.parquet", "selection.parquet")
HISTORY_FILES = ("lost_sales.parquet", "bulk_orders.parquet")


def write_forecast(
    result: ForecastResult, out: str | Path, history: DatasetForecast | None = None
) -> Path:
    """Write the three files into `out` (created if needed), and the two of `history`
    when given (a run on a dataset); returns `out`."""
    files = dict(zip(FILES, (result.forecasts, result.protection, result.selection), strict=True))
    if history is not None:
        files |= dict(zip(HISTORY_FILES, (history.lost_sales, history.bulk_orders), strict=True))
    return replace_files(
        out, {name: partial(frame.to_parquet, index=False) for name, frame in files.items()}
    )
