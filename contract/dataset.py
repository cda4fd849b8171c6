"""`Dataset`: the five validated tables, read from and written to a folder.

Reading is all-or-nothing: `Dataset.read` either returns a complete, typed dataset or
raises `DatasetError` carrying the whole `Report`. Writing goes to a temporary folder
that replaces the target in one rename, under a lock, so readers and concurrent writers
never see a half-written dataset.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import pandas as pd

from contract.atomic import replace_folder
from contract.schema import TABLES, TABLES_BY_NAME
from contract.sources import Limits, SourceError, locate_tables, read_table_file
from contract.validation import Finding, Report, Severity, validate_tables

Format = Literal["csv", "parquet"]


class DatasetError(Exception):
    """A dataset was rejected; `report` names every file, row and column at fault."""

    def __init__(self, report: Report) -> None:
        super().__init__(report.format())
        self.report = report


@dataclass(frozen=True)
class Dataset:
    """A validated dataset. Optional tables are None when the dataset has none.

    Columns and dtypes follow `contract.schema` exactly (text as pandas "string",
    dates as day-precision datetime64, quantities int64, money float64).
    """

    suppliers: pd.DataFrame
    skus: pd.DataFrame
    orders: pd.DataFrame
    customers: pd.DataFrame | None = None
    inventory: pd.DataFrame | None = None
    stock_history: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The present tables by name, in contract order."""
        out: dict[str, pd.DataFrame] = {}
        for table in TABLES:
            frame = getattr(self, table.name)
            if frame is not None:
                out[table.name] = frame
        return out

    @classmethod
    def from_frames(
        cls,
        frames: dict[str, pd.DataFrame],
        today: date | None = None,
    ) -> Dataset:
        """Validate in-memory tables (raw or typed) and build a Dataset, or raise."""
        report, dataset = check_frames(frames, today)
        if dataset is None:
            raise DatasetError(report)
        return dataset

    @classmethod
    def read(
        cls, folder: str | Path, today: date | None = None, limits: Limits | None = None
    ) -> Dataset:
        """Read and validate a dataset folder; raise DatasetError with the full report."""
        report, dataset = check_folder(folder, today, limits)
        if dataset is None:
            raise DatasetError(report)
        return dataset

    def write(self, folder: str | Path, fmt: Format = "csv", overwrite: bool = False) -> Path:
        """Write every present table as `<table>.<fmt>` into `folder`, atomically.

        An existing folder is replaced only if it is empty, holds nothing but dataset
        files, or `overwrite` is set; otherwise FileExistsError.
        """
        target = Path(folder).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        with _folder_lock(target):
            if target.exists() and not overwrite and not _replaceable(target):
                raise FileExistsError(
                    f"{target} holds files that are not a dataset; pass overwrite=True"
                )

            def fill(staging: Path) -> None:
                for name, frame in self.tables().items():
                    _write_table(frame, staging / f"{name}.{fmt}", fmt)

            replace_folder(target, fill)
        return target


def check_frames(
    frames: dict[str, pd.DataFrame], today: date | None = None
) -> tuple[Report, Dataset | None]:
    """Validate in-memory tables; the Dataset is None when the report has errors."""
    unknown = [name for name in frames if name not in TABLES_BY_NAME]
    prior = tuple(
        Finding(Severity.WARNING, "unknown_file", name, name, "not a table of the contract")
        for name in unknown
    )
    raw = {k: v for k, v in frames.items() if k in TABLES_BY_NAME}
    report, typed = validate_tables(raw, {k: k for k in raw}, today or date.today(), prior)
    return report, (Dataset(**typed) if typed is not None else None)


def check_folder(
    folder: str | Path, today: date | None = None, limits: Limits | None = None
) -> tuple[Report, Dataset | None]:
    """Validate a dataset folder; the Dataset is None when the report has errors."""
    path = Path(folder)
    if not path.is_dir():
        problem = Finding(Severity.ERROR, "missing_folder", "", str(path), "no such folder")
        return Report((problem,)), None
    located, issues = locate_tables(path)
    prior: list[Finding] = []
    for file, code, message in issues:
        table = Path(file).stem
        severity = Severity.WARNING if code == "unknown_file" else Severity.ERROR
        prior.append(Finding(severity, code, table, file, message))
    raw: dict[str, pd.DataFrame] = {}
    for name, file_path in located.items():
        try:
            raw[name] = read_table_file(file_path, limits or Limits.from_env())
        except SourceError as exc:
            prior.append(Finding(Severity.ERROR, exc.code, name, file_path.name, exc.message))
    files = {name: p.name for name, p in located.items()}
    report, typed = validate_tables(raw, files, today or date.today(), tuple(prior))
    return report, (Dataset(**typed) if typed is not None else None)


def _write_table(frame: pd.DataFrame, path: Path, fmt: Format) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    else:
        frame.to_parquet(path, index=False, engine="pyarrow")


def _replaceable(folder: Path) -> bool:
    names = {t.name for t in TABLES}
    return all(p.stem in names and p.suffix in (".csv", ".parquet") for p in folder.iterdir())


@contextmanager
def _folder_lock(target: Path) -> Iterator[None]:
    """An exclusive advisory lock shared by every writer of `target` (blocks until free)."""
    lock_path = target.parent / f".{target.name}.lock"
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
