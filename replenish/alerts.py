"""Stock alerts: SKUs that will run short before fresh stock can arrive, ranked by the
customer value at risk, each with the tier-A customers likely to be hit.

Demand rate = units asked (delivered + short) per day over the last 90 days, per tier.
A SKU is on alert when its position (on hand + on order) is below the reorder point,
the mean demand over lead time + review period, or when stock on hand runs out within
the lead time. Expected units short over that interval x each tier's stockout cost
(margin + P(churn | stockout) x CLV / units per line, DESIGN.md) is the value at risk.
Mean demand, no safety stock: a first warning, not the plan (which models the spread).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contract.dataset import Dataset
from forecast.segments import Segments
from optimize.inputs import ChurnAssumptions, buyer_clv_per_unit, stockout_costs
from replenish.planning import exposed_customers

WINDOW_DAYS = 90


def stock_alerts(
    dataset: Dataset, segments: Segments | None, churn: ChurnAssumptions
) -> pd.DataFrame:
    """One row per SKU on alert, most value at risk first (see the module docstring)."""
    skus = dataset.skus
    ids = pd.Index(skus["sku_id"])
    orders = dataset.orders
    recent = orders[orders["date"] > orders["date"].max() - pd.Timedelta(days=WINDOW_DAYS)]
    asked = (recent["quantity"] + recent["quantity_short"]).to_numpy(dtype=float)
    sku = ids.get_indexer(recent["sku_id"])
    labels: tuple[str, ...] = ("ALL",)
    tier_of_line = np.zeros(len(recent), dtype=np.int64)
    if segments is not None:
        labels = tuple(str(t) for t in segments.tiers.index)
        tiers = segments.customers.set_index("customer_id")["tier"].astype(str)
        tier_of_line = pd.Index(labels).get_indexer(
            pd.Index(tiers.reindex(recent["customer_id"]).fillna(labels[-1]))
        )
    k = len(labels)
    rate = np.zeros((len(ids), k))
    np.add.at(rate, (sku, tier_of_line), asked / WINDOW_DAYS)
    total = rate.sum(axis=1)
    suppliers = dataset.suppliers.set_index("supplier_id")
    lead = skus["lead_time_days"].to_numpy(dtype=float)
    review = suppliers["review_period_days"].reindex(skus["supplier_id"]).to_numpy(dtype=float)
    on_hand = np.zeros(len(ids))
    on_order = np.zeros(len(ids))
    if dataset.inventory is not None:
        inv = dataset.inventory.set_index("sku_id")
        on_hand = inv["on_hand"].reindex(ids).fillna(0).to_numpy(dtype=float)
        on_order = inv["on_order"].reindex(ids).fillna(0).to_numpy(dtype=float)
    position = on_hand + on_order
    reorder_point = total * (lead + review)
    cover = np.where(total > 0, on_hand / np.maximum(total, 1e-12), np.inf)
    alert = (total > 0) & ((position < reorder_point) | (cover < lead))
    short = np.maximum(reorder_point - position, 0.0)
    margin = skus["unit_price"].to_numpy(dtype=float) - skus["unit_cost"].to_numpy(dtype=float)
    per_unit = (
        buyer_clv_per_unit(dataset, segments, ids.to_numpy(), tuple(labels))
        if segments is not None and segments.clv_source == "bgnbd"
        else None
    )
    cost = stockout_costs(margin, labels, segments.tiers if segments else None, churn, per_unit)
    share = rate / np.maximum(total, 1e-12)[:, None]
    value = short * (share * cost).sum(axis=1)
    exposed = exposed_customers(dataset, segments)
    rows = np.flatnonzero(alert)
    frame = pd.DataFrame(
        {
            "sku_id": ids[rows].astype(str),
            "supplier_id": skus["supplier_id"].to_numpy()[rows].astype(str),
            "on_hand": on_hand[rows],
            "on_order": on_order[rows],
            "daily_demand": total[rows],
            "days_of_cover": cover[rows],
            "lead_time_days": lead[rows],
            "reorder_point": reorder_point[rows],
            "expected_units_short": short[rows],
            "value_at_risk": value[rows],
            "tier_a_customers": [list(exposed.get(str(s), ())) for s in ids[rows]],
        }
    )
    return frame.sort_values("value_at_risk", ascending=False, kind="stable").reset_index(drop=True)
