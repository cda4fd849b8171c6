"""Plan states and their transitions, checked and atomic.

draft -> submitted -> approved | rejected -> ordered. Who may do what is decided here,
for every route: only the plan's requester (or an admin) edits its lines and submits
it; nobody approves a plan they requested or whose lines they edited (four eyes, admins
included). Every transition and edit is one conditional UPDATE on (id, version, state):
of two concurrent calls exactly one matches, the other gets 409. The plan's totals (cost,
volume, per supplier) are recomputed from its lines in the same transaction as every
change, and a plan that now breaks its budget, capacity or a supplier's minimum says so
in `record["flags"]` for the approver. Approval writes the purchase orders, one per
supplier, in the same transaction; placing each with its supplier (`mark_ordered`) moves
it approved -> ordered, and the plan follows once all of its orders are placed. Every
action lands in the audit log.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal, Role
from api.errors import HTTPProblem
from api.models import AuditEntry, Job, Plan, PlanEditor, PlanLine, PurchaseOrder, utcnow
from api.webhook import enqueue

TRANSITIONS = {
    "submit": ("draft", "submitted"),
    "approve": ("submitted", "approved"),
    "reject": ("submitted", "rejected"),
}


#: Quantities are stored as 32-bit integers (SQLite and PostgreSQL alike).
MAX_QUANTITY = 2**31 - 1


@dataclass(frozen=True)
class Started:
    """A plan request's plan and job; `new` False when an earlier request with the same
    idempotency key already started them (nothing to queue)."""

    plan_id: int
    job_id: str
    new: bool


def earlier_request(
    db: Session, user: Principal, key: str, params: dict[str, Any]
) -> Started | None:
    """This user's earlier request with idempotency `key`; 409 if its body differed."""
    seen = db.scalar(select(Plan).where(Plan.requested_by == user.id, Plan.idempotency_key == key))
    if seen is None:
        return None
    if seen.params != params:
        raise HTTPProblem(409, "Conflict", "this Idempotency-Key was used for another request")
    job = db.scalar(select(Job).where(Job.plan_id == seen.id))
    return Started(seen.id, job.id if job else "", new=False)


def request_plan(db: Session, user: Principal, params: dict[str, Any], key: str | None) -> Started:
    """A pending plan and its queued job (commits); with idempotency `key`, a retry of
    the same request gets the same plan and job back (`new` False), whoever wins a race
    between two of them. The caller hands a new job to the workers."""
    if key is not None:
        earlier = earlier_request(db, user, key, params)
        if earlier is not None:
            return earlier
    plan = Plan(requested_by=user.id, idempotency_key=key, params=params)
    db.add(plan)
    try:
        db.flush()
    except IntegrityError:  # a concurrent retry with the same key got there first
        db.rollback()
        earlier = earlier_request(db, user, key or "", params)
        if earlier is None:
            raise
        return earlier
    job = Job(
        id=str(uuid.uuid4()), kind="plan", params=params, plan_id=plan.id, created_by=user.id,
        attempt=1,
    )  # fmt: skip
    db.add(job)
    db.commit()
    return Started(plan.id, job.id, new=True)


def get_plan(db: Session, plan_id: int) -> Plan:
    plan = db.get(Plan, plan_id)
    if plan is None:
        raise HTTPProblem(404, "Not Found", f"no plan {plan_id}")
    return plan


def check_may_change(plan: Plan, actor: Principal, action: str) -> None:
    """403 unless `actor` requested `plan` or is an admin: the one rule for edits and
    submits."""
    if plan.requested_by != actor.id and actor.role != Role.admin.value:
        raise HTTPProblem(
            403,
            "Forbidden",
            f"only the buyer who requested plan {plan.id} or an admin may {action} it",
        )


def check_may_approve(db: Session, plan: Plan, actor: Principal) -> None:
    """403 if `actor` requested `plan` or edited any of its lines (four eyes)."""
    if plan.requested_by == actor.id:
        raise HTTPProblem(403, "Forbidden", "you cannot approve a plan you requested")
    if db.get(PlanEditor, (plan.id, actor.id)) is not None:
        raise HTTPProblem(403, "Forbidden", "you cannot approve a plan whose lines you edited")


