"""The decision backtest on a generated history that never wrote its unserved lines."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import replenish.backtesting as bt
from contract.dataset import Dataset
from optimize.problem import ReorderProblem
from optimize.solve import solve
from replenish.backtest_report import verdicts, write_backtest
from replenish.backtesting import POLICIES, BacktestRequest, backtest, history_before, review_days
from simulations.world import generate, params_for


@pytest.fixture(scope="module")
def censored() -> Dataset:
    """A tiny world whose export, like most ERPs', has no line nothing was delivered on."""
    return generate(params_for("tiny", seed=11, record_unserved=False)).dataset


@pytest.fixture(scope="module")
def result(censored: Dataset) -> bt.BacktestResult:
    return backtest(censored, BacktestRequest(weeks=2, budget_share=0.5), engine="inline")


def test_the_product_sees_nothing_from_the_day_it_plans_on(censored: Dataset) -> None:
    day = censored.orders["date"].max() - pd.Timedelta(days=20)
    seen = history_before(censored, day)
    assert seen.orders["date"].max() < day
    assert seen.inventory is None  # each policy brings its own stock
    assert seen.customers is not None and (seen.customers["since"] < day).all()
    assert len(seen.orders) < len(censored.orders)


def test_review_dates_need_history_before_and_after(censored: Dataset) -> None:
    days = review_days(censored, BacktestRequest(weeks=3, review_days=7))
    assert len(days) == 3 and days[-1] + pd.Timedelta(days=7) == censored.orders[
        "date"
    ].max() + pd.Timedelta(days=1)
    first = censored.orders["date"].min().date()
    with pytest.raises(ValueError, match="days of history before its first review"):
        review_days(censored, BacktestRequest(start=first))
    with pytest.raises(ValueError, match="past the last order day"):
        last = censored.orders["date"].max().date()
        review_days(censored, BacktestRequest(start=last, weeks=2))
    with pytest.raises(ValueError, match="policies"):
        BacktestRequest(policies=("base-stock",))
    with pytest.raises(ValueError, match="budget_share"):
        BacktestRequest(budget_share=0.0)


def test_every_unit_asked_is_served_or_short_and_stock_is_conserved(
    result: bt.BacktestResult,
) -> None:
    p = result.periods
    assert set(p["policy"]) == set(POLICIES) and p["period"].nunique() == 2
    assert np.allclose(p["served_units"] + p["short_units"], p["demand_units"])
    assert np.allclose(
        p["stock_start_units"] + p["arrived_units"] - p["served_units"], p["stock_end_units"]
    )
    for _, mine in p.groupby("policy"):
        mine = mine.sort_values("period")
        assert np.allclose(mine["stock_start_units"].iloc[1:], mine["stock_end_units"].iloc[:-1])
    # The same demand is replayed for every policy, and every policy keeps the budget.
    assert p.groupby("period")["demand_units"].nunique().eq(1).all()
    assert (p["purchase_spend"] <= p["budget"] + 1e-6).all()
    assert np.allclose(
        p["net_value"], p["margin"] - p["holding"] - p["order_costs"] - p["clv_lost"]
    )
    t = result.tiers.groupby(["policy", "period"])[["demand_units", "served_units"]].sum()
    mine = p.set_index(["policy", "period"]).loc[t.index]
    assert np.allclose(t["demand_units"], mine["demand_units"])
    assert np.allclose(t["served_units"], mine["served_units"])


def test_the_summary_has_intervals_and_pairs_every_baseline_with_the_plan(
    result: bt.BacktestResult,
) -> None:
    s = result.summary
    net = s[s["metric"] == "net_value"].set_index("policy")
    assert (net["low"] <= net["value"] + 1e-6).all() and (net["value"] <= net["high"] + 1e-6).all()
    totals = result.periods.groupby("policy")["net_value"].sum()
    assert np.allclose(net.loc[totals.index, "value"], totals)
    paired = result.paired[result.paired["metric"] == "net_value"].set_index("policy")
    assert set(paired.index) == set(POLICIES) - {bt.PRODUCT}
    diff = totals.drop(bt.PRODUCT) - totals[bt.PRODUCT]
    assert np.allclose(paired.loc[diff.index, "minus_replenish"], diff)
    assert len(verdicts(result)) == len(POLICIES) - 1


def test_identical_decisions_give_identical_results(
    censored: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every policy ordering what the plan orders, with no reserve, must replay alike:
    nothing but the decision separates them."""

    def same(_policy: str, problem: ReorderProblem, _curves: object = None) -> np.ndarray:
        return np.asarray(solve(problem).packs * problem.pack_size)

    monkeypatch.setattr(bt, "_packs", same)
    monkeypatch.setattr(
        bt, "_reserve", lambda problem, _days: (np.zeros(problem.n_skus, np.int64), None)
    )
    out = backtest(censored, BacktestRequest(weeks=1, churn="preset"), engine="inline")
    numbers = out.periods.drop(columns=["policy"]).select_dtypes("number")
    assert (numbers.nunique() == 1).all()
    paired = out.paired
    assert np.allclose(paired[["minus_replenish", "low", "high"]].to_numpy(dtype=float), 0.0)


def test_the_files_are_written_together(result: bt.BacktestResult, tmp_path: Path) -> None:
    out = write_backtest(result, tmp_path / "bt")
    names = {p.name for p in out.iterdir()}
    assert names == {
        "backtest.csv",
        "backtest_tiers.csv",
        "backtest.json",
        "backtest.png",
        "backtest.html",
    }
    page = (out / "backtest.html").read_text(encoding="utf-8")
    assert verdicts(result)[0].split(" on net value")[0] in page
    assert len(pd.read_csv(out / "backtest.csv")) == len(result.periods)


def test_a_start_date_is_honoured(censored: Dataset) -> None:
    start = (censored.orders["date"].max() - pd.Timedelta(days=30)).date()
    days = review_days(censored, BacktestRequest(start=start, weeks=4, review_days=14))
    assert [d.date() for d in days] == [start, date.fromordinal(start.toordinal() + 14)]
