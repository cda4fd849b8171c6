"""Which file of an export folder holds which table: the order lines, and beside them an
item master, a supplier list, a customer list.

The mapping's `[files]` decides first. Otherwise each readable file (.csv, .txt, .tsv,
.xlsx) at the folder's top level is named by the words in its file name (orders,
sales, invoice...; item, product, master...; supplier, vendor...; customer, client...)
and, where the name says nothing or two files claim one table, by its header: the order
lines are the file whose columns give an order, a date, a SKU and a quantity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from replenish.importing.errors import ExportError
from replenish.importing.mapping import (
    FOLDER_TABLES,
    KEYS,
    REQUIRED,
    SIDE_SYNONYMS,
    SYNONYMS,
    Mapping,
    header_key,
)
from replenish.importing.reading import read_header

SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
#: Words of a file name (lower case) that say which table it holds.
NAME_WORDS: dict[str, tuple[str, ...]] = {
    "orders": ("order", "orders", "orderlines", "lines", "sales", "invoice", "invoices",
               "transactions", "receipts", "订单", "销售"),
    "skus": ("item", "items", "itemmaster", "product", "products", "sku", "skus", "article",
             "articles", "master", "catalog", "catalogue", "material", "商品", "物料", "产品"),
    "suppliers": ("supplier", "suppliers", "vendor", "vendors", "供应商"),
    "customers": ("customer", "customers", "client", "clients", "客户"),
}  # fmt: skip


@dataclass(frozen=True)
class ExportFiles:
    """The files of an export folder: the order lines, each side table's file, how each
    was found ("mapping", "file name" or "header") and the files left aside."""

    orders: Path
    side: dict[str, Path] = field(default_factory=dict)
    found_by: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()


def _words(path: Path) -> set[str]:
    """A file name's words: split at separators and case changes, lower case."""
    stem = re.sub(r"([a-z])([A-Z])", r"\1 \2", path.stem)
    parts = {w.lower() for w in re.split(r"[\W_]+", stem) if w}
    return parts | {header_key(path.stem)}


def _by_name(path: Path) -> set[str]:
    words = _words(path)
    return {
        table
        for table, names in NAME_WORDS.items()
        if words & set(names) or any(n in path.stem for n in names if not n.isascii())
    }


def _by_header(path: Path) -> set[str]:
    """Tables whose key (or, for order lines, every required field) the header names."""
    try:
        header = {header_key(h) for h in read_header(path)}
    except ExportError:
        return set()
    tables = set()
    if all(header & {header_key(s) for s in SYNONYMS[f]} for f in REQUIRED):
        tables.add("orders")
    for table, key in KEYS.items():
        if header & {header_key(s) for s in SIDE_SYNONYMS[table][key]}:
            tables.add(table)
    return tables


def find_files(folder: Path, mapping: Mapping) -> ExportFiles:
    """The files of `folder` by table (see the module docstring); ExportError when no
    file holds order lines, when two do, or when the mapping names a file not there."""
    candidates = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
        and not p.name.startswith((".", "~$"))
    )  # fmt: skip
    chosen: dict[str, Path] = {}
    found_by: dict[str, str] = {}
    for table, name in mapping.files.items():
        path = folder / name
        if not path.is_file():
            raise ExportError(f"the mapping's [files] names {name!r}, which {folder} does not hold")
        chosen[table], found_by[table] = path, "mapping"
    rest = [p for p in candidates if p not in chosen.values()]
    for table in FOLDER_TABLES:
        if table in chosen:
            continue
        named = [p for p in rest if table in _by_name(p)]
        if len(named) == 1 and (table != "orders" or "orders" in _by_header(named[0])):
            chosen[table], found_by[table] = named[0], "file name"
        else:
            pool = named or [p for p in rest if not _by_name(p) - {table}]
            fits = [p for p in pool if table in _by_header(p)]
            if table == "orders" and len(fits) > 1:
                fits = [p for p in fits if not _by_name(p) - {"orders"}] or fits
            if len(fits) > 1 and table == "orders":
                raise ExportError(
                    f"{folder} holds several files of order lines "
                    f"({', '.join(p.name for p in fits)}); name one in the mapping: "
                    '[files] orders = "..."'
                )
            if len(fits) == 1:
                chosen[table], found_by[table] = fits[0], "header"
        if table in chosen:
            rest = [p for p in rest if p != chosen[table]]
    if "orders" not in chosen:
        names = ", ".join(p.name for p in candidates) or "no .csv, .txt, .tsv or .xlsx file"
        raise ExportError(
            f"found no file of order lines in {folder} ({names}); name it in a mapping "
            'file: [files] orders = "..."'
        )
    side = {t: p for t, p in chosen.items() if t != "orders"}
    return ExportFiles(chosen["orders"], side, found_by, tuple(p.name for p in rest))
