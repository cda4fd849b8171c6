"""`replenish import`: a raw export in, a dataset folder the strict contract accepts out.

read (`reading`) -> map columns (`mapping`) -> parse cells (`cells`) -> clean
(`cleaning`) -> derive the catalogue, suppliers and customers -> validate against the
contract -> write the folder whole, with `import/import_report.json` (counts and
examples per rule), `import/mapping.toml` (what was used: edit it and pass it back)
and `import/returns.csv`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from contract.atomic import replace_folder
from contract.dataset import Dataset, DatasetError
from contract.schema import TABLES
from contract.sources import Limits
from replenish.importing.cells import (
    ambiguous_numbers,
    date_order,
    number_marks,
    parse_dates,
    parse_numbers,
)
from replenish.importing.cleaning import ACTIONS, KEPT, Cleaned, clean_lines
from replenish.importing.errors import ExportError
from replenish.importing.folder import ExportFiles, find_files
from replenish.importing.mapping import ImportDefaults, Mapping, SideSpec, guess
from replenish.importing.reading import RawExport, likely_encoding, read_export
from replenish.importing.side_tables import Filled, SideTable, combine, read_side_table

log = logging.getLogger(__name__)

#: Unreadable cells in one column beyond this share of the rows stop the import: a wrong
#: mapping or format option is far likelier than that much damage in the export.
MAX_UNREADABLE = 0.01
EXAMPLES = 5
REPORT_FOLDER = "import"
NUMERIC = ("quantity", "unit_price", "quantity_short", "unit_cost", "pack_size")


@dataclass(frozen=True)
class ImportResult:
    """The dataset made, the report written beside it (as a dict), and the mapping used."""

    dataset: Dataset
    report: dict[str, Any]
    mapping: Mapping
    returns: pd.DataFrame


def preview(
    src: Path, mapping: Mapping, rows: int = 5
) -> tuple[Mapping, tuple[str, ...], pd.DataFrame]:
    """The mapping as it would be used (fields guessed filled in) and the first rows of
    the export's order lines (in a folder, its order-lines file) under the contract's
    names, before anything is cleaned."""
    files = _files(src, mapping)
    fmt = mapping.format
    raw = read_export(files.orders, fmt.encoding, fmt.delimiter, fmt.sheet)
    full, guessed = _guess(mapping, raw, files.orders)
    head = raw.frame.head(rows)[list(full.columns.values())]
    head.columns = list(full.columns)
    return full, guessed, head


def _files(src: Path, mapping: Mapping) -> ExportFiles:
    """The export's files: `src` itself, or what an export folder holds (`folder`)."""
    if src.is_dir():
        return find_files(src, mapping)
    if mapping.files:
        raise ExportError(f"the mapping's [files] names files of a folder; {src} is a file")
    return ExportFiles(src)


def _guess(mapping: Mapping, raw: RawExport, path: Path) -> tuple[Mapping, tuple[str, ...]]:
    """`guess` on the export's header, the error naming a likelier encoding when the
    header read looks like mojibake."""
    header = list(raw.frame.columns)
    try:
        return guess(mapping, header)
    except ExportError as exc:
        other = likely_encoding(header, raw.encoding)
        if other is None:
            raise
        raise ExportError(
            f"{exc}. The header of {path.name} reads like text in another encoding: try "
            f"--encoding {other}"
        ) from None


