"""Days out of stock, known or inferred, and the demand they hid."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecast.engine import ForecastConfig, forecast_dataset, forecast_panel, protection_days
from forecast.panel import build_panel
from forecast.stockouts import (
    INFERRED,
    LEVEL_DAYS,
    SHORT,
    SNAPSHOT,
    infer_stockouts,
    lost_sales_table,
    snapshot_matrix,
)
from simulations.holdout import censored_holdout


def _poisson_with_gap(rate: float, days: int, gap: slice, seed: int = 0) -> np.ndarray:
    """One SKU's lines per day, Poisson(rate), with nothing sold during `gap`."""
    lines = np.random.default_rng(seed).poisson(rate, days)
    lines[gap] = 0
    return lines[None, :]


def test_a_long_run_of_zeros_on_a_fast_seller_is_judged_out() -> None:
    lines = _poisson_with_gap(6.0, 200, slice(100, 130))
    found = infer_stockouts(lines, np.zeros_like(lines, dtype=bool))
    assert found.out[0, 100:130].mean() > 0.9
    assert found.out[0, :95].mean() < 0.05  # P(no line | rate 6) = 0.25%: few false alarms
    assert (found.evidence[0, 100:130][found.out[0, 100:130]] == INFERRED).all()


def test_zeros_on_a_slow_seller_are_not_a_stockout() -> None:
    """At one line every four days, a week without a sale is ordinary."""
    lines = _poisson_with_gap(0.25, 400, slice(0, 0), seed=3)
    found = infer_stockouts(lines, np.zeros_like(lines, dtype=bool))
    assert found.out.mean() < 0.05


def test_days_before_a_skus_first_line_are_not_out_of_stock() -> None:
    """A SKU first sold on day 120 or later was not on sale before: nobody met a
    stockout of it, whichever rate judges the days."""
    lines = _poisson_with_gap(3.0, 240, slice(0, 120), seed=2)
    first = int(np.flatnonzero(lines[0])[0])
    assert first >= 120
    for level in (0, LEVEL_DAYS):
        found = infer_stockouts(lines, np.zeros_like(lines, dtype=bool), level_days=level)
        assert not found.on_sale[0, :first].any() and found.on_sale[0, first:].all()
        assert not found.out[0, :first].any()


def test_a_seasonal_skus_quiet_months_are_out_only_on_the_whole_history_rate() -> None:
    """Busy (5 lines a day), quiet (1 a day), busy again, with 15 days out in the second
    busy season. One rate over the history reads the quiet months' empty days as days
    out of stock; each day's local rate does not, and still finds the 15 days."""
    rate = np.r_[np.full(120, 5.0), np.full(120, 1.0), np.full(120, 5.0)]
    lines = np.asarray(np.random.default_rng(5).poisson(rate))[None, :]
    lines[0, 300:315] = 0
    short = np.zeros_like(lines, dtype=bool)
    whole = infer_stockouts(lines, short)
    local = infer_stockouts(lines, short, level_days=LEVEL_DAYS)
    quiet = slice(130, 230)  # away from the season's edges
    empty = lines[0, quiet] == 0
    assert empty.mean() > 0.25
    assert whole.out[0, quiet][empty].mean() > 0.9
    assert local.out[0, quiet].mean() < 0.05
    assert local.out[0, 300:315].all() and whole.out[0, 300:315].all()
    assert local.out[0, :120].mean() < 0.02


def test_a_day_with_a_sale_is_never_out_and_a_zero_snapshot_always_is() -> None:
    lines = _poisson_with_gap(0.5, 60, slice(0, 0), seed=1)
    snapshot = np.full(lines.shape, -1, dtype=np.int8)
    zero_days = np.flatnonzero(lines[0] == 0)[:5]
    snapshot[0, zero_days] = 0
    snapshot[0, np.flatnonzero(lines[0] > 0)[0]] = 0  # a sale that day outranks the count
    found = infer_stockouts(lines, np.zeros_like(lines, dtype=bool), snapshot)
    assert not found.out[lines > 0].any()
    assert found.out[0, zero_days].all()
    assert (found.evidence[0, zero_days] == SNAPSHOT).all()


