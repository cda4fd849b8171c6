"""The web app at /app: server-rendered pages for buyers, approvers, planners and viewers.

Jinja2 templates, htmx for the parts that update in place (a job's progress, a line's
edit); every script and style is vendored under /app/static, so the app works offline.
Pages call the same services as the API (`api.plans` for every plan transition, edit
and order, `api.datasets` for the stored dataset): the rules (four eyes, versions,
MOQ, budgets) are checked in one place. A browser signs in with a password
(`api.web.signin`) and holds an HttpOnly session cookie; every POST carries the
session's CSRF token (a form field, or the X-CSRF-Token header htmx sends) and is
refused with 403 without it. Text goes through the user's gettext catalog
(`api.web.i18n`), numbers through their locale's formats.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from sqlalchemy import desc, exists, func, select
from sqlalchemy.orm import Session, defer

from api import datasets, plans
from api.auth import Role
from api.cache import Rendered
from api.deps import DB, heavy, in_session
from api.errors import HTTPProblem
from api.models import (
    DatasetTable,
    Job,
    Plan,
    PlanEditor,
    PlanLine,
    PurchaseOrder,
    Simulation,
    SimulationChart,
    User,
)
from api.schemas import PlanRequest
from api.simulations import request_simulation
from api.web import signin
from api.web.i18n import LANGUAGES, NAMES, Formats, negotiate, translations
from api.web.results import simulation_view
from simulations.scenario_file import ScenarioError

log = logging.getLogger("replenish.api")

SESSION_COOKIE = "replenish_session"
#: The sign-in form's CSRF token (double submit: cookie and form field must match).
SIGNIN_COOKIE = "replenish_signin"
LANGUAGE_COOKIE = "replenish_lang"
STATIC = Path(__file__).resolve().parent / "static"
#: On every page: scripts, styles and images from this app only (everything is
#: vendored), no framing, no MIME sniffing, no referrer beyond this site.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
#: Plans and orders a list page shows (newest first).
LIST_ROWS = 50
#: Alerts on the home page.
HOME_ALERTS = 10
#: A plan's lines per page (each with its reasons): a 1,000-line plan stays quick to
#: render and to read.
LINES_PER_PAGE = 100


def N_(message: str) -> str:
    """Marks a word for the catalog that the templates translate from data."""
    return message


#: Words that reach the pages as data (states, statuses, roles, a line's steps and what
#: limited it, the plans compared): listed so that `make messages` puts them in the
#: catalog, and the catalog test checks each has a translation.
DATA_WORDS = (
    # plan states, job and order statuses
    N_("pending"), N_("draft"), N_("submitted"), N_("approved"), N_("rejected"),
    N_("ordered"), N_("failed"), N_("queued"), N_("running"), N_("succeeded"),
    # roles
    N_("viewer"), N_("buyer"), N_("approver"), N_("planner"), N_("admin"),
    # what stopped a line from getting more (optimize.solve)
    N_("none"), N_("budget"), N_("volume"), N_("moq"), N_("supplier terms"),
    N_("supplier minimum"), N_("max units"),
    # the plans an approver compares (replenish.comparison)
    N_("churn-aware (this plan)"), N_("segment-blind"), N_("ERP min/max + safety stock"),
    N_("base-stock"),
    # the what-if's policies and its baseline (api.web.pages.POLICIES)
    N_("min/max"), N_("(s,S)"), N_("churn-aware"), N_("baseline"),
)  # fmt: skip

#: The steps that add up to a line's quantity (optimize.reasons), in words.
STEPS = {
    "forecast": N_("expected demand not yet covered"),
    "safety_stock": N_("safety stock (segment-blind)"),
    "priority_uplift": N_("for the customers who buy it"),
    "pack_moq_rounding": N_("whole packs and MOQ"),
    "constraint_cut": N_("cut by budget, volume or supplier terms"),
}

router = APIRouter(prefix="/app", include_in_schema=False)
_env = Environment(
    loader=PackageLoader("api.web", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInNeeded(Exception):
    """No live session: the browser is sent to the sign-in page, then back to `path`."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class PageError(Exception):
    """A refusal shown as a page: `status` and a message already in the user's language."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _secure(request: Request) -> bool:
    """Served over HTTPS (directly or behind a proxy that says so): cookies are Secure."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def language_of(request: Request, current: signin.Current | None) -> str:
    """The user's setting, else the language cookie, else Accept-Language."""
    setting = current.language if current is not None else None
    if setting not in LANGUAGES:
        setting = request.cookies.get(LANGUAGE_COOKIE)
    return negotiate(setting, request.headers.get("accept-language"))


