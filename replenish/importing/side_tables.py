"""What an export folder may hold beside its order lines: an item master, a supplier
list, a customer list; read like the lines, then laid over what the lines tell.

Each file is read in whatever encoding and separator it has (`reading`), its columns
guessed from the header by synonyms or named in the mapping's `[skus]`, `[suppliers]`
and `[customers]` sections (contract field = column), and its cells parsed as the
contract's column types (`cells`). A cell that is empty, unreadable or outside the
contract's bounds (a negative cost, a pack of 0) counts as missing. The lines decide
which SKUs, suppliers and customers the dataset holds; a side table gives them their
attributes. What no file gives is taken from the lines or the defaults, and the
import report says which field of how many rows came from where (`Filled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from contract.schema import TABLES, Kind
from contract.sources import Limits
from replenish.importing.cells import date_order, number_marks, parse_dates, parse_numbers
from replenish.importing.errors import ExportError
from replenish.importing.mapping import KEYS, SIDE_SYNONYMS, SideSpec, header_key
from replenish.importing.reading import read_export


@dataclass(frozen=True)
class SideTable:
    """One side table as read: typed cells under the contract's names (missing where a
    cell was empty, unreadable or out of bounds), one row per key, and the report's
    entry for it (file, how it was read, columns, rows, cells found missing)."""

    name: str
    frame: pd.DataFrame
    report: dict[str, Any]


@dataclass
class Filled:
    """Where each field of a derived table came from, for the import report: per field,
    rows from the side file, from the order lines, and from a default (with its value)."""

    table: str
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def count(self, column: str, source: str, rows: int, value: Any = None) -> None:
        if rows <= 0:
            return
        entry = self.sources.setdefault(column, {})
        entry[source] = entry.get(source, 0) + int(rows)
        if source == "default" and value is not None:
            entry["default_value"] = value


def guess_columns(
    table: str, spec: SideSpec, header: list[str], file: str
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Contract field -> column of `file` for side table `table`: the mapping's, then
    guessed by synonyms; returns them and which were guessed. ExportError when the key
    has no column or a mapped column is missing."""
    absent = sorted(c for c in spec.columns.values() if c not in header)
    if absent:
        raise ExportError(
            f"{file}: the mapping's [{table}] names column(s) {absent} the file does not "
            f"have; it has {header}"
        )
    columns = dict(spec.columns)
    taken = set(columns.values())
    guessed: list[str] = []
    keys = {header_key(h): h for h in reversed(header)}  # first column wins on a tie
    for name, synonyms in SIDE_SYNONYMS[table].items():
        if name in columns:
            continue
        for synonym in synonyms:
            column = keys.get(header_key(synonym))
            if column is not None and column not in taken:
                columns[name], guessed = column, [*guessed, name]
                taken.add(column)
                break
    key = KEYS[table]
    if key not in columns:
        raise ExportError(
            f"{file}: no column found for {key} ({table}); it has {header}. Name it in the "
            f'mapping: [{table}] {key} = "column"'
        )
    order = list(SIDE_SYNONYMS[table])
    return {f: columns[f] for f in order if f in columns}, tuple(guessed)


def read_side_table(
    path: Path,
    table: str,
    spec: SideSpec,
    encoding: str,
    delimiter: str,
    decimal: str,
    limits: Limits | None = None,
) -> SideTable:
    """Read side table `table` from `path`: cells typed by the contract, one row per
    key (repeats of a key that agree are one row; ones that disagree are refused with
    their lines). `decimal`: the mark the order lines use, for a file whose own cells
    do not tell."""
    raw = read_export(
        path, spec.encoding or encoding, spec.delimiter or delimiter, spec.sheet, limits
    )
    columns, guessed = guess_columns(table, spec, list(raw.frame.columns), path.name)
    contract = TABLES_BY_NAME[table]
    cells = {f: raw.frame[c] for f, c in columns.items()}
    numeric = {f: v for f, v in cells.items() if contract.column(f).kind in (Kind.INT, Kind.FLOAT)}
    mark = number_marks(numeric) or decimal
    out = pd.DataFrame(index=raw.frame.index)
    missing: dict[str, int] = {}
    for name, text in cells.items():
        column = contract.column(name)
        given = (text != "").to_numpy()
        if column.kind is Kind.TEXT:
            value: pd.Series = text.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
            ok = given
        elif column.kind is Kind.DATE:
            value = parse_dates(text, date_order(text))
            ok = value.notna().to_numpy()
        else:
            value = parse_numbers(text, mark)
            number = value.to_numpy(dtype=float)
            ok = np.isfinite(number)
            if column.kind is Kind.INT:
                ok &= number == np.round(number)
            if column.minimum is not None:
                ok &= (number > column.minimum) if column.strict_minimum else (
                    number >= column.minimum
                )  # fmt: skip
            if column.maximum is not None:
                ok &= number <= column.maximum
        bad = given & ~ok
        if bad.any():
            missing[name] = int(bad.sum())
        out[name] = value.where(ok)
    key = KEYS[table]
    out = out[out[key].notna()].copy()
    out["_line"] = raw.line.loc[out.index].to_numpy()
    _refuse_conflicts(out, key, path.name, columns)
    out = out.drop_duplicates(subset=key, keep="first").set_index(key)
    report = {
        "file": path.name,
        "read": {"encoding": raw.encoding, "delimiter": raw.delimiter},
        "columns": columns,
        "guessed_columns": list(guessed),
        "rows": len(raw.frame),
        "keys": len(out),
        "unreadable_or_out_of_bounds": missing,
    }
    return SideTable(table, out.drop(columns="_line"), report)


TABLES_BY_NAME = {t.name: t for t in TABLES}


def _refuse_conflicts(frame: pd.DataFrame, key: str, file: str, columns: dict[str, str]) -> None:
    """ExportError naming the lines of a key given twice with different values."""
    repeated = frame[frame.duplicated(subset=key, keep=False)]
    if repeated.empty:
        return
    values = repeated.drop(columns="_line").astype("string").fillna("")
    differs = values.groupby(key, sort=False).nunique().gt(1).any(axis=1)
    if not differs.any():
        return
    first = str(differs[differs].index[0])
    lines = repeated.loc[repeated[key].astype("string") == first, "_line"].tolist()
    raise ExportError(
        f"{file}: {columns[key]!r} {first!r} is given {len(lines)} times with different "
        f"values (lines {', '.join(str(n) for n in lines[:5])}); keep one row per {key}"
    )


def combine(
    index: pd.Index,
    column: str,
    layers: list[tuple[str, pd.Series | None]],
    default: Any,
    filled: Filled,
    described: str | None = None,
) -> pd.Series:
    """One field for the keys `index`: each key's value from the first of `layers`
    (source name, values by key) that has one, else `default` (a value, or a Series by
    key for a default that varies: the price less the margin, say); where each came
    from is counted in `filled` (`described`: how the report names the default)."""
    out = pd.Series([None] * len(index), index=index, dtype=object)
    open_ = np.ones(len(index), dtype=bool)
    for source, values in layers:
        if values is None:
            continue
        here = values.reindex(index)
        take = open_ & here.notna().to_numpy()
        out[take] = here[take].to_numpy(dtype=object)
        filled.count(column, source, int(take.sum()))
        open_ &= ~take
    if open_.any():
        fallback = default.reindex(index) if isinstance(default, pd.Series) else None
        out[open_] = fallback[open_].to_numpy(dtype=object) if fallback is not None else default
        filled.count(column, "default", int(open_.sum()), described or default)
    return out
