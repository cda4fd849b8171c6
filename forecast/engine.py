"""The forecasting engine: panel -> per-SKU model choice -> segment forecasts -> distributions.

Per SKU total (all segments together, stockout days uncensored):
1. classify by ADI / CV² (smooth, erratic, intermittent, lumpy, no demand) and spot
   brand-new SKUs (first sale less than `new_days` ago);
2. backtest the class's candidates on rolling origins and keep the best by RMSSE
   (or the mean of the best two with `ensemble`);
3. forecast the mean path with it;
4. split the path across segments by their recent shares of the SKU's demand (shrunk
   toward the catalogue's mix), so segment forecasts always sum to the SKU forecast;
5. turn means over each SKU's protection interval (lead time + review period, days)
   into negative-binomial distributions whose spread is calibrated on the backtest,
   plus what a random lead time adds: (daily demand)^2 x Var(lead time), the compound
   variance of demand over a random number of days (Silver, Pyke & Thomas, Inventory
   and Production Management in Supply Chains, 2017, sec. 6.10).

Fallbacks, never failures: a SKU that never sold forecasts zero ("zero"); a new SKU
uses the mean daily demand since its first sale ("new_sku_mean"), and a history too
short to backtest the mean of its last 56 days at most ("short_history_mean"). SKUs
are processed in chunks that run inline or on Dask with identical results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from contract.dataset import Dataset
from forecast.backtest import backtest
from forecast.bulk_orders import bulk_table, outsize_lines
from forecast.demand_class import profile_matrix
from forecast.distribution import (
    QUANTILES,
    ProtectionDemand,
    negbin_params,
    quantiles,
    random_length_variance,
)
from forecast.models import (
    SBA,
    TSB,
    Aggregated,
    Croston,
    Ensemble,
    Forecaster,
    SeasonalNaive,
    Statistical,
    WindowAverage,
    Zero,
    fit,
    forward,
    no_fits,
)
from forecast.panel import TOTAL, Panel, build_panel, uncensor
from forecast.prophet_model import MIN_DAYS, ProphetModel
from forecast.segments import Segments, segment_customers
from forecast.stockouts import Stockouts, infer_stockouts, lost_sales_table, snapshot_matrix
from runtime.parallel import run_chunks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForecastConfig:
    """Knobs of a forecasting run. Periods are days (the panel is daily)."""

    horizon: int = 28  # days of mean path written out
    backtest_horizon: int = 28
    backtest_origins: int = 3
    season: int = 7
    ensemble: bool = True  # mean of the two best: measured better calibrated than the best alone
    arima: bool = False  # AutoARIMA among the smooth candidates (slow)
    prophet: bool = False  # Prophet among the smooth candidates with a year of history (slow)
    holidays_country: str | None = None  # e.g. "US", "CN": Prophet's holiday calendar
    events: tuple[tuple[str, str], ...] = ()  # (name, YYYY-MM-DD) promotions for Prophet
    new_days: int = 56  # first sale fewer days ago than this -> new SKU
    share_days: int = 180  # window of the segment shares
    share_prior_units: float = 5.0  # pseudo-units of the catalogue's segment mix
    chunk_size: int = 500
    quantiles: tuple[float, ...] = QUANTILES

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1 day, got {self.horizon}")
        if self.backtest_horizon < 1 or self.backtest_origins < 1:
            raise ValueError("backtest_horizon and backtest_origins must be at least 1")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")


def candidates(
    label: str, config: ForecastConfig, start: str = "2000-01-01", periods: int = 0
) -> tuple[Forecaster, ...]:
    """The models tried for a demand class (`start`, `periods`: the history's days)."""
    s = config.season
    if label in ("smooth", "erratic"):
        # Damped-trend ETS and the dynamic optimized Theta, and their mean: on M3
        # monthly the pair beat AutoETS and AutoTheta at half AutoETS's CPU time
        # (benchmarks/README.md).
        ets = Aggregated(Statistical("ets_damped"), block=s)
        theta = Aggregated(Statistical("dotm"), block=s)
        models: list[Forecaster] = [
            SeasonalNaive(season=s),
            WindowAverage(window=28, season=s),
            ets,
            theta,
        ]
        if not config.ensemble:  # with the ensemble option the two best are averaged anyway
            models.append(Ensemble((ets, theta)))
        if config.arima:
            models.append(Aggregated(Statistical("arima"), block=s))
        if config.prophet and periods >= MIN_DAYS:
            models.append(ProphetModel(start, config.holidays_country, config.events))
        return tuple(models)
    return (
        Croston(),
        SBA(),
        TSB(),
        Statistical("adida"),
        WindowAverage(window=56, season=1, name="moving_average"),
    )


def by_name(config: ForecastConfig, start: str, periods: int) -> dict[str, Forecaster]:
    """Every model the engine can choose, by the name it records: each candidate of
    both demand classes and each pair the ensemble averages (in candidate order)."""
    out: dict[str, Forecaster] = {}
    for label in ("smooth", "intermittent"):
        models = candidates(label, config, start, periods)
        for i, first in enumerate(models):
            out[first.name] = first
            for second in models[i + 1 :]:
                pair = Ensemble((first, second))
                out[pair.name] = pair
    return out


@dataclass(frozen=True)
class _Chunk:
    y: np.ndarray  # uncensored SKU totals (n, T)
    days: np.ndarray  # protection interval per SKU, days
    start: str  # first day of the history, YYYY-MM-DD
    horizon: int
    config: ForecastConfig
    models: np.ndarray | None = None  # per SKU, a model chosen before (refit_panel)
    fitted: np.ndarray | None = None  # per SKU, what that model learned (models.fit)


@dataclass(frozen=True)
class _ChunkResult:
    label: np.ndarray  # demand class
    model: np.ndarray  # chosen model name
    mean: np.ndarray  # (n, horizon)
    dispersion: np.ndarray
    totals_forecast: np.ndarray  # (n, origins) of the chosen model; NaN when not backtested
    totals_actual: np.ndarray
    mase: np.ndarray  # of the chosen model; NaN when not backtested
    rmsse: np.ndarray
    fitted: np.ndarray  # per SKU, what the chosen model learned (None: nothing to keep)


def _dispersion(y: np.ndarray, days: int = 182, window: int = 28) -> np.ndarray:
    """Variance-to-mean ratio of recent daily demand around its 28-day trailing mean (>= 1)."""
    recent = y[:, -(days + window) :]
    n, t = recent.shape
    if t <= window:
        level = recent.mean(axis=1, keepdims=True)
        tail = recent
    else:
        cum = np.concatenate([np.zeros((n, 1)), np.cumsum(recent, axis=1)], axis=1)
        level = (cum[:, window:-1] - cum[:, : -window - 1]) / window  # mean of the 28 days before
        tail = recent[:, window:]
    mean = level.mean(axis=1)
    var = ((tail - level) ** 2).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(mean > 0, var / np.maximum(mean, 1e-12), 1.0)
    return np.clip(ratio, 1.0, 100.0)


def _forecast_chunk(chunk: _Chunk) -> _ChunkResult:
    cfg, y, h = chunk.config, chunk.y, chunk.horizon
    n, t = y.shape
    prof = profile_matrix(y)
    label, demand_days = prof.label, prof.demand_periods
    first_sale = np.where(demand_days > 0, (y > 0).argmax(axis=1), t)
    new = (demand_days > 0) & (t - first_sale < cfg.new_days)

    model = np.empty(n, dtype=object)
    mean = np.zeros((n, h))
    origins = cfg.backtest_origins
    totals_f = np.full((n, origins), np.nan)
    totals_a = np.full((n, origins), np.nan)
    mase = np.full(n, np.nan)
    rmsse = np.full(n, np.nan)
    fitted = no_fits(n)

    zero = demand_days == 0
    model[zero] = Zero().name
    # Backtests cover the longest protection interval of the chunk; shorter histories
    # than one such origin plus two seasons fall back.
    bt_h = max(cfg.backtest_horizon, int(chunk.days.max()) if chunk.days.size else 0)
    fallback = new | ((~zero) & (t < bt_h + 2 * cfg.season))
    if fallback.any():
        # Mean daily demand since the first sale, over at most the last 56 days.
        window = np.clip(t - first_sale[fallback], 1, 56)
        cum = np.concatenate(
            [np.zeros((int(fallback.sum()), 1)), np.cumsum(y[fallback], axis=1)], axis=1
        )
        recent = cum[:, -1] - cum[np.arange(window.size), t - window]
        mean[fallback] = (recent / window)[:, None]
        model[fallback] = np.where(new[fallback], "new_sku_mean", "short_history_mean")
    rest = ~zero & ~fallback
    if chunk.models is not None:
        # Refit: a SKU keeps the model chosen before, whatever its class is now, and
        # what it learned then (its states run over the longer history, nothing is
        # estimated again); only SKUs without a model (new, zero or short before) go
        # through the backtest.
        known = by_name(cfg, chunk.start, t)
        before = chunk.fitted if chunk.fitted is not None else no_fits(n)
        for name in {str(m) for m in chunk.models[rest]} & known.keys():
            target = np.flatnonzero(rest & (chunk.models == name))
            mean[target] = forward(known[name], before[target], y[target], h)
            fitted[target] = before[target]
            model[target] = name
            rest[target] = False
    for group in (("smooth", "erratic"), ("intermittent", "lumpy")):
        idx = np.flatnonzero(rest & np.isin(label, group))
        if idx.size == 0:
            continue
        models = candidates(group[0], cfg, chunk.start, t)
        bt = backtest(y[idx], models, bt_h, origins, cfg.season, window=chunk.days[idx])
        ranking = bt.ranking()
        # The two best in candidate order, so one pair always gets one name.
        picks = np.sort(ranking[:, :2], axis=1) if cfg.ensemble else ranking[:, :1]
        k = bt.totals_actual.shape[1]
        for combo in {tuple(p) for p in picks.tolist()}:
            rows = np.flatnonzero((picks == np.array(combo)).all(axis=1))
            members = tuple(models[j] for j in combo)
            chosen: Forecaster = members[0] if len(members) == 1 else Ensemble(members)
            target = idx[rows]
            mean[target], fitted[target] = fit(chosen, y[target], h)
            model[target] = chosen.name
            totals_f[target, :k] = bt.totals_forecast[rows][:, list(combo), :].mean(axis=1)
            totals_a[target, :k] = bt.totals_actual[rows]
            mase[target] = bt.mase[rows][:, list(combo)].mean(axis=1)
            rmsse[target] = bt.rmsse[rows][:, list(combo)].mean(axis=1)
    return _ChunkResult(
        label, model, np.maximum(mean, 0.0), _dispersion(y), totals_f, totals_a, mase, rmsse,
        fitted,
    )  # fmt: skip


@dataclass(frozen=True)
class ForecastResult:
    """Everything a forecasting run produced.

    `forecasts`: long format sku_id, segment, date, mean (units per day), segment "ALL"
    the SKU total. `protection`: sku_id, segment, days, mean, variance, q50 ... q99,
    model. `selection`: per SKU its class, model, backtest MASE and RMSSE (for a pair of
    models, the mean of the two models' errors), dispersion.
    """

    forecasts: pd.DataFrame
    protection: pd.DataFrame
    selection: pd.DataFrame
    segments: tuple[str, ...]
    # demand class -> (c², k) of the variance formula (see `_calibrate`)
    calibration: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Per SKU (selection order), what its model learned (`forecast.models.fit`), for a
    #: refit that only runs states forward (`refit_panel`); None: nothing kept.
    fitted: np.ndarray | None = field(default=None, repr=False, compare=False)

    def demand(self) -> ProtectionDemand:
        return ProtectionDemand(self.protection)


INFLATIONS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0)
CALIBRATION_LEVELS = (0.8, 0.95)


