"""Building the optimizer's ReorderProblem from a dataset, its forecast and its segments.

Stock position = on hand + on order (inventory table; 0 when it is missing). Demand
pmfs come from the forecast's protection-interval negative binomials. Stockout cost
per (SKU, segment) follows DESIGN.md (`optimize.economics`) with P(churn | stockout)
per tier from `ChurnAssumptions` (estimated on the history, or the preset) and, when
the segments value customers one by one (BG/NBD), the CLV per unit of the customers
who buy each SKU (`buyer_clv_per_unit`); else the tier's CLV and units per purchase.
Holding a unit left over costs `holding_rate` x unit cost x protection days / 365.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from contract.dataset import Dataset
from forecast.distribution import pmfs
from forecast.engine import ForecastResult
from forecast.panel import TOTAL
from forecast.segments import Segments
from optimize.economics import holding_cost, stockout_cost
from optimize.problem import ReorderProblem

#: Units of demand any one SKU's decision may look at, whatever its forecast (the cover
#: cap normally stops far below).
MAX_SUPPORT = 2_000_000.0


@dataclass(frozen=True)
class ChurnAssumptions:
    """P(a customer churns | they meet a stockout), per tier; 0 for unknown segments.

    `detail`: per tier, what a plan's record says of the figure (mean, 90% interval
    low and high, source, stockout events it rests on); without it, the figure alone."""

    per_tier: dict[str, float] = field(default_factory=lambda: {"A": 0.10, "B": 0.07, "C": 0.04})
    detail: dict[str, dict[str, float | str | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if any(not 0.0 <= p <= 1.0 for p in self.per_tier.values()):
            raise ValueError("churn probabilities must lie in [0, 1]")

    def of(self, segment: str) -> float:
        return float(self.per_tier.get(segment, 0.0))

    def record(self, source: str = "preset") -> dict[str, dict[str, float | str | None]]:
        """Per tier {mean, low, high, source, events} for a plan's record."""
        return {
            tier: self.detail.get(tier)
            or {"mean": q, "low": q, "high": q, "source": source, "events": 0.0}
            for tier, q in self.per_tier.items()
        }


@dataclass(frozen=True)
class PlanSettings:
    """Economic settings of a plan: budget (currency), capacity (volume), holding, cover.

    No line may take a SKU's position past `max_cover_intervals` protection intervals of
    mean demand (or `max_cover_days` days of it, when set), except to reach its MOQ.
    """

    budget: float | None = None
    capacity: float | None = None
    holding_rate: float = 0.25  # per year, share of unit cost
    max_cover_days: float | None = None  # no order beyond this many days of mean demand
    max_cover_intervals: float | None = 3.0
    churn: ChurnAssumptions = field(default_factory=ChurnAssumptions)


def stockout_costs(
    margin: np.ndarray,
    segments: tuple[str, ...],
    tiers: pd.DataFrame | None,
    churn: ChurnAssumptions,
    clv_per_unit: np.ndarray | None = None,
) -> np.ndarray:
    """(n_skus, n_segments) currency per unit short (`optimize.economics.stockout_cost`),
    with each tier's CLV and units per line from `tiers` (segments without: margin only),
    or, when given, `clv_per_unit[i, s]`: the CLV per unit of the customers of segment s
    who buy SKU i (`buyer_clv_per_unit`)."""
    rate, clv, units = np.zeros(len(segments)), np.zeros(len(segments)), np.ones(len(segments))
    for j, seg in enumerate(segments):
        if tiers is not None and seg in tiers.index:
            rate[j] = churn.of(seg)
            clv[j] = float(tiers["clv"].to_dict()[seg])
            units[j] = float(tiers["units_per_line"].to_dict()[seg])
    if clv_per_unit is not None:
        return stockout_cost(margin, rate, clv_per_unit, np.ones_like(clv_per_unit))
    return stockout_cost(margin, rate, clv, units)


