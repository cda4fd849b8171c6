"""Validation of raw tables against the data contract, with a report naming file, row, column.

Pure: takes raw frames (text cells from CSV, or typed Parquet columns) and the day the
data is validated on; returns typed frames and a `Report`. A dataset is accepted only
when the report holds no error; warnings never block. Row numbers are 1-based data
rows (the header is not counted: spreadsheet row = row + 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

import numpy as np
import pandas as pd

from contract.cells import parse
from contract.schema import TABLES, TABLES_BY_NAME, Column, Kind, Table

#: At most this many row numbers are listed per problem; `count` has the full number.
MAX_ROWS_LISTED = 10


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One defect class found in one column of one file, with the rows it affects."""

    severity: Severity
    code: str
    table: str
    file: str
    message: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    count: int = 0

    def __str__(self) -> str:
        where = self.file + (f", column {self.column}" if self.column else "")
        if self.count:
            listed = ", ".join(str(r) for r in self.rows)
            more = (
                f" and {self.count - len(self.rows):,} more" if self.count > len(self.rows) else ""
            )
            plural = "row" if self.count == 1 else "rows"
            where += f", {plural} {listed}{more}"
        return f"{self.severity.value}: {where}: {self.message} [{self.code}]"


@dataclass(frozen=True)
class Report:
    """Everything found while validating one dataset."""

    problems: tuple[Finding, ...]
    files: Mapping[str, str] = field(default_factory=dict)
    row_counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    def format(self) -> str:
        lines = [str(p) for p in self.errors + self.warnings]
        verdict = (
            "dataset accepted"
            if self.ok
            else f"dataset rejected: {len(self.errors)} error(s); nothing was loaded"
        )
        return "\n".join([*lines, verdict])