def _calibrate(res: _ChunkResult) -> dict[str, tuple[float, float]]:
    """Per demand class: (c², k) of variance = k * (dispersion * mean + c² * mean²).

    c² fits the backtest's squared errors of interval totals beyond the demand noise
    (`_level_error`); k is then the smallest factor in INFLATIONS for which the negative
    binomial covers the backtest's actual totals at every level of CALIBRATION_LEVELS
    (a split-conformal correction of the shape; the largest factor if none does).
    """
    out: dict[str, tuple[float, float]] = {}
    f, a = res.totals_forecast, res.totals_actual
    tested = np.isfinite(f).all(axis=1)
    for label in np.unique(res.label):
        rows = tested & (res.label == label)
        mean = np.maximum(f[rows].ravel(), 0.0)
        actual = a[rows].ravel()
        disp = np.broadcast_to(res.dispersion[rows, None], f[rows].shape).ravel()
        c2 = _level_error(mean, actual, disp)
        base = disp * mean + c2 * mean**2
        k = 1.0 if mean.size == 0 else INFLATIONS[-1]
        for factor in INFLATIONS if mean.size else ():
            n_, p_ = negbin_params(mean, factor * base)
            if all(
                (actual <= stats.nbinom.ppf(level, n_, p_)).mean() >= level
                for level in CALIBRATION_LEVELS
            ):
                k = factor
                break
        out[str(label)] = (c2, k)
    return out


