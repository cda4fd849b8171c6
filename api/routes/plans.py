"""Plans (buyers), approvals (approvers), jobs, and the purchase-order feed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from sqlalchemy import ColumnElement, Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from api import datasets, plans
from api.auth import CurrentUser, Principal, Reader, Role, require
from api.cache import Rendered
from api.deps import DB, JobId, Limit, Offset, RowId, SkuId, in_session
from api.errors import HTTPProblem
from api.jobs import scope_errors
from api.models import (
    AuditEntry,
    Job,
    Plan,
    PlanLine,
    PurchaseOrder,
    Simulation,
    utcnow,
)
from api.schemas import (
    Accepted,
    Decision,
    JobOut,
    LineEdit,
    Page,
    Placed,
    PlanOut,
    PlanRequest,
    PurchaseOrderOut,
)

router = APIRouter(prefix="/v1", tags=["plans"])
Buyer = Annotated[Principal, Depends(require(Role.buyer))]
Approver = Annotated[Principal, Depends(require(Role.approver))]
#: Who places approved orders with suppliers: buyers, or the purchasing system's key.
Purchaser = Annotated[Principal, Depends(require(Role.buyer, Role.approver))]


def _plan_out(db: Session, plan: Plan) -> dict[str, Any]:
    lines = db.scalars(select(PlanLine).where(PlanLine.plan_id == plan.id).order_by(PlanLine.id))
    return {**PlanOut.model_validate(plan).model_dump(exclude={"lines"}), "lines": list(lines)}


def _check_scope(request: Request, db: Session, body: PlanRequest) -> None:
    """422 naming each supplier or category the stored dataset does not have (409 while
    the dataset is incomplete: there is nothing to check them against yet)."""
    _, dataset = datasets.load(db, request.app.state.settings.max_upload_bytes)
    if dataset is None:
        raise HTTPProblem(
            409, "Dataset incomplete",
            "upload the dataset before asking for a plan of some suppliers or categories",
        )  # fmt: skip
    errors = scope_errors(dataset, body.suppliers, body.categories)
    if errors:
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
        raise HTTPProblem(422, "Invalid request", detail, {"errors": errors})


@router.post("/plans", status_code=202, response_model=Accepted, summary="Request a plan")
def request_plan(
    body: PlanRequest,
    request: Request,
    response: Response,
    db: DB,
    user: Buyer,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Start a job (forecast + optimize); retries with the same Idempotency-Key get the
    same job and plan back."""
    key = (idempotency_key or "").strip() or None  # an empty key is no key
    fresh = key is None or plans.earlier_request(db, user, key, body.model_dump()) is None
    if fresh and (body.suppliers or body.categories):
        _check_scope(request, db, body)
    started = plans.request_plan(db, user, body.model_dump(), key)
    if started.new:
        request.app.state.workers.submit(started.job_id, 1)
    response.headers["Location"] = f"/v1/jobs/{started.job_id}"
    return {"job_id": started.job_id, "plan_id": started.plan_id}


@router.get("/jobs/{job_id}", response_model=JobOut, summary="A job's status and progress")
def get_job(job_id: JobId, db: DB, _: CurrentUser) -> Job:
    job = db.get(Job, job_id)
    if job is None:
        raise HTTPProblem(404, "Not Found", f"no job {job_id}")
    return job