def import_export(
    src: Path,
    out: Path | None,
    mapping: Mapping | None = None,
    today: date | None = None,
    overwrite: bool = False,
    limits: Limits | None = None,
) -> ImportResult:
    """Import `src` (an export of order lines, or an export folder holding one and any
    item master, supplier and customer lists beside it) into the dataset folder `out`
    (None: check only, write nothing).

    Raises ExportError with what to do when the export cannot be read or mapped, or
    when `out` holds something other than an earlier import (unless `overwrite`).
    """
    mapping = mapping or Mapping()
    today = today or date.today()
    if out is not None:
        _check_target(out, overwrite)
    files = _files(src, mapping)
    fmt = mapping.format
    raw = read_export(files.orders, fmt.encoding, fmt.delimiter, fmt.sheet, limits)
    log.info("read %s: %d rows, %d columns", files.orders.name, len(raw.frame), raw.frame.shape[1])
    mapping, guessed = _guess(mapping, raw, files.orders)
    if "unit_price" not in mapping.columns:
        raise ExportError(
            "the export has no price column the import recognises, and the contract needs "
            "each SKU's selling price: map unit_price in the mapping file"
        )
    lines, how = _parse(raw, mapping)
    cleaned = clean_lines(lines, mapping.rules, pd.Timestamp(today))
    side = {
        table: read_side_table(
            path, table, mapping.side.get(table, SideSpec()), fmt.encoding, fmt.delimiter,
            how["decimal"], limits,
        )
        for table, path in files.side.items()
    }  # fmt: skip
    tables, filled = _derive(cleaned, lines, mapping, side)
    try:
        dataset = Dataset.from_frames(tables, today=today)
    except DatasetError as exc:
        raise ExportError(
            "the tables made from the export break the contract (the side files' values "
            "above, or please report this):\n" + exc.report.format()
        ) from None
    report = _report(files.orders, raw, mapping, guessed, how, lines, cleaned, tables)
    cost = filled["skus"].sources.get("unit_cost", {})
    report["changes"]["skus_with_assumed_cost"] = int(cost.get("default", 0))
    report["files"] = {
        "orders": {"file": files.orders.name, "found_by": files.found_by.get("orders", "given")},
        **{t: {**t_.report, "found_by": files.found_by[t]} for t, t_ in side.items()},
        "ignored": list(files.ignored),
    }
    report["filled"] = {name: f.sources for name, f in filled.items() if f.sources}
    mapping = replace(
        mapping,
        files={t: p.name for t, p in [("orders", files.orders), *files.side.items()]}
        if src.is_dir() else {},
        side={t: replace(mapping.side.get(t, SideSpec()), columns=t_.report["columns"])
              for t, t_ in side.items()},
    )  # fmt: skip
    result = ImportResult(dataset, report, mapping, cleaned.returns)
    if out is not None:
        _write(result, out)
    return result


