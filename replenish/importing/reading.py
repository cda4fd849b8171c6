"""Reading a raw export as it comes: any common encoding, delimiter, or an .xlsx sheet.

Every cell is read as text (an id "0070" stays "0070"); parsing numbers and dates is
`replenish.importing.cells`'s job. What was guessed (encoding, delimiter) is said in
the result so the import report can tell the user, who can then pin it in the mapping.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from contract.sources import Limits, available_memory_bytes
from replenish.importing.errors import ExportError
from replenish.importing.mapping import header_key, known_header_keys

#: Encodings a user may name; "auto" reads the byte-order mark, else tries UTF-8, then
#: GB18030 when the text reads as Chinese, else Windows-1252.
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "utf-16", "gb18030", "cp1252", "latin-1")
DELIMITERS = (",", ";", "\t", "|")
#: In-memory size of a CSV read as text, per byte on disk (Arrow strings + pandas).
CSV_EXPANSION = 4
#: An .xlsx is compressed XML: its cells take far more room once read.
XLSX_EXPANSION = 40
SNIFF_BYTES = 256 * 1024


@dataclass(frozen=True)
class RawExport:
    """An export's cells as text (empty string for an empty cell), the source line of
    each row (1-based, the header being line 1), and how the file was read."""

    frame: pd.DataFrame
    line: pd.Series
    encoding: str
    delimiter: str | None
    guessed: tuple[str, ...]  # which of encoding / delimiter were guessed


def read_export(
    path: Path,
    encoding: str = "auto",
    delimiter: str = "auto",
    sheet: str | int = 0,
    limits: Limits | None = None,
) -> RawExport:
    """Read `path` (.csv / .txt / .tsv, or .xlsx) into text cells."""
    if not path.is_file():
        raise ExportError(f"{path} is not a file")
    size = path.stat().st_size
    if size == 0:
        raise ExportError(f"{path.name} is empty (0 bytes)")
    limits = limits or Limits.from_env()
    if limits.max_file_bytes is not None and size > limits.max_file_bytes:
        raise ExportError(
            f"{path.name} is {size:,} bytes, over the {limits.max_file_bytes:,} allowed"
        )
    xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
    estimate = size * (XLSX_EXPANSION if xlsx else CSV_EXPANSION)
    budget = available_memory_bytes() * limits.memory_fraction
    if estimate > budget:
        raise ExportError(
            f"{path.name} would take about {estimate / 2**30:.1f} GiB in memory, more than "
            f"the {budget / 2**30:.1f} GiB this machine can spare; split the export"
        )
    if xlsx:
        return _read_xlsx(path, sheet)
    if encoding not in ENCODINGS:
        raise ExportError(f"unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}")
    return _read_csv(path, encoding, delimiter)


def read_header(path: Path, encoding: str = "auto", delimiter: str = "auto") -> list[str]:
    """The column names of an export's header row (the first row of an .xlsx's first
    sheet), read as `read_export` would, without reading the rest."""
    if not path.is_file() or path.stat().st_size == 0:
        raise ExportError(f"{path} is not a file with a header")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from python_calamine import CalamineWorkbook

        try:
            with CalamineWorkbook.from_path(str(path)) as book:
                row = next(iter(book.get_sheet_by_index(0).iter_rows()), [])
        except Exception as exc:  # calamine raises its own zip / XML errors
            raise ExportError(f"{path.name} is not a readable .xlsx workbook: {exc}") from None
        return [_cell_text(c).strip() for c in row if _cell_text(c).strip()]
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if encoding == "auto":
        encoding = _guess_encoding(head)
    text = _decode_head(head, encoding, path.name)
    if delimiter == "auto":
        delimiter = _guess_delimiter(text)
    elif delimiter == "tab":
        delimiter = "\t"
    return [h.strip() for h in next(csv.reader(io.StringIO(text), delimiter=delimiter), [])]


def _read_csv(path: Path, encoding: str, delimiter: str) -> RawExport:
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        raise ExportError(f"{path.name} is a zip archive (an .xlsx?): name it .xlsx")
    guessed: list[str] = []
    if encoding == "auto":
        encoding = _guess_encoding(head)
        guessed.append("encoding")
    text = _decode_head(head, encoding, path.name)
    if delimiter == "auto":
        delimiter = _guess_delimiter(text)
        guessed.append("delimiter")
    elif delimiter == "tab":
        delimiter = "\t"
    if len(delimiter) != 1:
        raise ExportError(f"the delimiter must be one character, got {delimiter!r}")
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    names = _header([h.strip() for h in header], path.name)
    arrow_encoding = "utf-8" if encoding in ("utf-8", "utf-8-sig") else encoding
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=arrow_encoding, column_names=names, skip_rows=1, block_size=16 << 20
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ExportError(
            f"{path.name} cannot be read as {encoding} text delimited by {delimiter!r}: {exc}. "
            "Name the encoding (--encoding) or delimiter (--delimiter) if a guess was wrong"
        ) from None
    frame = table.to_pandas(types_mapper=_as_string)
    frame = frame.apply(lambda col: col.str.strip()) if len(frame) else frame
    # Blank lines are kept as rows of empty cells, so row i is line i + 2 (a quoted cell
    # spanning lines aside); the import counts them as blank rows.
    line = pd.Series(range(2, len(frame) + 2), dtype="int64")
    return RawExport(frame, line, encoding, delimiter, tuple(guessed))


def _header(names: list[str], file: str) -> list[str]:
    """The header's column names, or ExportError when one is blank or repeated."""
    if not any(names):
        raise ExportError(f"{file} has no header row")
    blank = [i + 1 for i, n in enumerate(names) if not n]
    if blank:
        raise ExportError(f"{file}: column(s) {blank} of the header have no name")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ExportError(f"{file} has the column(s) {', '.join(repeated)} twice")
    return names


