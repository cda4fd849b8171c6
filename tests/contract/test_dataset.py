"""Reading, validating and writing a dataset folder: what is accepted, and how."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contract import Dataset, DatasetError, check_folder
from contract.schema import TABLES
from tests.datasets import WriteDataset, edit

TODAY = date(2025, 2, 1)


def test_good_dataset_is_typed_and_defaults_are_filled(write_dataset: WriteDataset) -> None:
    ds = Dataset.read(write_dataset(), today=TODAY)
    skus = ds.skus.set_index("sku_id")
    # Empty pack_size/moq/volume take the contract defaults.
    assert skus.loc["C3", "pack_size"] == 1
    assert skus.loc["C3", "moq"] == 0
    # An empty lead time inherits the supplier's; a given one is kept.
    assert skus.loc["A1", "lead_time_days"] == 7.0
    assert skus.loc["B2", "lead_time_days"] == 5.0
    assert skus.loc["C3", "lead_time_days"] == 14.0
    suppliers = ds.suppliers.set_index("supplier_id")
    assert suppliers.loc["SUP2", "review_period_days"] == 7.0
    orders = ds.orders
    # Missing order price falls back to the SKU's list price; short defaults to 0.
    assert orders.loc[2, "unit_price"] == 2.50
    assert orders.loc[3, "quantity_short"] == 0
    assert orders["customer_id"].isna().tolist() == [False, False, False, True, False]  # anonymous
    for table in TABLES:
        frame = getattr(ds, table.name)
        assert list(frame.columns) == list(table.column_names)
        for col in table.columns:
            assert frame[col.name].dtype == col.kind.dtype, (table.name, col.name)


def test_optional_tables_may_be_absent(write_dataset: WriteDataset) -> None:
    ds = Dataset.read(write_dataset(customers=None, inventory=None), today=TODAY)
    assert ds.customers is None and ds.inventory is None
    assert len(ds.orders) == 5


@pytest.mark.parametrize("first", ["csv", "parquet"])
def test_round_trip_csv_parquet_unchanged(
    write_dataset: WriteDataset, tmp_path: Path, first: str
) -> None:
    original = Dataset.read(write_dataset(), today=TODAY)
    second = "parquet" if first == "csv" else "csv"
    a = Dataset.read(original.write(tmp_path / "a", first), today=TODAY)  # type: ignore[arg-type]
    b = Dataset.read(a.write(tmp_path / "b", second), today=TODAY)  # type: ignore[arg-type]
    for name, frame in original.tables().items():
        pd.testing.assert_frame_equal(frame, a.tables()[name])
        pd.testing.assert_frame_equal(frame, b.tables()[name])


def test_generated_world_round_trips_exactly(tiny_world_dataset: Dataset, tmp_path: Path) -> None:
    """Floats survive CSV exactly (no rounding), ids and dates keep their types."""
    csv = Dataset.read(tiny_world_dataset.write(tmp_path / "csv", "csv"))
    pq = Dataset.read(csv.write(tmp_path / "pq", "parquet"))
    for name, frame in tiny_world_dataset.tables().items():
        pd.testing.assert_frame_equal(frame, csv.tables()[name])
        pd.testing.assert_frame_equal(frame, pq.tables()[name])


@pytest.fixture
def tiny_world_dataset(tiny_world: object) -> Dataset:
    from simulations.world import GeneratedWorld

    assert isinstance(tiny_world, GeneratedWorld)
    return tiny_world.dataset


def test_rejection_returns_nothing_and_reports_everything(write_dataset: WriteDataset) -> None:
    folder = write_dataset(
        orders=edit("orders", "O4,2025-01-06,K3,C3,3", "O4,2025-01-06,K9,C3,-3"),
        skus=edit("skus", "C3,Cable,Hardware,SUP2,4.00", "C3,Cable,Hardware,SUP2,four"),
    )
    report, dataset = check_folder(folder, today=TODAY)
    assert dataset is None
    assert {"unknown_reference", "out_of_range", "wrong_type"} <= report.codes()
    with pytest.raises(DatasetError) as err:
        Dataset.read(folder, today=TODAY)
    assert err.value.report.errors == report.errors
    assert "nothing was loaded" in str(err.value)


def test_write_is_atomic_and_replaces_a_dataset(
    write_dataset: WriteDataset, tmp_path: Path
) -> None:
    ds = Dataset.read(write_dataset(), today=TODAY)
    target = tmp_path / "out"
    ds.write(target, "csv")
    ds.write(target, "parquet")  # a dataset folder may be replaced
    assert sorted(p.name for p in target.iterdir()) == sorted(
        f"{t}.parquet"
        for t in ("suppliers", "skus", "customers", "orders", "inventory", "stock_history")
    )
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_write_refuses_to_clobber_other_files(write_dataset: WriteDataset, tmp_path: Path) -> None:
    ds = Dataset.read(write_dataset(), today=TODAY)
    target = tmp_path / "precious"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        ds.write(target)
    assert (target / "notes.txt").read_text() == "keep me"


def test_concurrent_writers_leave_one_whole_dataset(
    write_dataset: WriteDataset, tmp_path: Path
) -> None:
    base = Dataset.read(write_dataset(), today=TODAY)
    versions = []
    for k in range(6):
        inv = base.inventory.copy() if base.inventory is not None else None
        assert inv is not None
        inv["on_hand"] = np.int64(k)
        versions.append(Dataset(base.suppliers, base.skus, base.orders, base.customers, inv))
    target = tmp_path / "shared"
    errors: list[BaseException] = []

    def writer(ds: Dataset) -> None:
        try:
            ds.write(target, "csv")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = Dataset.read(target, today=TODAY)
    assert final.inventory is not None
    # Every row comes from the same writer: no mix of two versions.
    assert final.inventory["on_hand"].nunique() == 1