class _Collector:
    """Accumulates problems; row masks become (rows, count) with the first values shown."""

    def __init__(self) -> None:
        self.problems: list[Finding] = []

    def add(
        self,
        code: str,
        table: str,
        file: str,
        message: str,
        column: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.problems.append(Finding(severity, code, table, file, message, column))

    def rows(
        self,
        mask: np.ndarray | pd.Series,
        code: str,
        table: str,
        file: str,
        column: str | None,
        message: str,
        values: pd.Series | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        flags = np.asarray(mask, dtype=bool)
        idx = np.flatnonzero(flags)
        if idx.size == 0:
            return
        if values is not None:
            shown = [repr(_show(v)) for v in values.iloc[idx[:3]]]
            message = f"{message} (e.g. {', '.join(shown)})"
        self.problems.append(
            Finding(
                severity,
                code,
                table,
                file,
                message,
                column,
                rows=tuple(int(i) + 1 for i in idx[:MAX_ROWS_LISTED]),
                count=int(idx.size),
            )
        )


def _show(value: object) -> str:
    """A cell as a person would have typed it (dates without a time of day)."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return str(value)


def _check_range(
    col: Column, values: pd.Series, raw: pd.Series, table: Table, file: str, out: _Collector
) -> None:
    arr = values.to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(arr)
    if col.minimum is not None:
        low = known & ((arr <= col.minimum) if col.strict_minimum else (arr < col.minimum))
        what = "zero or negative" if col.strict_minimum and col.minimum == 0 else "negative"
        if col.minimum != 0:
            what = f"below {col.minimum:g}"
            if col.strict_minimum:
                what = f"at or below {col.minimum:g}"
        out.rows(low, "out_of_range", table.name, file, col.name, f"{what} value not allowed", raw)
    if col.maximum is not None:
        high = known & (arr > col.maximum)
        out.rows(high, "out_of_range", table.name, file, col.name, f"above {col.maximum:g}", raw)


def _parse_table(
    table: Table, raw: pd.DataFrame, file: str, today: date, out: _Collector
) -> pd.DataFrame | None:
    """Typed frame of one table (None when required columns are missing)."""
    raw = raw.rename(columns=lambda c: str(c).strip())
    raw = raw.reset_index(drop=True)
    if len(raw) == 0:
        out.add("empty_file", table.name, file, "no data rows below the header")
        return None
    known = set(table.column_names)
    for extra in [c for c in raw.columns if c not in known]:
        out.add(
            "unknown_column",
            table.name,
            file,
            f"column {extra!r} is not part of the contract and is ignored",
            column=extra,
            severity=Severity.WARNING,
        )
    missing = [c.name for c in table.columns if c.required and c.name not in raw.columns]
    for name in missing:
        out.add("missing_column", table.name, file, "required column is missing", column=name)
    if missing:
        return None

    typed: dict[str, pd.Series] = {}
    today_ts = pd.Timestamp(today)
    for col in table.columns:
        if col.name not in raw.columns:
            typed[col.name] = _absent(col, len(raw))
            continue
        parsed = parse(col.kind, raw[col.name])
        out.rows(parsed.bad, "wrong_type", table.name, file, col.name, parsed.reason, raw[col.name])
        values, blank = parsed.values, parsed.blank
        if col.default is not None:
            values = values.mask(blank, col.default)
        elif not col.fillable:
            out.rows(blank, "missing_value", table.name, file, col.name, "value is missing")
        if col.kind in (Kind.INT, Kind.FLOAT):
            _check_range(col, values, raw[col.name], table, file, out)
        if col.not_future:
            future = (values > today_ts).to_numpy(dtype=bool, na_value=False)
            out.rows(
                future,
                "future_date",
                table.name,
                file,
                col.name,
                f"date after {today.isoformat()}",
                raw[col.name],
            )
        typed[col.name] = values
    frame = pd.DataFrame(typed)

    dup = _duplicated(frame, table.key)
    shown = None
    if dup.any():
        shown = pd.Series("", index=frame.index, dtype=object)
        shown[dup] = frame.loc[dup, list(table.key)].astype(str).agg(" + ".join, axis=1)
    out.rows(
        dup,
        "duplicate_key",
        table.name,
        file,
        ",".join(table.key),
        f"duplicate {' + '.join(table.key)}",
        shown,
    )
    return frame


def _duplicated(frame: pd.DataFrame, key: tuple[str, ...]) -> np.ndarray:
    """Rows whose complete key occurs more than once (all of them, not just the later)."""
    codes = np.zeros(len(frame), dtype=np.int64)
    span = 1  # codes lie in [0, span)
    complete = np.ones(len(frame), dtype=bool)
    for name in key:
        col_codes, uniques = pd.factorize(frame[name])
        complete &= col_codes >= 0
        if span * (len(uniques) + 1) >= 2**62:  # keep the combined code from overflowing
            codes, firsts = pd.factorize(codes)
            span = len(firsts)
        codes = codes * (len(uniques) + 1) + col_codes + 1
        span *= len(uniques) + 1
    return pd.Series(codes).duplicated(keep=False).to_numpy() & complete


def _lookup(values: pd.Series, target: pd.DataFrame, key: str, column: str) -> pd.Series:
    """`target[column]` of the row whose `key` equals each value (NA when none)."""
    positions = pd.Index(target[key]).get_indexer(values)
    found = target[column].to_numpy()[np.maximum(positions, 0)]
    return pd.Series(found, index=values.index).where(positions >= 0)


def _absent(col: Column, n: int) -> pd.Series:
    if col.default is not None:
        return pd.Series([col.default] * n, name=col.name)
    if col.kind is Kind.TEXT:
        return pd.Series(pd.NA, index=range(n), dtype="string", name=col.name)
    if col.kind is Kind.DATE:
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]", name=col.name)
    return pd.Series(np.nan, index=range(n), dtype="float64", name=col.name)


def _check_references(
    frames: Mapping[str, pd.DataFrame], files: Mapping[str, str], out: _Collector
) -> None:
    for table in TABLES:
        frame = frames.get(table.name)
        if frame is None:
            continue
        for fk in table.foreign_keys:
            target = frames.get(fk.table)
            if target is None:
                # A missing required table is reported already; a missing optional one
                # (customers) means the ids cannot be checked: anonymous sales.
                continue
            ids = pd.Index(target[fk.target].dropna().unique())
            values = frame[fk.column]
            if fk.list_separator:
                parts = values.str.split(fk.list_separator).explode().str.strip()
                parts = parts[parts.notna() & (parts != "")]
                unknown_rows = np.unique(parts.index[~parts.isin(ids)].to_numpy())
                mask = np.zeros(len(frame), dtype=bool)
                mask[unknown_rows] = True
            else:
                mask = (values.notna() & ~values.isin(ids)).to_numpy(dtype=bool)
            out.rows(
                mask,
                "unknown_reference",
                table.name,
                files[table.name],
                fk.column,
                f"unknown {fk.target} (not in {files.get(fk.table, fk.table)})",
                values,
            )


def _fill_inherited(frames: dict[str, pd.DataFrame]) -> None:
    for table in TABLES:
        frame = frames.get(table.name)
        if frame is None:
            continue
        for col in table.columns:
            if col.inherit is None:
                continue
            via, source_col = col.inherit
            fk = next(f for f in table.foreign_keys if f.column == via)
            inherited = _lookup(frame[via], frames[fk.table], fk.target, source_col)
            frame[col.name] = frame[col.name].fillna(inherited).astype("float64")


def _check_rules(
    frames: Mapping[str, pd.DataFrame], files: Mapping[str, str], out: _Collector
) -> None:
    """Rules that span columns or tables."""
    orders, skus, customers = frames.get("orders"), frames.get("skus"), frames.get("customers")
    if orders is not None:
        zero = ((orders["quantity"] + orders["quantity_short"]) == 0).to_numpy()
        out.rows(
            zero,
            "zero_quantity",
            "orders",
            files["orders"],
            "quantity,quantity_short",
            "order line with quantity 0 and nothing short: nothing was asked for",
        )
    if skus is not None:
        loss = (skus["unit_price"] < skus["unit_cost"]).to_numpy()
        out.rows(
            loss,
            "negative_margin",
            "skus",
            files["skus"],
            "unit_price",
            "selling price below unit cost",
            skus["sku_id"],
            severity=Severity.WARNING,
        )
    if orders is not None and customers is not None:
        unique_customers = customers.drop_duplicates("customer_id")
        since = _lookup(orders["customer_id"], unique_customers, "customer_id", "since")
        early = (orders["date"] < since).to_numpy(dtype=bool, na_value=False)
        out.rows(
            early,
            "order_before_since",
            "orders",
            files["orders"],
            "date",
            "order placed before the customer's 'since' date",
            orders["order_id"],
            severity=Severity.WARNING,
        )


def validate_tables(
    raw: Mapping[str, pd.DataFrame],
    files: Mapping[str, str],
    today: date,
    prior: tuple[Finding, ...] = (),
) -> tuple[Report, dict[str, pd.DataFrame] | None]:
    """Validate raw tables; return the report and the typed tables (None on any error).

    `raw` maps table name to its raw frame, `files` table name to the file name used in
    messages; `prior` carries problems found before parsing (unreadable files).
    """
    out = _Collector()
    out.problems.extend(prior)
    unreadable = {p.table for p in prior if p.severity is Severity.ERROR}
    frames: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        if table.name not in raw:
            if table.required and table.name not in unreadable:
                out.add(
                    "missing_table",
                    table.name,
                    f"{table.name}.csv",
                    f"required table {table.name} not found ({table.name}.csv or .parquet)",
                )
            continue
        frame = _parse_table(table, raw[table.name], files[table.name], today, out)
        if frame is not None:
            frames[table.name] = frame
    # Cross-table checks run even after column errors, so one report lists everything;
    # cells that failed to parse are NA and skipped by them.
    _check_references(frames, files, out)
    _check_rules(frames, files, out)
    if not any(p.severity is Severity.ERROR for p in out.problems):
        _fill_inherited(frames)
    report = Report(
        problems=tuple(out.problems),
        files=dict(files),
        row_counts={name: len(frame) for name, frame in raw.items()},
    )
    if not report.ok:
        return report, None
    return report, {name: _canonical(TABLES_BY_NAME[name], f) for name, f in frames.items()}


def _canonical(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in contract order with their contract dtypes."""
    return pd.DataFrame(
        {c.name: frame[c.name].astype(c.kind.dtype) for c in table.columns}
    ).reset_index(drop=True)
