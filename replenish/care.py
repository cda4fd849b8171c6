"""The care list: customers most likely to be hit by the stockouts a plan still leaves.

After the order, SKU i holds S_i = position + quantity units for its protection
interval; under priority rationing tier j runs short when the demand of tiers served
before it and its own exceeds S_i, P(C_j > S_i) (the optimizer's value curve). A
customer's expected stockout events = sum over the SKUs they bought in the last 90
days of their lines per day x the interval's days x their tier's shortage chance; the
value at risk = CLV x (1 - (1 - P(churn | stockout))^events). The list names the SKUs
behind each customer's risk, for the CRM to follow up (notify on restock, offer a
substitute or compensation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contract.dataset import Dataset
from forecast.segments import Segments, customer_clv
from optimize.inputs import ChurnAssumptions
from optimize.problem import ReorderProblem
from optimize.solve import Solution

WINDOW_DAYS = 90
COLUMNS = ["customer_id", "tier", "expected_stockouts", "clv", "value_at_risk", "skus"]


def shortage_chance(problem: ReorderProblem, solution: Solution) -> np.ndarray:
    """(n_skus, n_segments): P(the segment meets a shortage) after the order."""
    out = np.zeros((problem.n_skus, len(problem.segments)))
    for i, curve in enumerate(solution.curves):
        stock = problem.position[i] + solution.quantity[i]
        out[i, curve.order] = curve.tail(stock)[:, 0]
    return out


def care_list(
    dataset: Dataset,
    segments: Segments | None,
    problem: ReorderProblem,
    solution: Solution,
    churn: ChurnAssumptions,
    protection_days: np.ndarray,
    top: int = 200,
) -> pd.DataFrame:
    """Customers ranked by value at risk (see the module docstring); empty if anonymous."""
    if segments is None or not solution.curves:
        return pd.DataFrame(columns=COLUMNS)
    orders = dataset.orders[dataset.orders["customer_id"].notna()]
    recent = orders[orders["date"] > orders["date"].max() - pd.Timedelta(days=WINDOW_DAYS)]
    people = segments.customers.set_index("customer_id")
    tier = people["tier"].astype(str)
    sku_index = pd.Index(problem.sku_ids.astype(str))
    seg_index = pd.Index(problem.segments)
    lines = (
        recent.groupby(["customer_id", "sku_id"], observed=True)
        .size()
        .rename("lines")
        .reset_index()
    )
    i = sku_index.get_indexer(lines["sku_id"].astype(str))
    g = seg_index.get_indexer(pd.Index(tier.reindex(lines["customer_id"]).to_numpy()))
    known = (i >= 0) & (g >= 0)
    lines, i, g = lines[known], i[known], g[known]
    short = shortage_chance(problem, solution)
    lines["events"] = lines["lines"].to_numpy() / WINDOW_DAYS * protection_days[i] * short[i, g]
    lines = lines[lines["events"] > 0]
    if lines.empty:
        return pd.DataFrame(columns=COLUMNS)
    per_customer = lines.groupby("customer_id", observed=True)["events"].sum()
    skus = (
        lines.sort_values("events", ascending=False, kind="stable")
        .groupby("customer_id", observed=True)["sku_id"]
        .agg(lambda s: ";".join(map(str, s.head(3))))
    )
    ids = per_customer.index
    their_tier = tier.reindex(ids).to_numpy()
    clv = customer_clv(segments, pd.Index(ids))
    q = np.array([churn.of(t) for t in their_tier])
    events = per_customer.to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "customer_id": ids.astype(str),
            "tier": their_tier,
            "expected_stockouts": events,
            "clv": clv,
            "value_at_risk": clv * (1.0 - (1.0 - q) ** events),
            "skus": skus.reindex(ids).to_numpy(),
        }
    )
    return frame.sort_values("value_at_risk", ascending=False, kind="stable").head(top)


#: Days back a stockout a customer met still calls for care (`recently_let_down`).
RECENT_DAYS = 30
LET_DOWN_COLUMNS = [
    "customer_id", "tier", "short_lines", "units_short", "last_short", "clv", "value_at_risk",
    "skus",
]  # fmt: skip


def recently_let_down(
    dataset: Dataset, segments: Segments | None, churn: ChurnAssumptions, days: int = RECENT_DAYS
) -> pd.DataFrame:
    """Customers who met a recorded stockout (a line with units short) in the last `days`
    days of the history, most value at risk first: CLV x (1 - (1 - P(churn | stockout))^
    short lines), with the SKUs they missed. Empty without customers or short lines."""
    orders = dataset.orders
    if segments is None or orders.empty:
        return pd.DataFrame(columns=LET_DOWN_COLUMNS)
    recent = orders[
        (orders["date"] > orders["date"].max() - pd.Timedelta(days=days))
        & (orders["quantity_short"] > 0)
        & orders["customer_id"].notna()
    ]
    if recent.empty:
        return pd.DataFrame(columns=LET_DOWN_COLUMNS)
    grouped = recent.groupby("customer_id", sort=False)
    out = pd.DataFrame(
        {
            "short_lines": grouped.size(),
            "units_short": grouped["quantity_short"].sum(),
            "last_short": grouped["date"].max(),
            "skus": grouped["sku_id"].agg(lambda s: ", ".join(sorted(set(map(str, s))))),
        }
    )
    people = segments.customers.set_index("customer_id")
    out["tier"] = people["tier"].astype(str).reindex(out.index)
    out["clv"] = np.maximum(customer_clv(segments, out.index), 0.0)
    q = out["tier"].map(lambda t: churn.of(str(t)) if isinstance(t, str) else 0.0)
    out["value_at_risk"] = out["clv"] * (1.0 - (1.0 - q.astype(float)) ** out["short_lines"])
    out = out.reset_index().rename(columns={"index": "customer_id"})
    out = out[LET_DOWN_COLUMNS].sort_values("value_at_risk", ascending=False, kind="stable")
    return out.reset_index(drop=True)
