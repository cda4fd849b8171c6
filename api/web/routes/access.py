"""Signing in and out, and choosing the app's language."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.web import signin
from api.web.i18n import LANGUAGES
from api.web.rendering import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Form,
    PageError,
    Web,
    gettext_of,
    in_transaction,
    next_path,
    render,
    secure,
)

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/signin")
def signin_form(request: Request, next: str | None = None) -> HTMLResponse:
    token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "signin.html", next=next_path(next), form_token=token, error="")
    response.set_cookie(
        SIGNIN_COOKIE, token, httponly=True, samesite="strict", secure=secure(request),
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
    goto = next_path(form.get("next") if isinstance(form.get("next"), str) else None)  # type: ignore[arg-type]
    if not token or not isinstance(sent, str) or not hmac.compare_digest(sent, token):
        raise PageError(403, _("This form has expired. Reload the page."))
    if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
        return render(request, "signin.html", 422, next=goto, form_token=token,
                      error=_("Enter your name and password."))  # fmt: skip
    if "\x00" in name:  # no stored name holds it, and PostgreSQL refuses it in a query
        name = ""

    def attempt(db: Session) -> signin.SignedIn:
        return signin.sign_in(db, name[:100], password[:signin.MAX_PASSWORD + 1],
                              request.state.request_id)  # fmt: skip

    try:
        done = await in_transaction(request, attempt)
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
        samesite="lax", secure=secure(request), path="/app",
    )  # fmt: skip
    response.delete_cookie(SIGNIN_COOKIE, path="/app/signin")
    return response


@router.post("/signout")
async def signout(request: Request, current: Web, _form: Form) -> Response:
    token = request.cookies.get(SESSION_COOKIE) or ""
    await in_transaction(
        request, lambda db: signin.sign_out(db, token, current.user.id, request.state.request_id)
    )
    request.app.state.web_sessions.forget(token=token)
    response = RedirectResponse("/app/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/app")
    return response


@router.get("/language/{language}")
def choose_language(language: str, request: Request, next: str | None = None) -> Response:
    """Remember a language in a cookie (the sign-in page; no account is touched)."""
    response = RedirectResponse(next_path(next), status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax",
                            secure=secure(request), path="/app")  # fmt: skip
    return response


@router.post("/language")
async def set_language(request: Request, current: Web, form: Form) -> Response:
    """The signed-in user's language, kept with their account and in a cookie."""
    language = form.get("language", "")
    if language not in LANGUAGES:
        _ = gettext_of(request)
        raise PageError(422, _("Unknown language."))
    await in_transaction(request, lambda db: signin.set_language(db, current.user.id, language))
    request.app.state.web_sessions.forget(user_id=current.user.id)
    response = RedirectResponse(next_path(form.get("next")), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax",
                        secure=secure(request), path="/app")  # fmt: skip
    return response
