"""Demand over the protection interval as a distribution: mean, quantiles, a pmf.

Total demand of a SKU (or a segment of its customers) over P days is modelled as a
negative binomial matched to a mean and a variance:

    variance = dispersion * mean + level_error**2 * mean**2

`dispersion` (>= 1) is the variance-to-mean ratio of daily demand around its recent
level (lumpy quantities push it above the Poisson 1); `level_error` is the relative
error of the selected model's interval totals in the backtest beyond that noise. With
both at their floor (1, 0) the distribution is Poisson. Never negative; a zero mean is
a point mass at zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

QUANTILES = (0.5, 0.8, 0.9, 0.95, 0.99)


def negbin_params(mean: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scipy's (n, p) of the negative binomial with this mean and variance.

    Where the variance does not exceed the mean, a very large n makes it Poisson in
    all but name (n = 1e9).
    """
    mean = np.asarray(mean, dtype=float)
    excess = np.asarray(variance, dtype=float) - mean
    n = np.where(excess > 1e-9 * np.maximum(mean, 1e-12), mean**2 / np.maximum(excess, 1e-300), 1e9)
    n = np.maximum(n, 1e-9)
    p = n / (n + mean)
    return n, p


def random_length_variance(
    interval_mean: np.ndarray, days: np.ndarray, days_sd: np.ndarray
) -> np.ndarray:
    """What a random interval length adds to the variance of demand over it (units^2):
    (mean daily demand)^2 x Var(length), for an interval of `days` on average with
    standard deviation `days_sd` (the compound variance E[T] Var(d) + E[d]^2 Var(T) of a
    sum of T daily demands d, whose first term the interval's own variance holds)."""
    daily = np.asarray(interval_mean, dtype=float) / np.maximum(np.asarray(days, dtype=float), 1e-9)
    return np.asarray(daily**2 * np.asarray(days_sd, dtype=float) ** 2)


