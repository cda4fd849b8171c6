"""What an export's columns mean, how it is written, and which rules clean it.

A mapping is a TOML file; every section is optional and `guess` fills the columns it
leaves out from the export's header:

    [columns]            # contract field = export column
    order_id = "InvoiceNo"
    date = "InvoiceDate"
    sku_id = "StockCode"
    quantity = "Quantity"
    unit_price = "UnitPrice"
    customer_id = "CustomerID"
    sku_name = "Description"

    [format]
    encoding = "auto"    # utf-8, utf-8-sig, utf-16, gb18030, cp1252
    delimiter = "auto"   # "," ";" "tab" "|"
    decimal = "auto"     # "." or ","
    date_format = "auto" # or a strftime format such as "%d/%m/%Y %H:%M"
    sheet = 0            # .xlsx: sheet index or name

    [rules]
    cancellation_prefix = ["C"]   # an order id so marked cancels an earlier line
    negatives = "returns"         # unmarked negative lines: "returns" or "cancellations"
    exclude_codes = ["GIFT"]      # more non-product codes (regular expressions)
    exclude_names = ["voucher"]   # more non-product names (regular expressions)

    [defaults]
    supplier_id = "UNKNOWN"       # when the export names no supplier
    lead_time_days = 14.0         # for every derived supplier
    margin = 0.35                 # unit cost = price x (1 - margin) when no cost column

An export folder (the order lines and, beside them, an item master, a supplier list, a
customer list) may name its files and their columns too:

    [files]                       # table = file in the folder (else found by name/header)
    orders = "orders_export.csv"
    skus = "item_master.xlsx"
    suppliers = "vendors.csv"
    customers = "clients.csv"

    [skus]                        # the item master's columns: contract field = column
    sku_id = "Article"
    unit_cost = "EK-Preis"
    encoding = "cp1252"           # and, where its own, how the file is written
    [suppliers]
    supplier_id = "Lieferant"
    [customers]
    customer_id = "Kunde"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any

from replenish.importing.errors import ExportError

#: Contract fields an export may carry: the order line's, and the SKU's.
REQUIRED = ("order_id", "date", "sku_id", "quantity")
OPTIONAL = (
    "unit_price",
    "customer_id",
    "quantity_short",
    "sku_name",
    "category",
    "supplier_id",
    "unit_cost",
    "pack_size",
)
FIELDS = REQUIRED + OPTIONAL

#: Header names (lower case, letters and digits only) that usually mean each field.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": ("orderid", "order", "orderno", "ordernumber", "invoice", "invoiceno",
                 "invoicenumber", "invoiceid", "documentno", "docno", "salesorder", "receipt",
                 "订单号", "订单编号", "单号", "单据编号"),
    "date": ("date", "orderdate", "invoicedate", "documentdate", "salesdate", "day",
             "日期", "订单日期", "下单日期", "单据日期"),
    "sku_id": ("skuid", "sku", "stockcode", "itemcode", "item", "itemid", "itemno",
               "productid", "productcode", "product", "article", "articleno", "partno",
               "material", "商品编码", "商品编号", "物料编码", "货号", "产品编码"),
    "quantity": ("quantity", "qty", "units", "quantityordered", "qtyordered",
                 "数量", "销售数量"),
    "unit_price": ("unitprice", "price", "saleprice", "sellingprice", "netprice",
                   "单价", "销售单价", "价格"),
    "customer_id": ("customerid", "customer", "customerno", "customernumber", "client",
                    "clientid", "account", "accountno", "客户", "客户编号", "客户编码"),
    "quantity_short": ("quantityshort", "short", "shortqty", "backorder", "backordered",
                       "unfilled", "缺货数量"),
    "sku_name": ("description", "itemname", "productname", "name", "itemdescription",
                 "商品名称", "品名", "名称"),
    "category": ("category", "productcategory", "itemgroup", "group", "类别", "品类"),
    "supplier_id": ("supplierid", "supplier", "vendor", "vendorid", "供应商", "供应商编码"),
    "unit_cost": ("unitcost", "cost", "purchaseprice", "costprice", "成本", "进价"),
    "pack_size": ("packsize", "pack", "casesize", "unitspercase", "箱规"),
}  # fmt: skip

#: The tables a folder may add, and each one's key.
KEYS = {"skus": "sku_id", "suppliers": "supplier_id", "customers": "customer_id"}

#: Header names (lower case, letters and digits only) that usually mean each field.
SIDE_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "skus": {
        "sku_id": SYNONYMS["sku_id"],
        "name": SYNONYMS["sku_name"] + ("title",),
        "category": SYNONYMS["category"],
        "supplier_id": SYNONYMS["supplier_id"],
        "unit_cost": SYNONYMS["unit_cost"],
        "unit_price": SYNONYMS["unit_price"] + ("listprice", "retailprice", "零售价"),
        "pack_size": SYNONYMS["pack_size"],
        "moq": ("moq", "minorderqty", "minimumorderquantity", "minorderquantity", "minqty",
                "最小订货量", "起订量"),
        "unit_volume": ("unitvolume", "volume", "cbm", "体积"),
        "lead_time_days": ("leadtimedays", "leadtime", "lt", "交货期", "提前期"),
        "substitutes": ("substitutes", "substitute", "alternatives", "替代品"),
    },
    "suppliers": {
        "supplier_id": SYNONYMS["supplier_id"] + ("vendorno", "supplierno", "suppliercode"),
        "name": ("name", "suppliername", "vendorname", "供应商名称", "名称"),
        "lead_time_days": ("leadtimedays", "leadtime", "lt", "交货期", "提前期"),
        "lead_time_sd_days": ("leadtimesddays", "leadtimesd", "leadtimestd", "leadtimestdev",
                              "交货期标准差"),
        "review_period_days": ("reviewperioddays", "reviewperiod", "orderingcycle",
                               "ordercycle", "orderfrequencydays", "订货周期"),
        "min_order_value": ("minordervalue", "minimumordervalue", "minorder", "minimumorder",
                            "最低订货金额", "起订金额"),
        "order_cost": ("ordercost", "costperorder", "fixedordercost", "订货成本"),
    },
    "customers": {
        "customer_id": SYNONYMS["customer_id"],
        "since": ("since", "customersince", "firstorder", "firstorderdate", "registered",
                  "registrationdate", "signupdate", "joined", "createdat", "created",
                  "注册日期", "首次下单"),
        "strategic": ("strategic", "strategicfit", "strategicscore", "战略"),
        "reputation": ("reputation", "reputationscore", "信誉"),
    },
}  # fmt: skip


#: Codes and names that are not products: postage, fees, discounts, manual adjustments.
#: Short codes some ERPs use for them ("M", "D", "B") are caught by their names, since a
#: catalogue may well have a product coded "B".
EXCLUDE_CODES = (
    r"POST(AGE)?", r"DOT", r"AMAZONFEE", r"BANK CHARGES", r"ADJUST.*", r"SHIP(PING)?",
    r"FREIGHT", r"CARRIAGE", r"FEES?", r"DISCOUNT", r"运费", r"邮费",
)  # fmt: skip
EXCLUDE_NAMES = (
    r"postage", r"dotcom postage", r"carriage", r"shipping", r"freight", r"bank charges?",
    r"amazon fee", r".*commission", r"discount", r"manual", r"adjust(ment)?( bad debt)?",
    r"samples?", r"运费", r"邮费", r"折扣",
)  # fmt: skip


@dataclass(frozen=True)
class ImportFormat:
    encoding: str = "auto"
    delimiter: str = "auto"
    decimal: str = "auto"
    date_format: str = "auto"
    sheet: str | int = 0


@dataclass(frozen=True)
class ImportRules:
    """`cancellation_prefix`: order ids starting with one of these cancel earlier lines.
    `negatives`: what an unmarked negative line is. `exclude_codes` / `exclude_names`:
    regular expressions (whole code / whole name, case-insensitive) of non-products,
    added to the built-in lists."""

    cancellation_prefix: tuple[str, ...] = ("C",)
    negatives: str = "returns"
    exclude_codes: tuple[str, ...] = ()
    exclude_names: tuple[str, ...] = ()

    def code_pattern(self) -> re.Pattern[str]:
        return _alternatives(EXCLUDE_CODES + self.exclude_codes)

    def name_pattern(self) -> re.Pattern[str]:
        return _alternatives(EXCLUDE_NAMES + self.exclude_names)


@dataclass(frozen=True)
class ImportDefaults:
    """Values the contract needs and an order-line export seldom has."""

    supplier_id: str = "UNKNOWN"
    lead_time_days: float = 14.0
    margin: float = 0.35


#: The tables an export folder may hold (`[files]`), the order lines first.
FOLDER_TABLES = ("orders", "skus", "suppliers", "customers")
#: Keys of a side table's section that say how its file is written, not a column.
SIDE_FORMAT = ("encoding", "delimiter", "sheet")


@dataclass(frozen=True)
class SideSpec:
    """A side table's columns (contract field = column of its file) and, where its file
    is written its own way, its encoding, delimiter or sheet (None: as [format] says)."""

    columns: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | int = 0


@dataclass(frozen=True)
class Mapping:
    """Contract field -> export column, and how the export is written and cleaned; for
    an export folder, which file holds which table (`files`) and the side tables' own
    columns (`side`: skus, suppliers, customers)."""

    columns: dict[str, str] = field(default_factory=dict)
    format: ImportFormat = ImportFormat()
    rules: ImportRules = ImportRules()
    defaults: ImportDefaults = ImportDefaults()
    files: dict[str, str] = field(default_factory=dict)
    side: dict[str, SideSpec] = field(default_factory=dict)

    def to_toml(self) -> str:
        """The mapping as a TOML file the user can edit and pass back with --mapping."""
        lines = ["[columns]"]
        lines += [f"{k} = {_toml(v)}" for k, v in self.columns.items()]
        for name, part in (("format", self.format), ("rules", self.rules),
                           ("defaults", self.defaults)):  # fmt: skip
            lines += ["", f"[{name}]"]
            lines += [f"{f.name} = {_toml(getattr(part, f.name))}" for f in fields(part)]
        if self.files:
            lines += ["", "[files]"] + [f"{k} = {_toml(v)}" for k, v in self.files.items()]
        for table, spec in self.side.items():
            lines += ["", f"[{table}]"] + [f"{k} = {_toml(v)}" for k, v in spec.columns.items()]
            lines += [
                f"{k} = {_toml(getattr(spec, k))}"
                for k in SIDE_FORMAT
                if getattr(spec, k) not in (None, 0)
            ]
        return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
        return f'"{escaped}"'
    return repr(value)


def _alternatives(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def read_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; ExportError names what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"no mapping file {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path.name} is not a TOML file: {exc}") from None
    return mapping_from(data, path.name)


def mapping_from(data: dict[str, Any], source: str = "mapping") -> Mapping:
    side_names = FOLDER_TABLES[1:]
    unknown = set(data) - {"columns", "format", "rules", "defaults", "files", *side_names}
    if unknown:
        raise ExportError(f"{source}: unknown section(s) {sorted(unknown)}")
    columns = data.get("columns", {})
    _check_columns(columns, "columns", FIELDS, source)
    mapping = Mapping(columns=dict(columns))
    for name, part in (("format", ImportFormat()), ("rules", ImportRules()),
                       ("defaults", ImportDefaults())):  # fmt: skip
        given = data.get(name, {})
        if not isinstance(given, dict):
            raise ExportError(f"{source}: [{name}] must be a table")
        known = {f.name: f for f in fields(part)}
        extra = sorted(set(given) - set(known))
        if extra:
            raise ExportError(f"{source}: [{name}] has unknown key(s) {extra}")
        values: dict[str, Any] = {}
        for key, value in given.items():
            current = getattr(part, key)
            if isinstance(current, tuple):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ExportError(f"{source}: {name}.{key} must be a list of text")
                value = tuple(value)
            elif isinstance(current, float):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ExportError(f"{source}: {name}.{key} must be a number")
                value = float(value)
            elif key == "sheet":
                if isinstance(value, bool) or not isinstance(value, int | str):
                    raise ExportError(f"{source}: format.sheet must be an index or a name")
            elif not isinstance(value, str):
                raise ExportError(f"{source}: {name}.{key} must be text")
            values[key] = value
        mapping = replace(mapping, **{name: replace(part, **values)})  # type: ignore[arg-type]
    files = data.get("files", {})
    if not isinstance(files, dict) or any(
        not isinstance(v, str) or not v or "/" in v or "\\" in v for v in files.values()
    ):
        raise ExportError(f"{source}: [files] maps tables to file names in the export folder")
    wrong_tables = sorted(set(files) - set(FOLDER_TABLES))
    if wrong_tables:
        raise ExportError(
            f"{source}: [files] has unknown table(s) {wrong_tables}; tables are "
            f"{', '.join(FOLDER_TABLES)}"
        )
    side = {name: _side_spec(data[name], name, source) for name in side_names if name in data}
    mapping = replace(mapping, files=dict(files), side=side)
    check_mapping(mapping, source)
    return mapping


def _check_columns(columns: Any, section: str, known: tuple[str, ...], source: str) -> None:
    """A [section] of contract field = column name: a table of known fields, each naming a
    column."""
    if not isinstance(columns, dict):
        raise ExportError(f"{source}: [{section}] must map contract fields to column names")
    wrong = sorted(set(columns) - set(known))
    if wrong:
        raise ExportError(
            f"{source}: [{section}] has unknown field(s) {wrong}; fields are {', '.join(known)}"
        )
    if any(not isinstance(v, str) or not v for v in columns.values()):
        raise ExportError(f"{source}: every [{section}] entry must name a column (text)")


def _side_spec(given: Any, table: str, source: str) -> SideSpec:
    """A side table's section: its columns, and its own encoding, delimiter or sheet."""
    columns = (
        {k: v for k, v in given.items() if k not in SIDE_FORMAT}
        if isinstance(given, dict) else given
    )  # fmt: skip
    _check_columns(columns, table, tuple(SIDE_SYNONYMS[table]), source)
    sheet = given.get("sheet", 0)
    if isinstance(sheet, bool) or not isinstance(sheet, int | str):
        raise ExportError(f"{source}: {table}.sheet must be an index or a name")
    for key in ("encoding", "delimiter"):
        if key in given and not isinstance(given[key], str):
            raise ExportError(f"{source}: {table}.{key} must be text")
    return SideSpec(columns, given.get("encoding"), given.get("delimiter"), sheet)


