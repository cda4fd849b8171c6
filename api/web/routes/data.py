"""The dataset in the browser: upload its tables (validated whole), and its customers
(tiers, value score parts, CLV, the let-down care list, a CSV export for the CRM)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import datasets
from api.deps import DB
from api.models import (
    DatasetTable,
)
from api.web.i18n import Formats
from api.web.rendering import (
    Form,
    PageError,
    Web,
    gettext_of,
    in_transaction,
    language_of,
    need,
    render,
    user_names,
    with_analysis,
)

router = APIRouter(prefix="/app", include_in_schema=False)


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
        names=user_names(db), limit=request.app.state.settings.max_upload_bytes,
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
            return _uploads_page(request, db, 422, exc.records(), table)
        return _uploads_page(request, db, 200, None, table, stored)

    response: HTMLResponse = await in_transaction(request, work, slow=True)
    return response


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


def _customers(request: Request, db: Session, compute: bool) -> tuple[Any, Any] | None:
    """(segments, churn) of the stored dataset; None while it is incomplete or anonymous
    (`datasets.NotReady` while it is not analysed and not `compute`)."""
    analysis = datasets.analyse(db, request.app.state.settings.max_upload_bytes, compute)
    if analysis is None or analysis.segments is None:
        return None
    return analysis.segments, analysis.churn


@router.get("/customers")
async def customers_page(request: Request, current: Web, page: int = 1) -> HTMLResponse:
    """Tiers, the customers let down by a recent stockout, and every customer's value
    score, its parts and CLV, a page at a time."""
    from replenish.care import RECENT_DAYS, recently_let_down

    def work(db: Session, compute: bool) -> HTMLResponse:
        found = _customers(request, db, compute)
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

    response: HTMLResponse = await with_analysis(request, work)
    return response


@router.get("/customers.csv")
async def customers_csv(request: Request, current: Web) -> Response:
    """Every customer with tier, value score and its parts, P(alive) and CLV, for the
    CRM (UTF-8 with a byte-order mark, which spreadsheet programs need to read it)."""

    def work(db: Session, compute: bool) -> str:
        found = _customers(request, db, compute)
        if found is None:
            _ = gettext_of(request)
            raise PageError(409, _("Upload the dataset, with its customers, first."))
        people = found[0].customers.sort_values("score", ascending=False, kind="stable")
        columns = [c for c in CUSTOMER_COLUMNS if c in people.columns]
        frame = people[columns].assign(tier=people["tier"].astype(str))
        return str(frame.to_csv(index=False, float_format="%.6g"))

    text: str = await with_analysis(request, work)
    return Response(
        "\ufeff" + text, media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )  # fmt: skip
