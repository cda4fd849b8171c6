"""The `replenish` command as a person uses it: exit codes and what it prints."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from contract import Dataset
from tests.datasets import WriteDataset, edit

runner = CliRunner()


def test_validate_accepts_a_good_dataset(write_dataset: WriteDataset) -> None:
    result = runner.invoke(app, ["validate", str(write_dataset()), "--today", "2025-02-01"])
    assert result.exit_code == 0, result.output
    assert "dataset accepted" in result.output
    assert "orders: 5 rows" in result.output


def test_validate_rejects_and_names_the_place(write_dataset: WriteDataset) -> None:
    folder = write_dataset(orders=edit("orders", "O4,2025-01-06,K3,C3,3", "O4,2025-01-06,K3,C3,-3"))
    result = runner.invoke(app, ["validate", str(folder), "--today", "2025-02-01"])
    assert result.exit_code == 1
    assert "orders.csv" in result.output and "quantity" in result.output
    assert "negative value not allowed" in result.output
    assert "dataset rejected" in result.output
    assert "[out_of_range]" in result.output


def test_validate_refuses_a_bad_option(write_dataset: WriteDataset) -> None:
    result = runner.invoke(app, ["validate", str(write_dataset()), "--today", "yesterday"])
    assert result.exit_code == 2
    assert "not a date" in result.output


def test_validate_applies_a_size_cap(write_dataset: WriteDataset) -> None:
    result = runner.invoke(
        app, ["validate", str(write_dataset()), "--today", "2025-02-01", "--max-file-bytes", "50"]
    )
    assert result.exit_code == 1
    assert "above the limit" in result.output


def test_generate_writes_a_valid_parquet_dataset(tmp_path: Path) -> None:
    out = tmp_path / "world"
    args = [
        "generate",
        str(out),
        "--size",
        "tiny",
        "--format",
        "parquet",
        "--end-date",
        "2025-06-30",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    ds = Dataset.read(out)
    assert ds.orders["date"].max() == pd.Timestamp("2025-06-30")
    assert {p.suffix for p in out.iterdir()} == {".parquet"}


def test_generate_will_not_clobber_other_files(tmp_path: Path) -> None:
    (tmp_path / "thesis.docx").write_text("years of work")
    result = runner.invoke(app, ["generate", str(tmp_path), "--size", "tiny"])
    assert result.exit_code == 1
    assert (tmp_path / "thesis.docx").read_text() == "years of work"


def test_unknown_choices_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--sector", "mining"])
    assert result.exit_code == 2
    assert "retail" in result.output
    for command in (["demo", "--out", str(tmp_path)], ["run", str(tmp_path)]):
        result = runner.invoke(app, [*command, "--lang", "fr"])
        assert result.exit_code == 2 and "zh-CN" in result.output
    assert not (tmp_path / "dataset").exists()  # refused before any work


@pytest.mark.slow
def test_demo_generates_validates_and_summarizes(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--size", "tiny", "--seed", "2"])
    assert result.exit_code == 0, result.output
    for heading in (
        "Customers per tier",
        "SKU demand classes",
        "Stockout history",
        "dataset accepted",
        "Paired differences against ERP min/max + safety stock",
        "Care list: customers most likely hit",
        "Time per stage",
    ):
        assert heading in result.output
    for name in ("report.html", "plan.csv", "plan.json", "care_list.csv"):
        assert (tmp_path / "report" / name).stat().st_size > 100
    ds = Dataset.read(tmp_path / "dataset")
    assert len(ds.skus) == 60 and ds.customers is not None and len(ds.customers) == 400


def test_forecast_writes_files_other_tools_can_rely_on(tmp_path: Path, generated: Path) -> None:
    data = generated
    out = tmp_path / "fc"
    args = [
        "forecast",
        str(data),
        "--out",
        str(out),
        "--horizon",
        "10",
        "--plot",
        "SKU000",
        "--engine",
        "inline",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    forecasts = pd.read_parquet(out / "forecasts.parquet")
    protection = pd.read_parquet(out / "protection.parquet")
    assert list(forecasts.columns) == ["sku_id", "segment", "date", "mean"]
    for column in ("sku_id", "segment", "days", "mean", "q50", "q80", "q90", "q95", "q99", "model"):
        assert column in protection.columns
    assert set(forecasts["segment"]) == {"ALL", "A", "B", "C"}
    assert forecasts["date"].min() == pd.Timestamp("2025-07-01")
    assert forecasts["date"].nunique() == 10
    png = out / "fan_SKU000.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Models chosen" in result.output


def test_forecast_refuses_bad_options_and_bad_data(
    tmp_path: Path, write_dataset: WriteDataset
) -> None:
    folder = write_dataset()
    assert runner.invoke(app, ["forecast", str(folder), "--horizon", "0"]).exit_code == 2
    result = runner.invoke(
        app, ["forecast", str(folder), "--plot", "NOPE", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "NOPE" in result.output
    broken = write_dataset(orders=edit("orders", "O4,2025-01-06,K3,C3,3", "O4,2025-01-06,K3,C3,-3"))
    result = runner.invoke(app, ["forecast", str(broken), "--out", str(tmp_path / "o2")])
    assert result.exit_code == 1 and "dataset rejected" in result.output
    assert not (tmp_path / "o2").exists()


def test_forecast_checks_prophet_options(tmp_path: Path, write_dataset: WriteDataset) -> None:
    folder = write_dataset()
    result = runner.invoke(app, ["forecast", str(folder), "--holidays", "ATLANTIS"])
    assert result.exit_code == 2 and "no holiday calendar" in result.output
    events = tmp_path / "events.csv"
    events.write_text("name,date\nsummer sale,2025-07-01\nbad,July 4th\n")
    result = runner.invoke(app, ["forecast", str(folder), "--events", str(events)])
    assert result.exit_code == 2 and "rows [2]" in result.output


def test_plan_writes_csv_and_json_within_budget(tmp_path: Path, generated: Path) -> None:
    import json

    data = generated
    out = tmp_path / "plan"
    args = [
        "plan",
        str(data),
        "--budget",
        "2000",
        "--out",
        str(out),
        "--frontier",
        "--engine",
        "inline",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = pd.read_csv(out / "plan.csv")
    for column in (
        "sku_id",
        "supplier_id",
        "packs",
        "quantity",
        "unit_cost",
        "line_cost",
        "binding",
    ):
        assert column in lines.columns
    assert lines["line_cost"].sum() <= 2000 + 1e-6
    assert (lines["quantity"] == lines["packs"] * lines["pack_size"]).all()
    doc = json.loads((out / "plan.json").read_text())
    for key in ("objective", "bound", "gap", "status", "seconds"):
        assert key in doc["record"]
    assert doc["record"]["bound"] >= doc["record"]["objective"] - 1e-6
    assumptions = doc["record"]["assumptions"]
    assert "shrunk toward the retail preset" in assumptions["churn_source"]
    assert set(assumptions["churn_per_stockout"]) == {"A", "B", "C"}
    for figure in assumptions["churn_per_stockout"].values():
        assert figure["low"] <= figure["mean"] <= figure["high"]
        assert figure["source"] in ("fitted", "prior", "mixed")
    assert len(doc["lines"]) == len(lines) and "steps" in doc["lines"][0]["reasons"]
    assert sum(d["cost"] for d in doc["suppliers"]) == pytest.approx(lines["line_cost"].sum())
    assert (out / "frontier.png").read_bytes()[:4] == b"\x89PNG"
    assert "Totals per supplier" in result.output


def test_plan_refuses_a_negative_budget(write_dataset: WriteDataset) -> None:
    result = runner.invoke(app, ["plan", str(write_dataset()), "--budget", "-5"])
    assert result.exit_code == 2 and "non-negative" in result.output
    result = runner.invoke(app, ["plan", str(write_dataset()), "--budget", "5", "--churn", "guess"])
    assert result.exit_code == 2 and "fitted" in result.output
    result = runner.invoke(app, ["plan", str(write_dataset()), "--budget", "5", "--sector", "mars"])
    assert result.exit_code == 2 and "retail" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "{ds}", "--budget", "nan"],
        ["plan", "{ds}", "--budget", "5", "--capacity", "-inf"],
        ["run", "{ds}", "--budget", "inf"],
        ["sim-check", "--mean", "nan", "--K", "1", "--h", "1", "--p", "9", "--policy", "base:5"],
    ],
)
def test_numbers_that_are_not_finite_are_refused(
    write_dataset: WriteDataset, args: list[str]
) -> None:
    folder = str(write_dataset())
    result = runner.invoke(app, [a.replace("{ds}", folder) for a in args])
    assert result.exit_code == 2 and "finite number" in result.output
    assert "Traceback" not in result.output


def test_a_scenario_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "shop"
    result = runner.invoke(app, ["simulate", str(example), "--scenario", str(tmp_path)])
    assert result.exit_code == 1 and "cannot read it" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_a_stopped_run_exits_non_zero_and_keeps_the_previous_outputs(tmp_path: Path) -> None:
    """SIGTERM during `replenish run` (a real process): exit 143, outputs as they were."""
    import signal
    import subprocess
    import sys

    example = Path(__file__).resolve().parents[2] / "examples" / "shop"
    out = tmp_path / "run"
    args = [sys.executable, "-m", "cli", "-v", "run", str(example), "--out", str(out),
            "--days", "30", "--replications", "3", "--engine", "inline"]  # fmt: skip
    first = subprocess.run(args, capture_output=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until it is at work, not for a time
        if b"validating" in line:
            break
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    assert b"stopped by SIGTERM" in rest
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging left behind
