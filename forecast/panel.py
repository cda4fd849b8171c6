"""The demand panel: units asked for per (SKU, segment, day), zero-filled, with stockouts.

Demand is what customers asked for (delivered + short), so a stockout does not read
as low demand. Days on which a SKU ran short are also marked *censored*: some demand
may not have been recorded at all (customers who saw the empty shelf and left), so
models see those days through `uncensor`, as the recent normal level, never as a dip.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from contract.dataset import Dataset

ANONYMOUS = "anon"
TOTAL = "ALL"


@dataclass(frozen=True)
class Panel:
    """Dense demand arrays. `demand[i, s, t]`: units of SKU i asked by segment s in period t.

    `censored[i, t]`: SKU i was short in period t. Periods are days (`freq="D"`) or
    weeks ending on the last day (`freq="W"`); `start` is the first period's first day.
    """

    sku_ids: np.ndarray
    segments: tuple[str, ...]
    start: pd.Timestamp
    freq: str
    demand: np.ndarray
    censored: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """Demand of all segments together, shape (n_skus, n_periods)."""
        total: np.ndarray = self.demand.sum(axis=1)
        return total

    @property
    def n_periods(self) -> int:
        return int(self.demand.shape[2])

    @property
    def period_days(self) -> int:
        return 7 if self.freq == "W" else 1

    def dates(self) -> pd.DatetimeIndex:
        """First day of every period."""
        return pd.date_range(self.start, periods=self.n_periods, freq=f"{self.period_days}D")

    @property
    def last_day(self) -> pd.Timestamp:
        return self.start + pd.Timedelta(days=self.n_periods * self.period_days - 1)


def build_panel(
    dataset: Dataset,
    tiers: pd.Series | None = None,
    freq: str = "D",
    leave_out: np.ndarray | None = None,
) -> Panel:
    """The panel of `dataset`; `tiers` maps customer_id -> segment label.

    Without tiers (or without a customers table) every line is in one segment, "ALL".
    Lines without a customer go to segment "anon" when tiers are given. Lines flagged in
    `leave_out` (one-off bulk orders, say) add no demand; the history's days stay as
    they were.
    """
    if freq not in ("D", "W"):
        raise ValueError("freq must be 'D' (days) or 'W' (weeks)")
    orders = dataset.orders
    if len(orders) == 0:
        raise ValueError("the dataset has no order lines: nothing to forecast")
    sku_ids = dataset.skus["sku_id"].to_numpy(dtype=object)
    sku = pd.Index(dataset.skus["sku_id"]).get_indexer(orders["sku_id"])
    first, _last = orders["date"].min(), orders["date"].max()
    day = (orders["date"] - first).dt.days.to_numpy()
    n_days = int(day.max()) + 1
    period_days = 7 if freq == "W" else 1
    n_periods = -(-n_days // period_days)
    # Weeks end on the last day of the history: the first (partial) week starts earlier.
    offset = n_periods * period_days - n_days
    period = (day + offset) // period_days
    start = first - pd.Timedelta(days=offset)

    if tiers is None:
        segments: tuple[str, ...] = (TOTAL,)
        seg = np.zeros(len(orders), dtype=np.int64)
    else:
        labels = tiers.reindex(orders["customer_id"]).astype(object).to_numpy()
        labels = np.where(pd.isna(labels), ANONYMOUS, labels).astype(str)
        present = sorted(set(labels.tolist()))
        ordered = [str(c) for c in getattr(tiers.dtype, "categories", [])]
        segments = tuple(
            [c for c in ordered if c in present] + [c for c in present if c not in ordered]
        )
        seg = pd.Index(segments).get_indexer(pd.Index(labels))

    qty = (orders["quantity"] + orders["quantity_short"]).to_numpy(dtype=np.float64)
    if leave_out is not None:
        qty = np.where(leave_out, 0.0, qty)
    n_seg = len(segments)
    flat = (sku * n_seg + seg) * n_periods + period
    demand = np.bincount(flat, weights=qty, minlength=len(sku_ids) * n_seg * n_periods)
    short = orders["quantity_short"].to_numpy() > 0
    if leave_out is not None:
        short &= ~leave_out
    censored = np.zeros(len(sku_ids) * n_periods, dtype=bool)
    censored[sku[short] * n_periods + period[short]] = True
    return Panel(
        sku_ids=sku_ids,
        segments=segments,
        start=start,
        freq=freq,
        demand=demand.reshape(len(sku_ids), n_seg, n_periods).astype(np.float32),
        censored=censored.reshape(len(sku_ids), n_periods),
    )


def uncensor(y: np.ndarray, censored: np.ndarray, window: int = 28) -> np.ndarray:
    """Demand with censored periods replaced by the recent uncensored mean.

    For each censored period the reference is the mean of the uncensored periods among
    the previous `window` ones (vectorized with cumulative sums); when a long stockout
    leaves none there, among the previous 4 x `window`, then the whole past, then the
    whole series (a SKU out of stock for months is not a SKU nobody wants); a series
    without any uncensored period keeps its values. Replacing (not raising to the max)
    keeps the series unbiased: measured on generated worlds, max() overstated demand by
    ~10%.
    """
    y = np.asarray(y, dtype=np.float64)
    shape = y.shape
    flat = y.reshape(-1, shape[-1])
    gone = np.asarray(censored, dtype=bool).reshape(flat.shape)
    out = flat.copy()
    rows, t = np.nonzero(gone)
    if not rows.size:
        return out.reshape(shape)
    ok = ~gone
    zeros = np.zeros((flat.shape[0], 1))
    cum_y = np.concatenate([zeros, np.cumsum(np.where(ok, flat, 0.0), axis=-1)], axis=-1)
    cum_n = np.concatenate([zeros, np.cumsum(ok, axis=-1)], axis=-1)
    # Only the censored periods need a reference: looked up in the running sums.
    reference = np.full(rows.size, np.nan)
    for span in (window, 4 * window, flat.shape[-1]):
        lo = np.maximum(t - span, 0)
        sums = cum_y[rows, t] - cum_y[rows, lo]
        counts = cum_n[rows, t] - cum_n[rows, lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            found = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        reference = np.where(np.isnan(reference), found, reference)
    seen = cum_n[rows, -1]
    overall = cum_y[rows, -1] / np.maximum(seen, 1)  # no past: the whole series
    reference = np.where(np.isnan(reference) & (seen > 0), overall, reference)
    out[rows, t] = np.where(np.isnan(reference), flat[rows, t], reference)
    return out.reshape(shape)


@dataclass(frozen=True)
class Uncensoring:
    """A history's `uncensor`, kept so that days appended to it are uncensored without
    redoing the history (a simulated policy's replans append its days and refit).

    `extend` gives exactly `uncensor` of the longer series: a history day's reference
    looks only at earlier days and stays, but the censored days before a row's first
    uncensored one take the whole series' mean (which new days change); a new day needs
    the last 4 x `window` days and the history's totals.
    """

    values: np.ndarray  # (rows, T) the history uncensored
    raw: np.ndarray  # (rows, T) the history as recorded
    censored: np.ndarray  # (rows, T)
    before_first: np.ndarray  # (rows, T) censored, with no uncensored day before
    sum_y: np.ndarray  # (rows,) units over the uncensored days
    sum_n: np.ndarray  # (rows,) uncensored days
    window: int = 28

    @classmethod
    def of(cls, y: np.ndarray, censored: np.ndarray, window: int = 28) -> Uncensoring:
        raw = np.asarray(y, dtype=np.float64)
        gone = np.asarray(censored, dtype=bool)
        ok = ~gone
        seen_before = np.cumsum(ok, axis=1) - ok  # uncensored days before each day
        return cls(
            values=uncensor(raw, gone, window),
            raw=raw,
            censored=gone,
            before_first=gone & (seen_before == 0),
            sum_y=np.where(ok, raw, 0.0).sum(axis=1),
            sum_n=ok.sum(axis=1).astype(np.int64),
            window=window,
        )

    def extend(
        self, y: np.ndarray, censored: np.ndarray, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """`uncensor` of the history followed by `y` (rows, D) with `censored` (rows, D);
        with `rows`, of those rows of the history only (`y` one row each)."""
        if rows is not None:
            return replace(
                self, values=self.values[rows], raw=self.raw[rows],
                censored=self.censored[rows], before_first=self.before_first[rows],
                sum_y=self.sum_y[rows], sum_n=self.sum_n[rows],
            ).extend(y, censored)  # fmt: skip
        new = np.asarray(y, dtype=np.float64)
        gone = np.asarray(censored, dtype=bool)
        rows_n, t_hist = self.raw.shape
        keep = min(4 * self.window, t_hist)  # the history days a new day's spans reach
        ok_tail = ~self.censored[:, t_hist - keep :]
        tail_y = np.where(ok_tail, self.raw[:, t_hist - keep :], 0.0)
        both_y = np.concatenate([tail_y, np.where(gone, 0.0, new)], axis=1)
        both_n = np.concatenate([ok_tail, ~gone], axis=1)
        zeros = np.zeros((rows_n, 1))
        cum_y = np.concatenate([zeros, np.cumsum(both_y, axis=1)], axis=1)
        cum_n = np.concatenate([zeros, np.cumsum(both_n, axis=1)], axis=1)
        r, i = np.nonzero(gone)
        p = keep + i  # the new day's position among the kept history and the new days
        reference = np.full(r.size, np.nan)
        for span in (self.window, 4 * self.window):
            lo = np.maximum(p - span, 0)
            sums, counts = cum_y[r, p] - cum_y[r, lo], cum_n[r, p] - cum_n[r, lo]
            with np.errstate(invalid="ignore", divide="ignore"):
                found = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
            reference = np.where(np.isnan(reference), found, reference)
        # The whole past: the history's totals and the new days before this one.
        past_y = self.sum_y[r] + cum_y[r, p] - cum_y[r, keep]
        past_n = self.sum_n[r] + cum_n[r, p] - cum_n[r, keep]
        with np.errstate(invalid="ignore", divide="ignore"):
            whole = np.where(past_n > 0, past_y / np.maximum(past_n, 1), np.nan)
        reference = np.where(np.isnan(reference), whole, reference)
        total_y = self.sum_y + cum_y[:, -1] - cum_y[:, keep]
        total_n = self.sum_n + cum_n[:, -1] - cum_n[:, keep]
        overall = total_y / np.maximum(total_n, 1)  # no past at all: the whole series
        reference = np.where(np.isnan(reference) & (total_n[r] > 0), overall[r], reference)
        out_new = new.copy()
        out_new[r, i] = np.where(np.isnan(reference), new[r, i], reference)
        history = self.values.copy()
        fr, ft = np.nonzero(self.before_first)
        history[fr, ft] = np.where(total_n[fr] > 0, overall[fr], self.raw[fr, ft])
        return np.concatenate([history, out_new], axis=1)
