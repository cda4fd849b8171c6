"""`replenish simulate`: what each replenishment policy costs in customers, as tables and charts.

Registered on the main `replenish` app by `cli.main`; the demo calls
`compare_policies` on its generated world.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.markup import escape

from cli.terminal import console, fmt_table, load_or_exit, num, pct, progress_bar, stage
from forecast.engine import forecast_dataset
from replenish.simulating import write_experiment
from runtime.parallel import ENGINES
from simulations.engine import DemandEstimate
from simulations.estimate import from_dataset, planning_demand
from simulations.experiments import ExperimentResult, run_experiment
from simulations.metrics import ALL, lookup
from simulations.model import Behaviour, SimWorld
from simulations.scenario_file import Experiment, ScenarioError, load
from simulations.world import PRESETS

log = logging.getLogger("replenish")


def _plus_minus(mean: float, low: float, high: float, fmt: str) -> str:
    if not np.isfinite(low):
        return f"{mean:{fmt}}"
    return f"{mean:{fmt}}±{(high - low) / 2:{fmt}}"


def print_experiment(result: ExperimentResult, care_rows: int = 10) -> None:
    """Per scenario: the policies side by side (95% CIs), then differences to the reference."""
    stats = lookup(result.summary)
    segments = [str(s) for s in dict.fromkeys(result.summary["segment"]) if s != ALL]
    for scenario in result.scenarios:
        rows = []
        for policy in result.policies:
            row = {
                "policy": policy,
                "net value": _plus_minus(*stats[(scenario, policy, ALL, "net_value")], ",.0f"),
                "profit": _plus_minus(*stats[(scenario, policy, ALL, "profit")], ",.0f"),
                "lost": _plus_minus(*stats[(scenario, policy, ALL, "customers_lost")], ",.1f"),
                "back": f"{stats[(scenario, policy, ALL, 'customers_regained')][0]:,.1f}",
                "stock": f"{stats[(scenario, policy, ALL, 'inventory_value')][0]:,.0f}",
            }
            for seg in segments:
                row[f"fill {seg}"] = pct(stats[(scenario, policy, seg, "fill_rate")][0])
            rows.append(row)
        table = pd.DataFrame(rows).set_index("policy")
        title = (
            f"{scenario}: net value (profit - CLV lost), profit, customers lost (± 95% CI), "
            "regained, stock value, fill rates"
        )
        console.print(fmt_table(title, table, {}))
    diffs = result.paired[
        (result.paired["segment"] == ALL)
        & result.paired["metric"].isin(["net_value", "profit", "customers_lost", "clv_active_end"])
    ]
    if not diffs.empty:
        cells: dict[str, dict[str, str]] = {}
        for r in diffs.to_dict(orient="records"):
            mark = " ✓" if r["better"] else ""
            fmt = ",.1f" if r["metric"] == "customers_lost" else ",.0f"
            half = (float(r["ci_high"]) - float(r["ci_low"])) / 2
            label = str(r["metric"]).replace("_", " ")
            cells.setdefault(f"{r['scenario']} / {r['policy']}", {})[label] = (
                f"{float(r['diff']):+{fmt}}±{half:{fmt}}{mark}"
            )
        table = pd.DataFrame.from_dict(cells, orient="index")
        table.index.name = "scenario / policy"
        console.print(
            fmt_table(
                f"Paired differences against {result.reference} (95% CI; ✓ = better)", table, {}
            )
        )
    if not result.matched.empty:
        for m in result.matched.to_dict(orient="records"):
            cap = m["investment"]
            how = "no cap" if cap is None or cap != cap else f"a cap of {cap:,.0f}"
            console.print(
                f"{escape(str(m['policy']))}: {how} and holding cost x{m['holding_factor']:.2f} "
                f"hold {m['pilot_inventory']:,.0f} of stock (target {m['target_inventory']:,.0f})"
            )
    first = result.scenarios[0]
    best = max(result.policies, key=lambda p: stats[(first, p, ALL, "net_value")][0])
    care = result.care[(first, best)].head(care_rows)
    if not care.empty:
        console.print(
            fmt_table(
                f"Care list under {best} ({first}): customers to follow up",
                care.set_index("customer_id"),
                {"stockouts_met": lambda v: f"{v:.1f}", "churned_share": pct},
            )
        )


def compare_policies(
    world: SimWorld,
    behaviour: Behaviour,
    experiment: Experiment,
    out: Path,
    engine: str = "auto",
    planning: DemandEstimate | None = None,
) -> ExperimentResult:
    """Run `experiment` with a progress bar, print the comparison, write tables and charts.
    `planning`: the demand the policies plan with (None: the world's own rates)."""
    cells = len(experiment.scenarios) * len(experiment.policies) * experiment.replications
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task(
            f"simulating {world.n_customers:,} customers x {world.n_skus:,} SKUs", total=cells
        )
        result = run_experiment(
            world,
            behaviour,
            experiment,
            engine=engine,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            planning=planning,
        )
    log.info("simulated %d runs in %.1f s", cells, time.perf_counter() - started)
    print_experiment(result)
    with progress_bar() as progress, stage(progress, "writing tables and charts"):
        written = write_experiment(result, out)
    console.print(f"wrote {', '.join(p.name for p in written)} to {out}")
    return result


def simulate_cmd(
    folder: Annotated[Path, typer.Argument(help="Dataset folder whose business is simulated.")],
    scenario: Annotated[
        Path, typer.Option(help="Scenario file (TOML): policies, what-ifs, replications.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for the tables and charts.")] = Path(
        "out/simulation"
    ),
    sector: Annotated[
        str, typer.Option(help=f"Sector preset for churn and returns: {', '.join(PRESETS)}.")
    ] = "retail",
    churn: Annotated[
        str,
        typer.Option(help="Churn per stockout: 'fitted' on the history (logit) or 'preset'."),
    ] = "fitted",
    engine: Annotated[
        str, typer.Option(help="inline, local (Dask), dask (by address) or auto.")
    ] = "auto",
) -> None:
    """Simulate each policy of a scenario file on this business; compare them with 95% CIs."""
    for value, choices, option in (
        (sector, list(PRESETS), "--sector"),
        (churn, ["fitted", "preset"], "--churn"),
        (engine, ENGINES, "--engine"),
    ):
        if value not in choices:
            raise typer.BadParameter(
                f"{value!r} is not one of {', '.join(choices)}", param_hint=option
            )
    try:
        experiment = load(scenario)
    except ScenarioError as exc:
        console.print(f"[red]scenario rejected[/]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=1) from None
    dataset = load_or_exit(folder)
    with progress_bar() as progress, stage(progress, "estimating customers and stock"):
        try:
            world, behaviour, source = from_dataset(dataset, sector=sector, churn=churn)
        except ValueError as exc:
            console.print(f"[red]cannot simulate this dataset[/]: {escape(str(exc))}")
            raise typer.Exit(code=1) from None
    active = int(world.active.sum())
    rates = ", ".join(
        f"{s} {100 * q:.1f}%"
        for s, q in zip(world.segments, behaviour.churn_per_stockout, strict=True)
    )
    console.print(
        f"{num(active)} active customers of {num(world.n_customers)}, {num(world.n_skus)} SKUs; "
        f"churn per stockout {rates} ({escape(source)})"
    )
    with progress_bar() as progress, stage(progress, "forecasting the demand policies plan with"):
        forecast = forecast_dataset(dataset, engine=engine)
        planning = planning_demand(world, forecast)
    try:
        compare_policies(world, behaviour, experiment, out, engine, planning)
    except ScenarioError as exc:
        console.print(f"[red]scenario rejected[/]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=1) from None