def _as_string(dtype: pa.DataType) -> pd.StringDtype[Literal["pyarrow"]] | None:
    return pd.StringDtype("pyarrow") if pa.types.is_string(dtype) else None


def _guess_encoding(head: bytes) -> str:
    """BOM first; then UTF-8 if the bytes are valid UTF-8; then GB18030 when the header
    row reads as known Chinese column names in it, or most of the non-ASCII text reads
    as Chinese (characters, punctuation, full-width forms such as the ￥ Excel writes on
    Chinese Windows); else Windows-1252 (Western ERPs)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4 and len(head) == SNIFF_BYTES:
            return "utf-8"  # a character cut at the end of the sample
    first = head.split(b"\n", 1)[0]
    named = {enc: _known_columns(first, enc) for enc in ("gb18030", "cp1252")}
    if named["gb18030"] > named["cp1252"]:
        return "gb18030"
    if named["cp1252"] <= named["gb18030"] and _reads_as_chinese(head):
        return "gb18030"
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _known_columns(line: bytes, encoding: str) -> int:
    """How many cells of a header line, decoded as `encoding`, are column names the
    import knows (0 when the line does not decode)."""
    try:
        text = line.decode(encoding).strip()
    except UnicodeDecodeError:
        return 0
    cells = next(csv.reader(io.StringIO(text), delimiter=_guess_delimiter(text)), [])
    return sum(header_key(c) in known_header_keys() for c in cells)


def _chinese(c: str) -> bool:
    """CJK characters and punctuation, and the full-width forms (digits, ￥, ，)."""
    return "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef"


def _reads_as_chinese(head: bytes) -> bool:
    """GB18030 writes a Chinese character as two bytes above 0x80, so runs of such bytes
    have even lengths; Western single-byte text (é, ü) has runs of one, which GB18030
    would also decode, into nonsense. Its four-byte sequences (the half-width ¥ among
    them: 81 30 84 36) are left out of the count."""
    try:
        text = head.decode("gb18030")
    except UnicodeDecodeError:
        return False
    four = re.compile(rb"[\x81-\xfe][\x30-\x39][\x81-\xfe][\x30-\x39]")
    data = four.sub(b"  ", head)
    high = np.frombuffer(data, dtype=np.uint8) >= 0x80
    edges = np.flatnonzero(np.diff(np.r_[0, high.astype(np.int8), 0]))
    runs = edges[1::2] - edges[::2]
    wide = [c for c in text if ord(c) > 127 and len(c.encode("gb18030")) == 2]
    chinese = sum(_chinese(c) for c in wide)
    return bool(runs.size) and (runs % 2 == 1).mean() < 0.1 and chinese > 0.8 * len(wide)


def likely_encoding(header: list[str], encoding: str) -> str | None:
    """The encoding a header read as `encoding` was more likely written in, when what
    was read looks like mojibake (UTF-8 or GB18030 bytes read as single-byte Western
    text, say) and the other reading names known columns; None otherwise."""
    if encoding not in ("cp1252", "latin-1", "utf-8", "utf-8-sig"):
        return None
    text = ",".join(header)
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        return None
    now = sum(header_key(c) in known_header_keys() for c in header)
    for other in ("utf-8", "gb18030", "cp1252"):
        if other == encoding or (other == "utf-8" and encoding == "utf-8-sig"):
            continue
        try:
            again = raw.decode(other).split(",")
        except UnicodeDecodeError:
            continue
        if sum(header_key(c) in known_header_keys() for c in again) > now:
            return other
    return None


def _decode_head(head: bytes, encoding: str, name: str) -> str:
    try:
        return head.decode(encoding, errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:
            return head[: exc.start].decode(encoding)
        raise ExportError(
            f"{name} is not {encoding} text (byte {exc.start}); name its encoding with "
            f"--encoding ({', '.join(ENCODINGS[1:])})"
        ) from None


def _guess_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same, largest number of fields."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    best, best_fields = ",", 1
    for candidate in DELIMITERS:
        counts = {len(row) for row in csv.reader(lines, delimiter=candidate)}
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = candidate, fields
    return best


def _read_xlsx(path: Path, sheet: str | int) -> RawExport:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with CalamineWorkbook.from_path(str(path)) as book:
            names = book.sheet_names
            if isinstance(sheet, int) and not 0 <= sheet < len(names):
                raise ExportError(f"{path.name} has {len(names)} sheet(s), no sheet {sheet}")
            if isinstance(sheet, str) and sheet not in names:
                raise ExportError(f"{path.name} has no sheet {sheet!r} (it has {names})")
            chosen = book.get_sheet_by_index(sheet) if isinstance(sheet, int) else (
                book.get_sheet_by_name(sheet)
            )  # fmt: skip
            rows = chosen.to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise ExportError(f"{path.name} is not a readable .xlsx workbook: {exc}") from None
    except Exception as exc:  # calamine raises its own zip / XML errors
        if isinstance(exc, ExportError):
            raise
        raise ExportError(f"{path.name} is not a readable .xlsx workbook: {exc}") from None
    if not rows:
        raise ExportError(f"{path.name}: the sheet is empty")
    names_ = [_cell_text(c).strip() for c in rows[0]]
    while names_ and not names_[-1]:  # a workbook's used range may run past its header
        names_.pop()
    names_ = _header(names_, path.name)
    width = len(names_)
    body = [[_cell_text(c).strip() for c in row[:width]] for row in rows[1:]]
    frame = pd.DataFrame(body, columns=names_, dtype="string[pyarrow]")
    line = pd.Series(range(2, len(frame) + 2), dtype="int64")
    return RawExport(frame, line, "xlsx", None, ())


def _cell_text(value: object) -> str:
    """A workbook cell as the text a CSV export would hold: ISO dates, whole numbers
    without ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