def check_mapping(mapping: Mapping, source: str = "mapping") -> None:
    """Values a mapping may hold, whichever way it was made."""
    fmt, rules, defaults = mapping.format, mapping.rules, mapping.defaults
    if fmt.decimal not in ("auto", ".", ","):
        raise ExportError(f"{source}: decimal is '.', ',' or 'auto', not {fmt.decimal!r}")
    if rules.negatives not in ("returns", "cancellations"):
        raise ExportError(f"{source}: negatives is 'returns' or 'cancellations'")
    if not 0 <= defaults.margin < 1:
        raise ExportError(f"{source}: margin must lie in [0, 1), got {defaults.margin}")
    if not defaults.lead_time_days >= 0:
        raise ExportError(f"{source}: lead_time_days must be 0 or more")
    if not defaults.supplier_id.strip():
        raise ExportError(f"{source}: the default supplier_id must not be empty")
    for pattern in rules.exclude_codes + rules.exclude_names:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ExportError(f"{source}: {pattern!r} is not a regular expression: {exc}") from None


@cache
def known_header_keys() -> frozenset[str]:
    """Every header name (as `header_key` writes it) the import recognises in any table."""
    names = [*SYNONYMS.values()] + [v for t in SIDE_SYNONYMS.values() for v in t.values()]
    return frozenset(header_key(n) for group in names for n in group)


