"""Headline: the churn-aware policy against strong baselines in the simulator.

On the demo world (`replenish demo`'s default: small retail world, seed 0), every policy
is simulated over the same replications (common random numbers) and compared pair by
pair with 95% CIs. The baselines are set for the same 95% service target: ERP min/max
with 1.645 sd of safety stock, base-stock at the 95% quantile, (s,S) with 1.645 sd and
an EOQ; and the segment-blind optimizer. Equal average inventory investment is reached
both ways, every tuning on pilot runs no evaluated replication shares
(`simulations.experiments.PILOT_REPLICATION`):

- the optimizer policies are tuned (investment cap or holding-cost factor) to hold the
  ERP policy's average stock value, as far as they will go;
- "ERP min/max @ equal stock" scales the ERP factors down until it holds what the
  churn-aware policy holds, so that pair is compared at equal stock for certain.

Every policy plans its first levels from the product's forecast of the world's history
(`simulations.estimate.planning_demand`) and replans every 28 days with the engine
refit on that history plus the days it has seen in the run (`ForecastRefresh`);
`--oracle` gives them the world's true rates instead (replans then smooth the demand
seen), as a reference.

The demo world's churn per stockout is calibrated so each tier loses the sector's
annual share; a second run gives every tier the same per-stockout churn (`--flat-churn`),
the case where a stockout costs a high-value customer's CLV, not a cheap one's.

    python -m benchmarks.simulate_headline [--replications 20] [--days 180] [--size small]
        [--engine local] [--oracle]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from rich.console import Console
from rich.table import Table

from forecast.engine import forecast_dataset
from optimize.baselines import SERVICE_LEVEL, SERVICE_Z
from simulations.engine import Conditions, DemandEstimate, run_policy
from simulations.estimate import from_generated, planning_demand
from simulations.experiments import PILOT_REPLICATION, run_experiment
from simulations.metrics import ALL, lookup
from simulations.model import Behaviour, SimWorld
from simulations.policies import MinMaxPolicy
from simulations.scenario_file import parse
from simulations.world import generate, params_for

ERP = "ERP min/max + SS"


def min_max_at(
    world: SimWorld,
    behaviour: Behaviour,
    target: float,
    cond: Conditions,
    seed: int,
    planning: DemandEstimate | None,
) -> tuple[float, float]:
    """Scale f of (min, max) = f x (1, 2), safety stock kept, whose pilot holds `target`
    of stock; and that value."""
    lo, hi = 0.05, 2.0
    best = (1.0, float("inf"))
    for _ in range(12):
        f = 0.5 * (lo + hi)
        policy = MinMaxPolicy(min_factor=f, max_factor=2 * f, z=SERVICE_Z)
        run = run_policy(world, behaviour, policy, cond, seed, PILOT_REPLICATION, planning)
        value = float(run.totals["inventory_value"])
        if abs(value - target) < abs(best[1] - target):
            best = (f, value)
        lo, hi = (lo, f) if value > target else (f, hi)
    return best


def compare(
    world: SimWorld,
    behaviour: Behaviour,
    label: str,
    replications: int,
    days: int,
    engine: str,
    console: Console,
    planning: DemandEstimate | None,
) -> None:
    """Run the policies at matched stock on one world and print both tables."""
    cond = Conditions(days=days)
    seed = 1
    started = time.perf_counter()
    base = {
        "run": {"days": days, "replications": replications, "seed": seed,
                "reference": "churn-aware", "match_inventory": ERP},
        "policies": [
            {"name": ERP, "kind": "min_max", "z": SERVICE_Z},
            {"name": "base-stock", "kind": "base_stock", "service_level": SERVICE_LEVEL},
            {"name": "(s,S)", "kind": "ss", "z": SERVICE_Z},
            {"name": "segment-blind", "kind": "segment_blind"},
            {"name": "churn-aware", "kind": "churn_aware"},
        ],
    }  # fmt: skip
    first = run_experiment(world, behaviour, parse(base), engine=engine, planning=planning)
    aware_stock = lookup(first.summary)[("baseline", "churn-aware", ALL, "inventory_value")][0]
    factor, pilot = min_max_at(world, behaviour, aware_stock, cond, seed, planning)
    equal = {
        **base,
        "policies": [
            *base["policies"],
            {"name": f"{ERP} @ equal stock", "kind": "min_max",
             "min_factor": factor, "max_factor": 2 * factor, "z": SERVICE_Z},
        ],
    }  # fmt: skip
    result = run_experiment(world, behaviour, parse(equal), engine=engine, planning=planning)
    seconds = time.perf_counter() - started

    stats = lookup(result.summary)
    table = Table(title=f"{label}: {replications} replications x {days} days (mean ± 95% CI)")
    columns = ("policy", "avg stock value", "customers lost", "lost A", "net value", "profit")
    for col in columns:
        table.add_column(col, justify="right")
    for policy in result.policies:

        def cell(metric: str, segment: str = ALL, p: str = policy) -> str:
            mean, low, high = stats[("baseline", p, segment, metric)]
            return f"{mean:,.1f} ± {(high - low) / 2:,.1f}"

        table.add_row(
            policy, cell("inventory_value"), cell("customers_lost"),
            cell("customers_lost", "A"), cell("net_value"), cell("profit"),
        )  # fmt: skip
    console.print(table)
    metrics = ["net_value", "customers_lost", "profit", "clv_lost", "inventory_value"]
    pairs = result.paired[(result.paired["segment"] == ALL) & result.paired["metric"].isin(metrics)]
    diff = Table(title=f"{label}: churn-aware minus each policy, paired (95% CI)")
    for col in ("against", "metric", "difference", "95% CI"):
        diff.add_column(col, justify="right")
    for r in pairs.to_dict(orient="records"):
        # `paired` gives policy - reference; the headline reads churn-aware - policy.
        d, low, high = -float(r["diff"]), -float(r["ci_high"]), -float(r["ci_low"])
        ci = f"[{low:+,.1f}, {high:+,.1f}]"
        diff.add_row(str(r["policy"]), str(r["metric"]), f"{d:+,.1f}", ci)
    console.print(diff)
    churn = ", ".join(
        f"{s} {q:.3f}" for s, q in zip(world.segments, behaviour.churn_per_stockout, strict=True)
    )
    console.print(
        f"optimizer tuning:\n{result.matched.to_string(index=False)}\n"
        f"min/max @ equal stock: factors ({factor:.3f}, {2 * factor:.3f}), pilot stock "
        f"{pilot:,.0f} vs churn-aware {aware_stock:,.0f}; churn per stockout {churn}; "
        f"{seconds:.0f} s\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--size", default="small")
    parser.add_argument("--engine", default="local")
    parser.add_argument(
        "--flat-churn", type=float, default=0.05,
        help="Also run with this per-stockout churn in every tier (0 to skip).",
    )  # fmt: skip
    parser.add_argument(
        "--oracle", action="store_true",
        help="Plan from the world's true rates instead of the product's forecast.",
    )  # fmt: skip
    args = parser.parse_args()
    console = Console()
    generated = generate(params_for(args.size, seed=0))
    world, behaviour = from_generated(generated)
    planning = None
    if not args.oracle:
        started = time.perf_counter()
        planning = planning_demand(world, forecast_dataset(generated.dataset))
        truth = world.expected_daily_demand()[0].sum()
        console.print(
            f"forecast of the history in {time.perf_counter() - started:.0f} s: "
            f"{planning.daily_mean.sum():,.1f} units a day against {truth:,.1f} true"
        )
    source = "true rates (oracle)" if args.oracle else "the product's forecast"
    compare(
        world, behaviour,
        f"Demo world ({args.size}, seed 0), churn calibrated per tier, planning on {source}",
        args.replications, args.days, args.engine, console, planning,
    )  # fmt: skip
    if args.flat_churn > 0:
        flat = replace(behaviour, churn_per_stockout=np.full(len(world.segments), args.flat_churn))
        compare(
            world, flat, f"Same world, {args.flat_churn:.0%} churn per stockout in every tier",
            args.replications, args.days, args.engine, console, planning,
        )  # fmt: skip


if __name__ == "__main__":
    main()
