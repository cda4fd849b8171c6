"""An export folder: the order lines with an item master, suppliers and customers beside
them, each file found, read in its own encoding and laid over what the lines tell."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from cli.main import app
from replenish.importing import ExportError, Mapping, import_export, read_mapping
from replenish.importing.folder import find_files

TODAY = date(2026, 12, 1)
LINES = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
    "1,A,Apple,6,13/11/2026 08:00,2.00,10\n"
    "2,B,Berry,2,14/11/2026 08:00,5.00,11\n"
    "3,C,Cherry,1,15/11/2026 08:00,3.00,10\n"
)
MASTER = (
    "sku_id,name,category,supplier_id,unit_cost,unit_price,pack_size,moq\n"
    "A,Apple (master),Fruit,S1,1.20,2.10,6,12\n"
    "B,Berry,Fruit,S2,-4,5.00,0,0\n"  # a negative cost and a pack of 0: not usable
    "Z,Zucchini,Veg,S1,1.00,2.00,1,0\n"  # never sold: no SKU of the dataset
)
SUPPLIERS = (
    "supplier_id,name,lead_time_days,lead_time_sd_days,review_period_days,min_order_value,"
    "order_cost\nS1,Fruit & Co,10,2,7,100,25\n"
)
CUSTOMERS = "customer_id,since\n10,2026-01-05\n11,2026-12-01\n"  # 11's day is after its order
runner = CliRunner()


def _folder(tmp_path: Path, **files: str | bytes) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    for name, content in files.items():
        path = folder / name.replace("__", ".")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def test_the_item_master_suppliers_and_customers_are_laid_over_the_lines(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path, orders_export__csv=LINES, item_master__csv=MASTER,
        suppliers__csv=SUPPLIERS, customers__csv=CUSTOMERS,
    )  # fmt: skip
    result = import_export(folder, tmp_path / "out", today=TODAY)
    skus = result.dataset.skus.set_index("sku_id")
    assert list(skus.index) == ["A", "B", "C"]  # the lines decide which SKUs; Z never sold
    a, b, c = skus.loc["A"], skus.loc["B"], skus.loc["C"]
    assert (a["name"], a["unit_cost"], a["unit_price"], a["pack_size"], a["moq"]) == (
        "Apple (master)", 1.20, 2.10, 6, 12,
    )  # fmt: skip
    # B's cost and pack are out of the contract's bounds: the lines' price less the margin.
    assert b["unit_cost"] == pytest.approx(5.00 * (1 - 0.35)) and b["pack_size"] == 1
    assert c["supplier_id"] == "UNKNOWN" and c["name"] == "Cherry"
    suppliers = result.dataset.suppliers.set_index("supplier_id")
    assert suppliers.loc["S1", "min_order_value"] == 100.0
    assert suppliers.loc["S2", "lead_time_days"] == 14.0  # not in the list: the default
    assert result.dataset.customers is not None
    since = result.dataset.customers.set_index("customer_id")["since"]
    assert str(since["10"].date()) == "2026-01-05"
    assert str(since["11"].date()) == "2026-11-14"  # never after the first order

    report = json.loads((tmp_path / "out/import/import_report.json").read_text("utf-8"))
    assert report["files"]["skus"]["file"] == "item_master.csv"
    assert report["files"]["skus"]["unreadable_or_out_of_bounds"] == {
        "unit_cost": 1, "pack_size": 1,
    }  # fmt: skip
    cost = report["filled"]["skus"]["unit_cost"]
    assert cost["item_master.csv"] == 1 and cost["default"] == 2
    assert cost["default_value"] == "unit_price x (1 - 0.35)"
    assert report["filled"]["suppliers"]["lead_time_days"]["default"] == 2  # S2, UNKNOWN
    assert report["filled"]["customers"]["since"]["first order (the list's day was after it)"] == 1
    # The mapping written back names the files and the columns found.
    mapping = read_mapping(tmp_path / "out/import/mapping.toml")
    assert mapping.files["skus"] == "item_master.csv"
    assert mapping.side["suppliers"].columns["order_cost"] == "order_cost"


def test_files_are_found_by_their_headers_when_their_names_say_nothing(tmp_path: Path) -> None:
    folder = _folder(tmp_path, a__csv=MASTER, b__txt=LINES, c__csv=SUPPLIERS, notes__csv="x\n1\n")
    files = find_files(folder, Mapping())
    assert files.orders.name == "b.txt"
    assert {t: p.name for t, p in files.side.items()} == {"skus": "a.csv", "suppliers": "c.csv"}
    assert files.found_by["orders"] == "header" and files.ignored == ("notes.csv",)


def test_each_file_is_read_in_its_own_encoding_and_format(tmp_path: Path) -> None:
    """The lines in UTF-8, the item master as an .xlsx with Chinese headers, the supplier
    list in GB18030 with semicolons and decimal commas."""
    folder = _folder(
        tmp_path, orders__csv=LINES,
        suppliers__csv="供应商;名称;交货期\nS1;水果公司;12,5\n".encode("gb18030"),
    )  # fmt: skip
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["商品编码", "品名", "供应商", "成本", "箱规"])
    sheet.append(["A", "苹果", "S1", 1.25, 6])
    book.save(folder / "商品.xlsx")
    result = import_export(folder, None, today=TODAY)
    assert result.dataset.skus.set_index("sku_id").loc["A", "name"] == "苹果"
    supplier = result.dataset.suppliers.set_index("supplier_id").loc["S1"]
    assert (supplier["name"], supplier["lead_time_days"]) == ("水果公司", 12.5)
    assert result.report["files"]["suppliers"]["read"]["encoding"] == "gb18030"


def test_the_mapping_names_files_and_columns(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path, lines__csv=LINES,
        stammdaten__csv="Artikel;EK\nA;1,10\nB;2,20\n",
    )  # fmt: skip
    mapping_file = tmp_path / "mapping.toml"
    mapping_file.write_text(
        '[files]\norders = "lines.csv"\nskus = "stammdaten.csv"\n'
        '[skus]\nsku_id = "Artikel"\nunit_cost = "EK"\n',
        encoding="utf-8",
    )
    result = import_export(folder, None, read_mapping(mapping_file), today=TODAY)
    cost = result.dataset.skus.set_index("sku_id")["unit_cost"]
    assert cost["A"] == 1.10 and cost["B"] == 2.20  # its own decimal comma


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"item_master__csv": MASTER}, "found no file of order lines.*item_master.csv"),
        ({"a__csv": LINES, "b__csv": LINES}, "several files of order lines.*a.csv, b.csv"),
        (
            {"orders__csv": LINES, "items__csv": MASTER + "A,Apple,Fruit,S1,9.99,2.10,6,12\n"},
            r"'sku_id' 'A' is given 2 times with different values \(lines 2, 5\)",
        ),
        (
            {"orders__csv": LINES, "items__csv": "name,price\nApple,2\n"},
            "no column found for sku_id",
        ),
    ],
)
def test_a_folder_that_cannot_be_imported_says_why(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    folder = _folder(tmp_path, **files)
    with pytest.raises(ExportError, match=message):
        import_export(folder, tmp_path / "out", today=TODAY)
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_mapping_that_names_a_missing_file_or_a_path_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, orders__csv=LINES)
    mapping_file = tmp_path / "m.toml"
    mapping_file.write_text('[files]\nskus = "nope.csv"\n', encoding="utf-8")
    with pytest.raises(ExportError, match=r"'nope\.csv', which"):
        import_export(folder, None, read_mapping(mapping_file), today=TODAY)
    mapping_file.write_text('[files]\nskus = "../secret.csv"\n', encoding="utf-8")
    with pytest.raises(ExportError, match="file names in the export folder"):
        read_mapping(mapping_file)


def test_the_command_imports_a_folder_and_says_what_it_defaulted(tmp_path: Path) -> None:
    folder = _folder(tmp_path, orders__csv=LINES, item_master__csv=MASTER)
    out = tmp_path / "out"
    result = runner.invoke(app, ["import", str(folder), str(out)])
    assert result.exit_code == 0, result.output
    assert "skus: item_master.csv (found by file name)" in result.output
    assert "Defaults used" in result.output and "UNKNOWN" in result.output
    check = runner.invoke(app, ["validate", str(out)])
    assert check.exit_code == 0 and "dataset accepted" in check.output
