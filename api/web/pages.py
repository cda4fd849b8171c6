"""The web app at /app: its pages (`api.web.routes`), vendored assets and error pages,
mounted on the service. `api.web.rendering` has what every page shares."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.web.rendering import STATIC, PageError, SignInNeeded, render
from api.web.routes import access, data, home, plans, whatif

#: The app's routers, in the order they are mounted.
ROUTERS = (access.router, home.router, plans.router, data.router, whatif.router)


def install(app: FastAPI) -> None:
    """Mount the app's pages, its vendored assets and its error pages on `app`."""
    for router in ROUTERS:
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