def _level_error(f: np.ndarray, a: np.ndarray, disp: np.ndarray) -> float:
    """c² of excess squared error ~ c² * F², pooled as a ratio of sums.

    c² = sum((F - A)^2 - dispersion * F) / sum(F^2): the least-squares slope of excess
    squared error on F², which tiny series (whose relative errors explode) cannot
    dominate. (A linear term for slow movers was tried: it let them inflate every
    interval of their class; q50 coverage fell to 10%.)
    """
    level = float((f**2).sum())
    if level <= 0:
        return 0.25
    excess = float(((f - a) ** 2 - disp * f).sum())
    return max(excess / level, 0.0)


def _segment_shares(
    panel: Panel, config: ForecastConfig, mix: np.ndarray | None = None
) -> np.ndarray:
    """Share of each segment in each SKU's recent demand (n_skus, n_segments), rows sum to
    1, shrunk toward the catalogue's recent mix (`mix`: units per segment, when the
    panel holds only some of the catalogue's SKUs)."""
    days = max(1, config.share_days // panel.period_days)
    recent = panel.demand[:, :, -days:].sum(axis=2).astype(float)
    mix = recent.sum(axis=0) if mix is None else np.asarray(mix, dtype=float)
    if mix.sum() <= 0:
        mix = panel.demand.sum(axis=(0, 2)).astype(float)
    mix = (
        mix / mix.sum() if mix.sum() > 0 else np.full(len(panel.segments), 1 / len(panel.segments))
    )
    shares = recent + config.share_prior_units * mix[None, :]
    out: np.ndarray = shares / shares.sum(axis=1, keepdims=True)
    return out


def forecast_panel(
    panel: Panel,
    protection_days: np.ndarray,
    config: ForecastConfig | None = None,
    engine: str = "inline",
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    lead_time_sd: np.ndarray | None = None,
) -> ForecastResult:
    """Forecast every SKU of `panel`; `protection_days[i]` is SKU i's interval in days,
    `lead_time_sd[i]` the standard deviation of its lead time (days; None: fixed)."""
    return _forecast(panel, protection_days, config, engine, address, progress, lead_time_sd)


def refit_panel(
    panel: Panel,
    protection_days: np.ndarray,
    previous: ForecastResult,
    config: ForecastConfig | None = None,
    lead_time_sd: np.ndarray | None = None,
    detail: bool = True,
    uncensored: np.ndarray | None = None,
    mix: np.ndarray | None = None,
) -> ForecastResult:
    """Forecast every SKU of `panel` (a longer history of the same SKUs) with the model
    `previous` chose for it, what that model learned then (`ForecastResult.fitted`: its
    states are run over the longer history, its parameters kept) and `previous`'s
    calibration of the spread: the refresh between model selections, a fraction of
    `forecast_panel`'s time because nothing is backtested or estimated (0.35 s on the
    3,803 SKUs of a real retailer's history, whose whole forecast takes 17 s). SKUs
    `previous` had no model for (new, never sold, history too short) are treated as
    `forecast_panel` treats them. Runs inline. Without `detail`, only what a replan
    reads: `protection`'s days, mean and variance (no quantiles), no daily paths.
    `uncensored`: the panel's totals uncensored, when known (`panel.Uncensoring`);
    `mix`: the whole catalogue's recent units per segment, when `panel` holds some of
    its SKUs (each SKU's forecast is then what a refit of all of them gives it)."""
    chosen = previous.selection.set_index("sku_id")["model"]
    index = pd.Index(panel.sku_ids)
    models = chosen.reindex(index).fillna("").to_numpy(dtype=object)
    fitted = None
    if previous.fitted is not None:
        position = pd.Index(previous.selection["sku_id"]).get_indexer(index)
        fitted = np.asarray(
            np.where(position >= 0, previous.fitted[np.maximum(position, 0)], None), dtype=object
        )
    return _forecast(
        panel, protection_days, config, "inline", None, None, lead_time_sd,
        models=models, calibration=previous.calibration, fitted=fitted, detail=detail,
        uncensored=uncensored, mix=mix,
    )  # fmt: skip


def _forecast(
    panel: Panel,
    protection_days: np.ndarray,
    config: ForecastConfig | None,
    engine: str,
    address: str | None,
    progress: Callable[[int, int], None] | None,
    lead_time_sd: np.ndarray | None,
    models: np.ndarray | None = None,
    calibration: dict[str, tuple[float, float]] | None = None,
    fitted: np.ndarray | None = None,
    detail: bool = True,
    uncensored: np.ndarray | None = None,
    mix: np.ndarray | None = None,
) -> ForecastResult:
    cfg = config or ForecastConfig()
    if panel.freq != "D":
        raise ValueError("the engine forecasts daily panels")
    days = np.maximum(np.ceil(np.asarray(protection_days, dtype=float)), 1).astype(int)
    if days.shape != (len(panel.sku_ids),):
        raise ValueError("protection_days needs one value per SKU")
    if not np.isfinite(panel.demand).all():
        raise ValueError("the panel holds NaN or infinite demand")
    h = int(max(cfg.horizon, days.max()))
    y = uncensor(panel.total, panel.censored) if uncensored is None else uncensored
    if y.shape != panel.censored.shape:
        raise ValueError("the uncensored totals need one value per SKU and period")
    start = panel.start.strftime("%Y-%m-%d")
    size = cfg.chunk_size
    chunks = [
        _Chunk(
            y[i : i + size], days[i : i + size], start, h, cfg,
            None if models is None else models[i : i + size],
            None if fitted is None else fitted[i : i + size],
        )
        for i in range(0, len(y), size)
    ]  # fmt: skip
    parts = run_chunks(_forecast_chunk, chunks, engine=engine, address=address, progress=progress)
    res = _ChunkResult(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in _ChunkResult.__dataclass_fields__)
    )
    if calibration is None:
        calibration = _calibrate(res)
    res = replace(res, mean=plausible(res.mean, y, days))
    shares = _segment_shares(panel, cfg, mix)
    sd = np.zeros(len(days)) if lead_time_sd is None else np.asarray(lead_time_sd, dtype=float)
    if sd.shape != days.shape or (sd < 0).any() or not np.isfinite(sd).all():
        raise ValueError("lead_time_sd needs one finite, non-negative value per SKU")
    return _assemble(panel, res, shares, days, calibration, cfg, sd, detail)


