"""Forecasting models, one small class per family, with one contract.

`model.forecast(y, h)` takes a matrix of equally long series (n_series, n_periods) of
non-negative demand and returns their mean paths (n_series, h), never negative. The
cheap families are vectorized across series (numpy); the statistical ones call
statsforecast's kernels series by series. Models are plain frozen dataclasses so they
pickle to Dask workers.

`fit(model, y, h)` also returns what the model learned per series (for the statistical
ones, statsforecast's fitted model: its components, parameters and initial states), and
`forward(model, fitted, y, h)` forecasts a longer history of the same series with it:
the states are run over the new history, nothing is estimated again (statsforecast's
`forward`). That is the cheap update between model selections a simulated policy makes
at each replan; models without parameters to keep simply forecast again.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)


class Forecaster(Protocol):
    """Anything with a name and a vectorized `forecast`."""

    @property
    def name(self) -> str: ...

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray: ...


def no_fits(n: int) -> np.ndarray:
    """Per series, nothing learned (an object array of None)."""
    return np.full(n, None, dtype=object)


def fit(model: Forecaster, y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """`model.forecast(y, h)` and, per series, what the model learned (an object array;
    None where it keeps nothing), for `forward`."""
    fitter = getattr(model, "fit", None)
    if fitter is None:
        return model.forecast(y, h), no_fits(len(y))
    mean, fitted = fitter(y, h)
    return mean, fitted


def forward(model: Forecaster, fitted: np.ndarray, y: np.ndarray, h: int) -> np.ndarray:
    """Mean paths of `y` (longer histories of the series `fit` saw) with what `fit`
    learned: states run over the new history, parameters kept. Series with nothing
    learned (None) are forecast as `model.forecast` would."""
    step = getattr(model, "forward", None)
    if step is None:
        return model.forecast(y, h)
    out: np.ndarray = step(fitted, y, h)
    return out


def check_series(y: np.ndarray, h: int) -> np.ndarray:
    """`y` as a float matrix (n_series, n_periods); ValueError for h < 1, NaN or bad shape."""
    if h < 1:
        raise ValueError(f"horizon must be at least 1 period, got {h}")
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError("y must be a matrix (n_series, n_periods) with at least one period")
    if not np.isfinite(arr).all():
        raise ValueError("y holds NaN or infinite values")
    return arr


@dataclass(frozen=True)
class Zero:
    """Nothing will be sold: the forecast of a series that never sold."""

    name: str = "zero"

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        arr = check_series(y, h)
        return np.zeros((arr.shape[0], h))


@dataclass(frozen=True)
class SeasonalNaive:
    """Repeat the last season (the last `season` periods)."""

    season: int = 7
    name: str = "seasonal_naive"

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        arr = check_series(y, h)
        season = min(self.season, arr.shape[1])
        last = arr[:, -season:]
        reps = -(-h // season)
        return np.tile(last, (1, reps))[:, :h]


@dataclass(frozen=True)
class WindowAverage:
    """Mean of the last `window` periods, shaped by the seasonal profile of that window.

    The profile (share of each position in the season) is shrunk toward flat with
    `shrink` pseudo-seasons so that sparse series do not get a spiky pattern.
    """

    window: int = 28
    season: int = 7
    shrink: float = 2.0
    name: str = "window_average"

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        arr = check_series(y, h)
        _n, t = arr.shape
        w = min(self.window, t)
        level = arr[:, -w:].mean(axis=1, keepdims=True)
        if self.season <= 1 or w < self.season:
            return np.repeat(level, h, axis=1)
        recent = arr[:, -w:]
        pos = (np.arange(t - w, t) - t) % self.season  # position 0 = the next period's slot
        sums = np.stack([recent[:, pos == k].sum(axis=1) for k in range(self.season)], axis=1)
        counts = np.array([(pos == k).sum() for k in range(self.season)], dtype=float)
        seasons = w / self.season
        per_slot = sums / counts  # mean demand in each slot
        flat = level
        profile = (per_slot * seasons + flat * self.shrink) / (seasons + self.shrink)
        profile *= np.where(profile.sum(axis=1, keepdims=True) > 0, 1.0, 0.0)
        scale = np.where(
            profile.mean(axis=1, keepdims=True) > 0,
            level / np.maximum(profile.mean(axis=1, keepdims=True), 1e-12),
            0.0,
        )
        steps = np.arange(h) % self.season
        out: np.ndarray = profile[:, steps] * scale
        return out


def _flat(rate: np.ndarray, h: int) -> np.ndarray:
    """A constant path of `h` periods at each series' rate."""
    return np.repeat(rate[:, None], h, axis=1)