def totals(
    record: dict[str, Any], params: dict[str, Any], lines: Iterable[PlanLine]
) -> dict[str, Any]:
    """`record` with its totals recomputed from `lines`, and flags for the approver.

    Totals: `total_cost` (sum of quantity x unit cost), `total_volume`, `lines` (lines
    with a quantity), `suppliers` (lines, units, cost and volume per supplier, with the
    supplier's order cost and minimum order value as the plan was made). Flags: the
    budget or capacity the plan was requested with is exceeded, or a supplier's order is
    below its minimum order value.
    """
    # Each supplier's terms as the plan was made, kept apart from the per-supplier totals
    # so that a supplier whose lines all went to 0 still has them if a line comes back.
    terms: dict[str, dict[str, Any]] = record.get("supplier_terms") or {
        s["supplier_id"]: {
            "order_cost": s.get("order_cost", 0.0), "min_order_value": s.get("min_order_value", 0.0)
        }
        for s in record.get("suppliers", [])
    }  # fmt: skip
    per: dict[str, dict[str, Any]] = {}
    for line in lines:
        if line.quantity <= 0:
            continue
        s = per.setdefault(
            line.supplier_id,
            {"supplier_id": line.supplier_id, "lines": 0, "units": 0, "cost": 0.0, "volume": 0.0},
        )
        s["lines"] += 1
        s["units"] += line.quantity
        s["cost"] += line.quantity * line.unit_cost
        s["volume"] += line.quantity * line.unit_volume
    suppliers = []
    for sid in sorted(per):
        known = terms.get(sid, {})
        suppliers.append(
            {
                **per[sid],
                "order_cost": float(known.get("order_cost", 0.0) or 0.0),
                "min_order_value": float(known.get("min_order_value", 0.0) or 0.0),
            }
        )
    cost = sum(s["cost"] for s in suppliers)
    volume = sum(s["volume"] for s in suppliers)
    flags = _flags(cost, volume, params.get("budget"), params.get("capacity"), suppliers)
    return {
        **record,
        "total_cost": cost,
        "total_volume": volume,
        "lines": sum(s["lines"] for s in suppliers),
        "order_costs": sum(s["order_cost"] for s in suppliers),
        "suppliers": suppliers,
        "supplier_terms": terms,
        "flags": flags,
    }


def _flags(
    cost: float,
    volume: float,
    budget: float | None,
    capacity: float | None,
    suppliers: Sequence[dict[str, Any]],
) -> list[dict[str, str]]:
    flags = []
    if budget is not None and cost > budget + 0.005:
        flags.append(
            {
                "code": "over_budget",
                "message": f"costs {cost:,.2f}, over the budget of {budget:,.2f}",
            }
        )
    if capacity is not None and volume > capacity + 1e-9:
        flags.append(
            {
                "code": "over_capacity",
                "message": f"takes {volume:,.2f} of volume, over the capacity of {capacity:,.2f}",
            }
        )
    for s in suppliers:
        if 0 < s["cost"] < s["min_order_value"] - 0.005:
            flags.append(
                {
                    "code": "below_supplier_minimum",
                    "message": f"supplier {s['supplier_id']}: {s['cost']:,.2f} is below its "
                    f"minimum order value of {s['min_order_value']:,.2f}",
                }
            )
    return flags


