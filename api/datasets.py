"""The dataset held by the service: tables uploaded one at a time, validated as a whole.

An upload replaces one table only if the dataset with the new table passes the data
contract's validation (`contract.validation`): all or nothing, the report naming rows
and columns otherwise. Tables may arrive in any order, so a required table that has
not been uploaded yet is not an error here (references to it are checked once it is).
Uploads are serialized (a process lock, and on PostgreSQL a transaction-level advisory
lock) so two writers cannot validate against the same old state.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.models import AuditEntry, DatasetTable, utcnow
from contract.dataset import Dataset, check_frames
from contract.schema import TABLES_BY_NAME
from contract.sources import Limits, SourceError, read_table_file
from contract.validation import Finding, Report, Severity
from forecast.segments import Segments
from optimize.inputs import ChurnAssumptions

_LOCK = threading.Lock()
_CACHE: dict[tuple[tuple[str, str], ...], _Loaded] = {}
_CACHE_LOCK = threading.Lock()
_ADVISORY_KEY = 0x5245504C  # "REPL"
PARQUET_MAGIC = b"PAR1"


class UploadRejected(Exception):
    """The upload would leave an invalid dataset; `problems` say where."""

    def __init__(self, problems: list[Finding]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems

    def records(self, rows: int = 20) -> list[dict[str, Any]]:
        """The problems as the API and the uploads page report them: table, file,
        column, code, message, the first `rows` rows and how many there are."""
        return [
            {"table": p.table, "file": p.file, "column": p.column, "code": p.code,
             "message": p.message, "rows": list(p.rows[:rows]), "count": p.count or len(p.rows)}
            for p in self.problems
        ]  # fmt: skip


@dataclass(frozen=True)
class Stored:
    table: str
    rows: int
    sha256: str
    changed: bool
    complete: bool
    warnings: tuple[str, ...]


def _format(content: bytes, filename: str | None) -> str:
    if content[:4] == PARQUET_MAGIC or (filename or "").lower().endswith(".parquet"):
        return "parquet"
    return "csv"


def _raw_frame(name: str, fmt: str, content: bytes, limit: int) -> pd.DataFrame:
    """The table's raw frame (strings, no types yet), via the contract's own reader."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.{fmt}"
        path.write_bytes(content)
        return read_table_file(path, Limits(max_file_bytes=limit))


def raw_frames(db: Session, limit: int) -> dict[str, pd.DataFrame]:
    return {
        t.name: _raw_frame(t.name, t.format, t.content, limit)
        for t in db.scalars(select(DatasetTable)).all()
    }


@dataclass(frozen=True)
class Analysis:
    """What reads derive from a complete dataset: customer segments, churn per stockout,
    and the stock alerts ranked by value at risk (`replenish.alerts`)."""

    segments: Segments | None
    churn: ChurnAssumptions
    alerts: pd.DataFrame


class NotReady(Exception):
    """The stored dataset is not parsed and analysed in this process yet: seconds of work,
    which a page runs under the slow-work limit (`api.deps.heavy`), not in a route thread."""


@dataclass
class _Loaded:
    report: Report
    dataset: Dataset | None
    analysis: Analysis | None = None


def _load(db: Session, limit: int, compute: bool = True) -> _Loaded:
    """The newest stored dataset, parsed once per process for its tables' hashes
    (NotReady instead of parsing it when not `compute`)."""
    hashes = select(DatasetTable.name, DatasetTable.sha256).order_by(DatasetTable.name)
    key = tuple((str(name), str(digest)) for name, digest in db.execute(hashes).all())
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    if not compute:
        raise NotReady
    report, dataset = check_frames(raw_frames(db, limit))
    loaded = _Loaded(report, dataset)
    with _CACHE_LOCK:
        _CACHE.clear()  # keep only the newest dataset
        _CACHE[key] = loaded
    return loaded


def load(db: Session, limit: int) -> tuple[Report, Dataset | None]:
    """The stored dataset, typed (None while a required table is missing).

    Parsing and validating a large dataset takes seconds, so the last result is kept
    per process, keyed by the stored tables' hashes: any upload changes the key.
    """
    loaded = _load(db, limit)
    return loaded.report, loaded.dataset


def analyse(db: Session, limit: int, compute: bool = True) -> Analysis | None:
    """Segments and fitted churn of the stored dataset (None while it is incomplete),
    computed once per dataset like the dataset itself; NotReady instead of computing
    them when not `compute`."""
    from forecast.segments import segment_customers
    from replenish.alerts import stock_alerts
    from replenish.planning import fitted_churn

    loaded = _load(db, limit, compute)
    if loaded.dataset is None:
        return None
    if loaded.analysis is None:
        if not compute:
            raise NotReady
        data = loaded.dataset
        segments = segment_customers(data) if data.customers is not None else None
        churn, _ = fitted_churn(data, segments)
        loaded.analysis = Analysis(segments, churn, stock_alerts(data, segments, churn))
    return loaded.analysis


def upload(
    db: Session,
    name: str,
    content: bytes,
    filename: str | None,
    user_id: int,
    limit: int,
    request_id: str | None,
) -> Stored:
    """`store`, with the change in the audit log (commits): the API's upload route and the
    web app's uploads page."""
    stored = store(db, name, content, filename, user_id, limit)
    if stored.changed:
        db.add(
            AuditEntry(
                actor_id=user_id, action="upload", entity="dataset", entity_id=name,
                after={"rows": stored.rows, "sha256": stored.sha256}, request_id=request_id,
            )
        )  # fmt: skip
        db.commit()
    return stored


def store(
    db: Session, name: str, content: bytes, filename: str | None, user_id: int, limit: int
) -> Stored:
    """Validate and store one table; UploadRejected lists the problems (nothing stored)."""
    if name not in TABLES_BY_NAME:
        raise KeyError(name)
    digest = hashlib.sha256(content).hexdigest()
    fmt = _format(content, filename)
    with _LOCK:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
        current = db.get(DatasetTable, name)
        try:
            frame = _raw_frame(name, fmt, content, limit)
        except SourceError as exc:
            file = f"{name}.{fmt}"
            raise UploadRejected(
                [Finding(Severity.ERROR, exc.code, name, file, str(exc))]
            ) from None
        frames = raw_frames(db, limit)
        frames[name] = frame
        report, _ = check_frames(frames)
        errors = [p for p in report.errors if p.code != "missing_table"]
        if errors:
            raise UploadRejected(errors)
        complete = not any(p.code == "missing_table" for p in report.errors)
        warnings = tuple(str(p) for p in report.warnings)
        if current is not None and current.sha256 == digest:
            return Stored(name, len(frame), digest, False, complete, warnings)
        if current is None:
            current = DatasetTable(name=name)
            db.add(current)
        current.format, current.content, current.sha256 = fmt, content, digest
        current.rows, current.uploaded_by, current.uploaded_at = len(frame), user_id, utcnow()
        db.commit()
        return Stored(name, len(frame), digest, True, complete, warnings)
