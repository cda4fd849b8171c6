"""Which export column is which contract field: guessed, or written in a TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from replenish.importing.errors import ExportError
from replenish.importing.mapping import Mapping, guess, read_mapping

ONLINE_RETAIL = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                 "UnitPrice", "CustomerID", "Country"]  # fmt: skip


def test_an_online_retail_header_is_guessed_whole() -> None:
    mapping, guessed = guess(Mapping(), ONLINE_RETAIL)
    assert mapping.columns == {
        "order_id": "InvoiceNo",
        "date": "InvoiceDate",
        "sku_id": "StockCode",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "customer_id": "CustomerID",
        "sku_name": "Description",
    }
    assert set(guessed) == set(mapping.columns)


def test_a_chinese_header_is_guessed() -> None:
    mapping, _ = guess(Mapping(), ["订单号", "日期", "商品编码", "数量", "单价", "客户编号"])
    assert mapping.columns["order_id"] == "订单号" and mapping.columns["unit_price"] == "单价"


def test_what_the_mapping_names_wins_over_a_guess() -> None:
    mapping, guessed = guess(Mapping(columns={"order_id": "Country"}), ONLINE_RETAIL)
    assert mapping.columns["order_id"] == "Country" and "order_id" not in guessed
    assert "InvoiceNo" not in mapping.columns.values()  # no synonym left for it


def test_a_required_field_without_a_column_names_the_export_columns() -> None:
    with pytest.raises(ExportError, match=r"no column found for quantity.*--mapping"):
        guess(Mapping(), ["InvoiceNo", "StockCode", "InvoiceDate"])
    with pytest.raises(ExportError, match="does not have"):
        guess(Mapping(columns={"quantity": "Menge"}), ONLINE_RETAIL)


def test_a_mapping_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text(
        '[columns]\nquantity = "Menge"\n[format]\ndecimal = ","\ndate_format = "%d.%m.%Y"\n'
        '[rules]\nexclude_codes = ["GUTSCHEIN"]\n[defaults]\nmargin = 0.4\n',
        encoding="utf-8",
    )
    mapping = read_mapping(path)
    assert mapping.columns == {"quantity": "Menge"}
    assert mapping.format.decimal == "," and mapping.defaults.margin == 0.4
    assert mapping.rules.code_pattern().fullmatch("gutschein")
    assert mapping.rules.code_pattern().fullmatch("POST")  # the built-in list stays
    again = tmp_path / "again.toml"
    again.write_text(mapping.to_toml(), encoding="utf-8")
    assert read_mapping(again) == mapping


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[colums]\n", "unknown section"),
        ('[columns]\nqty = "Q"\n', "unknown field"),
        ("[format]\ndecimal = 1\n", "must be text"),
        ('[format]\ndecimal = ";"\n', "decimal is"),
        ("[defaults]\nmargin = 1.5\n", "margin must lie"),
        ('[rules]\nexclude_codes = "POST"\n', "list of text"),
        ('[rules]\nexclude_codes = ["("]\n', "not a regular expression"),
        ("[columns\n", "not a TOML file"),
        ('columns = "Q"\n', r"\[columns\] must map contract fields"),
        ('skus = "item_master.csv"\n', r"\[skus\] must map contract fields"),
        ('[skus]\narticle = "A"\n', r"\[skus\] has unknown field"),
        ("[suppliers]\nsupplier_id = 3\n", r"every \[suppliers\] entry must name a column"),
    ],
)
def test_a_wrong_mapping_file_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ExportError, match=message):
        read_mapping(path)


def test_the_readme_mapping_example_is_a_valid_mapping(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### From a raw export", 1)[1]
    block = section.split("```toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "mapping.toml"
    path.write_text("\n".join(line.strip() for line in block.splitlines()), encoding="utf-8")
    mapping = read_mapping(path)
    assert mapping.columns["quantity"] == "Menge" and mapping.format.decimal == ","
    assert mapping.rules.code_pattern().fullmatch("GIFT12")
