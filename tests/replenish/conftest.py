"""A tiny, hand-written, valid dataset folder that tests break one defect at a time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from replenish import Dataset
from replenish.pipeline import Outcome

GOOD: dict[str, str] = {
    "suppliers": """supplier_id,name,lead_time_days,lead_time_sd_days,review_period_days,min_order_value,order_cost
SUP1,Acme,7,1.5,7,100,25
SUP2,Bolt,14,,,,
""",
    "skus": """sku_id,name,category,supplier_id,unit_cost,unit_price,pack_size,moq,unit_volume,lead_time_days,substitutes
A1,Apple juice,Drinks,SUP1,1.20,2.50,6,12,0.001,,B2
B2,Berry juice,Drinks,SUP1,1.30,2.70,6,0,0.001,5,
C3,Cable,Hardware,SUP2,4.00,9.90,,,,,
""",
    "customers": """customer_id,since,strategic,reputation
K1,2023-01-15,0.8,0.9
K2,2024-06-01,,
K3,2024-02-29,0.1,0.5
""",
    "orders": """order_id,date,customer_id,sku_id,quantity,unit_price,quantity_short
O1,2025-01-03,K1,A1,12,2.40,0
O1,2025-01-03,K1,C3,1,9.90,0
O2,2025-01-04,K2,A1,0,,6
O3,2025-01-05,,B2,2,2.70,
O4,2025-01-06,K3,C3,3,9.90,1
""",
    "inventory": """sku_id,on_hand,on_order,as_of
A1,30,12,2025-01-07
B2,0,,2025-01-07
C3,5,10,2025-01-07
""",
}

WriteDataset = Callable[..., Path]


@pytest.fixture
def write_dataset(tmp_path: Path) -> WriteDataset:
    """Write the good dataset to a new folder, with table texts replaced or dropped.

    `write_dataset(orders="...")` replaces a table's CSV text; `None` drops the table.
    """
    counter = iter(range(1_000))

    def write(**tables: str | None) -> Path:
        folder = tmp_path / f"dataset{next(counter)}"
        folder.mkdir()
        for name, text in {**GOOD, **tables}.items():
            if text is not None:
                (folder / f"{name}.csv").write_text(text, encoding="utf-8")
        return folder

    return write


def edit(table: str, old: str, new: str) -> str:
    """The good CSV text of `table` with one substring replaced (which must be there)."""
    text = GOOD[table]
    assert old in text, f"{old!r} not in {table}"
    return text.replace(old, new, 1)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny generated world ending 2025-06-30, written once as a CSV dataset folder."""
    from typer.testing import CliRunner

    from replenish.cli import app

    data = tmp_path_factory.mktemp("world")
    args = ["generate", str(data), "--size", "tiny", "--end-date", "2025-06-30", "--overwrite"]
    assert CliRunner().invoke(app, args).exit_code == 0
    return data


@pytest.fixture(scope="session")
def generated_dataset(generated: Path) -> Dataset:
    return Dataset.read(generated)


@pytest.fixture(scope="session")
def outcome(generated_dataset: Dataset) -> Outcome:
    """The main job on the tiny generated world (short simulation, inline)."""
    from replenish.pipeline import RunSettings, run

    return run(generated_dataset, RunSettings(days=60, replications=6, engine="inline"))
