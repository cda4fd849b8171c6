"""Plan states and their transitions, checked and atomic.

draft -> submitted -> approved | rejected -> ordered. A buyer edits lines only while the
plan is a draft; an approver cannot approve a plan they requested. Every transition is
one conditional UPDATE on (id, version, state): of two concurrent approve/reject calls
exactly one matches, the other gets 409. Approval writes the purchase orders, one per
supplier, in the same transaction; placing each with its supplier (`mark_ordered`) moves
it approved -> ordered, and the plan follows once all of its orders are placed. Every
action lands in the audit log.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.auth import Principal
from api.errors import Problem
from api.models import AuditEntry, Plan, PlanLine, PurchaseOrder, utcnow
from api.webhook import enqueue

TRANSITIONS = {
    "submit": ("draft", "submitted"),
    "approve": ("submitted", "approved"),
    "reject": ("submitted", "rejected"),
}


def get_plan(db: Session, plan_id: int) -> Plan:
    plan = db.get(Plan, plan_id)
    if plan is None:
        raise Problem(404, "Not Found", f"no plan {plan_id}")
    return plan


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
        raise Problem(409, "Conflict", "the plan changed meanwhile: reload it and try again")


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
    if plan.state != before_state:
        raise Problem(409, "Conflict", f"cannot {action} a plan in state {plan.state}")
    if action == "approve" and plan.requested_by == actor.id:
        raise Problem(403, "Forbidden", "you cannot approve a plan you requested")
    at = plan.version if version is None else version
    if at != plan.version:
        raise Problem(409, "Conflict", f"the plan is at version {plan.version}, not {at}")
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
    plan = get_plan(db, plan_id)
    if plan.state != "draft":
        raise Problem(409, "Conflict", f"lines can only be edited in a draft, not {plan.state}")
    if version != plan.version:
        raise Problem(409, "Conflict", f"the plan is at version {plan.version}, not {version}")
    line = db.scalar(select(PlanLine).where(PlanLine.plan_id == plan_id, PlanLine.sku_id == sku_id))
    if line is None:
        raise Problem(404, "Not Found", f"plan {plan_id} has no line for {sku_id!r}")
    before = {"packs": line.packs, "quantity": line.quantity}
    _bump(db, plan, version, "draft")
    line.packs, line.quantity, line.edit_reason = packs, packs * line.pack_size, reason
    db.add(
        AuditEntry(
            actor_id=actor.id, action="edit", entity="plan_line", entity_id=f"{plan_id}/{sku_id}",
            before=before, after={"packs": packs, "quantity": line.quantity, "reason": reason},
            request_id=request_id,
        )
    )  # fmt: skip
    db.commit()
    db.refresh(plan)
    return plan


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
        raise Problem(404, "Not Found", f"no purchase order {order_id}")
    if order.status != "approved":
        raise Problem(409, "Conflict", f"purchase order {order_id} is already {order.status}")
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
        raise Problem(409, "Conflict", f"purchase order {order_id} was placed meanwhile")
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
