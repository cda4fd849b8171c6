"""The dataset over HTTP: upload tables (buyers, admins), read SKUs, customers, stock.

`POST /v1/datasets/{table}` takes a CSV or Parquet file in the multipart field `file`.
Larger than REPLENISH_MAX_UPLOAD_BYTES: 413. Invalid: 422 listing every problem with
its table, column and rows; nothing is stored. The same content again: 200, unchanged.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Path, Request, Response, UploadFile

from api import datasets
from api.auth import Principal, Reader, Role, require
from api.deps import DB, Limit, Offset, heavy
from api.errors import HTTPProblem
from contract.dataset import Dataset
from contract.schema import TABLES_BY_NAME

router = APIRouter(prefix="/v1", tags=["data"])
Uploader = Annotated[Principal, Depends(require(Role.buyer))]
TableName = Annotated[str, Path(description=f"One of {', '.join(TABLES_BY_NAME)}.")]
CHUNK = 1 << 20


async def _read_capped(file: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise HTTPProblem(413, "Content Too Large", f"the file is larger than {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/datasets/{table}",
    summary="Upload one table of the dataset (CSV or Parquet, multipart field `file`)",
    responses={
        413: {"description": "File too large"},
        422: {"description": "Invalid table: problems with rows and columns"},
    },
)
async def upload(
    table: TableName,
    file: UploadFile,
    request: Request,
    response: Response,
    db: DB,
    user: Uploader,
) -> dict[str, Any]:
    if table not in TABLES_BY_NAME:
        raise HTTPProblem(
            404, "Not Found", f"no table {table!r}; tables: {', '.join(TABLES_BY_NAME)}"
        )
    limit = request.app.state.settings.max_upload_bytes  # the body's size: api.gate
    content = await _read_capped(file, limit)

    try:
        stored = await heavy(
            request, datasets.upload, db, table, content, file.filename, user.id, limit,
            request.state.request_id,
        )  # fmt: skip
    except datasets.UploadRejected as exc:
        problems = exc.records()
        detail = f"{table}: {len(problems)} problem(s); nothing was stored"
        raise HTTPProblem(422, "Invalid dataset", detail, {"problems": problems}) from None
    response.status_code = 201 if stored.changed else 200
    return {
        "table": stored.table, "rows": stored.rows, "sha256": stored.sha256,
        "changed": stored.changed, "complete": stored.complete, "warnings": list(stored.warnings),
    }  # fmt: skip


async def _dataset(request: Request, db: DB) -> Dataset:
    """The stored dataset (cached per process by its tables' hashes); 409 if incomplete."""
    limit = request.app.state.settings.max_upload_bytes
    report, dataset = await heavy(request, datasets.load, db, limit)
    if dataset is None:
        missing = [p.table for p in report.errors if p.code == "missing_table"]
        raise HTTPProblem(
            409, "Dataset incomplete", f"upload these tables first: {', '.join(missing)}"
        )
    return dataset


Data = Annotated[Dataset, Depends(_dataset)]


def _page(frame: pd.DataFrame, limit: int, offset: int) -> dict[str, Any]:
    part = frame.iloc[offset : offset + limit]
    records = [
        {k: (None if isinstance(v, float) and math.isnan(v) else _plain(v)) for k, v in r.items()}
        for r in part.to_dict(orient="records")
    ]
    return {"items": records, "total": len(frame), "limit": limit, "offset": offset}


def _plain(value: Any) -> Any:
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


@router.get("/skus", summary="SKUs, paginated")
def skus(data: Data, _: Reader, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    return _page(data.skus, limit, offset)


@router.get("/inventory", summary="Stock on hand and on order, paginated")
def inventory(data: Data, _: Reader, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    if data.inventory is None:
        raise HTTPProblem(404, "Not Found", "no inventory table has been uploaded")
    return _page(data.inventory, limit, offset)


@router.get("/customers", summary="Customers with their tier, value score and its parts")
async def customers(
    request: Request, db: DB, data: Data, _: Reader, limit: Limit = 100, offset: Offset = 0
) -> dict[str, Any]:
    analysis = await heavy(
        request, datasets.analyse, db, request.app.state.settings.max_upload_bytes
    )
    if data.customers is None or analysis is None or analysis.segments is None:
        raise HTTPProblem(404, "Not Found", "no customers table: sales are anonymous")
    page = analysis.segments.customers.iloc[offset : offset + limit].copy()
    page["tier"] = page["tier"].astype(str)
    return {**_page(page, limit, 0), "total": len(analysis.segments.customers), "offset": offset}


@router.get("/alerts", summary="SKUs running short before stock can arrive, by value at risk")
async def alerts(
    request: Request, db: DB, data: Data, _: Reader, limit: Limit = 100, offset: Offset = 0
) -> dict[str, Any]:
    def ranked() -> pd.DataFrame:
        analysis = datasets.analyse(db, request.app.state.settings.max_upload_bytes)
        assert analysis is not None  # `data` resolved, so the dataset is complete
        table = analysis.alerts.copy()
        table["days_of_cover"] = table["days_of_cover"].replace(np.inf, np.nan)
        return table

    return _page(await heavy(request, ranked), limit, offset)
