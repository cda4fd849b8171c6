"""`replenish backtest`: what the plan and the baselines would have done on your own past.

Registered on the main `replenish` app by `cli.main`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.terminal import (
    check_choice,
    console,
    err_console,
    finite,
    load_or_exit,
    parse_day,
    progress_bar,
)
from replenish.backtest_report import verdicts, write_backtest
from replenish.backtesting import PRODUCT, BacktestRequest, BacktestResult, backtest
from replenish.planning import DEFAULT_BUDGET_SHARE
from runtime.parallel import ENGINES
from simulations.world import PRESETS


def headline_table(result: BacktestResult) -> Table:
    """Per policy: net value with its 95% CI, fill rate, customers expected lost, stock
    value, spend, and the paired difference in net value to the plan."""
    s = result.summary.set_index(["policy", "metric"])
    paired = result.paired[result.paired["metric"] == "net_value"].set_index("policy")
    table = Table(title="Each policy on your history (95% CI over review periods)")
    for column in ("policy", "net value", "fill rate", "customers lost", "avg stock value",
                   "spend", "net value minus the plan"):  # fmt: skip
        table.add_column(column, justify="left" if column == "policy" else "right")
    for policy in result.request.policies:

        def cell(metric: str, fmt: str, p: str = policy) -> str:
            value, low, high = s.loc[(p, metric), ["value", "low", "high"]]
            return f"{value:{fmt}} ({low:{fmt}} to {high:{fmt}})"

        diff = ""
        if policy != PRODUCT:
            r = paired.loc[policy]
            diff = f"{r['minus_replenish']:+,.0f} ({r['low']:+,.0f} to {r['high']:+,.0f})"
        table.add_row(
            escape(policy), cell("net_value", ",.0f"), cell("fill_rate", ".1%"),
            cell("customers_lost", ",.1f"), f"{s.loc[(policy, 'stock_value'), 'value']:,.0f}",
            f"{s.loc[(policy, 'purchase_spend'), 'value']:,.0f}", diff,
        )  # fmt: skip
    return table


def backtest_cmd(
    folder: Annotated[Path, typer.Argument(help="Dataset folder with the history to replay.")],
    start: Annotated[
        str | None,
        typer.Option(help="First review day, YYYY-MM-DD (default: WEEKS before the end)."),
    ] = None,
    weeks: Annotated[int, typer.Option(help="Weeks to replay.", min=1)] = 8,
    review_days: Annotated[int, typer.Option(help="Days between reviews.", min=1, max=28)] = 7,
    budget: Annotated[
        float | None,
        typer.Option(help="Purchase budget per review (currency).", callback=finite),
    ] = None,
    budget_share: Annotated[
        float,
        typer.Option(
            help="Without --budget: this share of what an unlimited plan buys then.",
            callback=finite,
        ),
    ] = DEFAULT_BUDGET_SHARE,
    churn: Annotated[
        str, typer.Option(help="Churn per stockout: 'fitted' at each review, or 'preset'.")
    ] = "fitted",
    sector: Annotated[str, typer.Option(help="Sector preset: the churn prior.")] = "retail",
    engine: Annotated[
        str, typer.Option(help="Where the reviews' forecasts run: inline, local, dask, auto.")
    ] = "auto",
    out: Annotated[Path, typer.Option(help="Folder for backtest.csv/.json/.png/.html.")] = Path(
        "out/backtest"
    ),
) -> None:
    """Replay the history: at each review the plan and the baselines order on what was
    known that day, the recorded demand that followed is served from their stock."""
    if budget is not None and budget < 0:
        raise typer.BadParameter("must be a non-negative amount", param_hint="--budget")
    if not 0 < budget_share <= 1:
        raise typer.BadParameter("must lie in (0, 1]", param_hint="--budget-share")
    check_choice(churn, ["fitted", "preset"], "--churn")
    check_choice(engine, ENGINES, "--engine")
    check_choice(sector, list(PRESETS), "--sector")
    request = BacktestRequest(
        start=parse_day(start, "--start"), weeks=weeks, review_days=review_days, budget=budget,
        budget_share=budget_share, churn=churn, sector=sector,  # type: ignore[arg-type]
    )  # fmt: skip
    dataset = load_or_exit(folder)
    try:
        with progress_bar() as progress:
            task = progress.add_task("forecasting and replaying the reviews", total=None)
            result = backtest(
                dataset, request, engine=engine,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )  # fmt: skip
    except ValueError as exc:
        err_console.print(f"[red]error[/]: {escape(str(exc))}")
        raise typer.Exit(1) from exc
    write_backtest(result, out)
    console.print(headline_table(result))
    for line in verdicts(result):
        console.print(escape(line))
    console.print(f"wrote backtest.csv, backtest.json, backtest.png and backtest.html to {out}")