#: No SKU's forecast over its protection interval exceeds this multiple of the most it
#: ever asked for over an interval as long (a trend may lift it; a model gone wild may not).
PLAUSIBLE = 3.0


def plausible(mean: np.ndarray, y: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The daily mean paths scaled down where their total over the protection interval
    would exceed PLAUSIBLE times the SKU's largest demand over any interval as long."""
    cum = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(y, axis=1)], axis=1)
    most = np.zeros(y.shape[0])
    for length in np.unique(days):
        rows = np.flatnonzero(days == length)
        span = min(int(length), y.shape[1])  # a history shorter than one interval: scaled
        most[rows] = (cum[rows, span:] - cum[rows, :-span]).max(axis=1) * length / span
    ahead = np.cumsum(mean, axis=1)[np.arange(mean.shape[0]), np.minimum(days, mean.shape[1]) - 1]
    limit = PLAUSIBLE * most
    scale = np.where(ahead > limit, limit / np.maximum(ahead, 1e-12), 1.0)
    return np.asarray(mean * scale[:, None])


def _assemble(
    panel: Panel,
    res: _ChunkResult,
    shares: np.ndarray,
    days: np.ndarray,
    calibration: dict[str, tuple[float, float]],
    cfg: ForecastConfig,
    lead_time_sd: np.ndarray,
    detail: bool = True,
) -> ForecastResult:
    n = len(panel.sku_ids)
    segments = panel.segments if panel.segments != (TOTAL,) else ()
    labels = (TOTAL, *segments)
    seg_share = np.concatenate([np.ones((n, 1)), shares], axis=1) if segments else np.ones((n, 1))

    k = len(labels)
    horizon = cfg.horizon if detail else 0
    dates = pd.date_range(panel.last_day + pd.Timedelta(days=1), periods=horizon, freq="D")
    path = res.mean[:, :horizon]
    forecasts = pd.DataFrame(
        {
            "sku_id": np.repeat(panel.sku_ids, k * horizon),
            "segment": np.tile(np.repeat(np.array(labels, dtype=object), horizon), n),
            "date": np.tile(dates.to_numpy(), n * k),
            "mean": (seg_share[:, :, None] * path[:, None, :]).reshape(-1),
        }
    )

    cum = np.cumsum(res.mean, axis=1)
    interval_mean = cum[np.arange(n), days - 1]
    default = (0.25, 1.0)  # a class without backtest (new, zero): wide by design
    c2, inflate = (
        np.repeat(np.array([calibration.get(str(lbl), default)[j] for lbl in res.label]), k)
        for j in range(2)
    )
    mean = (seg_share * interval_mean[:, None]).reshape(-1)
    disp = np.repeat(res.dispersion, k)
    # A random lead time adds (daily demand)^2 x Var(lead time) to the interval's
    # variance; segments share the one lead time, so the SKU's extra variance is split by
    # demand share (the segments' variances then still add up to the SKU total's).
    extra = (
        seg_share * random_length_variance(interval_mean, days, lead_time_sd)[:, None]
    ).reshape(-1)
    variance = inflate * (disp * mean + c2 * mean**2) + extra
    levels = cfg.quantiles if detail else ()
    q = quantiles(mean, variance, levels)
    protection = pd.DataFrame(
        {
            "sku_id": np.repeat(panel.sku_ids, k),
            "segment": np.tile(np.array(labels, dtype=object), n),
            "days": np.repeat(days, k),
            "mean": mean,
            "variance": variance,
            **{f"q{round(level * 100)}": q[:, j] for j, level in enumerate(levels)},
            "model": np.repeat(res.model, k),
        }
    )
    selection = pd.DataFrame(
        {
            "sku_id": panel.sku_ids,
            "demand_class": res.label,
            "model": res.model,
            "mase": res.mase,
            "rmsse": res.rmsse,
            "dispersion": res.dispersion,
        }
    )
    return ForecastResult(forecasts, protection, selection, labels, calibration, res.fitted)


