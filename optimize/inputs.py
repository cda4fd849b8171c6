"""Building the optimizer's ReorderProblem from a dataset, its forecast and its segments.

Stock position = on hand + on order (inventory table; 0 when it is missing). Demand
pmfs come from the forecast's protection-interval negative binomials. Stockout cost
per (SKU, segment) follows DESIGN.md (`optimize.economics`) with P(churn | stockout)
per tier from `ChurnAssumptions` (fitted on the history, or the preset) and CLV and
units per purchase from the segments. Holding a unit left over costs
`holding_rate` x unit cost x protection days / 365.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from contract.dataset import Dataset
from forecast.distribution import pmf
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
    """P(a customer churns | they meet a stockout), per tier; 0 for unknown segments."""

    per_tier: dict[str, float] = field(default_factory=lambda: {"A": 0.10, "B": 0.07, "C": 0.04})

    def __post_init__(self) -> None:
        if any(not 0.0 <= p <= 1.0 for p in self.per_tier.values()):
            raise ValueError("churn probabilities must lie in [0, 1]")

    def of(self, segment: str) -> float:
        return float(self.per_tier.get(segment, 0.0))


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
) -> np.ndarray:
    """(n_skus, n_segments) currency per unit short (`optimize.economics.stockout_cost`),
    with each tier's CLV and units per line from `tiers` (segments without: margin only)."""
    rate, clv, units = np.zeros(len(segments)), np.zeros(len(segments)), np.ones(len(segments))
    for j, seg in enumerate(segments):
        if tiers is not None and seg in tiers.index:
            rate[j] = churn.of(seg)
            clv[j] = float(tiers["clv"].to_dict()[seg])
            units[j] = float(tiers["units_per_line"].to_dict()[seg])
    return stockout_cost(margin, rate, clv, units)


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
    pmfs = tuple(
        tuple(
            pmf(float(mean[i, s]), float(var[i, s]), upto=float(horizon[i]))
            for s in range(len(labels))
        )
        for i in range(len(sku_ids))
    )
    cost = skus["unit_cost"].to_numpy(dtype=float)
    margin = skus["unit_price"].to_numpy(dtype=float) - cost
    costs = stockout_costs(margin, labels, segments.tiers if segments else None, settings.churn)
    sup = dataset.suppliers
    supplier_index = pd.Index(sup["supplier_id"]).get_indexer(skus["supplier_id"])
    return ReorderProblem(
        sku_ids=sku_ids,
        segments=labels,
        pmfs=pmfs,
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