def _check_target(out: Path, overwrite: bool) -> None:
    """`out` may be replaced when it is empty or holds an earlier import and nothing else
    (the contract's table files and the import folder), or when `overwrite` is set."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file, not a folder")
    if not out.is_dir() or overwrite:
        return
    tables = {f"{t.name}.csv" for t in TABLES}
    foreign = [
        p.name
        for p in out.iterdir()
        if not (p.is_file() and p.name in tables) and not (p.is_dir() and p.name == REPORT_FOLDER)
    ]
    if foreign:
        raise ExportError(
            f"{out} holds files that are not an earlier import ({', '.join(sorted(foreign)[:5])}); "
            "choose an empty folder or pass --overwrite"
        )


def _parse(raw: RawExport, mapping: Mapping) -> tuple[pd.DataFrame, dict[str, str]]:
    """Typed columns under the contract's names, and a `fate` per row for the cells
    found missing or unreadable. Returns the lines and how numbers and dates were read."""
    cells = {f: raw.frame[c] for f, c in mapping.columns.items()}
    n = len(raw.frame)
    empty = pd.Series([""] * n, dtype="string[pyarrow]")
    fate = np.full(n, KEPT, dtype=object)
    blank = (raw.frame == "").all(axis=1).to_numpy() if raw.frame.shape[1] else np.ones(n, bool)
    fate[blank] = "blank_row"

    numeric = {f: cells[f] for f in NUMERIC if f in cells}
    decimal = mapping.format.decimal
    if decimal == "auto":
        decimal = number_marks(numeric) or "."
        if number_marks(numeric) is None:
            for name in ("unit_price", "unit_cost"):
                example = ambiguous_numbers(cells[name]) if name in cells else None
                if example is not None:
                    raise ExportError(
                        f"{mapping.columns[name]!r} holds numbers like {example!r} that read "
                        "differently with a decimal comma and a decimal point; name the "
                        "decimal mark with --decimal"
                    )
    date_format = mapping.format.date_format
    if date_format == "auto":
        date_format = date_order(cells["date"][~blank])

    out = pd.DataFrame(index=range(n))
    for name in ("order_id", "sku_id", "customer_id", "sku_name", "category", "supplier_id"):
        text = cells.get(name, empty)
        if name in ("order_id", "sku_id", "customer_id", "supplier_id"):
            # Ids a spreadsheet turned into numbers: "17850.0" is customer 17850.
            text = text.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
        out[name] = text.to_numpy()
        out[name] = out[name].astype("string[pyarrow]")
    out["date"] = parse_dates(cells["date"], date_format).to_numpy()
    for name in NUMERIC:
        out[name] = (
            parse_numbers(cells[name], decimal).to_numpy() if name in cells else np.full(n, np.nan)
        )

    def mark(mask: np.ndarray, name: str) -> None:
        hit = mask & (fate == KEPT)
        fate[hit] = name

    for name in ("order_id", "sku_id", "date", "quantity"):
        mark((cells[name] == "").to_numpy(), f"missing_{name}")
    mark(out["date"].isna().to_numpy(), "unreadable_date")
    qty = out["quantity"].to_numpy()
    mark(~np.isfinite(qty) | (qty != np.round(qty)), "unreadable_quantity")
    if "unit_price" in cells:
        mark((cells["unit_price"] != "").to_numpy() & np.isnan(out["unit_price"].to_numpy()),
             "unreadable_unit_price")  # fmt: skip
    if "quantity_short" in cells:
        s = out["quantity_short"].to_numpy()
        given = (cells["quantity_short"] != "").to_numpy()
        mark(given & (np.isnan(s) | (s < 0) | (s != np.round(s))), "unreadable_quantity_short")
    for name in ("unreadable_date", "unreadable_quantity", "unreadable_unit_price"):
        share = float((fate == name).sum()) / max(n - int(blank.sum()), 1)
        if share > MAX_UNREADABLE and (fate == name).sum() > 10:
            field = name.removeprefix("unreadable_")
            rows = np.flatnonzero(fate == name)[:EXAMPLES]
            examples = ", ".join(f"line {raw.line.iloc[i]}: {cells[field].iloc[i]!r}" for i in rows)
            raise ExportError(
                f"{100 * share:.1f}% of the {field} cells ({mapping.columns[field]!r}) cannot "
                f"be read ({examples}); check the column mapping, --decimal and --date-format"
            )
    out["fate"] = fate
    return out, {"decimal": decimal, "date_format": date_format}


def _mode(values: pd.Series, by: pd.Series) -> pd.Series:
    """The most frequent non-empty value per group (first on ties)."""
    frame = pd.DataFrame({"by": by.to_numpy(), "value": values.to_numpy()})
    frame = frame[frame["value"].notna() & (frame["value"] != "")]
    counts = frame.groupby(["by", "value"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values("n", ascending=False, kind="stable")
    return counts.drop_duplicates("by").set_index("by")["value"]


def _derive(
    cleaned: Cleaned, parsed: pd.DataFrame, mapping: Mapping, side: dict[str, SideTable]
) -> tuple[dict[str, pd.DataFrame], dict[str, Filled]]:
    """The contract's tables from the kept lines and the side tables beside them: skus
    (the item master's fields where it has them, else what the lines say: name,
    category, supplier, price and cost, pack; else the defaults), suppliers (the supplier
    list's, else the defaults), customers (the customer list's, since their first order
    at the latest) and orders; and where every field came from (`Filled`)."""
    lines = cleaned.lines
    defaults = mapping.defaults
    kept = parsed[cleaned.fate == KEPT]
    by_sku = kept["sku_id"].to_numpy()
    sku_ids = pd.Index(pd.unique(lines["sku_id"]))
    master = side["skus"].frame if "skus" in side else None
    master_file = side["skus"].report["file"] if "skus" in side else ""
    filled = {name: Filled(name) for name in ("skus", "suppliers", "customers")}

    def sku_field(name: str, from_lines: pd.Series | None, default: object,
                  described: str | None = None) -> pd.Series:  # fmt: skip
        given = master[name] if master is not None and name in master else None
        layers = [(master_file, given), ("order lines", from_lines)]
        return combine(sku_ids, name, layers, default, filled["skus"], described)

    price = kept["unit_price"].where(kept["unit_price"] > 0).groupby(by_sku).median()
    unit_price = sku_field("unit_price", price, np.nan).astype(float)
    cost = kept["unit_cost"].where(kept["unit_cost"] >= 0).groupby(by_sku).median()
    margin = f"unit_price x (1 - {defaults.margin:g})"
    unit_cost = sku_field("unit_cost", cost, unit_price * (1 - defaults.margin), margin)
    pack = kept["pack_size"].where((kept["pack_size"] >= 1) & (kept["pack_size"] % 1 == 0))
    names = ("name", "sku_name"), ("category", "category"), ("supplier_id", "supplier_id")
    text = {
        field_: sku_field(field_, _mode(kept[column], kept["sku_id"]), fallback)
        for (field_, column), fallback in zip(names, ("", "", defaults.supplier_id), strict=True)
    }
    skus = pd.DataFrame(
        {
            "sku_id": sku_ids,
            **{k: v.astype(str).to_numpy() for k, v in text.items()},
            "unit_cost": unit_cost.astype(float).round(4).to_numpy(),
            "unit_price": unit_price.round(4).to_numpy(),
            "pack_size": sku_field("pack_size", pack.groupby(by_sku).median(), 1)
            .astype("int64")
            .to_numpy(),
        }
    )
    if master is not None:  # what only an item master holds
        for name, fallback in (("moq", 0), ("unit_volume", 0.0)):
            if name in master:
                skus[name] = sku_field(name, None, fallback).to_numpy()
        if "lead_time_days" in master:
            lead = sku_field("lead_time_days", None, np.nan, "the supplier's")
            skus["lead_time_days"] = lead.astype(float).to_numpy()
        if "substitutes" in master:
            skus["substitutes"] = _known_substitutes(
                sku_field("substitutes", None, ""), set(sku_ids), filled["skus"]
            ).to_numpy()
    suppliers = _suppliers(pd.Index(pd.unique(skus["supplier_id"])), side, defaults, filled)
    named = lines[lines["customer_id"].notna()]
    customers = _customers(named, side.get("customers"), filled["customers"])
    orders = lines[["order_id", "date", "customer_id", "sku_id", "quantity", "unit_price",
                    "quantity_short"]]  # fmt: skip
    tables = {"suppliers": suppliers, "skus": skus, "orders": orders}
    if not customers.empty:
        tables["customers"] = customers
    return tables, filled


def _suppliers(
    ids: pd.Index, side: dict[str, SideTable], defaults: ImportDefaults,
    filled: dict[str, Filled],
) -> pd.DataFrame:  # fmt: skip
    """One row per supplier the SKUs name: the supplier list's fields, else defaults."""
    given = side["suppliers"].frame if "suppliers" in side else None
    file = side["suppliers"].report["file"] if "suppliers" in side else ""
    out = pd.DataFrame({"supplier_id": ids})
    for name, default in (
        ("name", pd.Series(ids, index=ids)), ("lead_time_days", defaults.lead_time_days),
        ("lead_time_sd_days", 0.0), ("review_period_days", 7.0), ("min_order_value", 0.0),
        ("order_cost", 0.0),
    ):  # fmt: skip
        layer = given[name] if given is not None and name in given else None
        described = "the supplier_id" if name == "name" else None
        value = combine(ids, name, [(file, layer)], default, filled["suppliers"], described)
        out[name] = value.to_numpy() if name == "name" else value.astype(float).to_numpy()
    return out