def quantiles(mean: np.ndarray, variance: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """Quantiles (units, whole numbers) per row, shape (len(mean), len(levels))."""
    mean = np.asarray(mean, dtype=float)
    n, p = negbin_params(mean, variance)
    out = (
        np.column_stack([stats.nbinom.ppf(q, n, p) for q in levels])
        if len(mean) and levels
        else np.zeros((len(mean), len(levels)))
    )
    out = np.where(mean[:, None] > 0, out, 0.0)
    return np.nan_to_num(out, nan=0.0)


def pmf(mean: float, variance: float, tail: float = 1e-6, upto: float | None = None) -> np.ndarray:
    """Probabilities of 0, 1, 2, ... units, cut where the tail is below `tail`, summing
    to 1. With `upto`, demand above it is one atom at upto + 1 (for a decision that never
    looks past `upto` units, the rest of the tail changes nothing, and a mean of millions
    then costs no memory)."""
    if mean <= 0:
        return np.ones(1)
    n, p = negbin_params(np.array([mean]), np.array([variance]))
    top = int(min(stats.nbinom.ppf(1 - tail, n[0], p[0]), 1e15))
    if upto is not None and top > upto + 1:
        cut = int(upto)
        probs = np.append(stats.nbinom.pmf(np.arange(cut + 1), n[0], p[0]),
                          stats.nbinom.sf(cut, n[0], p[0]))  # fmt: skip
    else:
        probs = stats.nbinom.pmf(np.arange(top + 1), n[0], p[0])
    total = probs.sum()
    return np.asarray(probs / total)


def pmfs(
    mean: np.ndarray,
    variance: np.ndarray,
    tail: float = 1e-6,
    lot: np.ndarray | None = None,
    top: np.ndarray | None = None,
    upto: np.ndarray | None = None,
) -> list[np.ndarray]:
    """`pmf` of many (mean, variance) pairs at once: one scipy call for all of them
    (`upto`: one value per pair, as `pmf` takes it).

    With `lot` (units per point, one per pair), point j of a pair holds the probability
    that demand rounds to j lots (units within half a lot of j x lot): a demand of
    thousands of units in a few hundred points, whose sums over pairs (convolutions) stay
    unbiased in units. Point 0 is exact (the CDF at half a lot); the others follow the
    midpoint rule, lot x pmf(j x lot) with the pmf's log-gamma form; all renormalized:
    exact for lots of one unit, and within a small fraction of a point's mass where the
    lots are narrow against the spread (as `grouped_pmfs` makes them). `top`: each
    pair's 1 - `tail` quantile, when known.
    """
    mean = np.asarray(mean, dtype=float).ravel()
    variance = np.asarray(variance, dtype=float).ravel()
    if mean.size == 0:
        return []
    size = np.ones(mean.size, dtype=np.int64) if lot is None else np.asarray(lot).ravel()
    if size.shape != mean.shape or (size < 1).any():
        raise ValueError("lot needs one whole number of units (>= 1) per pair")
    size = size.astype(np.int64)
    n, p = negbin_params(np.maximum(mean, 1e-12), variance)
    if top is None:
        top = np.where(mean > 0, np.minimum(stats.nbinom.ppf(1 - tail, n, p), 1e15), 0)
    sizes = np.asarray(top).astype(np.int64) // size + 1
    cut = np.zeros(mean.size, dtype=bool)
    if upto is not None:  # demand above `upto` is one atom at upto + 1 (`pmf`)
        limit = np.asarray(upto, dtype=float).ravel().astype(np.int64)
        cut = (mean > 0) & (size == 1) & (sizes > limit + 2)
        sizes = np.where(cut, limit + 2, sizes)
    owner = np.repeat(np.arange(mean.size), sizes)
    ks = np.arange(owner.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    probs = np.ones(owner.size)
    whole = (size[owner] == 1) & (mean[owner] > 0)
    probs[whole] = stats.nbinom.pmf(ks[whole], n[owner[whole]], p[owner[whole]])
    if cut.any():
        last = np.cumsum(sizes)[cut] - 1
        probs[last] = stats.nbinom.sf(ks[last] - 1, n[cut], p[cut])
    lots = (size[owner] > 1) & (mean[owner] > 0)
    if lots.any():
        o = owner[lots]
        x = (ks[lots] * size[o]).astype(float)
        log_pmf = (
            special.gammaln(x + n[o]) - special.gammaln(n[o]) - special.gammaln(x + 1.0)
            + n[o] * np.log(p[o]) + x * np.log1p(-p[o])
        )  # fmt: skip
        probs[lots] = size[o] * np.exp(log_pmf)
        first = np.flatnonzero(lots)[ks[lots] == 0]  # units 0 .. ceil(lot / 2) - 1
        o = owner[first]
        probs[first] = stats.nbinom.cdf(np.ceil(size[o] / 2.0) - 1, n[o], p[o])
    parts = np.split(probs, np.cumsum(sizes)[:-1])
    return [part / part.sum() for part in parts]


#: `upper_quantile` sums the pmf this far by recursion before it asks scipy.
SMALL_QUANTILE = 64


def upper_quantile(n: np.ndarray, p: np.ndarray, level: float) -> np.ndarray:
    """The negative binomial's `level` quantile (the least k with P(D <= k) >= level) for
    many (n, p) at once: by the pmf's recursion P(k + 1) = P(k) (k + n) (1 - p) / (k + 1)
    where it is reached within SMALL_QUANTILE units (a thin catalogue's tens of
    thousands of slow movers), by scipy's ppf for the rest."""
    shape = np.shape(n)
    n = np.asarray(n, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    out = np.full(n.size, np.nan)
    pmf_k = np.exp(n * np.log(p))  # P(D = 0) = p^n
    cdf = pmf_k.copy()
    open_ = np.ones(n.size, dtype=bool)
    for k in range(SMALL_QUANTILE):
        reached = open_ & (cdf >= level)
        out[reached] = k
        open_ &= ~reached
        if not open_.any():
            break
        pmf_k = pmf_k * (k + n) * (1.0 - p) / (k + 1)
        cdf = cdf + pmf_k
    if open_.any():
        out[open_] = stats.nbinom.ppf(level, n[open_], p[open_])
    return out.reshape(shape)


def grouped_pmfs(
    mean: np.ndarray, variance: np.ndarray, points: int, tail: float = 1e-6
) -> tuple[list[np.ndarray], np.ndarray]:
    """`pmfs` of each row's pairs (a SKU's segments, say: mean and variance (rows,
    pairs)) in lots of units shared by the row, so that a row's supports add up to at
    most about `points` points; returns the pmfs (row-major) and units per lot per row
    (1 where the units fit)."""
    mean = np.asarray(mean, dtype=float)
    variance = np.asarray(variance, dtype=float)
    if mean.ndim != 2 or mean.shape != variance.shape or points < 1:
        raise ValueError("mean and variance must be (rows, pairs) alike and points >= 1")
    n, p = negbin_params(np.maximum(mean, 1e-12), variance)
    top = np.where(mean > 0, upper_quantile(n, p, 1 - tail), 0.0)
    lot = np.maximum(np.ceil((top + 1).sum(axis=1) / points), 1).astype(np.int64)
    flat = pmfs(mean, variance, tail, np.repeat(lot, mean.shape[1]), top=top.ravel())
    return flat, lot


@dataclass(frozen=True)
class ProtectionDemand:
    """Demand over each row's protection interval (days), for the optimizer.

    Rows are (sku_id, segment) pairs; segment "ALL" is the SKU total. `variance`
    and `mean` fully define each row's negative binomial.
    """

    table: pd.DataFrame  # sku_id, segment, days, mean, variance, model, q50 ... q99

    def row(self, sku_id: str, segment: str = "ALL") -> pd.Series:
        match = self.table[(self.table["sku_id"] == sku_id) & (self.table["segment"] == segment)]
        if match.empty:
            raise KeyError(f"no protection demand for sku {sku_id!r}, segment {segment!r}")
        return match.iloc[0]

    def pmf(self, sku_id: str, segment: str = "ALL") -> np.ndarray:
        """P(demand = k units) for k = 0, 1, ... over the SKU's protection interval."""
        r = self.row(sku_id, segment)
        return pmf(float(r["mean"]), float(r["variance"]))
