"""What every page of the web app shares: templates rendered in the user's language,
the signed-in user of a request, the CSRF check of every POST, role checks.

The app (`api.web.pages`) is server-rendered Jinja2 with htmx for the parts that update
in place (a job's progress, a line's reasons); every script and style is vendored under
/app/static, so it works offline. Pages call the same services as the API (`api.plans`
for every plan transition, edit and order, `api.datasets` for the stored dataset): the
rules (four eyes, versions, MOQ, budgets) are checked in one place. A browser signs in
with a password (`api.web.signin`) and holds an HttpOnly session cookie; every POST
carries the session's CSRF token (a form field, or the X-CSRF-Token header htmx sends)
and is refused with 403 without it. Text goes through the user's gettext catalog
(`api.web.i18n`), numbers through their locale's formats.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import datasets
from api.auth import Role
from api.deps import heavy, in_session
from api.models import (
    User,
)
from api.web import signin
from api.web.i18n import LANGUAGES, NAMES, Formats, negotiate, translations

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

_ENV = Environment(
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


def secure(request: Request) -> bool:
    """Served over HTTPS (directly or behind a proxy that says so): cookies are Secure."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def language_of(request: Request, current: signin.Current | None) -> str:
    """The user's setting, else the language cookie, else Accept-Language."""
    setting = current.language if current is not None else None
    if setting not in LANGUAGES:
        setting = request.cookies.get(LANGUAGE_COOKIE)
    return negotiate(setting, request.headers.get("accept-language"))


def tag_of(language: str) -> str:
    """The BCP 47 tag of a catalog language: `lang` on the page, the locale a chart's
    script formats numbers with."""
    return "zh-CN" if language == "zh_CN" else "en"


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
    html = _ENV.get_template(template).render(
        _=t.gettext, ngettext=t.ngettext, fmt=Formats(language), language=language,
        html_lang=tag_of(language), languages=NAMES,
        current=current, path=request.url.path, may=may_of(current), **context,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def may_of(current: signin.Current | None) -> dict[str, bool]:
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
        cache: signin.SessionCache = request.app.state.web_sessions
        current = cache.get(token)
        if current is None:
            current = await in_session(request, lambda db: signin.session_user(db, token))
            if current is not None:
                cache.put(token, current)
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
    if not may_of(current)[what]:
        _ = gettext_of(request)
        raise PageError(403, _("Your role does not allow this."))


def next_path(raw: str | None) -> str:
    """Where to go after sign-in: a path of this app only (no open redirect)."""
    if raw and raw.startswith("/app") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/app/"


def user_names(db: Session) -> dict[int, str]:
    return {u.id: u.name for u in db.scalars(select(User)).all()}


async def with_analysis(request: Request, work: Callable[[Session, bool], Any]) -> Any:
    """`work(db, compute)` for a page that reads the dataset's analysis
    (`datasets.analyse(db, limit, compute)`): first with `compute` False; if the stored
    dataset is not analysed in this process yet, the analysis (seconds) runs under the
    limit for slow work, apart from the route threads, and then the page."""
    try:
        return await in_session(request, lambda db: work(db, False))
    except datasets.NotReady:
        limit = request.app.state.settings.max_upload_bytes

        def analysis() -> None:
            with request.app.state.reads() as db:
                datasets.analyse(db, limit)

        await heavy(request, analysis)
        return await in_session(request, lambda db: work(db, True))


async def in_transaction(
    request: Request, work: Callable[[Session], Any], slow: bool = False
) -> Any:
    """`work(db)` in a worker thread with a transactional session (it commits); `slow`
    work (validating an upload whole) runs under the limit for slow work
    (`api.deps.heavy`), apart from the route threads."""
    from starlette.concurrency import run_in_threadpool

    def unit() -> Any:
        with request.app.state.sessions() as db:
            return work(db)

    return await (heavy(request, unit) if slow else run_in_threadpool(unit))
