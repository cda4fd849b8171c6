"""The main job end to end on a tiny generated world: outputs exist, parse, agree."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from cli.main import app
from contract import Dataset
from replenish.pipeline import Outcome, RunSettings, run, write
from replenish.report import SECTIONS, write_report

runner = CliRunner()
FAST = RunSettings(days=60, replications=6, engine="inline")


@pytest.mark.slow
def test_run_writes_a_plan_a_care_list_and_a_report(
    tmp_path: Path, generated: Path, generated_dataset: Dataset
) -> None:
    dataset = generated_dataset
    out = tmp_path / "run"
    args = ["run", str(generated), "--out", str(out), "--days", "45", "--replications", "4"]
    result = runner.invoke(app, [*args, "--engine", "inline", "--budget", "3000"])
    assert result.exit_code == 0, result.output
    assert "Time per stage" in result.output and "report.html" in result.output

    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    lines = pd.read_csv(out / "plan.csv")
    assert plan["record"]["total_cost"] <= 3000 + 1e-6
    assert lines["line_cost"].sum() == pytest.approx(plan["record"]["total_cost"])
    assert set(lines["sku_id"]) <= set(dataset.skus["sku_id"])

    care = pd.read_csv(out / "care_list.csv")
    assert len(care) > 0 and care["value_at_risk"].is_monotonic_decreasing
    assert dataset.customers is not None
    assert set(care["customer_id"]) <= set(dataset.customers["customer_id"])
    orders = dataset.orders
    recent = orders[orders["date"] > orders["date"].max() - pd.Timedelta(days=90)]
    bought = set(zip(recent["customer_id"], recent["sku_id"], strict=True))
    for row in care.itertuples():
        assert any((row.customer_id, sku) in bought for sku in str(row.skus).split(";"))

    page = (out / "report.html").read_text(encoding="utf-8")
    for key, title in SECTIONS:
        assert f'<section id="{key}">' in page and title in page
    # Before anything else: whether the plan beat each simulated alternative.
    assert page.index('class="verdict') < page.index('class="headline"')
    assert page.count("<li>The plan") == 3  # ERP, base-stock, segment-blind
    # Tables for people: no pandas index rows, no raw column names, no 0.96 fill rates.
    assert "<th></th>" not in page and "supplier_id" not in page and "fill_A" not in page
    assert page.count('src="data:image/png;base64,') >= 5  # every chart is embedded
    assert 'src="http' not in page and "<script" not in page
    assert {p.name for p in (out / "charts").iterdir()} >= {"frontier.png", "customers_lost.png"}


def test_churn_aware_is_not_worse_than_segment_blind_or_the_erp_rule(outcome: Outcome) -> None:
    """Paired on the same customers, at 95% confidence: no more customers lost than the
    segment-blind optimizer, and no less net value (profit - CLV lost) than ERP min/max
    with safety stock, the objective both are judged on."""
    sim = outcome.simulation
    assert sim is not None
    everyone = sim.cells[sim.cells["segment"] == "ALL"]

    def paired(metric: str, other: str) -> tuple[float, float]:
        cells = everyone.pivot(index="replication", columns="policy", values=metric)
        diff = (cells["churn-aware"] - cells[other]).to_numpy()
        half = stats.t.ppf(0.975, diff.size - 1) * diff.std(ddof=1) / np.sqrt(diff.size)
        return float(diff.mean() - half), float(diff.mean() + half)

    assert paired("customers_lost", "segment-blind")[0] <= 0.0
    assert paired("net_value", "ERP min/max + safety stock")[1] >= 0.0


def test_the_plan_is_compared_with_the_alternatives(outcome: Outcome) -> None:
    table = outcome.comparison
    assert list(table.index) == [
        "churn-aware (this plan)",
        "segment-blind",
        "ERP min/max + safety stock",
        "base-stock",
    ]
    budget = outcome.settings.budget
    assert budget is not None
    cost = table["cost"].to_dict()
    assert cost["churn-aware (this plan)"] <= budget + 1e-6
    assert cost["segment-blind"] <= budget + 1e-6
    # The plan weighs stockouts by what they cost in customers: it loses the least value.
    assert table["value_lost"].idxmin() == "churn-aware (this plan)"
    # Judged by one rule (the plan's economics, holding and order costs included), the
    # plan's value added is its objective, and no alternative within the budget beats it
    # by more than its proven gap.
    solution = outcome.plan.solution
    added = table["value_added"].to_dict()
    assert added["churn-aware (this plan)"] == pytest.approx(solution.objective, rel=1e-9)
    slack = solution.bound - solution.objective + 1e-6
    for name, value in added.items():
        assert value <= solution.objective + slack, name


def test_anonymous_sales_still_get_a_plan(tmp_path: Path, generated_dataset: Dataset) -> None:
    dataset = generated_dataset
    anonymous = replace(
        dataset,
        customers=None,
        orders=dataset.orders.assign(
            customer_id=pd.Series(pd.NA, index=dataset.orders.index, dtype="string")
        ),
        inventory=None,
    )
    result = run(anonymous, FAST)
    assert result.simulation is None and result.care.empty
    assert len(result.plan.plan.lines) > 0
    assert any("anonymous" in n for n in result.notes)
    assert any("No inventory table" in n for n in result.notes)
    out = write(result, tmp_path / "anon", write_report)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "No customer-level simulation" in page and "Anonymous sales" in page


def test_the_report_speaks_simplified_chinese(tmp_path: Path, outcome: Outcome) -> None:
    from functools import partial

    from replenish.report import words

    out = write(outcome, tmp_path / "zh", partial(write_report, language="zh_CN"))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<html lang='zh-CN'>" in page
    for _key, title in SECTIONS:  # every section's title, in Chinese
        assert f">{words('zh_CN')(title)}</h2>" in page and f">{title}</h2>" not in page
    assert "本计划与其他方案对比" in page and "按供应商汇总" in page
    headers = re.findall(r"<th>([^<]*)</th>", page)
    english = [h for h in headers if re.fullmatch(r"[A-Za-z ()%,.-]+", h) and h not in ("SKU",)]
    assert english == [], f"headers left in English: {english}"


def test_an_interrupted_run_leaves_the_previous_outputs(tmp_path: Path, outcome: Outcome) -> None:
    out = tmp_path / "run"
    write(outcome, out, write_report)
    before = sorted(p.name for p in out.iterdir())
    first = (out / "report.html").read_bytes()

    def broken(result: Outcome, folder: Path) -> Path:
        (folder / "report.html").write_text("half", encoding="utf-8")
        raise RuntimeError("killed while writing the report")

    with pytest.raises(RuntimeError):
        write(outcome, out, broken)
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "report.html").read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging left behind


def test_run_refuses_bad_options(generated: Path) -> None:
    for args in (["--budget", "-5"], ["--replications", "1"], ["--sector", "moon"]):
        result = runner.invoke(app, ["run", str(generated), *args])
        assert result.exit_code == 2, args


@pytest.mark.slow
def test_the_example_folder_runs(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "shop"
    args = ["run", str(example), "--out", str(tmp_path / "shop"), "--days", "30"]
    result = runner.invoke(app, [*args, "--replications", "3", "--engine", "inline"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "shop" / "report.html").exists()
    assert not list(example.parent.glob(".*lock"))  # reading leaves the folder as it was
