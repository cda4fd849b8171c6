"""Held-out accuracy and interval coverage on generated worlds, against statsforecast.

For each cut-off (the last `--cutoffs` multiples of 28 days before the end), every
method forecasts 28 days from the history before it:
- accuracy on intermittent SKUs (ADI >= 1.32 in the history): RMSSE and MAE of daily
  forecasts, replenish's per-SKU choice against statsforecast's CrostonOptimized, TSB,
  ADIDA and IMAPA run on the same series in the same run;
- coverage: the share of SKUs whose actual demand over their protection interval
  (lead time + review, days) fell at or below replenish's q80 and q95 (nominal 80%, 95%).

- censored histories (`--censored-seeds`): worlds whose history drops every line that
  could not be served at all, as most ERPs do; for SKUs out of stock on >= 20% of the
  days, the 28-day forecast after a cut-off against true demand: replenish (stockouts
  inferred from sales alone, demand unconstrained) against the same models and
  statsforecast's intermittent models on the recorded sales.

    python -m benchmarks.forecast_accuracy [--size medium] [--cutoffs 3] [--seed 3] [--single]
    python -m benchmarks.forecast_accuracy --censored-only [--censored-seeds 2,3,4,5]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from contract import Dataset
from forecast.backtest import rmsse_scale
from forecast.engine import (
    ForecastConfig,
    ForecastResult,
    forecast_dataset,
    forecast_panel,
    protection_days,
)
from forecast.panel import build_panel, uncensor
from forecast.segments import segment_customers
from simulations.holdout import censored_holdout
from simulations.world import generate, params_for

H = 28


def _statsforecast(y: np.ndarray) -> dict[str, tuple[np.ndarray, float]]:
    from statsforecast.models import ADIDA, IMAPA, TSB, CrostonOptimized

    out: dict[str, tuple[np.ndarray, float]] = {}
    for model in (CrostonOptimized(), TSB(alpha_d=0.1, alpha_p=0.1), ADIDA(), IMAPA()):
        t = time.perf_counter()
        fc = np.array([model.forecast(y=row, h=H)["mean"] for row in y])
        out[f"{type(model).__name__} (statsforecast)"] = (fc, time.perf_counter() - t)
    return out


def _censored_rows(seed: int) -> dict[str, tuple[float, float, float, float]]:
    """Per method on one censored world, over the SKUs out of stock on >= 20% of the
    days before the cut-off: forecast total, true total, mean absolute error of each
    SKU's 28-day total (what an order is sized on), RMSE per SKU-day. (Daily MAE is left
    out: on intermittent days it rewards forecasting the median, zero.)"""
    case = censored_holdout(seed, horizon=H)
    history, rows, truth = case.history, case.rows, case.truth
    n_skus = len(history.skus)

    ours = forecast_dataset(history, ForecastConfig(horizon=H), engine="inline")
    sales = replace(history, orders=history.orders.assign(quantity_short=0))
    panel = build_panel(sales)
    panel = replace(panel, censored=np.zeros_like(panel.censored))
    naive = forecast_panel(panel, protection_days(sales), ForecastConfig(horizon=H))

    def daily(result: ForecastResult) -> np.ndarray:
        fc = result.forecasts[result.forecasts["segment"] == "ALL"]["mean"].to_numpy()
        return np.asarray(fc.reshape(n_skus, H)[rows], dtype=float)

    methods = {
        "replenish, demand unconstrained": daily(ours.result),
        "replenish models on sales alone": daily(naive),
    } | {name: fc for name, (fc, _) in _statsforecast(panel.total[rows]).items()}
    return {
        name: (
            float(fc.sum()),
            float(truth.sum()),
            float(np.abs(fc.sum(axis=1) - truth.sum(axis=1)).mean()),
            float(np.sqrt(((fc - truth) ** 2).mean())),
        )
        for name, fc in methods.items()
    }


def censored_table(seeds: list[int]) -> Table:
    """Aggregate bias and MAE against true demand, summed over `seeds`."""
    totals: dict[str, np.ndarray] = {}
    for seed in seeds:
        for name, row in _censored_rows(seed).items():
            weights = np.array([1, 1, len(seeds), len(seeds)])
            totals[name] = totals.get(name, np.zeros(4)) + np.array(row) / weights
    table = Table(
        title=f"Censored histories (seeds {seeds}): SKUs out >= 20% of days, 28 days ahead, "
        "vs true demand"
    )
    for column in ("method", "forecast / truth - 1", "MAE of 28-day totals", "RMSE (units/day)"):
        table.add_column(column, justify="right")
    for name, (fc, truth, mae, rmse) in totals.items():
        table.add_row(name, f"{100 * (fc / truth - 1):+.1f}%", f"{mae:.2f}", f"{rmse:.3f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="medium")
    parser.add_argument("--cutoffs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--single", action="store_true", help="keep the best model only (no ensemble of two)"
    )
    parser.add_argument("--censored-seeds", default="2,3,4,5")
    parser.add_argument("--censored-only", action="store_true")
    args = parser.parse_args()
    censored = censored_table([int(s) for s in args.censored_seeds.split(",")])
    if args.censored_only:
        Console(width=160).print(censored)
        return
    world = generate(params_for(args.size, seed=args.seed))
    ds = world.dataset
    end = ds.orders["date"].max()
    acc: dict[str, list[tuple[float, float, float]]] = {}
    cover: list[pd.DataFrame] = []
    for k in range(args.cutoffs, 0, -1):
        cut = end - pd.Timedelta(days=k * H + 60)
        hist = Dataset(
            ds.suppliers,
            ds.skus,
            ds.orders[ds.orders["date"] <= cut].reset_index(drop=True),
            ds.customers,
        )
        future = ds.orders[
            (ds.orders["date"] > cut) & (ds.orders["date"] <= cut + pd.Timedelta(days=60 + H))
        ]
        seg = segment_customers(hist)
        panel = build_panel(hist, seg.customers.set_index("customer_id")["tier"])
        days = protection_days(hist)
        t = time.perf_counter()
        result = forecast_panel(
            panel, days, ForecastConfig(horizon=H, ensemble=not args.single), engine="inline"
        )
        ours_s = time.perf_counter() - t
        # Actual daily demand after the cut, per SKU (asked for, as the panel counts it).
        offset = (future["date"] - cut).dt.days.to_numpy() - 1
        sku = pd.Index(ds.skus["sku_id"]).get_indexer(future["sku_id"])
        units = (future["quantity"] + future["quantity_short"]).to_numpy(float)
        actual = np.zeros((len(ds.skus), 60 + H))
        np.add.at(actual, (sku, offset), units)
        y = uncensor(panel.total, panel.censored)
        adi = y.shape[1] / np.maximum((y > 0).sum(axis=1), 1)
        inter = np.flatnonzero((adi >= 1.32) & ((y > 0).sum(axis=1) >= 2))
        ours = (
            result.forecasts[result.forecasts["segment"] == "ALL"]["mean"]
            .to_numpy()
            .reshape(len(ds.skus), H)
        )
        scale = rmsse_scale(y[inter], 7)
        methods = {"replenish (selected per SKU)": (ours[inter], ours_s)} | _statsforecast(y[inter])
        for name, (fc, secs) in methods.items():
            err = fc - actual[inter, :H]
            rmsse = float(np.mean(np.sqrt((err**2).mean(axis=1) / scale)))
            mae = float(np.abs(err).mean())
            acc.setdefault(name, []).append((rmsse, mae, secs))
        prot = result.protection[result.protection["segment"] == "ALL"]
        cum = np.cumsum(actual, axis=1)
        truth = cum[
            np.arange(len(ds.skus)), np.minimum(prot["days"].to_numpy(), actual.shape[1]) - 1
        ]
        sel = result.selection.set_index("sku_id")["demand_class"]
        cover.append(
            pd.DataFrame(
                {
                    "class": sel.reindex(prot["sku_id"]).to_numpy(),
                    "q80": truth <= prot["q80"].to_numpy(),
                    "q95": truth <= prot["q95"].to_numpy(),
                }
            )
        )
    console = Console(width=160)
    table = Table(
        title=f"Intermittent SKUs, 28 days ahead, {args.cutoffs} cut-offs ({args.size} world)"
    )
    for column in ("method", "RMSSE", "MAE (units/day)", "seconds"):
        table.add_column(column, justify="right")
    for name, rows in acc.items():
        r = np.array(rows)
        table.add_row(
            name, f"{r[:, 0].mean():.4f}", f"{r[:, 1].mean():.4f}", f"{r[:, 2].sum():.1f}"
        )
    console.print(table)
    cov = pd.concat(cover)
    table = Table(title="Protection-interval coverage (nominal 80% and 95%)")
    for column in ("class", "SKU-cutoffs", "q80 covers", "q95 covers"):
        table.add_column(column, justify="right")
    for label, group in [("all", cov), *cov.groupby("class")]:
        table.add_row(
            str(label),
            f"{len(group):,}",
            f"{100 * group['q80'].mean():.1f}%",
            f"{100 * group['q95'].mean():.1f}%",
        )
    console.print(table)
    console.print(censored)


if __name__ == "__main__":
    main()
