"""What a dataset looks like, in a few tables a buyer or planner reads first.

Pure: takes a `Dataset` (and optionally a tier per customer) and returns small frames:
customers per tier with their revenue share, SKUs per demand class, stockout history.
Revenue is delivered quantity x unit price (currency); demand is delivered + short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from contract.dataset import Dataset
from forecast.demand_class import CLASSES, profile


@dataclass(frozen=True)
class Overview:
    """Headline tables of one dataset."""

    counts: dict[str, int]  # rows per table
    first_day: pd.Timestamp
    last_day: pd.Timestamp
    revenue: float
    top20_revenue_share: float  # share of revenue from the top 20% of customers by spend
    tiers: pd.DataFrame | None  # per tier: customers, customer_share, revenue_share, ...
    demand_classes: pd.DataFrame  # per class: skus, sku_share, demand_share, median_adi
    stockouts: pd.DataFrame  # per month: lines, lines_short, short_rate, units_short, ...
    stockout_totals: dict[str, float]


def _revenue(orders: pd.DataFrame) -> pd.Series:
    return orders["quantity"].astype("float64") * orders["unit_price"]


def top_share(values: np.ndarray, top: float = 0.2) -> float:
    """Share of the total held by the largest `top` fraction of values (0 for no total)."""
    ordered = np.sort(np.asarray(values, dtype=float))[::-1]
    total = ordered.sum()
    if total <= 0:
        return 0.0
    k = max(1, round(len(ordered) * top))
    return float(ordered[:k].sum() / total)


def demand_classes(dataset: Dataset) -> tuple[pd.DataFrame, pd.Series]:
    """SKUs per ADI/CV² class over the daily history, and each SKU's class."""
    orders, skus = dataset.orders, dataset.skus
    sku_codes = pd.Index(skus["sku_id"]).get_indexer(orders["sku_id"])
    first = orders["date"].min()
    day = ((orders["date"] - first).dt.days).to_numpy()
    n_days = int(day.max()) + 1 if len(day) else 1
    demand = (orders["quantity"] + orders["quantity_short"]).to_numpy(dtype=float)
    prof = profile(sku_codes, day, demand, len(skus), n_days)
    label = pd.Series(prof.label, index=pd.Index(skus["sku_id"], name="sku_id"), name="class")
    frame = pd.DataFrame({"class": prof.label, "adi": prof.adi, "total": prof.total})
    total = max(float(prof.total.sum()), 1e-12)
    table = (
        frame.groupby("class")
        .agg(skus=("class", "size"), demand=("total", "sum"), median_adi=("adi", "median"))
        .reindex([c for c in CLASSES if c in set(prof.label)])
    )
    table["sku_share"] = table["skus"] / len(skus)
    table["demand_share"] = table["demand"] / total
    return table[["skus", "sku_share", "demand_share", "median_adi"]], label


def tier_table(dataset: Dataset, tiers: pd.Series) -> pd.DataFrame:
    """Per tier: customers, their share, revenue share, orders per customer, stockout hits."""
    orders = dataset.orders
    revenue = _revenue(orders).groupby(orders["customer_id"]).sum()
    n_orders = orders.groupby("customer_id")["order_id"].nunique()
    hit = orders.loc[orders["quantity_short"] > 0].groupby("customer_id").size()
    per_customer = pd.DataFrame({"tier": tiers})
    per_customer["revenue"] = revenue.reindex(per_customer.index, fill_value=0.0)
    per_customer["orders"] = n_orders.reindex(per_customer.index, fill_value=0)
    per_customer["stockout_lines"] = hit.reindex(per_customer.index, fill_value=0)
    grouped = per_customer.groupby("tier", observed=False)
    table = grouped.agg(
        customers=("revenue", "size"),
        revenue=("revenue", "sum"),
        orders_per_customer=("orders", "mean"),
        stockout_lines_per_customer=("stockout_lines", "mean"),
    )
    table["customer_share"] = table["customers"] / max(len(per_customer), 1)
    table["revenue_share"] = table["revenue"] / max(float(table["revenue"].sum()), 1e-12)
    return table[
        [
            "customers",
            "customer_share",
            "revenue_share",
            "orders_per_customer",
            "stockout_lines_per_customer",
        ]
    ]


def stockout_history(dataset: Dataset) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per month: order lines, lines short, short rate, units short, revenue lost."""
    orders = dataset.orders
    short = orders["quantity_short"]
    lost = short.astype("float64") * orders["unit_price"]
    frame = pd.DataFrame(
        {
            "month": orders["date"].dt.to_period("M"),
            "line": 1,
            "short_line": (short > 0).astype(int),
            "units_short": short,
            "revenue_lost": lost,
        }
    )
    monthly = frame.groupby("month").agg(
        lines=("line", "sum"),
        lines_short=("short_line", "sum"),
        units_short=("units_short", "sum"),
        revenue_lost=("revenue_lost", "sum"),
    )
    monthly["short_rate"] = monthly["lines_short"] / monthly["lines"]
    customers_hit = orders.loc[short > 0, "customer_id"].nunique()
    totals = {
        "lines": float(len(orders)),
        "lines_short": float((short > 0).sum()),
        "short_rate": float((short > 0).mean()) if len(orders) else 0.0,
        "units_short": float(short.sum()),
        "revenue_lost": float(lost.sum()),
        "customers_hit": float(customers_hit),
        "skus_hit": float(orders.loc[short > 0, "sku_id"].nunique()),
    }
    return monthly, totals


def overview(dataset: Dataset, tiers: pd.Series | None = None) -> Overview:
    """The headline tables; `tiers` maps customer_id -> tier label when known."""
    orders = dataset.orders
    revenue = _revenue(orders)
    per_customer = revenue.groupby(orders["customer_id"]).sum()
    if dataset.customers is not None:
        per_customer = per_customer.reindex(dataset.customers["customer_id"], fill_value=0.0)
    classes, _ = demand_classes(dataset)
    monthly, totals = stockout_history(dataset)
    return Overview(
        counts={name: len(frame) for name, frame in dataset.tables().items()},
        first_day=orders["date"].min(),
        last_day=orders["date"].max(),
        revenue=float(revenue.sum()),
        top20_revenue_share=top_share(per_customer.to_numpy()),
        tiers=tier_table(dataset, tiers) if tiers is not None else None,
        demand_classes=classes,
        stockouts=monthly,
        stockout_totals=totals,
    )
