"""Scenario files: a good one becomes an Experiment; bad ones are refused, naming the place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulations.model import Behaviour
from simulations.policies import MinMaxPolicy, OptimizerPolicy
from simulations.scenario_file import DEFAULT, MAX_FILE_BYTES, ScenarioError, load, parse

GOOD = """
[run]
days = 90
replications = 4
seed = 3
reference = "erp"

[behaviour]
return_probability = 0.5
reactions = { A = [0.5, 0.2, 0.2, 0.1] }
churn_per_stockout = { C = 0.2 }

[[policies]]
name = "erp"
kind = "min_max"
max_factor = 3.0

[[policies]]
name = "ours"
kind = "churn_aware"
investment = 5000

[[scenarios]]
name = "base"

[[scenarios]]
name = "shock"
lead_time_factor = 2.0
compensation = true
budget_factor = 0.8
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_becomes_an_experiment(tmp_path: Path) -> None:
    exp = load(_write(tmp_path, GOOD))
    assert [p.name for p in exp.policies] == ["erp", "ours"]
    assert exp.policies[0] == MinMaxPolicy(name="erp", max_factor=3.0)
    assert exp.policies[1] == OptimizerPolicy(name="ours", churn_aware=True, investment=5000.0)
    assert [name for name, _ in exp.scenarios] == ["base", "shock"]
    shock = exp.scenarios[1][1]
    assert (shock.days, shock.lead_time_factor, shock.compensation, shock.budget_factor) == (
        90, 2.0, True, 0.8,
    )  # fmt: skip
    assert (exp.replications, exp.seed, exp.reference) == (4, 3, "erp")
    base = Behaviour(
        reactions=np.tile([0.15, 0.45, 0.31, 0.09], (3, 1)),
        churn_per_stockout=np.array([0.01, 0.05, 0.1]),
        return_probability=np.full(3, 0.35),
        base_churn_daily=np.zeros(3),
    )
    applied = exp.apply(base, ("A", "B", "C"))
    assert applied.reactions[0].tolist() == [0.5, 0.2, 0.2, 0.1]
    assert applied.reactions[1].tolist() == [0.15, 0.45, 0.31, 0.09]
    assert applied.churn_per_stockout.tolist() == [0.01, 0.05, 0.2]
    assert applied.return_probability.tolist() == [0.5, 0.5, 0.5]


def test_the_default_comparison_is_valid() -> None:
    exp = parse(DEFAULT)
    assert len(exp.policies) == 5 and exp.match_inventory == "min/max"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[run]\ndays = 10\n", "policies: Field required"),
        (GOOD.replace('kind = "min_max"', 'kind = "magic"'), "policies[0].kind"),
        (GOOD.replace("days = 90", 'days = "ninety"'), "run.days"),
        (GOOD.replace("days = 90", "days = -5"), "run.days"),
        (GOOD.replace("replications = 4", "replications = 0"), "run.replications"),
        (GOOD.replace("seed = 3", "seed = 3\ncolour = 1"), "run.colour: Extra inputs"),
        (GOOD.replace('name = "ours"', 'name = "erp"'), "policies named more than once: erp"),
        (GOOD.replace('name = "shock"', 'name = "base"'), "scenarios named more than once"),
        (GOOD.replace('reference = "erp"', 'reference = "nobody"'), "run.reference 'nobody'"),
        (GOOD.replace("max_factor = 3.0", "service_level = 0.9"), "service_level do(es) not apply"),
        (GOOD.replace("investment = 5000", "investment = -1"), "policies[1].investment"),
        (
            GOOD.replace("lead_time_factor = 2.0", "lead_time_factor = 0"),
            "scenarios[1].lead_time_factor",
        ),
        (
            GOOD.replace("compensation = true", 'compensation = "maybe"'),
            "scenarios[1].compensation",
        ),
        ("this is not toml ===", "not valid TOML"),
    ],
)
def test_bad_files_are_refused_with_the_place(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load(_write(tmp_path, text))
    assert expected in str(err.value)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("days = 90", "days = 0").replace("replications = 4", "replications = -1")
    with pytest.raises(ScenarioError) as err:
        load(_write(tmp_path, text))
    assert "2 problem(s)" in str(err.value)
    assert "run.days" in str(err.value) and "run.replications" in str(err.value)


def test_behaviour_overrides_are_checked_against_the_world(tmp_path: Path) -> None:
    base = Behaviour(
        reactions=np.tile([0.25, 0.25, 0.25, 0.25], (3, 1)),
        churn_per_stockout=np.zeros(3),
        return_probability=np.zeros(3),
        base_churn_daily=np.zeros(3),
    )
    unknown = load(_write(tmp_path, GOOD.replace("{ C = 0.2 }", "{ VIP = 0.2 }")))
    with pytest.raises(ScenarioError, match="unknown segment"):
        unknown.apply(base, ("A", "B", "C"))
    not_one = load(_write(tmp_path, GOOD.replace("[0.5, 0.2, 0.2, 0.1]", "[0.5, 0.5, 0.5, 0.5]")))
    with pytest.raises(ScenarioError, match="sum to 1"):
        not_one.apply(base, ("A", "B", "C"))


def test_missing_huge_and_binary_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load(tmp_path / "nope.toml")
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_FILE_BYTES, encoding="utf-8")
    with pytest.raises(ScenarioError, match="allowed"):
        load(big)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError, match="UTF-8"):
        load(binary)


def test_the_example_scenario_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "what-if.toml"
    exp = load(example)
    assert len(exp.policies) == 4 and len(exp.scenarios) == 4
    assert exp.reference == "min/max" and exp.match_inventory == "min/max"
