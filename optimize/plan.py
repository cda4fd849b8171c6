"""A reorder plan as tables and JSON: lines with reasons, totals per supplier, solve record."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from optimize.problem import ReorderProblem
from optimize.reasons import LineReasons
from optimize.solve import Solution


@dataclass(frozen=True)
class ReorderPlan:
    """`lines`: one row per SKU ordered (reasons flattened); `suppliers`: totals per
    supplier; `record`: objective, bound, gap, status, seconds and more."""

    lines: pd.DataFrame
    suppliers: pd.DataFrame
    record: dict[str, Any]
    reasons: tuple[LineReasons, ...]

    def to_json(self) -> dict[str, Any]:
        lines = []
        for row, why in zip(self.lines.to_dict(orient="records"), self.reasons, strict=True):
            base = {
                k: row[k]
                for k in ("sku_id", "supplier_id", "packs", "quantity", "unit_cost", "line_cost")
            }
            lines.append({**base, "reasons": asdict(why)})
        return {
            "record": self.record,
            "suppliers": self.suppliers.to_dict(orient="records"),
            "lines": lines,
        }


def build_plan(
    problem: ReorderProblem,
    solution: Solution,
    reasons: list[LineReasons],
    assumptions: dict[str, Any] | None = None,
) -> ReorderPlan:
    """Assemble the plan of `solution`; `reasons` for its ordered lines, in SKU order.

    `assumptions` (e.g. the churn probabilities used and where they came from) are kept
    in the record so an approver can see what the plan rests on.
    """
    rows = np.flatnonzero(solution.packs > 0)
    if [r.sku_id for r in reasons] != [str(problem.sku_ids[i]) for i in rows]:
        raise ValueError("reasons must cover exactly the ordered lines, in SKU order")
    supplier_ids = np.asarray(problem.supplier_ids, dtype=object)
    lines = pd.DataFrame(
        {
            "sku_id": problem.sku_ids[rows].astype(str),
            "supplier_id": supplier_ids[problem.supplier[rows]].astype(str),
            "packs": solution.packs[rows],
            "pack_size": problem.pack_size[rows],
            "moq": problem.moq[rows],
            "quantity": solution.quantity[rows],
            "unit_cost": problem.unit_cost[rows],
            "unit_volume": problem.unit_volume[rows],
            "line_cost": solution.quantity[rows] * problem.unit_cost[rows],
            "line_volume": solution.quantity[rows] * problem.unit_volume[rows],
            "position": problem.position[rows],
        }
    )
    for key in (
        "forecast",
        "safety_stock",
        "priority_uplift",
        "pack_moq_rounding",
        "constraint_cut",
    ):
        lines[f"step_{key}"] = [r.steps[key] for r in reasons]
    for seg in problem.segments:
        lines[f"{seg}_demand_mean"] = [r.segments[seg]["demand_mean"] for r in reasons]
        lines[f"{seg}_demand_q90"] = [r.segments[seg]["demand_q90"] for r in reasons]
        lines[f"{seg}_service_without"] = [
            r.segments[seg]["service_without_order"] for r in reasons
        ]
        lines[f"{seg}_service_with"] = [r.segments[seg]["service_with_order"] for r in reasons]
    lines["marginal_value_last_pack"] = [r.marginal_value_last_pack for r in reasons]
    lines["binding"] = [r.binding for r in reasons]
    lines["reserve_for_top_tier"] = [r.reservation for r in reasons]
    lines["exposed_tier_a_customers"] = [";".join(r.exposed_customers) for r in reasons]
    lines["warnings"] = [" | ".join(r.warnings) for r in reasons]

    used = np.unique(problem.supplier[rows])
    suppliers = (
        lines.groupby("supplier_id")
        .agg(
            lines=("sku_id", "size"),
            units=("quantity", "sum"),
            cost=("line_cost", "sum"),
            volume=("line_volume", "sum"),
        )
        .reset_index()
    )
    terms = pd.DataFrame(
        {
            "supplier_id": supplier_ids[used].astype(str),
            "order_cost": problem.supplier_order_cost[used],
            "min_order_value": problem.supplier_min_value[used],
        }
    )
    suppliers = suppliers.merge(terms, on="supplier_id", how="left")
    record = {
        "status": solution.status,
        "solver": solution.solver,
        "solver_status": solution.solver_status,
        "objective": solution.objective,
        "bound": solution.bound,
        "gap": solution.gap,
        "seconds": solution.seconds,
        "budget": problem.budget,
        "capacity": problem.capacity,
        "total_cost": solution.cost,
        "total_volume": solution.volume,
        "order_costs": float(suppliers["order_cost"].sum()) if len(suppliers) else 0.0,
        "budget_unspent": unspent(problem, solution),
        "budget_price": solution.prices[0],
        "volume_price": solution.prices[1],
        "notes": list(solution.notes),
        "lines": len(lines),
        "assumptions": assumptions or {},
    }
    return ReorderPlan(lines, suppliers, record, tuple(reasons))


#: Money left below this share of the budget is rounding, not a decision to explain.
UNSPENT_SHARE = 0.005


def unspent(problem: ReorderProblem, solution: Solution) -> dict[str, Any] | None:
    """Why the plan leaves part of its budget unspent (None: no budget, or all but
    rounding spent): the SKUs whose next worthwhile pack (positive value added) was
    stopped, counted by what stopped it (the money left, volume, supplier terms), or
    that no further pack adds more expected value than it costs to hold."""
    if problem.budget is None:
        return None
    left = float(problem.budget) - solution.cost
    if left <= UNSPENT_SHARE * max(float(problem.budget), 1e-9):
        return None
    stopped = pd.Series(solution.binding).value_counts()
    worthwhile = {k: int(stopped.get(k, 0)) for k in ("budget", "volume", "supplier terms")}
    reasons = []
    if worthwhile["budget"]:
        reasons.append(
            f"the next worthwhile pack (or MOQ block) of {worthwhile['budget']:,} SKUs costs "
            f"more than the {left:,.2f} left"
        )
    if worthwhile["volume"]:
        reasons.append(
            f"{worthwhile['volume']:,} SKUs' next worthwhile pack does not fit the volume"
        )
    if worthwhile["supplier terms"]:
        reasons.append(
            f"{worthwhile['supplier terms']:,} SKUs' next worthwhile pack would need a supplier "
            "whose order cost or minimum order value it does not repay"
        )
    if not reasons:
        reasons.append(
            "no further pack of any SKU adds more expected value (margin and customers kept) "
            "than it costs to hold: more stock would lose money"
        )
    return {"amount": round(left, 2), "reasons": reasons, "skus_stopped": worthwhile}
