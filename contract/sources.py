"""Finding and reading the raw table files of a dataset folder, with size guards.

A table is `<name>.csv` (UTF-8 with or without a byte-order mark, as Excel's "CSV UTF-8"
writes it; header row) or `<name>.parquet`. Files are read without type conversion
(every CSV cell stays text, so ids keep their leading zeros) so that
`contract.validation` can name the exact rows and columns of bad values. A file whose
in-memory size would not fit is refused before it is read, so a huge file gets a clear
error instead of an out-of-memory crash.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from contract.schema import TABLES

SUFFIXES: dict[str, str] = {".csv": "csv", ".parquet": "parquet"}

#: Peak memory of validating a CSV, per byte of file (measured: 200 MB of order lines
#: peak at about 1.3 GB above the interpreter's own; text stays Arrow, values get typed).
CSV_EXPANSION = 8.0
#: Peak memory of validating a Parquet table, per cell (dictionary-encoded Parquet can
#: be 20x smaller than its in-memory form, so the file size alone says little).
PARQUET_BYTES_PER_CELL = 48.0
_PARQUET_MAGIC = b"PAR1"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class SourceError(Exception):
    """A file that cannot be read as a table at all (code names the defect class)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limits:
    """How much a single table file may take in memory.

    `max_file_bytes` caps the file size on disk outright (e.g. for an upload endpoint);
    otherwise the estimated in-memory size must stay under `memory_fraction` of the
    memory available when the file is opened.
    """

    max_file_bytes: int | None = None
    memory_fraction: float = 0.5

    @classmethod
    def from_env(cls) -> Limits:
        """Limits from REPLENISH_MAX_FILE_BYTES (a whole number of bytes), if set."""
        raw = os.environ.get("REPLENISH_MAX_FILE_BYTES", "").strip()
        if not raw:
            return cls()
        if not raw.isdigit():
            raise ValueError(
                f"REPLENISH_MAX_FILE_BYTES must be a whole number of bytes, got {raw!r}"
            )
        return cls(max_file_bytes=int(raw))


def available_memory_bytes() -> int:
    """Memory the OS says a new allocation can still get (MemAvailable), in bytes."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def locate_tables(folder: Path) -> tuple[dict[str, Path], list[tuple[str, str, str]]]:
    """Map table name -> file in `folder`; also (file, code, message) for what is off.

    Two files for one table (CSV and Parquet) is ambiguous and an error; files that are no
    table of the contract are reported so a misspelt name does not go unnoticed.
    """
    found: dict[str, Path] = {}
    issues: list[tuple[str, str, str]] = []
    names = {t.name for t in TABLES}
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        stem, suffix = path.stem, path.suffix.lower()
        if stem in names and suffix in SUFFIXES:
            if stem in found:
                issues.append(
                    (
                        path.name,
                        "ambiguous_file",
                        f"both {found[stem].name} and {path.name} exist; keep one",
                    )
                )
            else:
                found[stem] = path
        elif stem in names:
            issues.append(
                (
                    path.name,
                    "not_tabular",
                    f"{path.name} is not a table file: use {stem}.csv or {stem}.parquet",
                )
            )
        else:
            issues.append((path.name, "unknown_file", f"{path.name} is not part of a dataset"))
    return found, issues


def read_table_file(path: Path, limits: Limits | None = None) -> pd.DataFrame:
    """Read one table file without converting types; raise SourceError when impossible."""
    limits = limits or Limits()
    size = path.stat().st_size
    if size == 0:
        raise SourceError("empty_file", f"{path.name} is empty (0 bytes)")
    if limits.max_file_bytes is not None and size > limits.max_file_bytes:
        raise SourceError(
            "too_large",
            f"{path.name} is {_human(size)}, above the limit of {_human(limits.max_file_bytes)}",
        )
    if SUFFIXES[path.suffix.lower()] == "csv":
        return _read_csv(path, size, limits)
    return _read_parquet(path, size, limits)


def _check_fits(path: Path, estimate: float, limits: Limits) -> None:
    budget = available_memory_bytes() * limits.memory_fraction
    if estimate > budget:
        raise SourceError(
            "too_large",
            f"{path.name} would take about {_human(estimate)} in memory, more than the "
            f"{_human(budget)} this machine can spare; split the file or load it on a "
            "larger machine",
        )


def _read_csv(path: Path, size: int, limits: Limits) -> pd.DataFrame:
    _check_fits(path, size * CSV_EXPANSION, limits)
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    if head.startswith(_UTF16_BOMS):
        raise SourceError(
            "not_tabular", f"{path.name} is UTF-16 text: save it as CSV UTF-8 and load it again"
        )
    if b"\x00" in head or head.startswith(_PARQUET_MAGIC):
        raise SourceError("not_tabular", f"{path.name} is binary, not a CSV text file")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 64 KiB boundary is fine; anything earlier is not.
        if exc.start < len(head) - 4:
            raise SourceError(
                "not_tabular", f"{path.name} is not UTF-8 text (byte {exc.start})"
            ) from None
    names = _csv_header(path)
    if not names:
        raise SourceError("empty_file", f"{path.name} has no header row")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SourceError(
            "duplicate_column", f"{path.name} has the column(s) {', '.join(duplicated)} twice"
        )
    try:
        # Every column is read as text. Arrow drops a UTF-8 byte-order mark, so the header
        # above is read without it too: with it, the first column's name would differ,
        # escape `column_types` and be typed by inference (an id "0070" read as 70).
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=16 << 20),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        line = _first_ragged_line(path, len(names))
        where = f" (line {line} has a different number of fields than the header)" if line else ""
        raise SourceError(
            "not_tabular", f"{path.name} is not a well-formed CSV{where}: {exc}"
        ) from None
    frame: pd.DataFrame = table.to_pandas(types_mapper=_string_mapper)
    return frame


def _csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        row = next(csv.reader(fh), [])
    return row


def _first_ragged_line(path: Path, n_fields: int) -> int | None:
    """1-based line number (header = line 1) of the first row with the wrong field count."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        for row in reader:
            if row and len(row) != n_fields:
                return reader.line_num
    return None


def _string_mapper(dtype: pa.DataType) -> pd.ArrowDtype | None:
    return pd.ArrowDtype(pa.string()) if dtype == pa.string() else None


def _read_parquet(path: Path, size: int, limits: Limits) -> pd.DataFrame:
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    if head != _PARQUET_MAGIC or tail != _PARQUET_MAGIC:
        raise SourceError("not_tabular", f"{path.name} is not a Parquet file")
    try:
        meta = pq.ParquetFile(path).metadata
        uncompressed = sum(
            meta.row_group(i).column(j).total_uncompressed_size
            for i in range(meta.num_row_groups)
            for j in range(meta.num_columns)
        )
        cells = meta.num_rows * meta.num_columns
        _check_fits(path, max(cells * PARQUET_BYTES_PER_CELL, 3.0 * uncompressed), limits)
        # Arrow-backed strings, as for CSV: no Python object per cell.
        table = pq.read_table(path)
        frame: pd.DataFrame = table.to_pandas(types_mapper=_string_mapper, ignore_metadata=True)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(
            "not_tabular", f"{path.name} is not a readable Parquet file: {exc}"
        ) from None
    return frame


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
