"""`replenish simulate` as a planner uses it: a scenario file in, a comparison and charts out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()

SCENARIO = """
[run]
days = 40
replications = 3
seed = 1
reference = "min/max"

[[policies]]
name = "min/max"
kind = "min_max"

[[policies]]
name = "churn-aware"
kind = "churn_aware"

[[scenarios]]
name = "baseline"

[[scenarios]]
name = "demand +30%"
demand_factor = 1.3
"""


def test_simulate_prints_the_comparison_and_writes_tables_and_charts(
    tmp_path: Path, generated: Path
) -> None:
    scenario = tmp_path / "what-if.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "sim"
    args = ["simulate", str(generated), "--scenario", str(scenario), "--out", str(out)]
    result = runner.invoke(app, [*args, "--engine", "inline", "--churn", "preset"])
    assert result.exit_code == 0, result.output
    for text in ("baseline", "demand +30%", "Paired differences against min/max", "Care list"):
        assert text in result.output
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["policy"]) == {"min/max", "churn-aware"}
    assert set(summary["scenario"]) == {"baseline", "demand +30%"}
    assert (summary["n"] == 3).all()
    paired = pd.read_csv(out / "paired.csv")
    assert set(paired["policy"]) == {"churn-aware"}
    care = pd.read_csv(out / "care_list.csv")
    assert (care["stockouts_met"] > 0).all()
    cells = pd.read_csv(out / "cells.csv")
    assert len(cells) == 2 * 2 * 3 * 4
    for chart in ("active_customers.png", "profit_vs_fill_rate.png", "customers_lost.png"):
        assert (out / chart).read_bytes()[:4] == b"\x89PNG"
    assert not list(out.glob(".*"))  # no temporary files left behind


def test_simulate_refuses_a_bad_scenario_and_writes_nothing(
    tmp_path: Path, generated: Path
) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text(SCENARIO.replace("replications = 3", "replications = -3"), encoding="utf-8")
    out = tmp_path / "sim"
    args = ["simulate", str(generated), "--scenario", str(scenario), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "scenario rejected" in result.output and "run.replications" in result.output
    assert not out.exists()


def test_simulate_refuses_bad_options_and_missing_files(tmp_path: Path, generated: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    base = ["simulate", str(generated), "--scenario", str(scenario)]
    bad_sector = runner.invoke(app, [*base, "--sector", "moon"])
    assert bad_sector.exit_code == 2 and "--sector" in bad_sector.output
    missing = runner.invoke(app, ["simulate", str(generated), "--scenario", str(tmp_path / "x")])
    assert missing.exit_code == 1 and "cannot read" in missing.output
    no_data = runner.invoke(app, ["simulate", str(tmp_path / "none"), "--scenario", str(scenario)])
    assert no_data.exit_code == 1
