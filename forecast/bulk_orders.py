"""One-off bulk orders: lines far above what a SKU usually sells in one line.

A wholesaler's 80,995-unit order (cancelled the same day, or real but never to come
again) is not demand to plan for: kept in the baseline it multiplies a SKU's forecast,
and a new SKU forecast from it alone asks for millions. Such lines are found by a
robust rule, kept out of the demand panel, and listed for the buyer.

A line (units asked for: delivered + short) is outsize when it is at least
`FACTOR` times the SKU's usual line (its median over its lines) and further than
`SPREAD` robust standard deviations (1.4826 x MAD) above it. A SKU with fewer than
`MIN_LINES` lines has no usual line of its own: the catalogue's (the 90th percentile
of the medians of the SKUs that have one) stands in for it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FACTOR = 20.0
SPREAD = 10.0
MIN_LINES = 5
#: Median absolute deviation to standard deviation, for normal data.
MAD_SCALE = 1.4826


def outsize_lines(orders: pd.DataFrame) -> np.ndarray:
    """Per order line: whether it is a one-off bulk line (see the module docstring)."""
    if orders.empty:
        return np.zeros(0, dtype=bool)
    size = (orders["quantity"] + orders["quantity_short"]).to_numpy(dtype=float)
    # Integer codes: grouping by them is many times faster than by Arrow strings.
    code = pd.factorize(orders["sku_id"])[0]
    frame = pd.DataFrame({"sku": code, "size": size})
    stats = frame.groupby("sku", sort=False)["size"].agg(["median", "count"])
    median = stats["median"].to_numpy()[code]
    deviation = pd.Series(np.abs(size - median)).groupby(code, sort=False).median()
    own = stats["count"] >= MIN_LINES
    # The catalogue's usual line, from the SKUs with lines enough to have their own.
    medians = stats.loc[own, "median"] if own.any() else stats["median"]
    catalogue = float(np.quantile(medians, 0.9))
    usual = stats["median"].where(own, catalogue).clip(lower=1.0)
    scale = (deviation.reindex(usual.index) * MAD_SCALE).where(own, usual)
    limit = pd.Series(np.maximum(FACTOR * usual, usual + SPREAD * scale), index=usual.index)
    return np.asarray(size >= limit.reindex(np.arange(code.max() + 1)).to_numpy()[code])


def bulk_table(orders: pd.DataFrame, outsize: np.ndarray) -> pd.DataFrame:
    """The outsize lines for the buyer: order_id, date, customer_id, sku_id, units asked
    for, and the SKU's usual line (median of its other lines; 0 when it has none)."""
    size = orders["quantity"] + orders["quantity_short"]
    usual = size[~outsize].groupby(orders.loc[~outsize, "sku_id"]).median()
    lines = orders.loc[outsize, ["order_id", "date", "customer_id", "sku_id"]].copy()
    lines["units"] = size[outsize].to_numpy()
    lines["usual_line"] = lines["sku_id"].map(usual).fillna(0.0).to_numpy()
    return lines.sort_values("units", ascending=False, kind="stable").reset_index(drop=True)
