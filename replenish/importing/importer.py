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
from dataclasses import dataclass
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
from replenish.importing.mapping import Mapping, guess
from replenish.importing.reading import ExportError, RawExport, read_export

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
    the export under the contract's names, before anything is cleaned."""
    raw = read_export(src, mapping.format.encoding, mapping.format.delimiter, mapping.format.sheet)
    full, guessed = guess(mapping, list(raw.frame.columns))
    head = raw.frame.head(rows)[list(full.columns.values())]
    head.columns = list(full.columns)
    return full, guessed, head


def import_export(
    src: Path,
    out: Path | None,
    mapping: Mapping | None = None,
    today: date | None = None,
    overwrite: bool = False,
    limits: Limits | None = None,
) -> ImportResult:
    """Import `src` into the dataset folder `out` (None: check only, write nothing).

    Raises ExportError with what to do when the export cannot be read or mapped, or
    when `out` holds something other than an earlier import (unless `overwrite`).
    """
    mapping = mapping or Mapping()
    today = today or date.today()
    if out is not None:
        _check_target(out, overwrite)
    fmt = mapping.format
    raw = read_export(src, fmt.encoding, fmt.delimiter, fmt.sheet, limits)
    log.info("read %s: %d rows, %d columns", src.name, len(raw.frame), raw.frame.shape[1])
    mapping, guessed = guess(mapping, list(raw.frame.columns))
    if "unit_price" not in mapping.columns:
        raise ExportError(
            "the export has no price column the import recognises, and the contract needs "
            "each SKU's selling price: map unit_price in the mapping file"
        )
    lines, how = _parse(raw, mapping)
    cleaned = clean_lines(lines, mapping.rules, pd.Timestamp(today))
    tables, assumed_costs = _derive(cleaned, lines, mapping)
    try:
        dataset = Dataset.from_frames(tables, today=today)
    except DatasetError as exc:  # the rules above should make this impossible
        raise ExportError(
            "the cleaned export still breaks the contract (please report this):\n"
            + exc.report.format()
        ) from None
    report = _report(src, raw, mapping, guessed, how, lines, cleaned, tables)
    report["changes"]["skus_with_assumed_cost"] = assumed_costs
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
    cleaned: Cleaned, parsed: pd.DataFrame, mapping: Mapping
) -> tuple[dict[str, pd.DataFrame], int]:
    """The contract's tables from the kept lines: skus (name, category, supplier, price
    and cost), suppliers, customers (since their first order) and orders; and how many
    SKUs had no cost in the export (their cost is the price less the default margin)."""
    lines = cleaned.lines
    defaults = mapping.defaults
    kept = parsed[cleaned.fate == KEPT]
    sku_ids = pd.Index(pd.unique(lines["sku_id"]))
    sku = kept["sku_id"]
    price = kept["unit_price"].where(kept["unit_price"] > 0)
    unit_price = price.groupby(sku.to_numpy()).median().reindex(sku_ids)
    cost = kept["unit_cost"].where(kept["unit_cost"] >= 0).groupby(sku.to_numpy()).median()
    cost = cost.reindex(sku_ids)
    assumed = cost.isna()
    cost = cost.fillna(unit_price * (1 - defaults.margin)).round(4)
    pack = kept["pack_size"].where((kept["pack_size"] >= 1) & (kept["pack_size"] % 1 == 0))
    pack_size = pack.groupby(sku.to_numpy()).median().reindex(sku_ids).fillna(1).astype("int64")
    supplier = _mode(kept["supplier_id"], sku).reindex(sku_ids).fillna(defaults.supplier_id)
    skus = pd.DataFrame(
        {
            "sku_id": sku_ids,
            "name": _mode(kept["sku_name"], sku).reindex(sku_ids).fillna("").to_numpy(),
            "category": _mode(kept["category"], sku).reindex(sku_ids).fillna("").to_numpy(),
            "supplier_id": supplier.to_numpy(),
            "unit_cost": cost.to_numpy(),
            "unit_price": unit_price.round(4).to_numpy(),
            "pack_size": pack_size.to_numpy(),
        }
    )
    suppliers = pd.DataFrame(
        {
            "supplier_id": pd.unique(skus["supplier_id"]),
            "lead_time_days": defaults.lead_time_days,
        }
    )
    suppliers["name"] = suppliers["supplier_id"]
    named = lines[lines["customer_id"].notna()]
    customers = named.groupby("customer_id", sort=False)["date"].min().rename("since").reset_index()
    orders = lines[["order_id", "date", "customer_id", "sku_id", "quantity", "unit_price",
                    "quantity_short"]]  # fmt: skip
    tables = {"suppliers": suppliers, "skus": skus, "orders": orders}
    if not customers.empty:
        tables["customers"] = customers
    return tables, int(assumed.sum())


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