def _customers(named: pd.DataFrame, side: SideTable | None, filled: Filled) -> pd.DataFrame:
    """One row per customer of the lines: the customer list's since (never after their
    first order), strategic and reputation scores; else the first order's day."""
    first = named.groupby("customer_id", sort=False)["date"].min()
    ids = pd.Index(first.index)
    given = side.frame if side is not None else None
    file = side.report["file"] if side is not None else ""
    layer = given["since"] if given is not None and "since" in given else None
    if layer is not None:
        later = layer.reindex(ids) > first
        filled.count("since", "first order (the list's day was after it)", int(later.sum()))
        layer = layer.where(~layer.index.isin(ids[later.to_numpy()]))
    since = combine(ids, "since", [(file, layer)], first, filled, "the first order's day")
    out = pd.DataFrame({"customer_id": ids, "since": pd.to_datetime(since.to_numpy())})
    for name in ("strategic", "reputation"):
        if given is not None and name in given:
            score = combine(ids, name, [(file, given[name])], np.nan, filled, "none")
            out[name] = score.astype(float).to_numpy()
    return out


def _known_substitutes(cells: pd.Series, known: set[str], filled: Filled) -> pd.Series:
    """`;`-separated substitutes, those naming no SKU of the dataset left out (counted)."""
    dropped = 0

    def keep(cell: str) -> str:
        nonlocal dropped
        ids = [s.strip() for s in str(cell).split(";") if s.strip()]
        ok = [s for s in ids if s in known]
        dropped += len(ids) - len(ok)
        return ";".join(ok)

    out = cells.map(keep)
    filled.count("substitutes", "left out: naming no SKU of the dataset", dropped)
    return out


