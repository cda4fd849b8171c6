"""Metrics from runs: CIs and paired differences against hand-computed values, care lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulations.engine import Conditions, run_policy
from simulations.metrics import ALL, METRICS, care_list, lookup, paired, run_metrics, summarize
from simulations.model import Behaviour, SimWorld
from simulations.policies import MinMaxPolicy


def _cells(values: dict[str, list[float]]) -> pd.DataFrame:
    """One segment (ALL), metric 'profit' as given per policy; other metrics zero."""
    rows = []
    for policy, profits in values.items():
        for r, v in enumerate(profits):
            row: dict[str, object] = {m: 0.0 for m in METRICS}
            row.update(scenario="s", policy=policy, replication=r, segment=ALL, profit=v)
            rows.append(row)
    return pd.DataFrame(rows)


def test_summary_ci_is_the_student_t_interval() -> None:
    data = [10.0, 12.0, 11.0, 15.0]
    out = lookup(summarize(_cells({"p": data})))
    mean, low, high = out[("s", "p", ALL, "profit")]
    half = stats.t.ppf(0.975, 3) * np.std(data, ddof=1) / 2
    assert mean == pytest.approx(12.0)
    assert (low, high) == pytest.approx((12.0 - half, 12.0 + half))


def test_paired_differences_use_the_replication_pairs() -> None:
    ref = [100.0, 200.0, 300.0, 400.0]
    new = [103.0, 201.0, 304.0, 402.0]  # wildly spread, but always a little better
    out = paired(_cells({"ref": ref, "new": new}), "ref")
    row = out[(out["metric"] == "profit")].iloc[0]
    diffs = np.subtract(new, ref)
    half = stats.t.ppf(0.975, 3) * np.std(diffs, ddof=1) / 2
    assert row["diff"] == pytest.approx(2.5)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((2.5 - half, 2.5 + half))
    assert bool(row["better"])  # the pairs show it though the unpaired spread would hide it
    lost = out[out["metric"] == "customers_lost"].iloc[0]
    assert not bool(lost["better"])  # zero difference is not better
    with pytest.raises(ValueError, match="reference"):
        paired(_cells({"a": ref}), "missing")


def test_run_metrics_add_up(sim: tuple[SimWorld, Behaviour]) -> None:
    world, behaviour = sim
    run = run_policy(world, behaviour, MinMaxPolicy(), Conditions(days=60), seed=1)
    table = run_metrics(run)
    assert list(table.index) == [*world.segments, ALL]
    segs = table.loc[list(world.segments)]
    for column in ("stockout_events", "customers_lost", "revenue", "margin"):
        assert table.loc[ALL, column] == pytest.approx(segs[column].sum())
    overhead = run.totals["holding_cost"] + run.totals["order_cost"]
    assert table.loc[ALL, "profit"] == pytest.approx(segs["profit"].sum() - overhead)
    np.testing.assert_allclose(table["net_value"], table["profit"] - table["clv_lost"])
    assert table.loc[ALL, "clv_lost"] == pytest.approx(segs["clv_lost"].sum())
    assert ((table["fill_rate"] >= 0) & (table["fill_rate"] <= 1)).all()
    assert np.isnan(segs["holding_cost"]).all()  # no segment owns the holding cost


def test_care_list_ranks_hit_customers_by_value_at_risk(sim: tuple[SimWorld, Behaviour]) -> None:
    world, behaviour = sim
    lean = MinMaxPolicy(min_factor=0.3, max_factor=0.6)
    runs = [run_policy(world, behaviour, lean, Conditions(days=60), 2, r) for r in range(2)]
    care = care_list(world, behaviour, runs, top=20)
    assert 0 < len(care) <= 20
    assert (care["stockouts_met"] > 0).all()
    assert care["value_at_risk"].is_monotonic_decreasing
    ids = list(world.customer_ids)
    hits = np.mean([r.hits for r in runs], axis=0)
    for row in care.itertuples():
        i = ids.index(row.customer_id)
        assert hits[i] == pytest.approx(row.stockouts_met)
        q = behaviour.churn_per_stockout[world.segment[i]]
        assert row.value_at_risk == pytest.approx(world.clv[i] * (1 - (1 - q) ** hits[i]))
    with pytest.raises(ValueError):
        care_list(world, behaviour, [])
