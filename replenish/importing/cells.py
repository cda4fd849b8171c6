"""Numbers and dates as exports write them, read leniently but never guessed silently.

Numbers: "1,234.50", "1.234,50", "1 234,5", "£2.55", "-3". The decimal mark is found from
the cells themselves ("2,5" can only be a decimal comma, "1.234,5" only a thousands
dot); when nothing tells (every comma followed by exactly three digits: "1,250"), the
import stops and asks for `--decimal`, since guessing wrong would scale prices by 1,000.

Dates: ISO ("2026-01-31", with or without a time), day-first or month-first with / . or -
("31/01/2026", "01/31/26"), Chinese ("2026年1月31日"), or an explicit strftime format.
Whether "03/04/2026" is 3 April or 4 March is read from the cells where a field exceeds
12; when none does, the import stops and asks for `--date-format`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from replenish.importing.errors import ExportError

#: Currency signs and spaces (incl. no-break and thin spaces) that may wrap a number.
_NOISE = "[\\s\u00a0\u202f£$€¥￥]"


def number_marks(columns: dict[str, pd.Series]) -> str | None:
    """The decimal mark the numeric `columns` (name -> text cells) use: "." or ",";
    None when no cell tells. Raises ExportError when cells disagree."""
    votes: dict[str, str] = {}
    for name, cells in columns.items():
        text = cells[cells != ""].str.replace(_NOISE, "", regex=True)
        dot = text.str.contains(r"^-?\d{1,3}(?:,\d{3})+\.\d+$|^-?\d*\.(?:\d{1,2}|\d{4,})$")
        comma = text.str.contains(r"^-?\d{1,3}(?:\.\d{3})+,\d+$|^-?\d*,(?:\d{1,2}|\d{4,})$")
        if dot.any():
            votes.setdefault(".", f"{name}: {text[dot].iloc[0]!r}")
        if comma.any():
            votes.setdefault(",", f"{name}: {text[comma].iloc[0]!r}")
    if len(votes) > 1:
        raise ExportError(
            f"numbers use both decimal marks ({votes['.']} vs {votes[',']}); name the "
            "decimal mark with --decimal"
        )
    return next(iter(votes), None)


def ambiguous_numbers(cells: pd.Series) -> str | None:
    """A cell that reads differently with a decimal comma and a decimal point ("1,250"),
    or None."""
    text = cells[cells != ""].str.replace(_NOISE, "", regex=True)
    hit = text.str.contains(r"^-?\d{1,3}(?:[.,]\d{3})+$")
    both = text[hit]
    # "1,250,000" or "1.250.000" can only be thousands; one separator is the ambiguity.
    single = both[both.str.count(r"[.,]") == 1]
    return None if single.empty else str(single.iloc[0])


def parse_numbers(cells: pd.Series, decimal: str) -> pd.Series:
    """Text cells -> float64 (NaN where empty or not a number). `decimal` is "." or ","
    (the other mark, spaces and currency signs are thousands noise)."""
    text = cells.str.replace(_NOISE, "", regex=True)
    thousands = "," if decimal == "." else "."
    # A grouping mark must sit before groups of three digits; anything else is not a number.
    grouped = text.str.contains(rf"^[+-]?\d{{1,3}}(?:\{thousands}\d{{3}})+(?:\{decimal}\d*)?$")
    text = text.where(~grouped, text.str.replace(thousands, "", regex=False))
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    text = text.where(~text.str.contains(r"^\(.*\)$"), "-" + text.str.strip("()"))
    ok = text.str.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
    values = pd.to_numeric(text.where(ok.fillna(False), ""), errors="coerce")
    return pd.Series(np.asarray(values, dtype=float), index=cells.index)


_ISO = r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[T ].*)?$"
_CN = r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日.*$"
_SHORT = r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{2}|\d{4})(?:[T ].*)?$"


def date_order(cells: pd.Series) -> str:
    """How the date cells are written: "iso" (year first, also Chinese), "dmy" or "mdy".
    Raises ExportError when day-first and month-first cannot be told apart."""
    text = cells[cells != ""]
    if text.empty:
        return "iso"
    iso = text.str.extract(_ISO)["y"].notna() | text.str.extract(_CN)["y"].notna()
    if iso.mean() > 0.5:
        return "iso"
    parts = text.str.extract(_SHORT)
    a = pd.to_numeric(parts["a"], errors="coerce")
    b = pd.to_numeric(parts["b"], errors="coerce")
    day_first, month_first = bool((a > 12).any()), bool((b > 12).any())
    example = str(text.iloc[0])
    if day_first and month_first:
        raise ExportError(
            f"dates are written both day-first and month-first (e.g. {example!r}); name "
            "the format with --date-format"
        )
    if day_first:
        return "dmy"
    if month_first:
        return "mdy"
    if parts["a"].notna().any():
        raise ExportError(
            f"dates like {example!r} could be day-first or month-first and no date tells "
            "(no field above 12); name the format with --date-format, e.g. %d/%m/%Y or %m/%d/%Y"
        )
    return "iso"


def parse_dates(cells: pd.Series, fmt: str) -> pd.Series:
    """Text cells -> day-precision datetime64 (NaT where empty or not a date). `fmt`:
    "iso", "dmy", "mdy" (from `date_order`) or a strftime format (the time, if any, is
    dropped)."""
    if fmt not in ("iso", "dmy", "mdy"):
        values = pd.to_datetime(cells, format=fmt, errors="coerce")
        return pd.Series(values, index=cells.index).dt.normalize().astype("datetime64[ns]")
    if fmt == "iso":
        parts = cells.str.extract(_ISO)
        cn = cells.str.extract(_CN)
        parts = parts.fillna(cn)
        y, m, d = parts["y"], parts["m"], parts["d"]
    else:
        parts = cells.str.extract(_SHORT)
        first, second = (parts["a"], parts["b"]) if fmt == "dmy" else (parts["b"], parts["a"])
        y, m, d = parts["y"], second, first
    return _calendar_days(_whole(y), _whole(m), _whole(d), cells.index)


def _whole(parts: pd.Series) -> np.ndarray:
    return np.asarray(pd.to_numeric(parts, errors="coerce").astype("float64"), dtype=float)


def _calendar_days(
    year: np.ndarray, month: np.ndarray, day: np.ndarray, index: pd.Index
) -> pd.Series:
    """Dates from year, month and day numbers (NaT where any is missing or the day does
    not exist, e.g. 31 April); two-digit years are this century's."""
    year = np.where(year < 100, 2000 + year, year)
    ok = np.isfinite(year) & np.isfinite(month) & np.isfinite(day)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (year >= 1900)
    ok &= year <= 2200
    y, m, d = (np.where(ok, v, 1).astype(np.int64) for v in (year, month, day))
    first = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    dates = first.astype("datetime64[D]") + (d - 1)
    ok &= dates.astype("datetime64[M]") == first  # the day exists in that month
    values = np.where(ok, dates.astype("datetime64[ns]"), np.datetime64("NaT", "ns"))
    return pd.Series(values, index=index, dtype="datetime64[ns]")
