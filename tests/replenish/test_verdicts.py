"""Saying plainly whether the plan beat an alternative: one rule for every page."""

from __future__ import annotations

import numpy as np
import pandas as pd

from replenish.report import _first_screen, simulated_verdicts, words
from replenish.verdicts import Verdict
from simulations.experiments import ExperimentResult
from simulations.metrics import ALL, METRICS


def test_a_verdict_reads_its_interval() -> None:
    assert Verdict("ERP", 10.0, 2.0, 18.0).outcome == "beat"
    assert Verdict("ERP", -10.0, -18.0, -2.0).outcome == "worse"
    tie = Verdict("blind", 3.0, -1.0, 7.0)
    assert tie.outcome == "tie"
    assert tie.sentence() == (
        "The plan and blind cannot be told apart on net value: +3 (95% CI -1 to +7)."
    )
    assert "did worse than ERP" in Verdict("ERP", -10.0, -18.0, -2.0).sentence()


def _experiment(net: dict[str, list[float]]) -> ExperimentResult:
    rows = []
    for policy, values in net.items():
        for r, v in enumerate(values):
            row: dict[str, object] = dict.fromkeys(METRICS, 0.0)
            row.update(scenario="next 90 days", policy=policy, replication=r, segment=ALL)
            row["net_value"] = v
            rows.append(row)
    empty = pd.DataFrame()
    return ExperimentResult(
        policies=tuple(net), scenarios=("next 90 days",), reference="ERP",
        cells=pd.DataFrame(rows), summary=empty, paired=empty, active=empty, care={},
        matched=empty,
    )  # fmt: skip


def test_the_first_screen_says_where_the_plan_does_not_win() -> None:
    """Paired by replication: always 50 above ERP is a win however spread the runs are;
    the segment-blind policy, now above, now below, is a tie, and the page says so
    first."""
    base = np.array([1000.0, 3000.0, 2000.0, 5000.0, 4000.0])
    sim = _experiment(
        {
            "ERP": list(base - 50),
            "segment-blind": list(base + np.array([30, -40, 20, -10, 5])),
            "churn-aware": list(base),
        }
    )
    verdicts = {v.against: v for v in simulated_verdicts(sim)}
    assert set(verdicts) == {"ERP", "segment-blind"}
    assert verdicts["ERP"].outcome == "beat" and verdicts["ERP"].lead == 50
    assert verdicts["segment-blind"].outcome == "tie"
    page = _first_screen(sim, words("en"))
    assert page.index("does not beat segment-blind") < page.index("The plan beat ERP")
    assert 'class="verdict warn"' in page
    everyone = _experiment({"ERP": list(base - 50), "churn-aware": list(base)})
    assert "beat every alternative" in _first_screen(everyone, words("en"))
    assert _first_screen(None, words("en")) == ""
    # In Chinese: the same verdicts, the policy names translated too.
    chinese = _first_screen(sim, words("zh_CN"))
    assert (
        "未能胜过：不分客户等级" in chinese and "本计划与不分客户等级在净价值上无法区分" in chinese
    )
