"""Demand classes by ADI and CV² (Syntetos-Boylan): smooth, erratic, intermittent, lumpy.

ADI is the average interval between demand periods (periods / periods with demand);
CV² is the squared coefficient of variation of the non-zero demand sizes. The usual
cut-offs 1.32 and 0.49 separate series where smoothing methods (ETS) work from those
needing intermittent-demand methods (Croston, SBA, TSB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
CLASSES = ("smooth", "erratic", "intermittent", "lumpy", "no demand")


@dataclass(frozen=True)
class DemandProfile:
    """Per-series statistics over `periods` periods (arrays aligned with the series)."""

    periods: int
    demand_periods: np.ndarray  # periods with demand > 0
    total: np.ndarray  # total demand, units
    adi: np.ndarray  # inf for a series with no demand
    cv2: np.ndarray  # 0 for fewer than two demand periods
    label: np.ndarray  # one of CLASSES


def classify(adi: np.ndarray, cv2: np.ndarray) -> np.ndarray:
    """The class of each series from its ADI and CV²; infinite ADI means no demand."""
    adi = np.asarray(adi, dtype=float)
    cv2 = np.asarray(cv2, dtype=float)
    frequent = adi < ADI_CUTOFF
    steady = cv2 < CV2_CUTOFF
    label = np.select(
        [~np.isfinite(adi), frequent & steady, frequent, steady],
        ["no demand", "smooth", "erratic", "intermittent"],
        "lumpy",
    )
    return label.astype(object)


def profile(
    series: np.ndarray, period: np.ndarray, quantity: np.ndarray, n_series: int, n_periods: int
) -> DemandProfile:
    """Profile series from demand records (series index, period index, units), vectorized.

    Records of the same (series, period) are summed first, so order lines can be passed
    as they are.
    """
    series = np.asarray(series, dtype=np.int64)
    period = np.asarray(period, dtype=np.int64)
    quantity = np.asarray(quantity, dtype=float)
    if series.size and (series.min() < 0 or series.max() >= n_series):
        raise ValueError("series index out of range")
    if period.size and (period.min() < 0 or period.max() >= n_periods):
        raise ValueError("period index out of range")
    keys, inverse = np.unique(series * n_periods + period, return_inverse=True)
    sizes = np.bincount(inverse, weights=quantity)
    cell_series = keys // n_periods
    positive = sizes > 0
    cell_series, sizes = cell_series[positive], sizes[positive]
    count = np.bincount(cell_series, minlength=n_series)
    total = np.bincount(cell_series, weights=sizes, minlength=n_series)
    sq = np.bincount(cell_series, weights=sizes**2, minlength=n_series)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, total / count, 0.0)
        var = np.where(count > 1, (sq - count * mean**2) / np.maximum(count - 1, 1), 0.0)
        cv2 = np.where(mean > 0, np.maximum(var, 0.0) / mean**2, 0.0)
        adi = np.where(count > 0, n_periods / count, np.inf)
    return DemandProfile(n_periods, count, total, adi, cv2, classify(adi, cv2))


def profile_matrix(y: np.ndarray) -> DemandProfile:
    """Profile dense series (n_series, n_periods) of non-negative demand, vectorized."""
    arr = np.asarray(y, dtype=float)
    positive = arr > 0
    count = positive.sum(axis=1)
    total = arr.sum(axis=1)
    sq = (arr**2).sum(axis=1)
    n_periods = arr.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        var = np.where(count > 1, (sq - count * mean**2) / np.maximum(count - 1, 1), 0.0)
        cv2 = np.where(mean > 0, np.maximum(var, 0.0) / np.maximum(mean, 1e-12) ** 2, 0.0)
        adi = np.where(count > 0, n_periods / np.maximum(count, 1), np.inf)
    return DemandProfile(n_periods, count, total, adi, cv2, classify(adi, cv2))