def gettext_of(request: Request) -> Callable[[str], str]:
    """The request's gettext (for messages built in route code). Bind it to `_` and
    call `_("...")`: only calls of `_` are extracted into the catalog."""
    current = getattr(request.state, "current", None)
    return translations(language_of(request, current)).gettext


def render(
    request: Request,
    template: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """`template` in the request's language, with the signed-in user (if any; a
    `current` in `context` stands for them, e.g. with a slot for the CSRF token)."""
    current: signin.Current | None = context.pop("current", None) or getattr(
        request.state, "current", None
    )
    language = language_of(request, current)
    t = translations(language)
    html = _env.get_template(template).render(
        _=t.gettext, ngettext=t.ngettext, fmt=Formats(language), language=language,
        html_lang="zh-CN" if language == "zh_CN" else "en", languages=NAMES,
        current=current, path=request.url.path, may=_may(current), **context,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def _may(current: signin.Current | None) -> dict[str, bool]:
    """What the signed-in user's role lets them do (pages hide what they may not)."""
    role = current.user.role if current is not None else ""
    admin = role == Role.admin.value
    return {
        "buy": admin or role == Role.buyer.value,
        "approve": admin or role == Role.approver.value,
        "order": admin or role in (Role.buyer.value, Role.approver.value),
        "plan": admin or role == Role.planner.value,
    }


async def signed_in(request: Request) -> signin.Current:
    """The request's live session (SignInNeeded without one)."""
    token = request.cookies.get(SESSION_COOKIE)
    current = None
    if token:
        current = await in_session(request, lambda db: signin.session_user(db, token))
    if current is None:
        raise SignInNeeded(request.url.path)
    request.state.current = current
    request.state.user = current.user.name  # the request log names the user
    return current


Web = Annotated[signin.Current, Depends(signed_in)]


async def posted(request: Request, current: Web) -> dict[str, str]:
    """A POST's form fields, once its CSRF token is checked (403 without it)."""
    form = await request.form()
    sent = form.get("csrf_token") or request.headers.get("x-csrf-token") or ""
    if not isinstance(sent, str) or not hmac.compare_digest(sent, current.csrf_token):
        _ = gettext_of(request)
        raise PageError(403, _("This form has expired. Reload the page."))
    return {k: v for k, v in form.items() if isinstance(v, str)}


Form = Annotated[dict[str, str], Depends(posted)]


def need(request: Request, current: signin.Current, what: str) -> None:
    """PageError 403 unless the user's role allows `what` (a key of `_may`)."""
    if not _may(current)[what]:
        _ = gettext_of(request)
        raise PageError(403, _("Your role does not allow this."))


def _next_path(raw: str | None) -> str:
    """Where to go after sign-in: a path of this app only (no open redirect)."""
    if raw and raw.startswith("/app") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/app/"


# --- sign in, sign out, language ---------------------------------------------------


@router.get("/signin")
def signin_form(request: Request, next: str | None = None) -> HTMLResponse:
    token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "signin.html", next=_next_path(next), form_token=token, error="")
    response.set_cookie(
        SIGNIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
        path="/app/signin",
    )  # fmt: skip
    return response


@router.post("/signin")
async def signin_submit(request: Request) -> Response:
    form = await request.form()
    _ = gettext_of(request)
    token = request.cookies.get(SIGNIN_COOKIE) or ""
    sent = form.get("csrf_token")
    name, password = form.get("name"), form.get("password")
    goto = _next_path(form.get("next") if isinstance(form.get("next"), str) else None)  # type: ignore[arg-type]
    if not token or not isinstance(sent, str) or not hmac.compare_digest(sent, token):
        raise PageError(403, _("This form has expired. Reload the page."))
    if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
        return render(request, "signin.html", 422, next=goto, form_token=token,
                      error=_("Enter your name and password."))  # fmt: skip

    def attempt(db: Session) -> signin.SignedIn:
        return signin.sign_in(db, name[:100], password[:signin.MAX_PASSWORD + 1],
                              request.state.request_id)  # fmt: skip

    try:
        done = await _in_transaction(request, attempt)
    except signin.SignInRefused as refused:
        if refused.code == "locked":
            message = _("Too many failed sign-ins. Try again in %(minutes)d minutes.") % {
                "minutes": signin.LOCK_MINUTES
            }
            return render(request, "signin.html", 423, next=goto, form_token=token, error=message)
        return render(request, "signin.html", 401, next=goto, form_token=token,
                      error=_("The name or the password is not right."))  # fmt: skip
    response = RedirectResponse(goto, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, done.token, max_age=signin.SESSION_HOURS * 3600, httponly=True,
        samesite="lax", secure=_secure(request), path="/app",
    )  # fmt: skip
    response.delete_cookie(SIGNIN_COOKIE, path="/app/signin")
    return response


async def _in_transaction(request: Request, work: Callable[[Session], Any]) -> Any:
    """`work(db)` in a worker thread with a transactional session (it commits)."""
    from starlette.concurrency import run_in_threadpool

    def unit() -> Any:
        with request.app.state.sessions() as db:
            return work(db)

    return await run_in_threadpool(unit)


@router.post("/signout")
async def signout(request: Request, current: Web, _form: Form) -> Response:
    token = request.cookies.get(SESSION_COOKIE) or ""
    await _in_transaction(
        request, lambda db: signin.sign_out(db, token, current.user.id, request.state.request_id)
    )
    response = RedirectResponse("/app/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/app")
    return response


@router.get("/language/{language}")
def choose_language(language: str, request: Request, next: str | None = None) -> Response:
    """Remember a language in a cookie (the sign-in page; no account is touched)."""
    response = RedirectResponse(_next_path(next), status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax",
                            secure=_secure(request), path="/app")  # fmt: skip
    return response


@router.post("/language")
async def set_language(request: Request, current: Web, form: Form) -> Response:
    """The signed-in user's language, kept with their account and in a cookie."""
    language = form.get("language", "")
    if language not in LANGUAGES:
        _ = gettext_of(request)
        raise PageError(422, _("Unknown language."))
    await _in_transaction(request, lambda db: signin.set_language(db, current.user.id, language))
    response = RedirectResponse(_next_path(form.get("next")), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax",
                        secure=_secure(request), path="/app")  # fmt: skip
    return response


# --- home --------------------------------------------------------------------------


def _waiting(db: Session, current: signin.Current) -> list[Plan]:
    """Plans that wait for this user: approvers see what others submitted (and they did
    not edit); buyers see their drafts and rejected plans."""
    user, may = current.user, _may(current)
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
    one worker-thread call (the dataset's analysis is computed once per dataset)."""
    limit = request.app.state.settings.max_upload_bytes

    def work(db: Session) -> HTMLResponse:
        analysis = datasets.analyse(db, limit)
        alerts = None
        if analysis is not None:
            top = analysis.alerts.head(HOME_ALERTS).to_dict(orient="records")
            alerts = [{str(k): v for k, v in row.items()} for row in top]
        orders = db.scalars(select(PurchaseOrder).order_by(desc(PurchaseOrder.id)).limit(10))
        return render(
            request, "home.html", alerts=alerts, waiting=_waiting(db, current),
            orders=orders.all(), names=_names(db),
        )  # fmt: skip

    return await in_session(request, work)


def _names(db: Session) -> dict[int, str]:
    return {u.id: u.name for u in db.scalars(select(User)).all()}


# --- plans -------------------------------------------------------------------------


@router.get("/plans")
def plan_list(request: Request, db: DB, current: Web) -> HTMLResponse:
    rows = db.scalars(select(Plan).order_by(desc(Plan.id)).limit(LIST_ROWS)).all()
    return render(request, "plans.html", plans=rows, names=_names(db))


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
    may = _may(current)
    job = db.scalar(select(Job).where(Job.plan_id == plan_id))
    return render(
        request, "plan.html", status, current=current, plan=plan, lines=lines,
        record=plan.record or {},
        error=error, names=_names(db), job=job, page=page, pages=pages,
        count=count, per_page=LINES_PER_PAGE,
        can_edit=may["buy"] and mine and plan.state == "draft",
        can_decide=may["approve"] and plan.state == "submitted"
        and plan.requested_by != user.id and not edited_by_me,
        own_plan=plan.requested_by == user.id or edited_by_me,
    )  # fmt: skip


#: Stands for the session's CSRF token in a cached page (api.web.pages.plan_page).
_CSRF_SLOT = "\x00csrf\x00"


@router.get("/plans/{plan_id}")
async def plan_page(plan_id: int, request: Request, current: Web, page: int = 1) -> Response:
    """The review page, served from the rendered-bytes cache while the plan's version is
    unchanged (as `GET /v1/plans/{id}`): keyed by plan, version, page of lines, language
    and user (what they may do differs), rendered with a slot for the session's CSRF
    token that is filled in on the way out. Cached only if the version did not move
    while the page was read."""
    cache: Rendered = request.app.state.rendered
    page = min(max(page, 1), 10**6)
    language = language_of(request, current)
    slotted = replace(current, csrf_token=_CSRF_SLOT)

    def work(db: Session) -> bytes:
        version = db.scalar(select(Plan.version).where(Plan.id == plan_id))
        key = ("app-plan", plan_id, version, page, language, current.user.id)
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


@router.get("/plans/{plan_id}/lines/{sku_id}/reasons")
def line_reasons(plan_id: int, sku_id: str, request: Request, db: DB, current: Web) -> HTMLResponse:
    """A line's reasons: the fragment htmx puts in the plan page, or a page of its own."""
    line = db.scalar(
        select(PlanLine).where(PlanLine.plan_id == plan_id, PlanLine.sku_id == sku_id[:100])
    )
    if line is None:
        _ = gettext_of(request)
        raise PageError(404, _("There is no such line."))
    fragment = request.headers.get("hx-request") == "true"
    template = "line_reasons.html" if fragment else "line_page.html"
    return render(request, template, line=line, steps=STEPS)


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
    plan_id: int, sku_id: str, request: Request, db: DB, current: Web, form: Form
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
    plan_id: int, action: str, request: Request, db: DB, current: Web, form: Form
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
def mark_ordered(order_id: int, request: Request, db: DB, current: Web, form: Form) -> Response:
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


# --- uploads -------------------------------------------------------------------------


def _uploads_page(
    request: Request, db: Session, status: int = 200, problems: list[dict[str, Any]] | None = None,
    table: str = "", stored: Any = None,
) -> HTMLResponse:  # fmt: skip
    from contract.schema import TABLES_BY_NAME

    have = {t.name: t for t in db.scalars(select(DatasetTable)).all()}
    report, _dataset = datasets.load(db, request.app.state.settings.max_upload_bytes)
    missing = [p.table for p in report.errors if p.code == "missing_table"]
    return render(
        request, "uploads.html", status, tables=list(TABLES_BY_NAME), have=have,
        missing=missing, problems=problems or [], table=table, stored=stored,
        names=_names(db), limit=request.app.state.settings.max_upload_bytes,
    )  # fmt: skip


@router.get("/uploads")
def uploads_page(request: Request, db: DB, current: Web) -> HTMLResponse:
    return _uploads_page(request, db)


@router.post("/uploads/{table}")
async def upload_table(table: str, request: Request, current: Web, _form: Form) -> Response:
    """Validate one table with the stored dataset and store it only if the whole dataset
    passes; otherwise the report (table, column, rows) and nothing stored."""
    from contract.schema import TABLES_BY_NAME

    need(request, current, "buy")
    _ = gettext_of(request)
    if table not in TABLES_BY_NAME:
        raise PageError(404, _("There is no such table."))
    upload = (await request.form()).get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise PageError(422, _("Choose a file to upload."))
    limit = request.app.state.settings.max_upload_bytes
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise PageError(413, _("The file is larger than %(limit)s bytes.") % {
            "limit": Formats(language_of(request, current)).number(limit)})  # fmt: skip

    def work(db: Session) -> HTMLResponse:
        try:
            stored = datasets.upload(db, table, content, upload.filename, current.user.id,
                                     limit, request.state.request_id)  # fmt: skip
        except datasets.UploadRejected as exc:
            db.rollback()
            problems = [
                {"table": p.table, "column": p.column, "code": p.code, "message": p.message,
                 "rows": list(p.rows[:20]), "count": p.count or len(p.rows)}
                for p in exc.problems
            ]  # fmt: skip
            return _uploads_page(request, db, 422, problems, table)
        return _uploads_page(request, db, 200, None, table, stored)

    return await heavy(request, lambda: _in_own_session(request, work))


def _in_own_session(request: Request, work: Callable[[Session], HTMLResponse]) -> HTMLResponse:
    with request.app.state.sessions() as db:
        return work(db)


# --- customers -----------------------------------------------------------------------

#: Customers per page, and the recently let-down customers the page lists.
CUSTOMERS_PER_PAGE = 100
LET_DOWN_ROWS = 20
#: The columns of the customers' CSV export, in order (the CRM's import).
CUSTOMER_COLUMNS = (
    "customer_id", "tier", "score", "amount", "margin", "growth", "strategic", "reputation",
    "spend_12m", "margin_12m", "orders_12m", "recency_days", "p_alive",
    "purchases_next_year", "clv", "new", "at_risk",
)  # fmt: skip


def _customers(request: Request, db: Session) -> tuple[Any, Any] | None:
    """(segments, churn) of the stored dataset; None while it is incomplete or anonymous."""
    analysis = datasets.analyse(db, request.app.state.settings.max_upload_bytes)
    if analysis is None or analysis.segments is None:
        return None
    return analysis.segments, analysis.churn


@router.get("/customers")
async def customers_page(request: Request, current: Web, page: int = 1) -> HTMLResponse:
    """Tiers, the customers let down by a recent stockout, and every customer's value
    score, its parts and CLV, a page at a time."""
    from replenish.care import RECENT_DAYS, recently_let_down

    def work(db: Session) -> HTMLResponse:
        found = _customers(request, db)
        if found is None:
            return render(request, "customers.html", segments=None)
        segments, churn = found
        _report, dataset = datasets.load(db, request.app.state.settings.max_upload_bytes)
        assert dataset is not None  # analysed, so complete
        people = segments.customers.sort_values("score", ascending=False, kind="stable")
        pages = max(-(-len(people) // CUSTOMERS_PER_PAGE), 1)
        at = min(max(page, 1), pages)
        shown = people.iloc[(at - 1) * CUSTOMERS_PER_PAGE : at * CUSTOMERS_PER_PAGE]
        let_down = recently_let_down(dataset, segments, churn).head(LET_DOWN_ROWS)
        return render(
            request, "customers.html", segments=segments,
            tiers=segments.tiers.reset_index().to_dict(orient="records"),
            people=shown.to_dict(orient="records"), let_down=let_down.to_dict(orient="records"),
            page=at, pages=pages, count=len(people), per_page=CUSTOMERS_PER_PAGE,
            recent_days=RECENT_DAYS,
        )  # fmt: skip

    return await in_session(request, work)


@router.get("/customers.csv")
async def customers_csv(request: Request, current: Web) -> Response:
    """Every customer with tier, value score and its parts, P(alive) and CLV, for the
    CRM (UTF-8 with a byte-order mark, which spreadsheet programs need to read it)."""

    def work(db: Session) -> str:
        found = _customers(request, db)
        if found is None:
            _ = gettext_of(request)
            raise PageError(409, _("Upload the dataset, with its customers, first."))
        people = found[0].customers.sort_values("score", ascending=False, kind="stable")
        columns = [c for c in CUSTOMER_COLUMNS if c in people.columns]
        frame = people[columns].assign(tier=people["tier"].astype(str))
        return str(frame.to_csv(index=False, float_format="%.6g"))

    text = await in_session(request, work)
    return Response(
        "\ufeff" + text, media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )  # fmt: skip


# --- what-if simulations (planners) ------------------------------------------------

#: The policies a planner can compare (the scenario file's kinds), in the order shown.
POLICIES = {
    "min/max": "min_max", "base-stock": "base_stock", "(s,S)": "ss",
    "segment-blind": "segment_blind", "churn-aware": "churn_aware",
}  # fmt: skip
#: The what-if's fields and the scenario-file place each one fills.
WHATIF_FIELDS = {
    "days": "run.days", "replications": "run.replications", "seed": "run.seed",
    "reference": "run.reference", "lead_time_factor": "scenarios[1].lead_time_factor",
    "demand_factor": "scenarios[1].demand_factor",
    "churn_multiplier": "scenarios[1].churn_multiplier",
    "budget_factor": "scenarios[1].budget_factor", "whatif": "scenarios[1].name",
    "churn": "behaviour.churn_per_stockout", "policies": "policies",
}  # fmt: skip
WHATIF_DEFAULTS = {
    "days": "90", "replications": "5", "seed": "1", "reference": "min/max",
    "match": "on", "whatif": "lead times x2", "lead_time_factor": "2", "demand_factor": "1",
    "churn_multiplier": "1", "budget_factor": "", "churn": "",
    **{f"policy-{name}": "on" for name in POLICIES},
}  # fmt: skip


def _whatif_form(
    request: Request, values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> HTMLResponse:
    return render(request, "whatif.html", status, values=values, errors=errors,
                  policies=list(POLICIES))  # fmt: skip


@router.get("/simulations/new")
def whatif_form(request: Request, current: Web) -> HTMLResponse:
    need(request, current, "plan")
    return _whatif_form(request, WHATIF_DEFAULTS, {})


def _scenario(
    form: Mapping[str, str], _: Callable[[str], str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The scenario file's content from the what-if form, and the fields that are not
    numbers (the scenario's own validation checks the rest)."""
    errors: dict[str, str] = {}

    def number(name: str, kind: type[int] | type[float]) -> float | None:
        raw = form.get(name, "").strip()
        if not raw:
            return None
        try:
            value = kind(raw)
        except ValueError:
            errors[name] = _("Enter a whole number.") if kind is int else _("Enter a number.")
            return None
        if value != value or value in (float("inf"), float("-inf")):
            errors[name] = _("Enter a number.")
            return None
        return value

    chosen = [name for name in POLICIES if form.get(f"policy-{name}")]
    if not chosen:
        errors["policies"] = _("Choose at least one policy.")
    reference = form.get("reference", "")
    if chosen and reference not in chosen:
        errors["reference"] = _("The reference must be one of the chosen policies.")
    run: dict[str, Any] = {"reference": reference}
    for name in ("days", "replications", "seed"):
        value = number(name, int)
        if value is not None:
            run[name] = value
    if form.get("match"):
        run["match_inventory"] = reference
    whatif: dict[str, Any] = {"name": form.get("whatif", "").strip() or "what-if"}
    for name in ("lead_time_factor", "demand_factor", "churn_multiplier", "budget_factor"):
        value = number(name, float)
        if value is not None:
            whatif[name] = value
    if form.get("compensation"):
        whatif["compensation"] = True
    scenario: dict[str, Any] = {
        "run": run,
        "policies": [{"name": name, "kind": POLICIES[name]} for name in chosen],
        "scenarios": [{"name": "baseline"}, whatif],
    }
    churn = number("churn", float)
    if churn is not None:
        scenario["behaviour"] = {"churn_per_stockout": churn / 100.0}
    return scenario, errors


@router.post("/simulations/new")
def whatif_request(request: Request, db: DB, current: Web, form: Form) -> Response:
    """Validate the what-if as a scenario file is validated; queue it; show progress."""
    need(request, current, "plan")
    _ = gettext_of(request)
    scenario, errors = _scenario(form, _)
    if not errors:
        try:
            queued = request_simulation(db, current.user, scenario)
        except ScenarioError as exc:
            places = {place: field for field, place in WHATIF_FIELDS.items()}
            for line in str(exc).splitlines()[1:]:
                place, _sep, message = line.strip().partition(": ")
                field = places.get(place) or places.get(place.split("[")[0], "days")
                errors.setdefault(field, message)
        else:
            request.app.state.workers.submit(queued.job_id, 1)
            return RedirectResponse(f"/app/jobs/{queued.job_id}", status_code=303)
    return _whatif_form(request, form, errors, 422)


@router.get("/simulations")
def simulation_list(request: Request, db: DB, current: Web) -> HTMLResponse:
    rows = db.scalars(select(Simulation).order_by(desc(Simulation.id)).limit(LIST_ROWS)).all()
    return render(request, "simulations.html", simulations=rows, names=_names(db))


@router.get("/simulations/{simulation_id}")
def simulation_page(simulation_id: int, request: Request, db: DB, current: Web) -> HTMLResponse:
    sim = db.get(Simulation, simulation_id)
    if sim is None:
        _ = gettext_of(request)
        raise PageError(404, _("There is no such simulation."))
    charts = db.scalars(
        select(SimulationChart.name).where(SimulationChart.simulation_id == simulation_id)
    ).all()
    job = db.get(Job, sim.job_id)
    return render(request, "simulation.html", sim=sim, job=job, charts=charts,
                  view=simulation_view(sim.result) if sim.result else None)  # fmt: skip


@router.get("/simulations/{simulation_id}/charts/{name}.png")
def simulation_chart(simulation_id: int, name: str, db: DB, current: Web) -> Response:
    row = db.get(SimulationChart, (simulation_id, name[:50]))
    if row is None:
        return Response(status_code=404)
    return Response(row.png, media_type="image/png")


# --- the app -----------------------------------------------------------------------


def install(app: FastAPI) -> None:
    """Mount the app's pages, its vendored assets and its error pages on `app`."""
    app.include_router(router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="app-static")

    @app.exception_handler(SignInNeeded)
    async def to_signin(request: Request, exc: SignInNeeded) -> Response:
        target = f"/app/signin?next={quote(exc.path)}"
        if request.headers.get("hx-request"):  # htmx follows this header, not a 303
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return render(request, "error.html", exc.status, message=exc.message)
