"""From runs to numbers a planner reads: metrics per segment, CIs, paired differences,
and the care list.

Money in the world's currency, over the simulated days. Fill rate: units served from
stock when asked, over units asked. Profit per segment: margin - coupons; for ALL also
minus holding and order costs (which no segment owns). Net value: profit - the CLV of
the customers lost to stockouts and not back by the end (`clv_lost`), the objective
DESIGN.md's economics set. CIs are 95% Student-t intervals
over replications; paired differences are taken replication by replication, which is
what common random numbers make tight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from simulations.engine import RunResult
from simulations.model import Behaviour, SimWorld

ALL = "ALL"
#: The metrics reported, in the order tables show them; larger is better unless listed.
METRICS = (
    "net_value", "profit", "clv_lost", "fill_rate", "stockout_events", "customers_lost",
    "customers_regained", "clv_active_end", "revenue", "margin", "holding_cost",
    "order_cost", "compensation_cost", "inventory_value", "active_end", "units_lost",
)  # fmt: skip
LOWER_IS_BETTER = frozenset(
    {"stockout_events", "customers_lost", "clv_lost", "holding_cost", "order_cost",
     "compensation_cost", "units_lost"}
)  # fmt: skip


def run_metrics(result: RunResult) -> pd.DataFrame:
    """One row per segment and one for ALL; columns `METRICS`."""
    seg = result.segment
    frame = pd.DataFrame(
        {
            "requested": seg["units_requested"],
            "filled": seg["units_filled_now"],
            "stockout_events": seg["lines_short"],
            "customers_lost": seg["customers_lost"],
            "customers_regained": seg["customers_regained"],
            "clv_active_end": seg["clv_active_end"],
            "clv_lost": seg["clv_lost"],
            "revenue": seg["revenue"],
            "margin": seg["revenue"] - seg["cogs"],
            "compensation_cost": seg["compensation_cost"],
            "active_end": seg["active_end"],
            "units_lost": seg["units_lost"],
        },
        index=pd.Index(result.segments, name="segment"),
    )
    frame.loc[ALL] = frame.sum()
    frame["holding_cost"] = np.nan
    frame["order_cost"] = np.nan
    frame["inventory_value"] = np.nan
    frame.loc[ALL, "holding_cost"] = result.totals["holding_cost"]
    frame.loc[ALL, "order_cost"] = result.totals["order_cost"]
    frame.loc[ALL, "inventory_value"] = result.totals["inventory_value"]
    frame["fill_rate"] = np.where(
        frame["requested"] > 0, frame["filled"] / frame["requested"].clip(lower=1e-12), 1.0
    )
    overhead = result.totals["holding_cost"] + result.totals["order_cost"]
    frame["profit"] = (
        frame["margin"] - frame["compensation_cost"] - np.where(frame.index == ALL, overhead, 0.0)
    )
    frame["net_value"] = frame["profit"] - frame["clv_lost"]
    return frame[list(METRICS)]


Estimate = tuple[float, float, float]  # mean, ci_low, ci_high


def lookup(summary: pd.DataFrame) -> dict[tuple[str, str, str, str], Estimate]:
    """`summarize` output as {(scenario, policy, segment, metric): (mean, low, high)}."""
    keys = zip(
        summary["scenario"], summary["policy"], summary["segment"], summary["metric"], strict=True
    )
    values = zip(summary["mean"], summary["ci_low"], summary["ci_high"], strict=True)
    return {
        (str(a), str(b), str(c), str(d)): (float(m), float(lo), float(hi))
        for (a, b, c, d), (m, lo, hi) in zip(keys, values, strict=True)
    }


def _half_width(sd: pd.Series, n: pd.Series) -> pd.Series:
    t = stats.t.ppf(0.975, np.maximum(n - 1, 1))
    return pd.Series(np.where(n > 1, t * sd / np.sqrt(n), np.nan), index=sd.index)


def summarize(cells: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI over replications of every metric.

    `cells`: one row per (scenario, policy, replication, segment), columns `METRICS`.
    Returns rows (scenario, policy, segment, metric) with mean, ci_low, ci_high, n.
    """
    long = cells.melt(
        id_vars=["scenario", "policy", "replication", "segment"],
        value_vars=list(METRICS),
        var_name="metric",
    ).dropna(subset=["value"])  # holding and order costs belong to no segment
    grouped = long.groupby(["scenario", "policy", "segment", "metric"], sort=False)["value"]
    out = grouped.agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    half = _half_width(out["std"].fillna(0.0), out["n"])
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out[["mean", "ci_low", "ci_high", "n"]].reset_index()