def lead_time_sd(dataset: Dataset) -> np.ndarray:
    """Standard deviation of each SKU's lead time (its supplier's), in days, in the order
    of `dataset.skus`."""
    sd = pd.Series(
        dataset.suppliers["lead_time_sd_days"].to_numpy(), index=dataset.suppliers["supplier_id"]
    )
    return np.asarray(sd.reindex(dataset.skus["supplier_id"]).fillna(0.0).to_numpy(dtype=float))


def protection_days(dataset: Dataset) -> np.ndarray:
    """Lead time + review period per SKU, in days, in the order of `dataset.skus`."""
    review = pd.Series(
        dataset.suppliers["review_period_days"].to_numpy(), index=dataset.suppliers["supplier_id"]
    )
    lead = dataset.skus["lead_time_days"].to_numpy(dtype=float)
    return np.asarray(lead + review.reindex(dataset.skus["supplier_id"]).to_numpy(dtype=float))


@dataclass(frozen=True)
class DatasetForecast:
    """A forecasting run on a dataset: its segments (None without customers), panel
    (bulk lines left out, days out of stock censored), result, the days judged out of
    stock (`stockouts`), and for the buyer the lost sales per SKU (`lost_sales`) and the
    one-off bulk lines kept out of the forecast (`bulk_orders`)."""

    segments: Segments | None
    panel: Panel
    result: ForecastResult
    stockouts: Stockouts | None = None
    lost_sales: pd.DataFrame = field(default_factory=pd.DataFrame)
    bulk_orders: pd.DataFrame = field(default_factory=pd.DataFrame)

    def history_notes(self, limit: int = 20) -> dict[str, Any]:
        """What the history hid and what was kept out of it, for a plan's record: days
        judged out of stock and units lost (totals, the `limit` SKUs that lost most),
        and the one-off bulk lines (the `limit` largest; the count of all)."""
        lost, bulk = self.lost_sales, self.bulk_orders

        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            head = frame.head(limit).copy()
            for column in head.columns:
                if pd.api.types.is_datetime64_any_dtype(head[column]):
                    head[column] = head[column].dt.strftime("%Y-%m-%d")
            return [
                {str(k): (None if pd.isna(v) else v) for k, v in r.items()}
                for r in head.astype(object).to_dict(orient="records")
            ]

        return {
            "days_out_of_stock": int(lost["days_out"].sum()) if not lost.empty else 0,
            "skus_out_of_stock": len(lost),
            "units_lost": round(float(lost["units_lost"].sum()), 1) if not lost.empty else 0.0,
            "lost_sales": rows(lost),
            "bulk_lines": len(bulk),
            "bulk_orders": rows(bulk),
        }


