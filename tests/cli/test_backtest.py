"""`replenish backtest` as a planner uses it on the example shop."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"


def test_backtest_on_the_example_shop_on_a_local_dask_cluster(tmp_path: Path) -> None:
    out = tmp_path / "bt"
    args = ["backtest", str(SHOP), "--weeks", "2", "--engine", "local", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "on net value" in " ".join(result.output.split())  # a verdict per baseline
    assert "ERP min/max + safety stock" in result.output
    periods = pd.read_csv(out / "backtest.csv")
    assert len(periods) == 2 * 5  # two reviews, five policies
    summary = json.loads((out / "backtest.json").read_text(encoding="utf-8"))
    assert summary["request"]["weeks"] == 2
    assert {r["policy"] for r in summary["paired"]} == {
        "segment-blind optimizer",
        "ERP min/max + safety stock",
        "base-stock",
        "(s,S)",
    }
    assert (out / "backtest.png").stat().st_size > 0


def test_bad_options_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "bt"
    cases = [
        (["--budget", "-5"], "--budget"),
        (["--budget-share", "1.5"], "--budget-share"),
        (["--start", "last week"], "--start"),
        (["--engine", "spark"], "--engine"),
        (["--start", "2026-05-10"], "days of history before its first review"),
        (["--start", "2026-10-20", "--weeks", "4"], "past the last order day"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["backtest", str(SHOP), "--out", str(out), *extra])
        assert result.exit_code != 0, extra
        assert message in " ".join(result.output.split()), (extra, result.output)
    assert not out.exists()
