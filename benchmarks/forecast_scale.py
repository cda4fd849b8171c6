"""Forecasting a whole generated catalogue: wall time and memory, against statsforecast.

The world (default: 10,000 SKUs x 50,000 customers x 730 days) gives a panel of
10,000 SKUs x 3 tiers; replenish classifies, backtests and selects a model per SKU,
splits into segments and computes protection-interval quantiles. The peer, in the same
run, is statsforecast's StatsForecast with CrostonClassic, TSB and SeasonalNaive(7) on
every (SKU, segment) series (no selection, no quantiles), n_jobs = the same workers.

    python -m benchmarks.forecast_scale [--size large] [--engine local] [--peer-series 0]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from forecast.engine import ForecastConfig, forecast_panel, protection_days
from forecast.panel import build_panel
from forecast.segments import segment_customers
from simulations.world import generate, params_for


def _peak_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="large")
    parser.add_argument("--engine", default="local")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--peer-series", type=int, default=0, help="0 = every series")
    args = parser.parse_args()
    console = Console(width=160)
    world = generate(params_for(args.size, seed=0))
    ds = world.dataset

    stages: list[tuple[str, float]] = []
    started = time.perf_counter()
    segments = segment_customers(ds)
    stages.append(("segments", time.perf_counter() - started))
    t = time.perf_counter()
    panel = build_panel(ds, segments.customers.set_index("customer_id")["tier"])
    stages.append(("panel", time.perf_counter() - t))
    t = time.perf_counter()
    result = forecast_panel(panel, protection_days(ds), ForecastConfig(), engine=args.engine)
    stages.append(("classify + backtest + select + quantiles", time.perf_counter() - t))
    ours = time.perf_counter() - started
    own, children = _peak_mib()

    n_sku, n_seg, n_days = panel.demand.shape
    series = np.arange(n_sku * n_seg)
    if args.peer_series:
        series = series[: args.peer_series]
    flat = panel.demand.reshape(n_sku * n_seg, n_days)[series]
    long = pd.DataFrame(
        {
            "unique_id": np.repeat(series, n_days),
            "ds": np.tile(panel.dates().to_numpy(), len(series)),
            "y": flat.reshape(-1).astype(float),
        }
    )
    from statsforecast import StatsForecast
    from statsforecast.models import TSB, CrostonClassic, SeasonalNaive

    peer = StatsForecast(
        models=[CrostonClassic(), TSB(alpha_d=0.1, alpha_p=0.1), SeasonalNaive(season_length=7)],
        freq="D",
        n_jobs=args.workers,
    )
    t = time.perf_counter()
    peer.forecast(df=long, h=28)
    theirs = time.perf_counter() - t
    theirs_per = theirs / len(series)

    table = Table(
        title=f"Forecasting a {args.size} world: {n_sku:,} SKUs x {n_seg} segments x {n_days} days"
    )
    for column in ("what", "series", "wall s", "ms / series"):
        table.add_column(column, justify="right")
    for name, secs in stages:
        table.add_row(
            f"replenish: {name}", f"{n_sku:,}", f"{secs:.1f}", f"{1000 * secs / n_sku:.2f}"
        )
    table.add_row(
        "replenish total",
        f"{n_sku * n_seg:,}",
        f"{ours:.1f}",
        f"{1000 * ours / (n_sku * n_seg):.2f}",
    )
    table.add_row(
        "statsforecast Croston+TSB+SeasonalNaive",
        f"{len(series):,}",
        f"{theirs:.1f}",
        f"{1000 * theirs_per:.2f}",
    )
    ratio = ours / (theirs_per * n_sku * n_seg)
    console.print(table)
    console.print(
        f"ratio replenish / statsforecast (per series, all {n_sku * n_seg:,}): {ratio:.2f}; "
        f"peak RSS: main process {own:,.0f} MiB, largest worker {children:,.0f} MiB; "
        f"models chosen: {result.selection['model'].value_counts().to_dict()}"
    )


if __name__ == "__main__":
    main()