def paired(cells: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Policy minus `reference`, replication by replication: mean difference and 95% CI.

    Rows (scenario, policy, segment, metric) for every policy but the reference, with
    diff, ci_low, ci_high, n and `better` (the CI excludes 0 on the good side).
    """
    if reference not in set(cells["policy"]):
        raise ValueError(f"reference policy {reference!r} is not in the results")
    keys = ["scenario", "replication", "segment"]
    ref = cells[cells["policy"] == reference].set_index(keys)[list(METRICS)]
    rows = []
    for policy, group in cells[cells["policy"] != reference].groupby("policy", sort=False):
        diff = group.set_index(keys)[list(METRICS)] - ref.reindex(group.set_index(keys).index)
        diff = diff.reset_index().melt(
            id_vars=keys, value_vars=list(METRICS), var_name="metric", value_name="diff"
        )
        diff["policy"] = policy
        rows.append(diff)
    if not rows:
        return pd.DataFrame(
            columns=["scenario", "policy", "segment", "metric", "diff", "ci_low", "ci_high", "n"]
        )
    long = pd.concat(rows, ignore_index=True).dropna(subset=["diff"])
    grouped = long.groupby(["scenario", "policy", "segment", "metric"], sort=False)["diff"]
    out = grouped.agg(["mean", "std", "count"]).rename(columns={"mean": "diff", "count": "n"})
    half = _half_width(out["std"].fillna(0.0), out["n"])
    out["ci_low"], out["ci_high"] = out["diff"] - half, out["diff"] + half
    out = out.reset_index()
    sign = np.where(out["metric"].isin(LOWER_IS_BETTER), -1.0, 1.0)
    out["better"] = np.where(sign > 0, out["ci_low"] > 0, out["ci_high"] < 0)
    columns = ["scenario", "policy", "segment", "metric", "diff", "ci_low", "ci_high", "n"]
    return out[[*columns, "better"]]


def care_list(
    world: SimWorld,
    behaviour: Behaviour,
    results: list[RunResult],
    top: int = 100,
) -> pd.DataFrame:
    """Customers hit by stockouts under one policy, most valuable risk first.

    Over the given replications: mean stockout events met, share of runs in which the
    customer churned after one, and the expected value at risk = CLV x P(churn after
    that many events) = CLV x (1 - (1 - q_segment)^events).
    """
    if not results:
        raise ValueError("no runs to build a care list from")
    hits = np.mean([r.hits for r in results], axis=0)
    lost = np.mean([r.lost for r in results], axis=0)
    q = behaviour.churn_per_stockout[world.segment]
    at_risk = world.clv * (1.0 - (1.0 - q) ** hits)
    rows = np.flatnonzero(hits > 0)
    rows = rows[np.argsort(-at_risk[rows], kind="stable")][:top]
    return pd.DataFrame(
        {
            "customer_id": world.customer_ids[rows].astype(str),
            "segment": np.asarray(world.segments, dtype=object)[world.segment[rows]],
            "stockouts_met": hits[rows],
            "churned_share": lost[rows],
            "clv": world.clv[rows],
            "value_at_risk": at_risk[rows],
        }
    )