def _report(
    src: Path,
    raw: RawExport,
    mapping: Mapping,
    guessed: tuple[str, ...],
    how: dict[str, str],
    parsed: pd.DataFrame,
    cleaned: Cleaned,
    tables: dict[str, pd.DataFrame],
) -> dict[str, Any]:
    fate = cleaned.fate
    rules: dict[str, Any] = {}
    source = raw.frame
    for name, action in ACTIONS.items():
        rows = np.flatnonzero(fate == name)
        if not rows.size:
            continue
        units = float(np.nansum(np.abs(parsed["quantity"].to_numpy()[rows])))
        examples = [
            {"line": int(raw.line.iloc[i]), "cells": {k: str(v) for k, v in source.iloc[i].items()}}
            for i in rows[:EXAMPLES]
        ]
        rules[name] = {
            "rows": int(rows.size),
            "units": units if name != "blank_row" else None,
            "action": action,
            "examples": examples,
        }
    kept = int((fate == KEPT).sum())
    return {
        "source": src.name,
        "read": {
            "encoding": raw.encoding,
            "delimiter": raw.delimiter,
            "decimal": how["decimal"],
            "date_format": how["date_format"],
            "guessed": list(raw.guessed),
        },
        "columns": dict(mapping.columns),
        "guessed_columns": list(guessed),
        "rows": {"read": len(fate), "kept": kept, "taken_out": len(fate) - kept},
        "rules": rules,
        "units": {
            "cancelled_and_netted": cleaned.units_netted,
            "cancelled_without_a_line": cleaned.units_unmatched,
            "returned": float(cleaned.returns["units"].sum()) if len(cleaned.returns) else 0.0,
        },
        "changes": dict(cleaned.changes),
        "assumed": {
            "supplier_id": mapping.defaults.supplier_id
            if "supplier_id" not in mapping.columns
            else None,
            "lead_time_days": mapping.defaults.lead_time_days,
            "margin_for_missing_costs": mapping.defaults.margin,
        },
        "written": {name: len(frame) for name, frame in tables.items()}
        | {"returns": len(cleaned.returns)},
    }


def _write(result: ImportResult, out: Path) -> None:
    def fill(staging: Path) -> None:
        for name, frame in result.dataset.tables().items():
            frame.to_csv(staging / f"{name}.csv", index=False, date_format="%Y-%m-%d")
        extra = staging / REPORT_FOLDER
        extra.mkdir()
        (extra / "import_report.json").write_text(
            json.dumps(result.report, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        (extra / "mapping.toml").write_text(result.mapping.to_toml(), encoding="utf-8")
        result.returns.to_csv(extra / "returns.csv", index=False, date_format="%Y-%m-%d")

    replace_folder(out, fill)
