"""Files that are not tables at all: refused clearly, before anything is loaded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from contract import check_folder
from contract.sources import Limits, SourceError, available_memory_bytes, read_table_file
from tests.datasets import WriteDataset

TODAY = date(2025, 2, 1)


def errors_of(folder: Path, limits: Limits | None = None) -> set[tuple[str, str]]:
    report, dataset = check_folder(folder, today=TODAY, limits=limits)
    assert dataset is None
    return {(p.code, p.file) for p in report.errors}


def test_file_far_larger_than_memory_is_refused_without_reading(
    write_dataset: WriteDataset,
) -> None:
    folder = write_dataset(orders=None)
    huge = folder / "orders.csv"
    with open(huge, "wb") as fh:  # sparse: takes no disk, claims 4x the machine's memory
        fh.write(b"order_id,date,customer_id,sku_id,quantity\n")
        fh.truncate(4 * available_memory_bytes())
    report, dataset = check_folder(folder, today=TODAY)
    assert dataset is None
    (problem,) = [p for p in report.errors if p.code == "too_large"]
    assert problem.file == "orders.csv"
    assert "in memory" in problem.message


def test_explicit_size_cap(write_dataset: WriteDataset) -> None:
    folder = write_dataset()
    assert ("too_large", "orders.csv") in errors_of(folder, Limits(max_file_bytes=100))


def test_huge_parquet_is_refused_by_its_metadata(
    write_dataset: WriteDataset, tmp_path: Path
) -> None:
    from contract import Dataset

    ds = Dataset.read(write_dataset(), today=TODAY)
    path = ds.write(tmp_path / "pq", "parquet") / "orders.parquet"
    with pytest.raises(SourceError) as err:
        read_table_file(path, Limits(memory_fraction=1e-12))
    assert err.value.code == "too_large"


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("orders.csv", b"", "empty_file"),
        ("orders.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_tabular"),
        ("orders.csv", b"PAR1 this is parquet, not csv", "not_tabular"),
        ("orders.csv", "order_id,date\nO1,2025-01-01\n".encode("utf-16"), "not_tabular"),
        ("orders.csv", b"order_id,date\nO1,2025-01-0\xff\xfe1\n", "not_tabular"),
        ("orders.parquet", b"order_id,date\nO1,2025-01-01\n", "not_tabular"),
        ("orders.parquet", b"PAR1 truncated garbage PAR1", "not_tabular"),
        ("orders.xlsx", b"PK\x03\x04 a spreadsheet", "not_tabular"),
        ("orders.csv", b"order_id,order_id,date\nO1,O2,2025-01-01\n", "duplicate_column"),
    ],
)
def test_unreadable_files(
    write_dataset: WriteDataset, name: str, content: bytes, code: str
) -> None:
    folder = write_dataset(orders=None)
    (folder / name).write_bytes(content)
    assert (code, name) in errors_of(folder)


def test_ragged_csv_names_the_line(write_dataset: WriteDataset) -> None:
    text = "order_id,date,customer_id,sku_id,quantity\nO1,2025-01-03,K1,A1,1\nO2,2025-01-03,K1,A1,1,7\n"
    folder = write_dataset(orders=text)
    report, _ = check_folder(folder, today=TODAY)
    (problem,) = [p for p in report.errors if p.file == "orders.csv"]
    assert problem.code == "not_tabular"
    assert "line 3" in problem.message


def test_two_files_for_one_table_are_ambiguous(write_dataset: WriteDataset) -> None:
    folder = write_dataset()
    (folder / "orders.parquet").write_bytes(b"PAR1....PAR1")
    assert ("ambiguous_file", "orders.parquet") in errors_of(folder)


def test_stray_files_are_warned_about(write_dataset: WriteDataset) -> None:
    folder = write_dataset()
    (folder / "order.csv").write_text("misspelt")
    report, dataset = check_folder(folder, today=TODAY)
    assert dataset is not None
    assert ("unknown_file", "order.csv") in {(p.code, p.file) for p in report.warnings}


def test_missing_folder(tmp_path: Path) -> None:
    report, dataset = check_folder(tmp_path / "nope")
    assert dataset is None
    assert report.codes() == {"missing_folder"}


def test_size_cap_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, write_dataset: WriteDataset
) -> None:
    monkeypatch.setenv("REPLENISH_MAX_FILE_BYTES", "100")
    assert Limits.from_env().max_file_bytes == 100
    assert ("too_large", "orders.csv") in errors_of(write_dataset(), Limits.from_env())
    monkeypatch.setenv("REPLENISH_MAX_FILE_BYTES", "lots")
    with pytest.raises(ValueError, match="whole number of bytes"):
        Limits.from_env()


def _with_leading_zeros(text: str) -> str:
    """The good dataset with supplier SUP1 renamed 0070 everywhere (a leading zero)."""
    return text.replace("SUP1", "0070")


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf")],  # Excel's "CSV UTF-8" writes the BOM
    ids=["utf-8", "utf-8 with BOM"],
)
def test_ids_stay_text_whatever_the_encoding(
    write_dataset: WriteDataset, encoding: str, bom: bytes
) -> None:
    from tests.datasets import GOOD

    folder = write_dataset(**{t: _with_leading_zeros(GOOD[t]) for t in ("suppliers", "skus")})
    for table in ("suppliers", "skus", "orders"):
        path = folder / f"{table}.csv"
        path.write_bytes(bom + path.read_text(encoding="utf-8").encode(encoding))
    raw = read_table_file(folder / "suppliers.csv")
    assert raw.columns[0] == "supplier_id" and raw["supplier_id"].iloc[0] == "0070"
    report, dataset = check_folder(folder, today=TODAY)
    assert dataset is not None, report.format()
    assert "0070" in set(dataset.suppliers["supplier_id"])
    assert set(dataset.skus["supplier_id"]) == {"0070", "SUP2"}


def test_utf16_and_latin1_files_are_named_as_such(write_dataset: WriteDataset) -> None:
    folder = write_dataset()
    text = (folder / "customers.csv").read_text(encoding="utf-8")
    (folder / "customers.csv").write_bytes(text.encode("utf-16"))  # with its BOM
    (folder / "suppliers.csv").write_bytes(
        (folder / "suppliers.csv")
        .read_text(encoding="utf-8")
        .replace("Acme", "Acmé")
        .encode("latin-1")
    )
    report, dataset = check_folder(folder, today=TODAY)
    assert dataset is None
    messages = {p.file: p.message for p in report.errors}
    assert "UTF-16" in messages["customers.csv"] and "CSV UTF-8" in messages["customers.csv"]
    assert "not UTF-8" in messages["suppliers.csv"]
