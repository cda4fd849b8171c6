"""`replenish import`, one quirk of real exports at a time, then whole messy exports."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from contract import Dataset
from replenish.importing import ExportError, Mapping, import_export
from replenish.importing.importer import ImportResult
from replenish.importing.mapping import ImportRules
from simulations.raw_export import COLUMNS, messy_export
from simulations.world import GeneratedWorld

TODAY = date(2026, 12, 1)
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
runner = CliRunner()


def _import(
    tmp_path: Path, body: str, mapping: Mapping | None = None, **kw: object
) -> ImportResult:
    src = tmp_path / "export.csv"
    src.write_text(HEADER + body, encoding="utf-8")
    return import_export(src, tmp_path / "out", mapping, today=TODAY, **kw)  # type: ignore[arg-type]


def _rows(result: ImportResult, rule: str) -> int:
    return int(result.report["rules"].get(rule, {}).get("rows", 0))


def _balanced(result: ImportResult) -> bool:
    """Every row read is kept or counted under exactly one rule."""
    rows = result.report["rows"]
    taken = sum(r["rows"] for r in result.report["rules"].values())
    return bool(rows["read"] == rows["kept"] + taken)


def test_repeated_lines_of_one_sku_in_one_order_are_summed(tmp_path: Path) -> None:
    result = _import(
        tmp_path,
        "1,A,Apple,6,13/12/2025 08:00,2.00,10\n"
        "1,A,Apple,2,13/12/2025 08:00,3.00,10\n"
        "1,B,Berry,1,13/12/2025 08:00,1.00,10\n",
    )
    line = result.dataset.orders.set_index("sku_id").loc["A"]
    assert line["quantity"] == 8
    assert line["unit_price"] == pytest.approx((6 * 2 + 2 * 3) / 8)  # weighted by units
    assert result.report["changes"]["repeated_lines_summed"] == 1 and _balanced(result)


def test_a_cancellation_nets_the_line_of_the_order_it_names(tmp_path: Path) -> None:
    result = _import(
        tmp_path,
        "1,A,Apple,6,13/12/2025 08:00,2.00,10\n"
        "2,A,Apple,5,14/12/2025 08:00,2.00,10\n"
        "C1,A,Apple,-4,15/12/2025 08:00,2.00,10\n",
    )
    orders = result.dataset.orders.set_index("order_id")["quantity"]
    assert orders.to_dict() == {"1": 2, "2": 5}  # order 1 named, not the later order 2
    assert _rows(result, "cancellation") == 1
    assert result.report["units"]["cancelled_and_netted"] == 4


def test_a_cancellation_naming_no_order_nets_the_customers_latest_line(tmp_path: Path) -> None:
    result = _import(
        tmp_path,
        "1,A,Apple,6,13/12/2025 08:00,2.00,10\n"
        "2,A,Apple,5,14/12/2025 08:00,2.00,10\n"
        "3,A,Apple,9,14/12/2025 08:00,2.00,11\n"
        "C900,A,Apple,-7,15/12/2025 08:00,2.00,10\n"
        "4,A,Apple,4,16/12/2025 08:00,2.00,10\n",
    )
    orders = result.dataset.orders.set_index("order_id")["quantity"]
    # Order 2 (5 units) goes whole, order 1 gives 2; another customer's line and the
    # customer's later order 4 are untouched.
    assert orders.to_dict() == {"1": 4, "3": 9, "4": 4}
    assert _rows(result, "cancelled") == 1 and _balanced(result)


def test_a_cancellation_with_nothing_to_cancel_is_counted_not_kept(tmp_path: Path) -> None:
    result = _import(
        tmp_path,
        "1,A,Apple,6,13/12/2025 08:00,2.00,10\nC7,B,Berry,-2,14/12/2025 08:00,1.00,10\n"
        "2,B,Berry,1,15/12/2025 08:00,1.00,10\n",  # after the cancellation: not its line
    )
    assert _rows(result, "cancellation_unmatched") == 1
    assert result.report["units"]["cancelled_without_a_line"] == 2
    assert result.dataset.orders["quantity"].sum() == 7


def test_returns_are_recorded_apart_and_never_as_negative_demand(tmp_path: Path) -> None:
    result = _import(
        tmp_path,
        "1,A,Apple,6,13/12/2025 08:00,2.00,10\nR1,A,Apple,-2,17/12/2025 08:00,2.00,10\n",
    )
    assert result.dataset.orders["quantity"].tolist() == [6]
    assert result.returns[["sku_id", "units"]].values.tolist() == [["A", 2]]
    assert (tmp_path / "out" / "import" / "returns.csv").read_text().count("\n") == 2


def test_unmarked_negatives_may_be_declared_cancellations(tmp_path: Path) -> None:
    mapping = Mapping(rules=ImportRules(negatives="cancellations"))
    result = _import(
        tmp_path,
        "1,A,Apple,6,13/12/2025 08:00,2.00,10\n1,A,Apple,-2,13/12/2025 09:00,2.00,10\n",
        mapping,
    )
    assert result.dataset.orders["quantity"].tolist() == [4] and result.returns.empty


def test_non_products_and_negative_prices_are_left_out_and_the_list_extends(
    tmp_path: Path,
) -> None:
    body = (
        "1,A,Apple,6,13/12/2025 08:00,2.00,10\n1,POST,POSTAGE,1,13/12/2025 08:00,18.00,10\n"
        "2,GIFT9,Gift voucher,1,13/12/2025 08:00,10.00,10\n"
        "3,B,Adjust bad debt,1,13/12/2025 08:00,-11062.06,\n"
        "4,Z,Zebra,1,13/12/2025 08:00,-1.00,10\n"
    )
    result = _import(tmp_path, body)
    assert _rows(result, "non_product") == 2 and _rows(result, "negative_price") == 1
    assert set(result.dataset.skus["sku_id"]) == {"A", "GIFT9"}
    custom = Mapping(rules=ImportRules(exclude_codes=("GIFT\\d+",)))
    again = _import(tmp_path, body, custom, overwrite=True)
    assert set(again.dataset.skus["sku_id"]) == {"A"} and _balanced(again)


def test_decimal_commas_semicolons_and_gb18030_in_one_chinese_export(tmp_path: Path) -> None:
    src = tmp_path / "导出.csv"
    src.write_bytes(
        (
            "订单号;商品编码;名称;数量;日期;单价;客户编号\n"
            "1;A;苹果汁;1.200;2025年12月1日;2,55;K1\n"
            "2;B;面包;3;2025年12月2日;1.234,50;K2\n"
        ).encode("gb18030")
    )
    result = import_export(src, tmp_path / "out", today=TODAY)
    read = result.report["read"]
    assert (read["encoding"], read["delimiter"], read["decimal"]) == ("gb18030", ";", ",")
    orders = result.dataset.orders.set_index("sku_id")
    assert orders.loc["A", "quantity"] == 1200 and orders.loc["B", "unit_price"] == 1234.5
    assert result.dataset.skus.set_index("sku_id").loc["A", "name"] == "苹果汁"


def test_utf16_exports_with_tabs_import(tmp_path: Path) -> None:
    src = tmp_path / "export.txt"
    src.write_text(
        HEADER.replace(",", "\t") + "1\tA\tApple\t6\t2025-12-01\t2.00\t10\n", encoding="utf-16"
    )
    result = import_export(src, None, today=TODAY)
    assert result.report["read"]["encoding"] == "utf-16"
    assert result.dataset.orders["quantity"].tolist() == [6]


def test_ambiguous_dates_stop_the_import_until_a_format_is_named(tmp_path: Path) -> None:
    body = "1,A,Apple,6,03/04/2025,2.00,10\n"
    with pytest.raises(ExportError, match="--date-format"):
        _import(tmp_path, body)
    assert not (tmp_path / "out").exists()
    mapping = Mapping()
    mapping = Mapping(format=type(mapping.format)(date_format="%m/%d/%Y"))
    result = _import(tmp_path, body, mapping)
    assert result.dataset.orders["date"].iloc[0] == pd.Timestamp("2025-03-04")


def test_a_few_unreadable_cells_are_counted_many_stop_the_import(tmp_path: Path) -> None:
    good = "".join(f"{i},A,Apple,{i % 5 + 1},13/12/2025,2.00,10\n" for i in range(200))
    result = _import(tmp_path, good + "999,A,Apple,1.5,13/12/2025,2.00,10\n")
    assert _rows(result, "unreadable_quantity") == 1
    example = result.report["rules"]["unreadable_quantity"]["examples"][0]
    assert example["line"] == 202 and example["cells"]["Quantity"] == "1.5"
    bad = "".join(f"{i},A,Apple,two,13/12/2025,2.00,10\n" for i in range(20))
    with pytest.raises(ExportError, match=r"quantity cells \('Quantity'\) cannot be read"):
        _import(tmp_path, good + bad, overwrite=True)


def test_what_cannot_be_a_sale_is_counted(tmp_path: Path) -> None:
    result = _import(
        tmp_path,
        "1,A,Apple,6,13/12/2025,2.00,10\n,,,,,,\n2,,Apple,1,13/12/2025,2.00,10\n"
        "3,A,Apple,0,13/12/2025,2.00,10\n4,A,Apple,1,13/12/2027,2.00,10\n"
        "5,F,Free,1,13/12/2025,0,10\n6,A,Apple,1,,2.00,10\n",
    )
    for rule in ("blank_row", "missing_sku_id", "zero_quantity", "future_date",
                 "sku_without_price", "missing_date"):  # fmt: skip
        assert _rows(result, rule) == 1, rule
    assert result.report["rows"] == {"read": 7, "kept": 1, "taken_out": 6}


def test_an_export_without_prices_is_refused_with_what_to_do(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text("order,sku,qty,date\n1,A,2,2025-12-01\n", encoding="utf-8")
    with pytest.raises(ExportError, match="map unit_price"):
        import_export(src, tmp_path / "out", today=TODAY)


def test_a_folder_holding_other_files_is_left_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    src = tmp_path / "export.csv"
    src.write_text(HEADER + "1,A,Apple,6,13/12/2025,2.00,10\n", encoding="utf-8")
    with pytest.raises(ExportError, match="not an earlier import"):
        import_export(src, out, today=TODAY)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    (out / "notes.txt").unlink()
    import_export(src, out, today=TODAY)
    import_export(src, out, today=TODAY)  # an earlier import's folder is replaced
    (out / "notes.txt").write_text("mine", encoding="utf-8")  # unless it holds more
    with pytest.raises(ExportError, match="not an earlier import"):
        import_export(src, out, today=TODAY)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


# -- whole exports -----------------------------------------------------------------------


def test_a_messy_export_gives_back_the_clean_history(
    tiny_world: GeneratedWorld, tmp_path: Path
) -> None:
    ds = tiny_world.dataset
    messy = messy_export(ds, seed=2)
    src = tmp_path / "export.csv"
    messy.frame.to_csv(src, index=False)
    result = import_export(src, tmp_path / "out", today=tiny_world.params.end_date)
    asked = ds.orders["quantity"] + ds.orders["quantity_short"]
    clean = ds.orders[asked > 0].assign(units=asked[asked > 0])
    got = result.dataset.orders
    # The same units per customer and SKU (cancellations netted, repeats summed).
    key = ["customer_id", "sku_id"]
    want = clean.groupby(key, dropna=False)["units"].sum()
    have = got.groupby(key, dropna=False)["quantity"].sum()
    assert have.sort_index().equals(want.sort_index().astype(have.dtype))
    assert len(got) == len(clean)
    assert result.report["units"]["cancelled_and_netted"] == messy.units_cancelled
    assert result.report["units"]["returned"] == messy.units_returned
    assert _rows(result, "non_product") == messy.quirks["non_products"]
    assert _rows(result, "return") == messy.quirks["returns"]
    assert _balanced(result)
    validated = Dataset.read(tmp_path / "out", today=tiny_world.params.end_date)
    assert len(validated.orders) == len(got)


def test_an_xlsx_export_imports_end_to_end_from_the_command_line(
    tiny_world: GeneratedWorld, tmp_path: Path
) -> None:
    ds = tiny_world.dataset
    recent = ds.orders[ds.orders["date"] >= ds.orders["date"].max() - pd.Timedelta(days=20)]
    messy = messy_export(ds.__class__(ds.suppliers, ds.skus, recent, ds.customers), seed=3)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    sheet.append(list(COLUMNS))
    for row in messy.frame.itertuples(index=False):
        cells = list(row)
        cells[3] = int(cells[3])  # quantities as numbers, like a real workbook
        cells[5] = float(cells[5])
        sheet.append(cells)
    src = tmp_path / "export.xlsx"
    book.save(src)
    out = tmp_path / "out"
    result = runner.invoke(app, ["import", str(src), str(out), "--sheet", "Orders"])
    assert result.exit_code == 0, result.output
    assert "Rows taken out or changed" in result.output
    report = json.loads((out / "import" / "import_report.json").read_text(encoding="utf-8"))
    assert report["read"]["encoding"] == "xlsx"
    assert report["rules"]["cancellation"]["rows"] == messy.quirks["cancellations"]
    checked = runner.invoke(
        app, ["validate", str(out), "--today", tiny_world.params.end_date.isoformat()]
    )
    assert checked.exit_code == 0, checked.output
    assert "dataset accepted" in checked.output


def test_the_command_line_reports_a_bad_export_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text(HEADER + "1,A,Apple,6,03/04/2025,2.00,10\n", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["import", str(src), str(out)])
    assert result.exit_code == 1 and "--date-format" in result.output
    assert not out.exists()
    result = runner.invoke(app, ["import", str(src), str(out), "--date-format", "%d/%m/%Y"])
    assert result.exit_code == 0, result.output
    preview = runner.invoke(app, ["import", str(src), str(tmp_path / "p"), "--preview"])
    assert preview.exit_code == 0 and "InvoiceNo" in preview.output
    assert not (tmp_path / "p").exists()