def buyer_clv_per_unit(
    dataset: Dataset,
    segments: Segments,
    sku_ids: np.ndarray,
    labels: tuple[str, ...],
    window_days: int = 365,
) -> np.ndarray:
    """(n_skus, n_segments), currency per unit: the CLV of the customers of each segment
    who bought each SKU in the last `window_days`, each over their own units per line,
    weighted by their share of the segment's units of it. A SKU a segment did not buy
    takes the segment's CLV over its units per line. A stockout of an item a VIP buys
    costs that VIP's value, not the average of the tier."""
    tiers = segments.tiers
    k = len(labels)
    fallback = np.array(
        [
            float(tiers["clv"].get(s, 0.0)) / max(float(tiers["units_per_line"].get(s, 1.0)), 1e-9)
            if s in tiers.index
            else 0.0
            for s in labels
        ]
    )
    out = np.tile(fallback, (len(sku_ids), 1))
    orders = dataset.orders[dataset.orders["customer_id"].notna()]
    orders = orders[orders["date"] > orders["date"].max() - pd.Timedelta(days=window_days)]
    if orders.empty:
        return out
    people = segments.customers.set_index("customer_id")
    who = pd.Index(people.index.astype(str)).get_indexer(
        pd.Index(orders["customer_id"].astype(str))
    )
    i = pd.Index(sku_ids.astype(str)).get_indexer(pd.Index(orders["sku_id"].astype(str)))
    j = pd.Index(labels).get_indexer(pd.Index(people["tier"].astype(str).to_numpy()[who]))
    known = (who >= 0) & (i >= 0) & (j >= 0)
    who, i, j = who[known], i[known], j[known]
    units = (orders["quantity"] + orders["quantity_short"]).to_numpy(dtype=float)[known]
    n_people = len(people)
    per_line = np.bincount(who, weights=units, minlength=n_people) / np.maximum(
        np.bincount(who, minlength=n_people), 1
    )
    value = np.maximum(people["clv"].to_numpy(dtype=float), 0.0) / np.maximum(per_line, 1.0)
    cell = i * k + j
    bought = np.bincount(cell, weights=units, minlength=len(sku_ids) * k)
    worth = np.bincount(cell, weights=units * value[who], minlength=len(sku_ids) * k)
    seen = bought > 0
    flat = out.reshape(-1)
    flat[seen] = worth[seen] / bought[seen]
    return flat.reshape(len(sku_ids), k)


def build_problem(
    dataset: Dataset,
    forecast: ForecastResult,
    segments: Segments | None,
    settings: PlanSettings,
) -> ReorderProblem:
    """The ReorderProblem for every SKU of `dataset` (in its order)."""
    skus = dataset.skus
    sku_ids = skus["sku_id"].to_numpy(dtype=object)
    labels = tuple(s for s in forecast.segments if s != TOTAL) or (TOTAL,)
    prot = forecast.protection.set_index(["sku_id", "segment"])
    keys = [pd.MultiIndex.from_product([list(sku_ids), [s]]) for s in labels]
    mean = np.column_stack([prot["mean"].reindex(k).to_numpy(dtype=float) for k in keys])
    var = np.column_stack([prot["variance"].reindex(k).to_numpy(dtype=float) for k in keys])
    if not (np.isfinite(mean).all() and np.isfinite(var).all()):
        raise ValueError("the forecast does not cover every SKU and segment of the dataset")
    days = prot.xs(TOTAL, level="segment")["days"].reindex(sku_ids).to_numpy(dtype=float)

    position = np.zeros(len(sku_ids))
    if dataset.inventory is not None:
        inv = dataset.inventory.set_index("sku_id")
        position = (
            (inv["on_hand"] + inv["on_order"]).reindex(sku_ids).fillna(0).to_numpy(dtype=float)
        )
    max_units = np.full(len(sku_ids), np.inf)
    if settings.max_cover_days is not None:
        daily = mean.sum(axis=1) / np.maximum(days, 1.0)
        max_units = np.maximum(daily * settings.max_cover_days - position, 0.0)
    elif settings.max_cover_intervals is not None:
        max_units = np.maximum(mean.sum(axis=1) * settings.max_cover_intervals - position, 0.0)
    # No decision looks past what the cap, the MOQ and one more pack allow: demand beyond
    # that is one atom, whatever the forecast says (a runaway mean costs no memory).
    pack = skus["pack_size"].to_numpy(dtype=np.int64)
    moq = skus["moq"].to_numpy(dtype=np.int64)
    horizon = np.minimum(position + np.maximum(max_units, moq) + pack, MAX_SUPPORT)
    k = len(labels)
    flat = pmfs(mean, var, upto=np.repeat(horizon, k))
    by_sku = tuple(tuple(flat[i * k : (i + 1) * k]) for i in range(len(sku_ids)))
    cost = skus["unit_cost"].to_numpy(dtype=float)
    margin = skus["unit_price"].to_numpy(dtype=float) - cost
    per_unit = (
        buyer_clv_per_unit(dataset, segments, sku_ids, labels)
        if segments is not None and segments.clv_source == "bgnbd"
        else None
    )
    costs = stockout_costs(
        margin, labels, segments.tiers if segments else None, settings.churn, per_unit
    )
    sup = dataset.suppliers
    supplier_index = pd.Index(sup["supplier_id"]).get_indexer(skus["supplier_id"])
    return ReorderProblem(
        sku_ids=sku_ids,
        segments=labels,
        pmfs=by_sku,
        stockout_cost=costs,
        position=position,
        unit_cost=cost,
        holding_cost=holding_cost(cost, settings.holding_rate, days),
        pack_size=pack,
        moq=moq,
        unit_volume=skus["unit_volume"].to_numpy(dtype=float),
        max_units=max_units,
        supplier=supplier_index.astype(np.int64),
        supplier_ids=tuple(sup["supplier_id"].astype(str)),
        supplier_min_value=sup["min_order_value"].to_numpy(dtype=float),
        supplier_order_cost=sup["order_cost"].to_numpy(dtype=float),
        budget=settings.budget,
        capacity=settings.capacity,
        interval_mean=mean,
        interval_var=var,
        protection_days=days,
    )