@router.post("/jobs/{job_id}/retry", response_model=JobOut, summary="Run a failed job again")
def retry_job(job_id: JobId, request: Request, db: DB, user: CurrentUser) -> Job:
    """Queue a failed job again (its requester or an admin) as its next attempt; its
    plan or simulation goes back to pending. One conditional UPDATE on (id, failed,
    attempt): of concurrent retries exactly one wins, the others get 409."""
    job = db.get(Job, job_id)
    if job is None:
        raise HTTPProblem(404, "Not Found", f"no job {job_id}")
    if job.created_by != user.id and user.role != Role.admin.value:
        raise HTTPProblem(403, "Forbidden", "only the job's requester or an admin may retry it")
    if job.status != "failed":
        raise HTTPProblem(409, "Conflict", f"only a failed job can be retried; it is {job.status}")
    before = {"status": job.status, "error": job.error, "attempt": job.attempt}
    attempt = job.attempt + 1
    queued = db.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "failed", Job.attempt == job.attempt)
        .values(status="queued", error=None, progress=0, attempt=attempt, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if queued.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise HTTPProblem(409, "Conflict", "the job was retried meanwhile: reload it")
    if job.plan_id is not None:
        db.execute(
            update(Plan)
            .where(Plan.id == job.plan_id, Plan.state == "failed")
            .values(state="pending", version=Plan.version + 1, updated_at=utcnow())
        )
    db.execute(
        update(Simulation)
        .where(Simulation.job_id == job_id, Simulation.state == "failed")
        .values(state="pending")
    )
    db.add(
        AuditEntry(
            actor_id=user.id, action="retry", entity="job", entity_id=job_id, before=before,
            after={"status": "queued", "attempt": attempt}, request_id=request.state.request_id,
        )
    )  # fmt: skip
    db.commit()
    request.app.state.workers.submit(job_id, attempt)
    db.refresh(job)
    return job


#: Built once: building it per request was about 5% of a cached read's time (py-spy).
_PLAN_VERSION = select(Plan.version).where(Plan.id == bindparam("plan_id"))


@router.get(
    "/plans/{plan_id}",
    response_class=Response,
    responses={200: {"model": PlanOut, "description": "The plan, its state and lines"}},
    summary="A plan with its lines",
)
async def get_plan(plan_id: RowId, request: Request, _: Reader) -> Response:
    """Served from the rendered-bytes cache while the plan's version is unchanged.

    Every change to a plan or its lines bumps its version in the same transaction, so
    lines read between two equal version reads are that version's lines: only then is
    the rendering cached (the reads are separate statements, not one snapshot).
    """
    cache: Rendered = request.app.state.rendered
    key = {"plan_id": plan_id}

    def render(db: Session) -> tuple[bytes, int]:
        version = db.scalar(_PLAN_VERSION, key)
        if version is None:
            raise HTTPProblem(404, "Not Found", f"no plan {plan_id}")
        body = cache.get(("plan", plan_id, version))
        if body is None:
            plan = plans.get_plan(db, plan_id)
            body = PlanOut.model_validate(_plan_out(db, plan)).model_dump_json().encode()
            version = plan.version
            if db.scalar(_PLAN_VERSION, key) == version:
                cache.put(("plan", plan_id, version), body)
        return body, version

    body, version = await in_session(request, render)
    return Response(body, media_type="application/json", headers={"ETag": f'"{plan_id}-{version}"'})


@router.patch(
    "/plans/{plan_id}/lines/{sku_id}", response_model=PlanOut, summary="Edit a draft's line"
)
def edit_line(
    plan_id: RowId, sku_id: SkuId, body: LineEdit, request: Request, db: DB, user: Buyer
) -> dict[str, Any]:
    plan = plans.edit_line(
        db, plan_id, sku_id, body.packs, body.reason, user, body.version, request.state.request_id
    )
    return _plan_out(db, plan)


def _decide(
    action: str,
    plan_id: RowId,
    request: Request,
    db: Session,
    user: Principal,
    body: Decision | None,
) -> dict[str, Any]:
    decision = body or Decision()
    if action == "reject" and not (decision.reason or "").strip():
        raise HTTPProblem(422, "Invalid request", "a rejection needs a reason")
    webhook = request.app.state.settings.webhook_url is not None
    plan = plans.transition(
        db, plan_id, action, user, decision.version, decision.reason, request.state.request_id,
        webhook,
    )  # fmt: skip
    return _plan_out(db, plan)


@router.post("/plans/{plan_id}/submit", response_model=PlanOut, summary="Submit a draft")
def submit(
    plan_id: RowId, request: Request, db: DB, user: Buyer, body: Decision | None = None
) -> dict[str, Any]:
    return _decide("submit", plan_id, request, db, user, body)


@router.post("/plans/{plan_id}/approve", response_model=PlanOut, summary="Approve (approvers)")
def approve(
    plan_id: RowId, request: Request, db: DB, user: Approver, body: Decision | None = None
) -> dict[str, Any]:
    return _decide("approve", plan_id, request, db, user, body)


@router.post("/plans/{plan_id}/reject", response_model=PlanOut, summary="Reject with a reason")
def reject(
    plan_id: RowId, request: Request, db: DB, user: Approver, body: Decision | None = None
) -> dict[str, Any]:
    return _decide("reject", plan_id, request, db, user, body)


def _feed(
    *where: ColumnElement[bool],
) -> tuple[Select[int, int], Select[PurchaseOrder]]:
    """The feed's (count, newest id) of the matching orders, and their page query."""
    summary = select(func.count(PurchaseOrder.id), func.max(PurchaseOrder.id)).where(*where)
    return summary, select(PurchaseOrder).where(*where).order_by(PurchaseOrder.id)


#: Built once, as _PLAN_VERSION.
_FEED = _feed(PurchaseOrder.status == bindparam("status"))
_FEED_SINCE = _feed(
    PurchaseOrder.status == bindparam("status"), PurchaseOrder.created_at >= bindparam("since")
)


@router.get(
    "/purchase-orders",
    response_class=Response,
    responses={200: {"model": Page[PurchaseOrderOut], "description": "One page of the feed"}},
    summary="The purchase-order feed",
)
async def purchase_orders(
    request: Request,
    _: Reader,
    status: Literal["approved", "ordered"] = "approved",
    since: datetime | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Served from the rendered-bytes cache while the matching orders are unchanged.

    Orders are added with rising ids and only ever move approved -> ordered, so for one
    status (count, newest id) of the matching orders names the page's content: a set
    that lost an order and gained a new one has a newer newest id. The page is cached
    only if that did not change while it was read.
    """
    cache: Rendered = request.app.state.rendered
    summary, query = _FEED_SINCE if since is not None else _FEED
    params = {"status": status, "since": since}

    def render(db: Session) -> bytes:
        total, newest = db.execute(summary, params).one()
        key = ("orders", status, since, limit, offset, total, newest)
        body = cache.get(key)
        if body is None:
            rows = db.scalars(query.limit(limit).offset(offset), params).all()
            page = Page[PurchaseOrderOut](
                items=[PurchaseOrderOut.model_validate(r) for r in rows],
                total=total, limit=limit, offset=offset,
            )  # fmt: skip
            body = page.model_dump_json().encode()
            if tuple(db.execute(summary, params).one()) == (total, newest):
                cache.put(key, body)
        return body

    return Response(await in_session(request, render), media_type="application/json")


@router.post(
    "/purchase-orders/{order_id}/ordered",
    response_model=PurchaseOrderOut,
    summary="Record an approved order as placed with its supplier",
    responses={409: {"description": "Already placed, or placed concurrently: reload"}},
)
def place_order(
    order_id: RowId, request: Request, db: DB, user: Purchaser, body: Placed | None = None
) -> PurchaseOrder:
    """approved -> ordered, with the purchasing system's order number; the plan becomes
    `ordered` when its last order is placed. A second call is 409, not a second order."""
    placed = body or Placed()
    return plans.mark_ordered(db, order_id, user, placed.reference, request.state.request_id)
