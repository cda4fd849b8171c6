"""The README's contract table names every table and column the code enforces."""

from __future__ import annotations

from pathlib import Path

from contract.schema import TABLES

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_documents_every_column() -> None:
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    }
    for table in TABLES:
        assert table.name in rows, f"README has no row for table {table.name}"
        for column in table.columns:
            assert column.name in rows[table.name], f"README misses {table.name}.{column.name}"


def test_quickstart_has_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1].split("##", 1)[0]
    assert "make demo" in quickstart and "make test" in quickstart