def test_a_positive_snapshot_keeps_a_quiet_day_in_stock() -> None:
    lines = _poisson_with_gap(6.0, 200, slice(100, 130))
    snapshot = np.full(lines.shape, -1, dtype=np.int8)
    snapshot[0, 100:130] = 1  # counted on the shelf: nobody wanted it
    found = infer_stockouts(lines, np.zeros_like(lines, dtype=bool), snapshot)
    assert not found.out[0, 100:130].any()


def test_a_recorded_shortage_is_the_evidence_for_the_days_after_it() -> None:
    lines = _poisson_with_gap(6.0, 200, slice(100, 110))
    short = np.zeros_like(lines, dtype=bool)
    short[0, 99] = True
    found = infer_stockouts(lines, short)
    assert found.out[0, 100]
    assert found.evidence[0, 100] == SHORT


def test_snapshot_matrix_places_each_count_on_its_day() -> None:
    start = pd.Timestamp("2026-01-01")
    table = pd.DataFrame(
        {
            "sku_id": ["B", "A", "Z"],
            "date": pd.to_datetime(["2026-01-03", "2026-01-01", "2026-01-02"]),
            "on_hand": [0, 4, 0],
        }
    )
    m = snapshot_matrix(table, np.array(["A", "B"]), start, 4)
    assert m is not None
    assert m.tolist() == [[1, -1, -1, -1], [-1, -1, 0, -1]]  # unknown SKU "Z" ignored
    assert snapshot_matrix(None, np.array(["A"]), start, 4) is None


def test_lost_sales_are_the_estimate_less_the_record_on_days_out() -> None:
    lines = _poisson_with_gap(6.0, 200, slice(100, 130))
    found = infer_stockouts(lines, np.zeros_like(lines, dtype=bool))
    recorded = np.zeros((1, 200))
    estimated = np.full((1, 200), 2.5)
    table = lost_sales_table(np.array(["A"]), found, recorded, estimated)
    days = int(found.out.sum())
    assert table["days_out"].tolist() == [days]
    assert table["units_lost"].iloc[0] == pytest.approx(2.5 * days)
    assert table["days_inferred"].iloc[0] == days


# -- Acceptance: sales capped by stock, fully unserved lines never written ---------------

H = 28


def _censored_case(seed: int) -> tuple[float, float, float]:
    """On a generated world whose history drops the lines nothing was delivered on, the
    28-day forecast after a cut-off, summed over SKUs out of stock on >= 20% of the days
    before it: (true demand, forecast from forecast_dataset, the same models on the
    recorded sales alone)."""
    case = censored_holdout(seed, horizon=H)  # no stock_history: days out are inferred
    history = case.history
    assert len(case.rows) >= 30
    chosen = history.skus["sku_id"].iloc[case.rows]

    ours = forecast_dataset(history, ForecastConfig(horizon=H), engine="inline").result
    sales = replace(history, orders=history.orders.assign(quantity_short=0))
    panel = build_panel(sales)
    panel = replace(panel, censored=np.zeros_like(panel.censored))
    naive = forecast_panel(panel, protection_days(sales), ForecastConfig(horizon=H))

    def total(forecasts: pd.DataFrame) -> float:
        per_sku = forecasts[forecasts["segment"] == "ALL"].groupby("sku_id")["mean"].sum()
        return float(per_sku[chosen].sum())

    return float(case.truth.sum()), total(ours.forecasts), total(naive.forecasts)


@pytest.mark.slow
def test_unrecorded_lost_sales_are_forecast_within_ten_percent_in_aggregate() -> None:
    """Seeds 2 and 3 (the rule was shaped on seed 1): the same models on sales alone are
    over 30% low there; the unconstrained forecast is within 10% of true demand."""
    cases = [_censored_case(seed) for seed in (2, 3)]
    truth, ours, sales_only = (sum(c[i] for c in cases) for i in range(3))
    assert sales_only / truth - 1 < -0.30
    assert abs(ours / truth - 1) < 0.10
