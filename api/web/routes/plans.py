"""Plans: request one, watch its job, review it (lines, reasons, the peers compared),
edit a line, submit, approve or reject; then its purchase orders, marked ordered."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session, defer

from api import datasets, plans
from api.auth import Role
from api.cache import Rendered
from api.deps import DB, RowId, in_session
from api.errors import HTTPProblem
from api.models import (
    Job,
    Plan,
    PlanEditor,
    PlanForecast,
    PlanLine,
    PurchaseOrder,
    Simulation,
)
from api.schemas import PlanRequest
from api.web import signin
from api.web.rendering import (
    LINES_PER_PAGE,
    LIST_ROWS,
    SECURITY_HEADERS,
    STEPS,
    Form,
    PageError,
    Web,
    gettext_of,
    language_of,
    may_of,
    need,
    render,
    tag_of,
    user_names,
)
from forecast.fan import LEVELS, Fan
from forecast.panel import TOTAL

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/plans")
def plan_list(request: Request, db: DB, current: Web) -> HTMLResponse:
    rows = db.scalars(select(Plan).order_by(desc(Plan.id)).limit(LIST_ROWS)).all()
    return render(request, "plans.html", plans=rows, names=user_names(db))


def _request_form(
    request: Request, values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> HTMLResponse:
    return render(request, "plan_new.html", status, values=values, errors=errors,
                  form_id=values.get("form_id") or secrets.token_urlsafe(16))  # fmt: skip


@router.get("/plans/new")
def plan_form(request: Request, current: Web) -> HTMLResponse:
    need(request, current, "buy")
    return _request_form(request, {}, {})


def _ids(raw: str) -> list[str] | None:
    """A comma- or line-separated list of ids (None when empty: all of them)."""
    found = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
    return found or None


@router.post("/plans/new")
def plan_request(request: Request, db: DB, current: Web, form: Form) -> Response:
    """Validate the form as the API validates its body, start the plan's job, and show
    its progress. The form's id is the idempotency key: a second click gets the same
    plan."""
    need(request, current, "buy")
    _ = gettext_of(request)
    raw = {
        "budget": form.get("budget", "").strip() or None,
        "capacity": form.get("capacity", "").strip() or None,
        "suppliers": _ids(form.get("suppliers", "")),
        "categories": _ids(form.get("categories", "")),
        "horizon_days": form.get("horizon_days", "").strip() or None,
    }
    errors: dict[str, str] = {}
    body = None
    if raw["budget"] is None:
        errors["budget"] = _("Enter a budget.")
    else:
        try:
            body = PlanRequest.model_validate(raw)
        except ValidationError as exc:
            for e in exc.errors():
                field = str(e["loc"][0]) if e["loc"] else "budget"
                errors.setdefault(field, _field_error(_, e))
    if body is not None and (body.suppliers or body.categories):
        _report, dataset = datasets.load(db, request.app.state.settings.max_upload_bytes)
        if dataset is None:
            errors["suppliers"] = _("Upload the dataset first.")
        else:
            from api.jobs import scope_errors

            for problem in scope_errors(dataset, body.suppliers, body.categories):
                # ["body", field, index]; ["body"] when the combination leaves no SKU
                where = problem["loc"]
                field = str(where[1]) if len(where) > 1 else "suppliers"
                errors[field] = "; ".join(filter(None, (errors.get(field), problem["msg"])))
    if errors or body is None:
        return _request_form(request, form, errors, 422)
    key = "web-" + form.get("form_id", "")[:100] if form.get("form_id") else None
    try:
        started = plans.request_plan(db, current.user, body.model_dump(), key)
    except HTTPProblem as exc:
        return _request_form(request, form, {"budget": exc.detail}, exc.status)
    if started.new:
        request.app.state.workers.submit(started.job_id, 1)
    return RedirectResponse(f"/app/jobs/{started.job_id}", status_code=303)


def _field_error(_: Callable[[str], str], error: Mapping[str, Any]) -> str:
    """A pydantic error as the form says it."""
    kind = str(error.get("type", ""))
    if kind in ("float_parsing", "int_parsing", "float_type", "int_type"):
        return _("Enter a number.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must not be negative.")
    if kind in ("less_than_equal", "less_than"):
        return _("Too large.")
    if kind == "finite_number":
        return _("Enter a number.")
    return str(error.get("msg", _("Not valid.")))


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, db: DB, current: Web) -> HTMLResponse:
    job = _job(request, db, job_id)
    return render(request, "job.html", job=job, target=_job_result(db, job))


@router.get("/jobs/{job_id}/progress")
def job_progress(job_id: str, request: Request, db: DB, current: Web) -> HTMLResponse:
    """The progress bar (htmx polls it); once a plan's job succeeds, htmx goes to it."""
    job = _job(request, db, job_id)
    headers = {}
    target = _job_result(db, job)
    if job.status == "succeeded" and target:
        headers["HX-Redirect"] = target
    return render(request, "job_progress.html", headers=headers, job=job, target=target)