def _bump(db: Session, plan: Plan, version: int, state: str, **values: Any) -> None:
    """Move `plan` from (version, its state) to `state`; 409 if someone moved it first."""
    result = db.execute(
        update(Plan)
        .where(Plan.id == plan.id, Plan.version == version, Plan.state == plan.state)
        .values(state=state, version=version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise HTTPProblem(409, "Conflict", "the plan changed meanwhile: reload it and try again")


def transition(
    db: Session,
    plan_id: int,
    action: str,
    actor: Principal,
    version: int | None,
    reason: str | None,
    request_id: str | None,
    webhook: bool = False,
) -> Plan:
    """Apply `action`; with `webhook`, approval also owes each order to the webhook."""
    before_state, after_state = TRANSITIONS[action]
    plan = get_plan(db, plan_id)
    if action == "submit":
        check_may_change(plan, actor, action)
    elif action == "approve":
        check_may_approve(db, plan, actor)
    if plan.state != before_state:
        raise HTTPProblem(409, "Conflict", f"cannot {action} a plan in state {plan.state}")
    at = plan.version if version is None else version
    if at != plan.version:
        raise HTTPProblem(409, "Conflict", f"the plan is at version {plan.version}, not {at}")
    extra: dict[str, Any] = {}
    if action in ("approve", "reject"):
        extra = {"decided_by": actor.id, "reason": reason}
    _bump(db, plan, at, after_state, **extra)
    if action == "approve":
        _purchase_orders(db, plan.id, webhook)
    db.add(
        AuditEntry(
            actor_id=actor.id, action=action, entity="plan", entity_id=str(plan.id),
            before={"state": before_state, "version": at},
            after={"state": after_state, "version": at + 1, "reason": reason},
            request_id=request_id,
        )
    )  # fmt: skip
    db.commit()
    db.refresh(plan)
    return plan


def edit_line(
    db: Session,
    plan_id: int,
    sku_id: str,
    packs: int,
    reason: str,
    actor: Principal,
    version: int,
    request_id: str | None,
) -> Plan:
    """Set a draft line's packs (its requester or an admin), with the totals recomputed
    and the editor recorded, in one transaction behind one conditional UPDATE."""
    plan = get_plan(db, plan_id)
    check_may_change(plan, actor, "edit")
    if plan.state != "draft":
        raise HTTPProblem(409, "Conflict", f"lines can only be edited in a draft, not {plan.state}")
    if version != plan.version:
        raise HTTPProblem(409, "Conflict", f"the plan is at version {plan.version}, not {version}")
    lines = db.scalars(select(PlanLine).where(PlanLine.plan_id == plan_id)).all()
    line = next((ln for ln in lines if ln.sku_id == sku_id), None)
    if line is None:
        raise HTTPProblem(404, "Not Found", f"plan {plan_id} has no line for {sku_id!r}")
    quantity = packs * line.pack_size
    _check_quantity(line, packs, quantity)
    before = {"packs": line.packs, "quantity": line.quantity}
    line.packs, line.quantity, line.edit_reason = packs, quantity, reason
    record = totals(plan.record or {}, plan.params, lines)
    db.flush()  # the line first: the plan's conditional UPDATE below decides for both
    _bump(db, plan, version, "draft", record=record)
    if db.get(PlanEditor, (plan_id, actor.id)) is None:
        db.add(PlanEditor(plan_id=plan_id, user_id=actor.id))
    after = {"packs": packs, "quantity": quantity, "reason": reason}
    flags = [f["code"] for f in record["flags"]]
    db.add(
        AuditEntry(
            actor_id=actor.id, action="edit", entity="plan_line", entity_id=f"{plan_id}/{sku_id}",
            before=before, after={**after, "total_cost": record["total_cost"], "flags": flags},
            request_id=request_id,
        )
    )  # fmt: skip
    db.commit()
    db.refresh(plan)
    return plan


def _check_quantity(line: PlanLine, packs: int, quantity: int) -> None:
    """422 for a quantity the supplier will not take (between 0 and the MOQ) or that
    cannot be stored."""
    if quantity > MAX_QUANTITY:
        raise HTTPProblem(
            422, "Invalid request", f"{line.sku_id}: {packs:,} packs of {line.pack_size} is "
            f"{quantity:,} units, more than can be ordered ({MAX_QUANTITY:,})"
        )  # fmt: skip
    if 0 < quantity < line.moq:
        fewest = -(-line.moq // line.pack_size)
        raise HTTPProblem(
            422, "Invalid request", f"{line.sku_id}: {packs} pack(s) of {line.pack_size} is "
            f"{quantity} units, below the MOQ of {line.moq}; order 0 or at least {fewest} packs"
        )  # fmt: skip


def mark_ordered(
    db: Session, order_id: int, actor: Principal, reference: str | None, request_id: str | None
) -> PurchaseOrder:
    """Record that approved purchase order `order_id` was placed with its supplier.

    One conditional UPDATE on (id, status approved): of two concurrent calls exactly one
    wins, the other gets 409. The plan's version grows with each placed order, and its
    state becomes `ordered` with the last one (a conditional UPDATE too, so two orders of
    one plan placed at once cannot both miss being last).
    """
    order = db.get(PurchaseOrder, order_id)
    if order is None:
        raise HTTPProblem(404, "Not Found", f"no purchase order {order_id}")
    if order.status != "approved":
        raise HTTPProblem(409, "Conflict", f"purchase order {order_id} is already {order.status}")
    plan = get_plan(db, order.plan_id)
    at = plan.version
    placed = db.execute(
        update(PurchaseOrder)
        .where(PurchaseOrder.id == order_id, PurchaseOrder.status == "approved")
        .values(status="ordered", ordered_at=utcnow(), reference=reference)
        .execution_options(synchronize_session=False)
    )
    if placed.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise HTTPProblem(409, "Conflict", f"purchase order {order_id} was placed meanwhile")
    unplaced = db.scalar(
        select(func.count(PurchaseOrder.id)).where(
            PurchaseOrder.plan_id == plan.id, PurchaseOrder.status == "approved"
        )
    )
    state = "ordered" if unplaced == 0 else plan.state
    _bump(db, plan, at, state)
    db.add(
        AuditEntry(
            actor_id=actor.id, action="order", entity="purchase_order", entity_id=str(order_id),
            before={"status": "approved"},
            after={"status": "ordered", "reference": reference, "plan_state": state},
            request_id=request_id,
        )
    )  # fmt: skip
    db.commit()
    db.refresh(order)
    return order


def _purchase_orders(db: Session, plan_id: int, webhook: bool) -> None:
    by_supplier: dict[str, list[PlanLine]] = defaultdict(list)
    for line in db.scalars(select(PlanLine).where(PlanLine.plan_id == plan_id)).all():
        if line.quantity > 0:
            by_supplier[line.supplier_id].append(line)
    for supplier, lines in sorted(by_supplier.items()):
        items = [
            {"sku_id": ln.sku_id, "packs": ln.packs, "quantity": ln.quantity,
             "unit_cost": ln.unit_cost, "line_cost": round(ln.quantity * ln.unit_cost, 2)}
            for ln in lines
        ]  # fmt: skip
        total = round(sum(ln.quantity * ln.unit_cost for ln in lines), 2)
        order = PurchaseOrder(plan_id=plan_id, supplier_id=supplier, total=total, lines=items)
        db.add(order)
        if webhook:
            db.flush()
            enqueue(db, order)
