"""Reading exports as they come: encodings, delimiters, workbooks, and what is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from contract.sources import Limits
from replenish.importing.errors import ExportError
from replenish.importing.mapping import ImportFormat, Mapping
from replenish.importing.reading import read_export

TEXT = "单号;日期;商品编码;数量;单价\nA1;2026-01-02;X-1;3;12,5\n"


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("utf-16", b"", "utf-16"),  # Python writes the BOM itself
        ("gb18030", b"", "gb18030"),
    ],
)
def test_the_encoding_is_read_from_the_bytes(
    tmp_path: Path, encoding: str, bom: bytes, expected: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(bom + TEXT.encode(encoding))
    raw = read_export(path)
    assert raw.encoding == expected
    assert list(raw.frame.columns) == ["单号", "日期", "商品编码", "数量", "单价"]
    assert raw.frame.iloc[0].tolist() == ["A1", "2026-01-02", "X-1", "3", "12,5"]
    assert raw.delimiter == ";" and "encoding" in raw.guessed


def test_western_exports_that_are_not_utf8_read_as_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("sku,name\nA,Crème brûlée\n".encode("cp1252"))
    raw = read_export(path)
    assert raw.encoding == "cp1252"
    assert raw.frame["name"].iloc[0] == "Crème brûlée"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_the_one_that_splits_every_line_alike(
    tmp_path: Path, delimiter: str
) -> None:
    path = tmp_path / "export.txt"
    rows = [["order", "sku", "qty", "note"], ["1", "A", "2", "a, b; c"], ["2", "B", "1", ""]]
    path.write_text(
        "\n".join(delimiter.join(f'"{c}"' if " " in c else c for c in r) for r in rows) + "\n",
        encoding="utf-8",
    )
    raw = read_export(path)
    assert raw.delimiter == delimiter
    assert raw.frame["note"].tolist() == ["a, b; c", ""]


def test_a_blank_line_is_a_row_of_empty_cells_and_lines_keep_their_numbers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("a,b\n1,2\n\n3,4\n", encoding="utf-8")
    raw = read_export(path)
    assert raw.frame["a"].tolist() == ["1", "", "3"]
    assert raw.line.tolist() == [2, 3, 4]


def test_named_encoding_that_does_not_fit_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(TEXT.encode("gb18030"))
    with pytest.raises(ExportError, match=r"not utf-8 text.*--encoding"):
        read_export(path, encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"a,a,b\n1,2,3\n", "column\\(s\\) a twice"),
        (b"a,,b\n1,2,3\n", "have no name"),
        (b"PK\x03\x04rest", "zip archive"),
    ],
)
def test_unreadable_exports_are_refused_with_the_reason(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(ExportError, match=message):
        read_export(path)


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("a,b\n" + "1,2\n" * 100, encoding="utf-8")
    with pytest.raises(ExportError, match="over the 50 allowed"):
        read_export(path, limits=Limits(max_file_bytes=50))


def test_a_workbook_reads_as_a_csv_export_would(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["InvoiceNo", "InvoiceDate", "StockCode", "Quantity", "UnitPrice", "CustomerID"])
    sheet.append([536365, dt.datetime(2010, 12, 1, 8, 26), "85123A", 6, 2.55, 17850.0])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["536366", dt.date(2010, 12, 2), 71053, 2, 3.0, None])
    path = tmp_path / "export.xlsx"
    book.save(path)
    raw = read_export(path)
    assert raw.frame.values.tolist() == [
        ["536365", "2010-12-01 08:26:00", "85123A", "6", "2.55", "17850"],
        ["", "", "", "", "", ""],
        ["536366", "2010-12-02", "71053", "2", "3", ""],
    ]
    assert raw.line.tolist() == [2, 3, 4]
    with pytest.raises(ExportError, match="no sheet 'Orders'"):
        read_export(path, sheet="Orders")


EXCEL_CN = "订单号,日期,商品编码,商品名称,数量,单价\n" + "".join(
    f'SO{i},2026/01/02,A-{i},Cup {i},3,"￥{i},043.47"\n' for i in range(1, 200)
)


def test_excels_chinese_csv_with_full_width_prices_reads_as_gb18030(tmp_path: Path) -> None:
    """Excel's CSV on Chinese Windows: GB18030, Chinese headers, prices written ￥43.47
    (full-width yen): decided on the header row, not read as Windows-1252."""
    path = tmp_path / "export.csv"
    path.write_bytes(EXCEL_CN.encode("gb18030"))
    raw = read_export(path)
    assert raw.encoding == "gb18030"
    assert raw.frame["单价"].iloc[0] == "￥1,043.47"


def test_a_half_width_yen_does_not_make_chinese_text_read_as_western(tmp_path: Path) -> None:
    """GB18030 writes the half-width ¥ in four bytes (81 30 84 36), whose lone high bytes
    read like Western accents; the text is still Chinese."""
    path = tmp_path / "export.csv"
    body = "".join(f"SO{i},2026-01-02,A-{i},杯子,1,¥{i}.50\n" for i in range(40))
    path.write_bytes(("单号,日期,商品编码,品名,数量,单价\n" + body).encode("gb18030"))
    assert read_export(path).encoding == "gb18030"
    # Without the header's help (column names the import does not know), the content test.
    other = tmp_path / "other.csv"
    other.write_bytes(
        ("列一,列二\n" + "".join(f"杯子,¥{i}.50\n" for i in range(40))).encode("gb18030")
    )
    assert read_export(other).encoding == "gb18030"


def test_a_header_read_in_the_wrong_encoding_names_the_likely_one(tmp_path: Path) -> None:
    from replenish.importing import import_export

    path = tmp_path / "export.csv"
    path.write_bytes(EXCEL_CN.encode("gb18030"))
    mapping = Mapping(format=ImportFormat(encoding="cp1252"))
    with pytest.raises(ExportError, match="try --encoding gb18030"):
        import_export(path, None, mapping, today=dt.date(2026, 12, 1))