def forecast_dataset(
    dataset: Dataset,
    config: ForecastConfig | None = None,
    engine: str = "inline",
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    segments: Segments | None = None,
) -> DatasetForecast:
    """Segments -> panel -> forecasts for every SKU of `dataset` (all of it is history).
    `segments`: the customers' tiers when already made (on a larger history than these
    SKUs' orders, say); else they are made from `dataset`.

    One-off bulk lines are left out of the demand (`forecast.bulk_orders`), and the days
    each SKU was out of stock are censored before anything is fitted
    (`forecast.stockouts`): what customers asked for, not what could be sold.
    """
    if segments is None and dataset.customers is not None:
        segments = segment_customers(dataset)
    tiers = segments.customers.set_index("customer_id")["tier"] if segments else None
    outsize = outsize_lines(dataset.orders)
    panel = build_panel(dataset, tiers, leave_out=outsize)
    stockouts = _stockouts(dataset, panel, outsize)
    # Before its first line a SKU was not on sale: its demand there is unknown too.
    panel = replace(panel, censored=panel.censored | stockouts.out | ~stockouts.on_sale)
    result = forecast_panel(
        panel, protection_days(dataset), config, engine, address, progress, lead_time_sd(dataset)
    )
    estimated = uncensor(panel.total, panel.censored)
    lost = lost_sales_table(panel.sku_ids, stockouts, panel.total, estimated)
    bulk = bulk_table(dataset.orders, outsize)
    return DatasetForecast(segments, panel, result, stockouts, lost, bulk)


