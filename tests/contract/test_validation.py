"""Each defect class is rejected with the right file, row and column; nothing is loaded."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import Dataset, Severity, check_folder, check_frames
from tests.datasets import GOOD, WriteDataset, edit

TODAY = date(2025, 2, 1)

# (table, old text, new text, code, column, rows): rows are 1-based data rows.
# fmt: off
DEFECTS = [
    ("orders", "O1,2025-01-03,K1,A1,12", "O1,2025-01-03,K1,A1,twelve", "wrong_type", "quantity", (1,)),
    ("orders", "O1,2025-01-03,K1,C3,1", "O1,2025-01-03,K1,C3,1.5", "wrong_type", "quantity", (2,)),
    ("skus", "C3,Cable,Hardware,SUP2,4.00", "C3,Cable,Hardware,SUP2,4.0.0", "wrong_type", "unit_cost", (3,)),
    ("orders", "O4,2025-01-06,K3,C3,3", "O4,2025-01-06,K3,C3,-3", "out_of_range", "quantity", (5,)),
    ("orders", "O4,2025-01-06,K3,C3,3,9.90,1", "O4,2025-01-06,K3,C3,3,9.90,-1", "out_of_range", "quantity_short", (5,)),
    ("skus", "Drinks,SUP1,1.30,2.70", "Drinks,SUP1,1.30,0", "out_of_range", "unit_price", (2,)),
    ("skus", "2.50,6,12", "2.50,0,12", "out_of_range", "pack_size", (1,)),
    ("skus", "2.50,6,12", "2.50,6,-12", "out_of_range", "moq", (1,)),
    ("suppliers", "SUP1,Acme,7,", "SUP1,Acme,-7,", "out_of_range", "lead_time_days", (1,)),
    ("customers", "K1,2023-01-15,0.8", "K1,2023-01-15,1.8", "out_of_range", "strategic", (1,)),
    ("inventory", "A1,30,12", "A1,-30,12", "out_of_range", "on_hand", (1,)),
    ("orders", "O2,2025-01-04,K2,A1,0,,6", "O2,2025-01-04,K2,A1,0,,0", "zero_quantity", "quantity,quantity_short", (3,)),
    ("orders", "O1,2025-01-03,K1,A1", "O1,2025-01-03,K7,A1", "unknown_reference", "customer_id", (1,)),
    ("orders", "O3,2025-01-05,,B2", "O3,2025-01-05,,Z9", "unknown_reference", "sku_id", (4,)),
    ("skus", "C3,Cable,Hardware,SUP2", "C3,Cable,Hardware,SUP9", "unknown_reference", "supplier_id", (3,)),
    ("skus", "0.001,,B2", "0.001,,B2;Q7", "unknown_reference", "substitutes", (1,)),
    ("inventory", "C3,5,10", "X3,5,10", "unknown_reference", "sku_id", (3,)),
    ("skus", "B2,Berry juice", "A1,Berry juice", "duplicate_key", "sku_id", (1, 2)),
    ("orders", "O4,2025-01-06,K3,C3", "O1,2025-01-06,K3,C3", "duplicate_key", "order_id,sku_id", (2, 5)),
    ("customers", "K3,2024-02-29", "K2,2024-02-29", "duplicate_key", "customer_id", (2, 3)),
    ("orders", "O3,2025-01-05", "O3,2025-03-05", "future_date", "date", (4,)),
    ("inventory", "C3,5,10,2025-01-07", "C3,5,10,2031-01-07", "future_date", "as_of", (3,)),
    ("orders", "O3,2025-01-05", "O3,2025-02-30", "wrong_type", "date", (4,)),
    ("customers", "K2,2024-06-01", "K2,last june", "wrong_type", "since", (2,)),
    ("orders", "O3,2025-01-05,,B2,2", "O3,2025-01-05,,B2,", "missing_value", "quantity", (4,)),
    ("skus", "A1,Apple juice,Drinks,SUP1", "A1,Apple juice,Drinks,", "missing_value", "supplier_id", (1,)),
]
# fmt: on


@pytest.mark.parametrize(("table", "old", "new", "code", "column", "rows"), DEFECTS)
def test_defect_is_reported_with_file_row_column(
    write_dataset: WriteDataset,
    table: str,
    old: str,
    new: str,
    code: str,
    column: str,
    rows: tuple[int, ...],
) -> None:
    folder = write_dataset(**{table: edit(table, old, new)})
    report, dataset = check_folder(folder, today=TODAY)
    assert dataset is None, "a rejected dataset must not be returned"
    matches = [p for p in report.errors if p.code == code and p.column == column]
    assert matches, report.format()
    problem = matches[0]
    assert problem.file == f"{table}.csv"
    assert problem.rows == rows
    assert problem.count == len(rows)
    assert f"{table}.csv, column {column}" in report.format()


def drop_column(table: str, name: str) -> str:
    """The good CSV text of `table` without column `name`."""
    rows = [line.split(",") for line in GOOD[table].splitlines()]
    i = rows[0].index(name)
    return "\n".join(",".join(cells[:i] + cells[i + 1 :]) for cells in rows) + "\n"


def test_missing_required_column(write_dataset: WriteDataset) -> None:
    # Dropping an optional column (unit_price: the SKU's list price is used) is fine ...
    assert check_folder(write_dataset(orders=drop_column("orders", "unit_price")), TODAY)[1]
    # ... dropping quantity is not.
    report, dataset = check_folder(write_dataset(orders=drop_column("orders", "quantity")), TODAY)
    assert dataset is None
    (problem,) = [p for p in report.errors if p.code == "missing_column"]
    assert (problem.file, problem.column) == ("orders.csv", "quantity")


def test_missing_required_table(write_dataset: WriteDataset) -> None:
    report, dataset = check_folder(write_dataset(suppliers=None), today=TODAY)
    assert dataset is None
    assert [p.table for p in report.errors if p.code == "missing_table"] == ["suppliers"]


def test_header_only_file_is_rejected(write_dataset: WriteDataset) -> None:
    header = GOOD["inventory"].splitlines()[0] + "\n"
    report, _ = check_folder(write_dataset(inventory=header), today=TODAY)
    assert ("empty_file", "inventory.csv") in {(p.code, p.file) for p in report.errors}


def test_many_bad_rows_are_counted_and_listed_briefly(write_dataset: WriteDataset) -> None:
    header = GOOD["orders"].splitlines()[0]
    body = "\n".join(f"O{i},2025-01-03,K1,A1,-1,2.5,0" for i in range(500))
    report, _ = check_folder(write_dataset(orders=f"{header}\n{body}\n"), today=TODAY)
    (problem,) = [p for p in report.errors if p.code == "out_of_range"]
    assert problem.count == 500
    assert problem.rows == tuple(range(1, 11))
    assert "and 490 more" in str(problem)


def test_warnings_do_not_block(write_dataset: WriteDataset) -> None:
    skus = edit("skus", "C3,Cable,Hardware,SUP2,4.00,9.90", "C3,Cable,Hardware,SUP2,12.00,9.90")
    skus = "\n".join(
        line + (",colour" if i == 0 else ",red") for i, line in enumerate(skus.splitlines())
    )
    report, dataset = check_folder(write_dataset(skus=skus), today=TODAY)
    assert dataset is not None
    assert {p.code for p in report.warnings} >= {"negative_margin", "unknown_column"}
    assert all(p.severity is Severity.WARNING for p in report.problems)


def test_future_is_relative_to_the_validation_day(write_dataset: WriteDataset) -> None:
    folder = write_dataset()
    assert check_folder(folder, today=date(2025, 1, 7))[1] is not None
    report, dataset = check_folder(folder, today=date(2025, 1, 5))
    assert dataset is None
    future = {(p.file, p.column) for p in report.errors if p.code == "future_date"}
    assert future == {("orders.csv", "date"), ("inventory.csv", "as_of")}


def test_in_memory_frames_are_validated_the_same_way() -> None:
    frames = {name: pd.read_csv(io.StringIO(text), dtype=str) for name, text in GOOD.items()}
    assert isinstance(Dataset.from_frames(frames, today=TODAY), Dataset)
    frames["orders"].loc[0, "quantity"] = "-5"
    report, dataset = check_frames(frames, today=TODAY)
    assert dataset is None
    (problem,) = report.errors
    assert (problem.code, problem.file, problem.column, problem.rows) == (
        "out_of_range",
        "orders",
        "quantity",
        (1,),
    )


def test_typed_parquet_columns_are_checked_too(
    write_dataset: WriteDataset, tmp_path: object
) -> None:
    ds = Dataset.read(write_dataset(), today=TODAY)
    frames = {k: v.copy() for k, v in ds.tables().items()}
    frames["skus"].loc[1, "pack_size"] = 0
    report, dataset = check_frames(frames, today=TODAY)
    assert dataset is None
    assert [(p.code, p.column, p.rows) for p in report.errors] == [
        ("out_of_range", "pack_size", (2,))
    ]


ORDER_COLUMNS = [
    "order_id",
    "date",
    "customer_id",
    "sku_id",
    "quantity",
    "unit_price",
    "quantity_short",
]


@given(
    cell=st.text(max_size=12),
    row=st.integers(0, 4),
    column=st.sampled_from(ORDER_COLUMNS),
)
def test_any_cell_gets_a_verdict_that_points_at_it(cell: str, row: int, column: str) -> None:
    """Whatever one cell holds, validation answers (never raises) and blames that cell."""
    frames = {
        name: pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        for name, text in GOOD.items()
    }
    frames["orders"].loc[row, column] = cell
    report, dataset = check_frames(frames, today=TODAY)
    if dataset is None:
        assert report.errors
        assert all(p.table == "orders" for p in report.errors), report.format()
        assert any(column in (p.column or "") for p in report.errors), report.format()
        assert all(row + 1 in p.rows for p in report.errors if p.code != "duplicate_key")
    else:
        assert len(dataset.orders) == 5