def _ses_levels(x: np.ndarray, mask: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """SES over the entries of each row where `mask` is true, vectorized across rows.

    The level starts at the first masked entry (as statsforecast's ses does); returns the
    final level and whether the row had any entry. In closed form rather than a loop
    over periods: after m entries x_1 .. x_m the level is
    (1 - a)^(m-1) x_1 + sum_{j >= 2} a (1 - a)^(m-j) x_j.
    """
    rank = np.cumsum(mask, axis=1)  # 1 at a row's first entry, m at its last
    count = rank[:, -1:]
    decay = (1.0 - alpha) ** (count - rank)
    weight = np.where(mask, np.where(rank == 1, decay, alpha * decay), 0.0)
    level = (weight * x).sum(axis=1)
    return level, count[:, 0] > 0


def _croston(y: np.ndarray, alpha: float) -> np.ndarray:
    """Croston's per-period rate: SES of non-zero sizes over SES of inter-demand intervals."""
    n, t = y.shape
    nonzero = y > 0
    # Interval ending at each demand: periods since the previous demand (first: index+1).
    idx = np.where(nonzero, np.arange(t), -1)
    prev = np.maximum.accumulate(np.concatenate([np.full((n, 1), -1), idx[:, :-1]], axis=1), axis=1)
    intervals = np.where(nonzero, np.arange(t) - prev, 0).astype(float)
    size, any_demand = _ses_levels(y, nonzero, alpha)
    gap, _ = _ses_levels(intervals, nonzero, alpha)
    rate = np.where(gap != 0, size / np.where(gap != 0, gap, 1.0), size)
    return np.where(any_demand, rate, 0.0)


@dataclass(frozen=True)
class Croston:
    """Croston's method (classic, smoothing 0.1), as statsforecast's CrostonClassic."""

    alpha: float = 0.1
    name: str = "croston"

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        arr = check_series(y, h)
        return _flat(_croston(arr, self.alpha), h)


@dataclass(frozen=True)
class SBA:
    """Syntetos-Boylan approximation: Croston debiased by (1 - alpha / 2)."""

    alpha: float = 0.1
    name: str = "sba"

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        arr = check_series(y, h)
        return _flat(_croston(arr, self.alpha) * (1 - self.alpha / 2), h)


@dataclass(frozen=True)
class TSB:
    """Teunter-Syntetos-Babai: SES of demand probability x SES of non-zero sizes.

    Unlike Croston, the probability decays while nothing sells, so a dying item's
    forecast goes down.
    """

    alpha_d: float = 0.1
    alpha_p: float = 0.1
    name: str = "tsb"

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        arr = check_series(y, h)
        nonzero = arr > 0
        size, any_demand = _ses_levels(arr, nonzero, self.alpha_d)
        prob, _ = _ses_levels(nonzero.astype(float), np.ones_like(nonzero), self.alpha_p)
        return _flat(np.where(any_demand, prob * size, 0.0), h)


STATISTICAL_KINDS = ("ets", "ets_damped", "theta", "dotm", "arima", "adida")


def _statsforecast_model(kind: str, season: int) -> Any:
    from statsforecast.models import ADIDA, AutoARIMA, AutoETS, AutoTheta, DynamicOptimizedTheta

    if kind == "ets":
        return AutoETS(season_length=season)
    if kind == "ets_damped":
        return AutoETS(season_length=season, damped=True)
    if kind == "theta":
        return AutoTheta(season_length=season)
    if kind == "dotm":
        return DynamicOptimizedTheta(season_length=season)
    if kind == "arima":
        return AutoARIMA(season_length=season)
    if kind == "adida":
        return ADIDA()
    raise ValueError(f"unknown statistical model {kind!r}; one of {STATISTICAL_KINDS}")


@dataclass(frozen=True)
class Statistical:
    """A statsforecast model fitted per series: AutoETS ("ets"), damped-trend AutoETS
    ("ets_damped"), AutoTheta ("theta"), the dynamic optimized Theta ("dotm"),
    AutoARIMA ("arima") or ADIDA ("adida", aggregate-disaggregate for intermittent demand).

    A series the kernel cannot fit (too short for the season, constant, numerical
    failure) falls back to the mean of its last `season` periods, logged, never NaN.
    """

    kind: str = "ets"  # one of STATISTICAL_KINDS
    season: int = 1

    def __post_init__(self) -> None:
        if self.kind not in STATISTICAL_KINDS:
            raise ValueError(f"unknown statistical model {self.kind!r}; one of {STATISTICAL_KINDS}")

    @property
    def name(self) -> str:
        return self.kind

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        return self._run(y, h, None)[0]

    def fit(self, y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
        """`forecast`, and per series the fitted statsforecast model (None where the
        series fell back to its recent mean)."""
        return self._run(y, h, no_fits(len(y)))

    def forward(self, fitted: np.ndarray, y: np.ndarray, h: int) -> np.ndarray:
        """Longer histories forecast with each series' fitted model (states re-run over
        `y`, parameters kept); a series without one is fitted anew."""
        return self._run(y, h, None, fitted)[0]

    def _run(
        self, y: np.ndarray, h: int, keep: np.ndarray | None, fitted: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        arr = check_series(y, h)
        out = np.empty((arr.shape[0], h))
        for i, row in enumerate(arr):
            season = self.season if row.size >= 2 * self.season + 2 else 1
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    known = None if fitted is None else fitted[i]
                    if known is not None:
                        mean = known.forward(y=row, h=h)["mean"]
                    elif keep is not None:
                        model = _statsforecast_model(self.kind, season).fit(y=row)
                        mean = model.predict(h=h)["mean"]
                        keep[i] = model if hasattr(model, "forward") else None
                    else:
                        mean = _statsforecast_model(self.kind, season).forecast(y=row, h=h)["mean"]
                if not np.isfinite(mean).all():
                    raise FloatingPointError("non-finite forecast")
            except Exception as exc:  # statsforecast raises many types on degenerate input
                log.debug("%s failed on a series (%s); using its recent mean", self.kind, exc)
                mean = np.full(h, row[-max(self.season, 1) :].mean())
                if keep is not None:
                    keep[i] = None
            out[i] = mean
        return np.maximum(out, 0.0), (no_fits(0) if keep is None else keep)


@dataclass(frozen=True)
class Aggregated:
    """Forecast blocks of `block` periods with `inner`, then split them by position.

    For daily data with a weekly cycle: weekly totals carry level, trend and yearly
    movement cheaply (a 104-point series instead of 730), and each day gets its share of
    the week from the series' recent weekday profile (shrunk toward flat).
    """

    inner: Statistical
    block: int = 7
    profile_blocks: int = 8
    shrink: float = 2.0

    @property
    def name(self) -> str:
        return (
            f"{self.inner.name}_weekly" if self.block == 7 else f"{self.inner.name}_x{self.block}"
        )

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        return self._run(y, h, "forecast", None)[0]

    def fit(self, y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
        """`forecast`, and per series what the inner model learned on the block totals."""
        return self._run(y, h, "fit", None)

    def forward(self, fitted: np.ndarray, y: np.ndarray, h: int) -> np.ndarray:
        """Longer histories: block totals through the inner model's `forward`."""
        return self._run(y, h, "forward", fitted)[0]

    def _run(
        self, y: np.ndarray, h: int, how: str, fitted: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        arr = check_series(y, h)
        n, t = arr.shape
        blocks = t // self.block
        if blocks < 2:
            return WindowAverage(window=t, season=self.block).forecast(arr, h), no_fits(n)
        tail = arr[:, t - blocks * self.block :].reshape(n, blocks, self.block)
        totals = tail.sum(axis=2)
        steps = -(-h // self.block)
        learned = no_fits(n)
        if how == "fit":
            ahead, learned = self.inner.fit(totals, steps)
        elif how == "forward" and fitted is not None:
            ahead = self.inner.forward(fitted, totals, steps)
        else:
            ahead = self.inner.forecast(totals, steps)
        recent = tail[:, -self.profile_blocks :, :].sum(axis=1)
        k = min(self.profile_blocks, blocks)
        flat = recent.sum(axis=1, keepdims=True) / (self.block * k)  # one block's flat slot
        profile = recent + self.shrink * flat  # `shrink` pseudo-blocks of a flat week
        sums = profile.sum(axis=1, keepdims=True)
        share = np.where(sums > 0, profile / np.where(sums > 0, sums, 1.0), 1.0 / self.block)
        daily = ahead[:, :, None] * share[:, None, :]
        out: np.ndarray = daily.reshape(n, -1)[:, :h]
        return out, learned


@dataclass(frozen=True)
class Ensemble:
    """The mean of several models' forecasts."""

    members: tuple[Any, ...]

    @property
    def name(self) -> str:
        return "+".join(m.name for m in self.members)

    def forecast(self, y: np.ndarray, h: int) -> np.ndarray:
        paths = [m.forecast(y, h) for m in self.members]
        out: np.ndarray = np.mean(paths, axis=0)
        return out

    def fit(self, y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
        """`forecast`, and per series a tuple of what each member learned."""
        runs = [fit(m, y, h) for m in self.members]
        learned = no_fits(len(y))
        for i in range(len(y)):
            learned[i] = tuple(fitted[i] for _, fitted in runs)
        out: np.ndarray = np.mean([mean for mean, _ in runs], axis=0)
        return out, learned

    def forward(self, fitted: np.ndarray, y: np.ndarray, h: int) -> np.ndarray:
        """Each member's `forward` with its part of `fitted`, averaged."""
        paths = []
        for j, member in enumerate(self.members):
            mine = no_fits(len(y))
            for i, entry in enumerate(fitted):
                mine[i] = entry[j] if isinstance(entry, tuple) else None
            paths.append(forward(member, mine, y, h))
        out: np.ndarray = np.mean(paths, axis=0)
        return out