def dataset_stockouts(dataset: Dataset, level_days: int = 0) -> tuple[Stockouts, pd.Timestamp]:
    """The days each SKU of `dataset` was out of stock, counted from the returned first
    day: what `forecast_dataset` censors (`level_days` 0), or judged on each SKU's
    local rate (`forecast.stockouts.LEVEL_DAYS`), without forecasting."""
    outsize = outsize_lines(dataset.orders)
    panel = build_panel(dataset, leave_out=outsize)
    return _stockouts(dataset, panel, outsize, level_days), panel.start


def _stockouts(
    dataset: Dataset, panel: Panel, outsize: np.ndarray, level_days: int = 0
) -> Stockouts:
    """Days each SKU was out of stock (`forecast.stockouts`), on the panel's days."""
    orders = dataset.orders
    n, t = len(panel.sku_ids), panel.n_periods
    sku = pd.Index(panel.sku_ids).get_indexer(pd.Index(orders["sku_id"]))
    day = (orders["date"] - panel.start).dt.days.to_numpy()
    keep = ~outsize & ((orders["quantity"] > 0) | (orders["quantity_short"] > 0)).to_numpy()
    lines = np.bincount(sku[keep] * t + day[keep], minlength=n * t).reshape(n, t)
    short = (orders["quantity_short"] > 0).to_numpy() & ~outsize
    short_days = np.zeros(n * t, dtype=bool)
    short_days[sku[short] * t + day[short]] = True
    snapshot = snapshot_matrix(dataset.stock_history, panel.sku_ids, panel.start, t)
    return infer_stockouts(lines, short_days.reshape(n, t), snapshot, level_days)