def header_key(name: str) -> str:
    """A header name as synonyms are written: lower case, letters and digits only."""
    return re.sub(r"[\W_]+", "", name.lower())


def guess(mapping: Mapping, header: list[str]) -> tuple[Mapping, tuple[str, ...]]:
    """Fill the fields `mapping` leaves out from `header` by synonyms; returns the
    mapping and which fields were guessed. Raises ExportError naming the export's
    columns when a required field has no column, or a mapped column is missing."""
    absent = sorted({c for c in mapping.columns.values() if c not in header})
    if absent:
        raise ExportError(
            f"the mapping names column(s) {absent} the export does not have; it has {header}"
        )
    columns = dict(mapping.columns)
    taken = set(columns.values())
    guessed: list[str] = []
    keys = {header_key(h): h for h in reversed(header)}  # first column wins on a tie
    for name in FIELDS:
        if name in columns:
            continue
        for synonym in SYNONYMS[name]:
            column = keys.get(header_key(synonym))
            if column is not None and column not in taken:
                columns[name] = column
                taken.add(column)
                guessed.append(name)
                break
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise ExportError(
            f"no column found for {', '.join(missing)}; the export has {header}. Write a "
            'mapping file ([columns] field = "column") and pass it with --mapping'
        )
    ordered = {f: columns[f] for f in FIELDS if f in columns}
    return replace(mapping, columns=ordered), tuple(guessed)
