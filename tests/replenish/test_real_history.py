"""The main job on a real retailer's history (5% of its customers, tests/data/uci_sample):
imported from the export folder as a new user would, then run; every output written and
every plan line within its packs, MOQ, supplier minimum and the budget."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from contract import Dataset

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "uci_sample"
runner = CliRunner()


def test_the_main_job_runs_on_a_real_history_from_its_export_folder(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "run"
    imported = runner.invoke(app, ["import", str(SAMPLE), str(data)])
    assert imported.exit_code == 0, imported.output
    assert "skus: item_master.csv" in imported.output
    dataset = Dataset.read(data)
    report = json.loads((data / "import" / "import_report.json").read_text(encoding="utf-8"))
    assert report["rules"]["cancellation"]["rows"] > 0  # a real export's quirks were met
    assert report["filled"]["skus"]["unit_cost"]["item_master.csv"] > 0.9 * len(dataset.skus)

    ran = runner.invoke(
        app, ["run", str(data), "--out", str(out), "--replications", "3", "--days", "60"]
    )
    assert ran.exit_code == 0, ran.output
    for name in ("report.html", "plan.csv", "plan.json", "care_list.csv"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert any((out / "charts").glob("*.png"))

    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    lines = pd.read_csv(out / "plan.csv", dtype={"sku_id": str, "supplier_id": str})
    assert not lines.empty
    skus = dataset.skus.set_index("sku_id").loc[lines["sku_id"]]
    assert (lines["quantity"].to_numpy() == lines["packs"] * skus["pack_size"].to_numpy()).all()
    assert (lines["quantity"] >= skus["moq"].to_numpy()).all()
    assert (lines["quantity"] > 0).all()
    budget = plan["record"]["budget"]
    assert lines["line_cost"].sum() <= budget + 1e-6
    spent = lines.groupby("supplier_id")["line_cost"].sum()
    minimum = dataset.suppliers.set_index("supplier_id")["min_order_value"].reindex(spent.index)
    assert (spent >= minimum - 1e-6).all()
    assert "Traceback" not in ran.output
