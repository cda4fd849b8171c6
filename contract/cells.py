"""Parsing raw cells into typed columns, vectorized with Arrow compute.

A raw column is text from a CSV (Arrow strings) or an already-typed Parquet / pandas
column. Parsing never raises: it returns the typed values together with which cells
were blank and which held something that is not of the column's kind, so validation
can name the rows. Working on Arrow strings keeps millions of order lines compact
(no Python object per cell).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from contract.schema import Kind

NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
DAY = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"


@dataclass(frozen=True)
class Parsed:
    """Typed values (NA where blank or bad) and boolean masks aligned with the rows."""

    values: pd.Series
    blank: np.ndarray
    bad: np.ndarray
    reason: str  # what a bad cell is not, e.g. "not a number"


def _mask(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def text_cells(raw: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Trimmed text of every cell (null where missing), as Arrow strings."""
    if pd.api.types.is_float_dtype(raw.dtype):
        # Ids stored as floats (1.0) read as "1", not "1.0".
        present = raw.dropna()
        if len(present) and bool((present == np.round(present)).all()):
            raw = raw.astype("Int64")
    if not (isinstance(raw.dtype, pd.ArrowDtype | pd.StringDtype)):
        raw = raw.astype("string")
    arr = pa.array(raw.array)
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return pc.utf8_trim_whitespace(arr)


def parse(kind: Kind, raw: pd.Series) -> Parsed:
    """Parse one raw column as `kind` (see module docstring)."""
    if kind is Kind.TEXT:
        return _parse_text(raw)
    if kind is Kind.DATE:
        return _parse_date(raw)
    return _parse_number(raw, whole=kind is Kind.INT)


def _parse_text(raw: pd.Series) -> Parsed:
    text = text_cells(raw)
    empty = pc.fill_null(pc.equal(text, ""), True)
    blank = _mask(empty)
    cleaned = pc.if_else(empty, pa.scalar(None, pa.string()), text)
    if isinstance(cleaned, pa.Array):
        cleaned = pa.chunked_array([cleaned], type=pa.string())
    values = pd.Series(pd.arrays.ArrowStringArray(cleaned), name=raw.name)
    return Parsed(values, blank, np.zeros(len(raw), dtype=bool), "")


def _parse_number(raw: pd.Series, whole: bool) -> Parsed:
    reason = "not a whole number" if whole else "not a number"
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        arr = raw.to_numpy(dtype="float64", na_value=np.nan)
        blank = np.isnan(arr)
        bad = np.isinf(arr)
    else:
        text = text_cells(raw)
        blank = _mask(pc.or_kleene(pc.is_null(text), pc.equal(text, "")))
        ok = _mask(pc.match_substring_regex(text, NUMBER))
        numbers = pc.cast(
            pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string())), pa.float64()
        )
        arr = np.asarray(
            pc.fill_null(numbers, np.nan).to_numpy(zero_copy_only=False), dtype="float64"
        )
        bad = ~blank & (~ok | np.isinf(arr))
    if whole:
        with np.errstate(invalid="ignore"):
            bad |= ~blank & ~bad & (arr != np.round(arr))
    arr = np.where(bad, np.nan, arr)
    return Parsed(pd.Series(arr, name=raw.name), blank, bad, reason)


def _parse_date(raw: pd.Series) -> Parsed:
    reason = "not a date (YYYY-MM-DD)"
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        values = pd.to_datetime(raw)
        if values.dt.tz is not None:
            values = values.dt.tz_localize(None)
        blank = values.isna().to_numpy()
        return Parsed(
            values.dt.normalize().astype("datetime64[ns]"), blank, np.zeros_like(blank), reason
        )
    text = text_cells(raw)
    blank = _mask(pc.or_kleene(pc.is_null(text), pc.equal(text, "")))
    shaped = pc.match_substring_regex(text, DAY)
    day = pc.if_else(shaped, pc.utf8_slice_codeunits(text, 0, 10), pa.scalar(None, pa.string()))
    stamps = pc.strptime(day, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls impossible days over (2025-02-30 -> 03-02): keep only exact round trips.
    exact = pc.equal(pc.strftime(stamps, format="%Y-%m-%d"), day)
    stamps = pc.if_else(exact, stamps, pa.scalar(None, stamps.type))
    values = pd.Series(
        np.asarray(stamps.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False)),
        name=raw.name,
    ).astype("datetime64[ns]")
    bad = ~blank & values.isna().to_numpy()
    return Parsed(values, blank, bad, reason)