def _job_result(db: Session, job: Job) -> str:
    """The page of what `job` makes: its plan or its simulation."""
    if job.plan_id is not None:
        return f"/app/plans/{job.plan_id}"
    sim = db.scalar(select(Simulation.id).where(Simulation.job_id == job.id))
    return f"/app/simulations/{sim}" if sim is not None else ""


def _job(request: Request, db: Session, job_id: str) -> Job:
    job = db.get(Job, job_id[:36])
    if job is None:
        _ = gettext_of(request)
        raise PageError(404, _("There is no such job."))
    return job


def _plan_page(
    request: Request, db: Session, current: signin.Current, plan_id: int,
    error: str = "", status: int = 200, page: int = 1,
) -> HTMLResponse:  # fmt: skip
    plan = db.get(Plan, plan_id)
    if plan is None:
        _ = gettext_of(request)
        raise PageError(404, _("There is no such plan."))
    db.refresh(plan)  # a page after a failed change shows what is stored now
    count = db.scalar(select(func.count(PlanLine.id)).where(PlanLine.plan_id == plan_id)) or 0
    pages = max(-(-count // LINES_PER_PAGE), 1)
    page = min(max(page, 1), pages)
    lines = db.scalars(
        select(PlanLine)
        .options(defer(PlanLine.reasons))  # loaded when a line's reasons are opened
        .where(PlanLine.plan_id == plan_id)
        .order_by(PlanLine.id)
        .offset((page - 1) * LINES_PER_PAGE)
        .limit(LINES_PER_PAGE)
    ).all()
    user = current.user
    edited_by_me = db.get(PlanEditor, (plan_id, user.id)) is not None
    mine = plan.requested_by == user.id or user.role == Role.admin.value
    may = may_of(current)
    job = db.scalar(select(Job).where(Job.plan_id == plan_id))
    return render(
        request, "plan.html", status, current=current, plan=plan, lines=lines,
        record=plan.record or {},
        error=error, names=user_names(db), job=job, page=page, pages=pages,
        count=count, per_page=LINES_PER_PAGE,
        can_edit=may["buy"] and mine and plan.state == "draft",
        can_decide=may["approve"] and plan.state == "submitted"
        and plan.requested_by != user.id and not edited_by_me,
        own_plan=plan.requested_by == user.id or edited_by_me,
    )  # fmt: skip


#: Stands for the session's CSRF token in a cached page (api.web.pages.plan_page).
_CSRF_SLOT = "\x00csrf\x00"


@router.get("/plans/{plan_id}")
async def plan_page(plan_id: RowId, request: Request, current: Web, page: int = 1) -> Response:
    """The review page, served from the rendered-bytes cache while the plan's version is
    unchanged (as `GET /v1/plans/{id}`): keyed by plan, version, page of lines, language,
    user and role (what they may do differs), rendered with a slot for the session's CSRF
    token that is filled in on the way out. Cached only if the version did not move
    while the page was read."""
    cache: Rendered = request.app.state.rendered
    page = min(max(page, 1), 10**6)
    language = language_of(request, current)
    slotted = replace(current, csrf_token=_CSRF_SLOT)

    def work(db: Session) -> bytes:
        version = db.scalar(select(Plan.version).where(Plan.id == plan_id))
        key = ("app-plan", plan_id, version, page, language, current.user.id, current.user.role)
        body = cache.get(key) if version is not None else None
        if body is None:
            body = bytes(_plan_page(request, db, slotted, plan_id, page=page).body)
            if (
                version is not None
                and db.scalar(select(Plan.version).where(Plan.id == plan_id)) == version
            ):
                cache.put(key, body)
        return body

    body = await in_session(request, work)
    token = current.csrf_token.encode()
    return HTMLResponse(body.replace(_CSRF_SLOT.encode(), token), headers=SECURITY_HEADERS)


@router.get("/plans/{plan_id}/frontier.json")
def plan_frontier(plan_id: RowId, request: Request, db: DB, current: Web) -> JSONResponse:
    """What each budget around the plan's would buy (the plan job's frontier), for the
    review page's chart: budgets, fill rate per tier (%), customers expected lost, and
    the labels in the user's language."""
    plan = db.get(Plan, plan_id)
    if plan is None:
        return JSONResponse({"detail": "no such plan"}, status_code=404)
    _ = gettext_of(request)
    rows = (plan.record or {}).get("frontier") or []
    tiers = sorted(str(k)[5:] for k in (rows[0] if rows else {}) if str(k).startswith("fill_"))
    return JSONResponse(
        {
            "locale": tag_of(language_of(request, current)),
            "labels": {
                "budget": _("Budget"), "fill": _("Expected fill rate"),
                "lost": _("Expected customers lost"),
            },
            "budget": [round(float(r["budget"]), 2) for r in rows],
            "tiers": [
                {"tier": t, "label": _("Tier %(tier)s") % {"tier": t},
                 "fill": [round(100 * float(r[f"fill_{t}"]), 2) for r in rows]}
                for t in tiers
            ],
            "customers_lost": [round(float(r["customers_lost"]), 3) for r in rows],
        },
        headers=SECURITY_HEADERS,
    )  # fmt: skip


@router.get("/plans/{plan_id}/lines/{sku_id}/reasons")
def line_reasons(
    plan_id: RowId, sku_id: str, request: Request, db: DB, current: Web
) -> HTMLResponse:
    """A line's reasons: the fragment htmx puts in the plan page, or a page of its own."""
    line = db.scalar(
        select(PlanLine).where(PlanLine.plan_id == plan_id, PlanLine.sku_id == sku_id[:100])
    )
    if line is None:
        _ = gettext_of(request)
        raise PageError(404, _("There is no such line."))
    fragment = request.headers.get("hx-request") == "true"
    template = "line_reasons.html" if fragment else "line_page.html"
    fan = select(PlanForecast.sku_id).where(
        PlanForecast.plan_id == plan_id, PlanForecast.sku_id == line.sku_id
    )
    has_fan = db.scalar(fan) is not None
    return render(request, template, line=line, steps=STEPS, has_fan=has_fan)


@router.get("/plans/{plan_id}/lines/{sku_id}/forecast.json")
def line_forecast(
    plan_id: RowId, sku_id: str, request: Request, db: DB, current: Web
) -> JSONResponse:
    """The line's forecast fan as the plan job stored it (`forecast.fan.Fan.record`) with
    its bands (`bands[k][s][d]`: the quantile at `levels[k]` of segment s on day d), the
    segments' names and the chart's labels in the user's language."""
    stored = db.get(PlanForecast, (plan_id, sku_id[:100]))
    if stored is None:
        return JSONResponse({"detail": "no forecast for this line"}, status_code=404)
    _ = gettext_of(request)
    fan = stored.fan
    drawn = Fan.of_record(fan)
    bands = drawn.bands()
    names = [
        _("All customers") if s == TOTAL else _("Tier %(tier)s") % {"tier": s}
        for s in fan["segments"]
    ]
    return JSONResponse(
        {
            **fan, "names": names, "levels": list(LEVELS),
            "history_dates": [d.date().isoformat() for d in drawn.history_dates],
            "dates": [d.date().isoformat() for d in drawn.dates],
            "bands": [bands[:, :, k].tolist() for k in range(len(LEVELS))],
            "locale": tag_of(language_of(request, current)),
            "labels": {
                "date": _("Day"), "demand": _("Demand (units/day)"),
                "mean": _("Forecast (units/day)"), "customers": _("Customers"),
                "wide_high": _("9 days in 10: at most"), "middle_high": _("Half the days: at most"),
                "middle_low": _("Half the days: at least"), "wide_low": _("9 days in 10: at least"),
            },
        },
        headers=SECURITY_HEADERS,
    )  # fmt: skip


def _refusal(request: Request, exc: HTTPProblem) -> str:
    """A service refusal in the user's words: a plan changed meanwhile is said plainly."""
    _ = gettext_of(request)
    if exc.status == 409:
        return _("This plan changed since you opened it: review it again.") + f" ({exc.detail})"
    if exc.status == 403:
        return _("You may not do this to this plan.") + f" ({exc.detail})"
    return exc.detail


def _version(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() and len(raw) < 10 else None


@router.post("/plans/{plan_id}/lines/{sku_id}")
def edit_line(
    plan_id: RowId, sku_id: str, request: Request, db: DB, current: Web, form: Form
) -> Response:
    need(request, current, "buy")
    _ = gettext_of(request)
    packs_raw, reason = form.get("packs", "").strip(), form.get("reason", "").strip()
    version = _version(form.get("version"))
    if not packs_raw.isdigit() or len(packs_raw) > 9:
        return _plan_page(request, db, current, plan_id,
                          _("Packs must be a whole number, 0 or more."), 422)  # fmt: skip
    if not reason:
        return _plan_page(request, db, current, plan_id, _("Say why you change the line."), 422)
    if version is None:
        return _plan_page(request, db, current, plan_id, _("Reload the page."), 409)
    try:
        plans.edit_line(db, plan_id, sku_id[:100], int(packs_raw), reason[:2000], current.user,
                        version, request.state.request_id)  # fmt: skip
    except HTTPProblem as exc:
        db.rollback()
        return _plan_page(request, db, current, plan_id, _refusal(request, exc), exc.status)
    page = _version(form.get("page")) or 1
    return RedirectResponse(
        f"/app/plans/{plan_id}?page={page}#line-{quote(sku_id)}", status_code=303
    )


@router.post("/plans/{plan_id}/{action}")
def decide(
    plan_id: RowId, action: str, request: Request, db: DB, current: Web, form: Form
) -> Response:
    """submit (the requester), approve or reject (another user, with a reason)."""
    _ = gettext_of(request)
    if action not in plans.TRANSITIONS:
        raise PageError(404, _("There is no such action."))
    need(request, current, "buy" if action == "submit" else "approve")
    reason = form.get("reason", "").strip()[:2000] or None
    if action == "reject" and reason is None:
        return _plan_page(request, db, current, plan_id, _("A rejection needs a reason."), 422)
    version = _version(form.get("version"))
    if version is None:
        return _plan_page(request, db, current, plan_id, _("Reload the page."), 409)
    webhook = request.app.state.settings.webhook_url is not None
    try:
        plans.transition(db, plan_id, action, current.user, version, reason,
                         request.state.request_id, webhook)  # fmt: skip
    except HTTPProblem as exc:
        db.rollback()
        return _plan_page(request, db, current, plan_id, _refusal(request, exc), exc.status)
    if action == "approve":
        return RedirectResponse(f"/app/orders?plan={plan_id}", status_code=303)
    return RedirectResponse(f"/app/plans/{plan_id}", status_code=303)


# --- purchase orders ---------------------------------------------------------------


@router.get("/orders")
def order_list(request: Request, db: DB, current: Web, plan: int | None = None) -> HTMLResponse:
    query = select(PurchaseOrder).order_by(desc(PurchaseOrder.id)).limit(LIST_ROWS)
    if plan is not None:
        query = query.where(PurchaseOrder.plan_id == plan)
    return render(request, "orders.html", orders=db.scalars(query).all(), plan=plan, error="")


@router.post("/orders/{order_id}/ordered")
def mark_ordered(order_id: RowId, request: Request, db: DB, current: Web, form: Form) -> Response:
    need(request, current, "order")
    _ = gettext_of(request)
    reference = form.get("reference", "").strip()[:100] or None
    try:
        order = plans.mark_ordered(db, order_id, current.user, reference, request.state.request_id)
    except HTTPProblem as exc:
        db.rollback()
        rows = db.scalars(select(PurchaseOrder).order_by(desc(PurchaseOrder.id)).limit(LIST_ROWS))
        message = _("This order changed since you opened it.") if exc.status == 409 else ""
        return render(request, "orders.html", exc.status, orders=rows.all(), plan=None,
                      error=f"{message} ({exc.detail})".strip())  # fmt: skip
    return RedirectResponse(f"/app/orders?plan={order.plan_id}", status_code=303)
