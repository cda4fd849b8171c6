"""Numbers and dates as exports write them: read leniently, never guessed silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from replenish.importing.cells import (
    ambiguous_numbers,
    date_order,
    number_marks,
    parse_dates,
    parse_numbers,
)
from replenish.importing.errors import ExportError


def _cells(*values: str) -> pd.Series:
    return pd.Series(values, dtype="string[pyarrow]")


@pytest.mark.parametrize(
    ("decimal", "text", "value"),
    [
        (".", "1,234.50", 1234.5),
        (".", "£2.55", 2.55),
        (".", "-3", -3.0),
        (".", "(5)", -5.0),
        (".", "1 234 567", 1234567.0),
        (",", "1.234,5", 1234.5),
        (",", "12,5", 12.5),
        (",", "1\u00a0234,50 €", 1234.5),
        (".", "2,5", np.nan),  # a decimal comma where a point was named: not a number
        (".", "12,34,5", np.nan),
        (".", "", np.nan),
        (".", "abc", np.nan),
    ],
)
def test_numbers(decimal: str, text: str, value: float) -> None:
    got = parse_numbers(_cells(text), decimal).iloc[0]
    assert (np.isnan(got) and np.isnan(value)) or got == value


@given(st.floats(-1e7, 1e7, allow_nan=False).map(lambda v: round(v, 2)))
def test_a_number_written_either_way_reads_the_same(value: float) -> None:
    point = f"{value:,.2f}"
    comma = point.replace(",", " ").replace(".", ",")
    assert parse_numbers(_cells(point), ".").iloc[0] == pytest.approx(value)
    assert parse_numbers(_cells(comma), ",").iloc[0] == pytest.approx(value)


def test_the_decimal_mark_is_told_by_the_cells() -> None:
    assert number_marks({"price": _cells("2,55", "10", "")}) == ","
    assert number_marks({"price": _cells("1,234.5")}) == "."
    assert number_marks({"qty": _cells("3", "12")}) is None
    with pytest.raises(ExportError, match="both decimal marks"):
        number_marks({"price": _cells("2.55"), "cost": _cells("1,5")})


def test_a_number_that_reads_two_ways_is_flagged() -> None:
    assert ambiguous_numbers(_cells("1,250", "3")) == "1,250"
    assert ambiguous_numbers(_cells("1,250,000", "3.5")) is None


@pytest.mark.parametrize(
    ("cells", "order"),
    [
        (("2026-01-31", "2026-02-01 10:00"), "iso"),
        (("2026年1月31日",), "iso"),
        (("31/01/2026 08:26", "01/02/2026"), "dmy"),
        (("01/31/26", "02/01/26"), "mdy"),
    ],
)
def test_date_order_is_told_by_a_field_above_twelve(cells: tuple[str, ...], order: str) -> None:
    assert date_order(_cells(*cells)) == order


def test_dates_that_could_be_either_way_stop_the_import() -> None:
    with pytest.raises(ExportError, match=r"day-first or month-first.*--date-format"):
        date_order(_cells("03/04/2026", "05/06/2026"))
    with pytest.raises(ExportError, match="both day-first and month-first"):
        date_order(_cells("13/01/2026", "01/13/2026"))


def test_dates_are_days_and_impossible_ones_are_empty() -> None:
    got = parse_dates(_cells("31/01/2026 08:26", "31/04/2026", "29/02/24", "", "x"), "dmy")
    assert got.tolist()[:3] == [pd.Timestamp("2026-01-31"), pd.NaT, pd.Timestamp("2024-02-29")]
    assert got.isna().tolist() == [False, True, False, True, True]
    cn = parse_dates(_cells("2026年1月31日", "2026-02-01T10:00"), "iso")
    assert cn.tolist() == [pd.Timestamp("2026-01-31"), pd.Timestamp("2026-02-01")]
    explicit = parse_dates(_cells("20260131", "bad"), "%Y%m%d")
    assert explicit.iloc[0] == pd.Timestamp("2026-01-31") and pd.isna(explicit.iloc[1])
