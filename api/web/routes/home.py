"""The home page: what waits for this user, stock alerts by value at risk, recent orders."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import desc, exists, select
from sqlalchemy.orm import Session

from api import datasets
from api.models import (
    Plan,
    PlanEditor,
    PurchaseOrder,
)
from api.web import signin
from api.web.rendering import (
    HOME_ALERTS,
    LIST_ROWS,
    Web,
    may_of,
    render,
    user_names,
    with_analysis,
)

router = APIRouter(prefix="/app", include_in_schema=False)


def _waiting(db: Session, current: signin.Current) -> list[Plan]:
    """Plans that wait for this user: approvers see what others submitted (and they did
    not edit); buyers see their drafts and rejected plans."""
    user, may = current.user, may_of(current)
    found: list[Plan] = []
    if may["approve"]:
        edited = exists().where(PlanEditor.plan_id == Plan.id, PlanEditor.user_id == user.id)
        found += db.scalars(
            select(Plan)
            .where(Plan.state == "submitted", Plan.requested_by != user.id, ~edited)
            .order_by(Plan.id)
            .limit(LIST_ROWS)
        ).all()
    if may["buy"]:
        found += db.scalars(
            select(Plan)
            .where(Plan.requested_by == user.id, Plan.state.in_(("draft", "rejected", "pending")))
            .order_by(desc(Plan.id))
            .limit(LIST_ROWS)
        ).all()
    return found


@router.get("/")
async def home(request: Request, current: Web) -> HTMLResponse:
    """Plans waiting for this user, stock alerts by value at risk, recent orders: read in
    one worker-thread call (the dataset's analysis is computed once per dataset, under
    the slow-work limit: `with_analysis`)."""
    limit = request.app.state.settings.max_upload_bytes

    def work(db: Session, compute: bool) -> HTMLResponse:
        analysis = datasets.analyse(db, limit, compute)
        alerts = None
        if analysis is not None:
            top = analysis.alerts.head(HOME_ALERTS).to_dict(orient="records")
            alerts = [{str(k): v for k, v in row.items()} for row in top]
        orders = db.scalars(select(PurchaseOrder).order_by(desc(PurchaseOrder.id)).limit(10))
        return render(
            request, "home.html", alerts=alerts, waiting=_waiting(db, current),
            orders=orders.all(), names=user_names(db),
        )  # fmt: skip

    page: HTMLResponse = await with_analysis(request, work)
    return page
