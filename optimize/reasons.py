"""Why each quantity: the steps that add up to it, and what the line protects.

For a SKU with stock position P and total demand C over its protection interval:

    forecast       = max(mean(C) - P, 0)                   cover expected demand
    safety stock   = q_blind - forecast                    to the segment-blind newsvendor
                                                           fractile c/(c + h), c = stockout
                                                           cost at the catalogue's segment
                                                           mix (who buys the SKU ignored)
    priority uplift= q* - q_blind                          churn-aware unit optimum q*
    pack/MOQ       = q_packs - q*                          whole packs, MOQ, rounding rule
    constraint cut = q - q_packs                           budget, volume, supplier terms

and the steps sum to the ordered quantity q. Per segment: mean and 90% quantile of
demand, the chance its whole demand is met with and without the order, and the fill
rate with the order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimize.problem import ReorderProblem
from optimize.solve import Solution
from optimize.value_curve import PackItems

#: Warn when packs or the MOQ make a line buy more than this many protection intervals
#: of mean demand beyond the quantity the demand and its costs call for.
OVER_ORDER_EXCESS = 1.0


@dataclass(frozen=True)
class LineReasons:
    """The explanation of one plan line (units unless stated)."""

    sku_id: str
    steps: dict[str, float]
    segments: dict[str, dict[str, float]]
    marginal_value_last_pack: float  # currency
    binding: str
    cover_intervals: float  # (position + quantity) / mean demand over the interval
    warnings: tuple[str, ...]
    exposed_customers: tuple[str, ...]
    reservation: float  # units held back for the top segment


def _quantile(pmf: np.ndarray, q: float) -> float:
    return float(np.searchsorted(np.cumsum(pmf), q))


def unconstrained_packs(solution: Solution, problem: ReorderProblem) -> np.ndarray:
    """Packs each SKU would get with no budget, volume or supplier limits."""
    items = solution.items
    assert items is not None
    out = np.zeros(problem.n_skus, dtype=np.int64)
    for i in range(problem.n_skus):
        lo, hi = items.start[i], items.start[i + 1]
        values, packs = items.value[lo:hi], items.packs[lo:hi]
        if values.size == 0:
            continue
        head = max(int(items.moq_packs[i]), 1)
        if values[:head].sum() <= 0:
            continue
        out[i] = int(packs[:head].sum() + packs[head:][values[head:] > 0].sum())
    return out


def last_pack_value(items: PackItems, i: int, packs: int) -> float:
    """Value of the last pack of `packs` ordered of SKU i (currency; a lot's average)."""
    lo, hi = items.start[i], items.start[i + 1]
    taken = int(np.searchsorted(np.cumsum(items.packs[lo:hi]), packs, side="right"))
    if packs <= 0 or taken == 0:
        return 0.0
    return float(items.value[lo + taken - 1] / items.packs[lo + taken - 1])


def explain(
    problem: ReorderProblem,
    solution: Solution,
    rows: np.ndarray,
    exposed: dict[str, tuple[str, ...]] | None = None,
    reservation: np.ndarray | None = None,
) -> list[LineReasons]:
    """Reasons for the SKUs at `rows` (indices into the problem)."""
    items = solution.items
    assert items is not None
    full = unconstrained_packs(solution, problem)
    mix = problem.segment_mix  # the blind view's weights, as baselines.segment_blind
    out = []
    for i in rows:
        curve = solution.curves[i]
        pos = float(problem.position[i])
        q = float(solution.quantity[i])
        total = curve.sf[-1]
        mean_total = float(total.sum())  # E[C] = sum_k P(C > k)
        c_bar = float((problem.stockout_cost[i] * mix).sum())
        h = float(problem.holding_cost[i])
        fractile = c_bar / (c_bar + h) if c_bar + h > 0 else 0.0
        cdf = 1.0 - total
        s_blind = float(np.searchsorted(cdf, fractile)) if fractile > 0 else 0.0
        q_blind = max(s_blind - pos, 0.0)
        forecast = max(mean_total - pos, 0.0)
        q_star = float(items.unit_optimum[i])
        q_packs = float(full[i] * problem.pack_size[i])
        steps = {
            "forecast": forecast,
            "safety_stock": q_blind - forecast,
            "priority_uplift": q_star - q_blind,
            "pack_moq_rounding": q_packs - q_star,
            "constraint_cut": q - q_packs,
        }
        with_order = curve.fully_served(pos + q)
        without = curve.fully_served(pos)
        served = curve.served(pos + q)
        segments = {}
        for s, name in enumerate(problem.segments):
            pmf = problem.pmfs[i][s]
            mean = float(problem.demand_means[i, s])
            segments[name] = {
                "demand_mean": mean,
                "demand_q90": _quantile(pmf, 0.9),
                "service_without_order": float(without[s]),
                "service_with_order": float(with_order[s]),
                "fill_rate_with_order": float(served[s] / mean) if mean > 0 else 1.0,
                "stockout_cost": float(problem.stockout_cost[i, s]),
            }
        last = last_pack_value(items, i, int(solution.packs[i]))
        cover = (pos + q) / mean_total if mean_total > 0 else float("inf")
        warnings = []
        # A slow mover's service quantile may well cover several intervals of its mean:
        # that is what its costs call for. What deserves a buyer's look is stock bought
        # only because of the pack or the MOQ.
        forced = q - max(q_star, 0.0)
        if q > 0 and forced > OVER_ORDER_EXCESS * max(mean_total, 1e-9):
            warnings.append(
                f"packs and MOQ add {forced:,.0f} units to the {max(q_star, 0.0):,.0f} demand "
                f"calls for: {cover:.1f} protection intervals of cover; a smaller pack or "
                "MOQ from the supplier would cut the stock held"
            )
        sku = str(problem.sku_ids[i])
        out.append(
            LineReasons(
                sku_id=sku,
                steps=steps,
                segments=segments,
                marginal_value_last_pack=last,
                binding=str(solution.binding[i]),
                cover_intervals=cover,
                warnings=tuple(warnings),
                exposed_customers=(exposed or {}).get(sku, ()),
                reservation=float(reservation[i]) if reservation is not None else 0.0,
            )
        )
    return out
