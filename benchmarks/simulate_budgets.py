"""The churn-aware policy against ERP min/max with safety stock and the segment-blind
optimizer at 25%, 50% and 100% budgets, in the simulator, on worlds with a known churn.

The demo world (`replenish demo`'s default: small retail world, seed 0) with a true
churn per stockout of 4% and of 8% in every tier. Each review's spend is capped at a
share of the mean demand (at cost) its SKUs see over their review period
(`Conditions.budget_factor`: 0.25, 0.5, 1.0): the simulator's form of "a budget of X% of
what replacing demand costs". Lines that do not fit are trimmed best first: the
optimizers by value per currency, ERP min/max by what runs out first. Every policy plans
from the product's forecast of the history and replans every 28 days with the engine
refit on what it observed. Common random numbers; differences paired by replication.

Net value = profit (margin - holding - order costs) - the CLV of customers lost to
stockouts and not back by the end.

    python -m benchmarks.simulate_budgets [--replications 20] [--days 180] [--engine local]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from rich.console import Console
from rich.table import Table

from forecast.engine import forecast_dataset
from optimize.baselines import SERVICE_Z
from simulations.estimate import from_generated, planning_demand
from simulations.experiments import run_experiment
from simulations.metrics import ALL, lookup
from simulations.scenario_file import parse
from simulations.world import generate, params_for

ERP = "ERP min/max + SS"
SHARES = (0.25, 0.5, 1.0)
CHURN = (0.04, 0.08)


Pairs = dict[tuple[str, str, str], tuple[float, float, float]]


def diff(paired: Pairs, scenario: str, policy: str, metric: str, places: int = 0) -> str:
    """Churn-aware minus `policy` on `metric` with its 95% CI (`paired` holds policy -
    churn-aware: mean, low, high)."""
    d, lo, hi = paired[(scenario, policy, metric)]
    return f"{-d:+,.{places}f} [{-hi:+,.{places}f}, {-lo:+,.{places}f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--engine", default="local")
    args = parser.parse_args()
    console = Console(width=200)  # the table's intervals are wide; never cut digits
    generated = generate(params_for("small", seed=0))
    world, behaviour = from_generated(generated)
    started = time.perf_counter()
    planning = planning_demand(world, forecast_dataset(generated.dataset))
    console.print(f"forecast of the history: {time.perf_counter() - started:.0f} s")
    experiment = {
        "run": {"days": args.days, "replications": args.replications, "seed": 1,
                "reference": "churn-aware"},
        "policies": [
            {"name": ERP, "kind": "min_max", "z": SERVICE_Z},
            {"name": "segment-blind", "kind": "segment_blind"},
            {"name": "churn-aware", "kind": "churn_aware"},
        ],
        "scenarios": [{"name": f"{s:.0%}", "budget_factor": s} for s in SHARES],
    }  # fmt: skip
    table = Table(
        title=f"Churn-aware minus each policy, net value, paired (95% CI); "
        f"{args.replications} replications x {args.days} days"
    )
    for col in ("churn", "budget", "churn-aware net value", "vs " + ERP, "vs segment-blind",
                "stock vs segment-blind", "customers lost vs segment-blind"):  # fmt: skip
        table.add_column(col, justify="right")
    verdicts = {"better": 0, "tie": 0, "worse": 0}
    for q in CHURN:
        flat = replace(behaviour, churn_per_stockout=np.full(len(world.segments), q))
        started = time.perf_counter()
        result = run_experiment(world, flat, parse(experiment), engine=args.engine,
                                planning=planning)  # fmt: skip
        seconds = time.perf_counter() - started
        stats = lookup(result.summary)
        paired: Pairs = {
            (str(r.scenario), str(r.policy), str(r.metric)): (
                float(r.diff),  # type: ignore[arg-type]
                float(r.ci_low),  # type: ignore[arg-type]
                float(r.ci_high),  # type: ignore[arg-type]
            )
            for r in result.paired[result.paired["segment"] == ALL].itertuples(index=False)
        }

        for scenario in result.scenarios:
            for policy in (ERP, "segment-blind"):
                _, low, high = paired[(scenario, policy, "net_value")]
                lo, hi = -high, -low
                verdicts["better" if lo > 0 else "worse" if hi < 0 else "tie"] += 1
            mean = stats[(scenario, "churn-aware", ALL, "net_value")][0]
            table.add_row(
                f"{q:.0%}", scenario, f"{mean:,.0f}",
                diff(paired, scenario, ERP, "net_value"),
                diff(paired, scenario, "segment-blind", "net_value"),
                diff(paired, scenario, "segment-blind", "inventory_value"),
                diff(paired, scenario, "segment-blind", "customers_lost", 1),
            )  # fmt: skip
        console.print(f"churn {q:.0%}: {seconds:.0f} s")
    console.print(table)
    console.print(
        f"churn-aware against the two peers over {2 * len(CHURN) * len(SHARES)} cells: "
        f"better {verdicts['better']}, tie {verdicts['tie']}, worse {verdicts['worse']}"
    )


if __name__ == "__main__":
    main()
