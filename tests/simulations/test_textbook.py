"""The daily engine against the exact long-run cost of (s,S) and base-stock policies.

One SKU, Poisson demand, every shortage backordered, run through `simulations.engine`
itself: its serving, backorders, reviews, lead times and accounts must give the
textbook's cost (Markov chain of the inventory position) within 1%.
"""

from __future__ import annotations

import json

import pytest
from scipy import stats
from typer.testing import CliRunner

from cli.main import app
from simulations.textbook import Costs, Policy, exact_cost, simulate_policy

#: Lead times 0, 1 and 2 periods; (s,S) and base-stock (about 30 s of engine each).
CASES = [
    (10.0, Policy(5, 40), Costs(50.0, 1.0, 9.0), 0),
    (4.0, Policy.parse("base:8"), Costs(0.0, 1.0, 9.0), 1),
    (10.0, Policy(25, 60), Costs(80.0, 1.0, 19.0), 2),
]


@pytest.mark.slow
@pytest.mark.parametrize(("mean", "policy", "costs", "lead"), CASES)
def test_the_engine_agrees_with_the_exact_cost_within_one_percent(
    mean: float, policy: Policy, costs: Costs, lead: int
) -> None:
    exact = exact_cost(mean, policy, costs, lead)
    sim = simulate_policy(mean, policy, costs, lead, periods=20_000, replications=8, seed=1)
    # 8 x 20,000 days put the estimate's standard error at 0.1-0.4% of the cost: a 1%
    # miss is a modelling error, not noise.
    assert sim.cost_se < 0.0045 * exact
    assert sim.cost == pytest.approx(exact, rel=0.01)


def test_base_stock_without_lead_time_is_the_newsvendor_cost() -> None:
    # L = 0, K = 0: every period starts at S, so the cost is E[h (S - D)^+ + p (D - S)^+].
    mean, level, h, p = 6.0, 9, 1.0, 4.0
    d = range(0, 80)
    direct = sum(
        stats.poisson.pmf(x, mean) * (h * max(level - x, 0) + p * max(x - level, 0)) for x in d
    )
    assert exact_cost(mean, Policy.parse(f"base:{level}"), Costs(0.0, h, p)) == pytest.approx(
        direct
    )


def test_exact_cost_is_lowest_near_the_critical_fractile() -> None:
    mean, h, p = 8.0, 1.0, 9.0
    costs = {s: exact_cost(mean, Policy.parse(f"base:{s}"), Costs(0.0, h, p)) for s in range(4, 20)}
    assert min(costs, key=costs.__getitem__) == stats.poisson.ppf(p / (p + h), mean)


def test_bad_policies_and_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="s < S"):
        Policy(10, 10)
    with pytest.raises(ValueError, match="use sS"):
        Policy.parse("minmax:3,4")
    with pytest.raises(ValueError, match="use sS"):
        Policy.parse("sS:ten,40")
    with pytest.raises(ValueError, match="non-negative"):
        Costs(-1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="positive"):
        exact_cost(0.0, Policy(1, 5), Costs(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="lead time"):
        simulate_policy(5.0, Policy(1, 5), Costs(1.0, 1.0, 1.0), lead_time=-1)


@pytest.mark.slow
def test_sim_check_command_prints_json() -> None:
    args = [
        "sim-check",
        "--mean",
        "10",
        "--K",
        "50",
        "--h",
        "1",
        "--p",
        "9",
        "--policy",
        "sS:5,40",
        "--periods",
        "5000",
        "--engine",
        "inline",
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"simulated_cost", "exact_cost", "relative_error", "fill_rate"}
    assert abs(out["relative_error"]) < 0.02 and 0 < out["fill_rate"] <= 1
    bad = CliRunner().invoke(app, [*args[:-5], "--policy", "sS:40,5"])
    assert bad.exit_code == 2 and "s < S" in bad.output
