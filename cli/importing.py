"""`replenish import`: a raw ERP export in, a dataset folder out, and what was done to it.

Registered on the main `replenish` app by `cli.main`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape

from cli.terminal import console, fmt_table, progress_bar, stage
from replenish.importing import ExportError, Mapping, import_export, preview, read_mapping
from replenish.importing.mapping import check_mapping
from replenish.importing.reading import ENCODINGS


def import_cmd(
    src: Annotated[
        Path,
        typer.Argument(
            help="The export: .csv / .txt / .tsv or .xlsx of order lines, or a folder of "
            "them with an item master, suppliers and customers beside them."
        ),
    ],
    out: Annotated[Path, typer.Argument(help="The dataset folder to write.")],
    mapping: Annotated[
        Path | None,
        typer.Option(help="A TOML mapping (columns, format, rules, defaults); see docs."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help=f"Text encoding: {', '.join(ENCODINGS)}.")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="Field delimiter: ',', ';', 'tab', '|' or auto.")
    ] = None,
    decimal: Annotated[str | None, typer.Option(help="Decimal mark: '.' or ','.")] = None,
    date_format: Annotated[
        str | None,
        typer.Option(help="Date format, e.g. %d/%m/%Y; needed when day and month can't be told."),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help=".xlsx: the sheet's name or index (default: first).")
    ] = None,
    show: Annotated[
        bool,
        typer.Option("--preview", help="Show the column mapping and first rows; write nothing."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace OUT even if it holds more than an earlier import.")
    ] = False,
) -> None:
    """Turn a raw export of order lines (a file, or a folder that also holds an item
    master, suppliers and customers) into a dataset folder `replenish validate` accepts.

    Cancellations are netted against the lines they cancel, returns kept apart, repeated
    lines summed, non-product codes (postage, fees) left out; OUT/import/import_report.json
    counts every row taken out, per rule, with examples.
    """
    try:
        chosen = read_mapping(mapping) if mapping else Mapping()
        fmt = chosen.format
        fmt = replace(
            fmt,
            encoding=encoding or fmt.encoding,
            delimiter=delimiter or fmt.delimiter,
            decimal=decimal or fmt.decimal,
            date_format=date_format or fmt.date_format,
            sheet=fmt.sheet if sheet is None else int(sheet) if sheet.isdigit() else sheet,
        )
        chosen = replace(chosen, format=fmt)
        check_mapping(chosen, "options")
        if show:
            full, guessed, head = preview(src, chosen)
            _print_mapping(full.columns, guessed)
            console.print(fmt_table(f"First rows of {src.name}, as the contract names them",
                                    head.set_index(head.columns[0]), {}))  # fmt: skip
            console.print(escape("Write these into a mapping file ([columns]) to change them."))
            return
        with progress_bar() as progress, stage(progress, f"importing {src.name}"):
            result = import_export(src, out, chosen, overwrite=overwrite)
    except ExportError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=1) from None
    report = result.report
    files = report.get("files", {})
    for table, entry in files.items():
        if table != "ignored":
            console.print(f"{table}: {escape(entry['file'])} (found by {entry['found_by']})")
    if files.get("ignored"):
        console.print(f"left aside: {escape(', '.join(files['ignored']))}")
    _print_mapping(report["columns"], tuple(report["guessed_columns"]))
    read = report["read"]
    console.print(
        f"read {report['rows']['read']:,} rows as {read['encoding']}"
        + (f", delimiter {read['delimiter']!r}" if read["delimiter"] else "")
        + f", decimal {read['decimal']!r}, dates {read['date_format']}"
        + (f" (guessed: {', '.join(read['guessed'])})" if read["guessed"] else "")
    )
    rules = pd.DataFrame(
        [
            {
                "rule": name,
                "rows": r["rows"],
                "units": "" if r["units"] is None else f"{r['units']:,.0f}",
                "what": r["action"],
            }
            for name, r in report["rules"].items()
        ]
    )
    if not rules.empty:
        console.print(fmt_table("Rows taken out or changed, per rule", rules.set_index("rule"), {}))
    changes = ", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in report["changes"].items())
    console.print(f"kept {report['rows']['kept']:,} rows; {changes}")
    _print_defaults(report.get("filled", {}))
    written = ", ".join(f"{k} {v:,}" for k, v in report["written"].items())
    console.print(f"wrote {out} ({written}); report in {out / 'import' / 'import_report.json'}")


def _print_defaults(filled: dict[str, dict[str, dict[str, object]]]) -> None:
    """The fields the import had to default, per table: rows and the value used."""
    rows = [
        {"table": table, "field": name, "rows": source["default"],
         "default": str(source.get("default_value", ""))}
        for table, fields in filled.items()
        for name, source in fields.items()
        if source.get("default")
    ]  # fmt: skip
    if rows:
        frame = pd.DataFrame(rows).set_index("table")
        console.print(fmt_table("Defaults used (import_report.json: filled)", frame, {}))


def _print_mapping(columns: dict[str, str], guessed: tuple[str, ...]) -> None:
    table = pd.DataFrame(
        [
            {"field": f, "export column": c, "from": "guessed" if f in guessed else "mapping"}
            for f, c in columns.items()
        ]
    ).set_index("field")
    console.print(fmt_table("Columns", table, {}))
