"""The `replenish` command: validate datasets, generate worlds, run the demo.

Output for people goes to the terminal through rich (tables, progress bars); logs go to
stderr; exit code 0 means success, 1 a rejected dataset or bad option.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.logging import RichHandler
from rich.markup import escape

from cli.backtest import backtest_cmd
from cli.importing import import_cmd
from cli.service import db_app, demo_serve, serve, users_app
from cli.simulate import print_experiment, simulate_cmd
from cli.terminal import (
    StageBars,
    check_choice,
    console,
    err_console,
    finite,
    fmt_table,
    load_or_exit,
    num,
    parse_day,
    pct,
    print_report,
    progress_bar,
    stage,
)
from contract.dataset import Dataset, check_folder
from contract.sources import Limits
from forecast.engine import DatasetForecast, ForecastConfig, forecast_dataset
from forecast.files import FILES, HISTORY_FILES, write_forecast
from forecast.plots import fan_chart
from optimize.frontier import budget_frontier, plot_frontier
from replenish.overview import Overview, overview
from replenish.pipeline import Outcome, RunSettings
from replenish.pipeline import run as run_pipeline
from replenish.pipeline import write as write_outputs
from replenish.planning import PlannedDataset, PlanRequest, PlanRun, plan_dataset, write_plan
from replenish.report import write_report
from runtime.parallel import ENGINES, ParallelError, set_engine_verbosity
from simulations.footprint import SimulationTooLarge
from simulations.textbook import Costs, Policy, exact_cost, simulate_policy
from simulations.world import PRESETS, SIZES, GeneratedWorld, generate, params_for

app = typer.Typer(
    help="Churn-aware demand forecasting and replenishment.",
    no_args_is_help=True,
    add_completion=False,
)
log = logging.getLogger("replenish")


@app.callback()
def main(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="Log each stage with its time and peak memory; -vv also the parallel "
            "engine's (Dask's) own messages.",
        ),
    ] = 0,
) -> None:
    """Churn-aware demand forecasting and replenishment."""
    levels = {0: logging.WARNING, 1: logging.INFO}
    logging.basicConfig(
        level=levels.get(verbose, logging.DEBUG),
        format="%(message)s",
        datefmt="%H:%M:%S",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )
    # The libraries' own chatter (font caches, compilers, samplers) would drown the
    # stages a person follows; Dask's is for -vv.
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    set_engine_verbosity(verbose >= 2)


#: Libraries whose INFO messages are not the product's stages.
QUIET_LIBRARIES = (
    "cmdstanpy", "prophet", "matplotlib", "pytensor", "pymc", "pymc_marketing", "arviz",
    "numba", "fontTools",
)  # fmt: skip


def entry() -> None:
    """The `replenish` command: `app`, with SIGTERM and SIGINT turned into a clean stop.

    A stopped command exits 128 + the signal's number (143 for SIGTERM, 130 for Ctrl-C)
    after the `finally` blocks on the way out have run: outputs are written to a staging
    place and moved in whole, so the previous ones stay as they were. `serve` installs
    uvicorn's own handlers (a graceful stop) over these.
    """
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    app()


def _stop(signum: int, _frame: object) -> None:
    name = signal.Signals(signum).name
    err_console.print(f"[red]stopped by {name}[/]: the outputs of earlier runs stay as they were")
    raise SystemExit(128 + signum)


@app.command()
def validate(
    folder: Annotated[Path, typer.Argument(help="Dataset folder (CSV or Parquet tables).")],
    today: Annotated[
        str | None,
        typer.Option(help="Day to validate against (YYYY-MM-DD); dates after it are rejected."),
    ] = None,
    max_file_bytes: Annotated[
        int | None, typer.Option(help="Refuse any table file larger than this many bytes.")
    ] = None,
) -> None:
    """Check a dataset folder against the data contract; exit 1 if it is rejected."""
    day = parse_day(today, "--today")
    limits = Limits(max_file_bytes=max_file_bytes) if max_file_bytes else Limits.from_env()
    with progress_bar() as progress, stage(progress, f"validating {folder}"):
        report, _ = check_folder(folder, day, limits)
    print_report(report)
    if not report.ok:
        raise typer.Exit(code=1)


def _generate_with_progress(size: str, sector: str, seed: int, end: date) -> GeneratedWorld:
    params = params_for(size, sector=sector, seed=seed, end_date=end)
    with progress_bar() as progress:
        task = progress.add_task(
            f"generating {params.n_skus:,} SKUs x {params.n_customers:,} customers",
            total=params.days,
        )
        started = time.perf_counter()
        world = generate(params, lambda done, total: progress.update(task, completed=done))
    log.info(
        "generated %s order lines in %.1f s",
        f"{len(world.dataset.orders):,}",
        time.perf_counter() - started,
    )
    return world


SizeOption = Annotated[str, typer.Option(help=f"GeneratedWorld size: {', '.join(SIZES)}.")]
SectorOption = Annotated[str, typer.Option(help=f"Sector preset: {', '.join(PRESETS)}.")]
SeedOption = Annotated[int, typer.Option(help="Random seed; same seed, same world.")]
EndOption = Annotated[
    str | None, typer.Option(help="Last day of the history (YYYY-MM-DD); default yesterday.")
]
FormatOption = Annotated[str, typer.Option("--format", help="csv or parquet.")]


@app.command(name="generate")
def generate_cmd(
    out: Annotated[Path, typer.Argument(help="Folder to write the dataset into.")],
    size: SizeOption = "small",
    sector: SectorOption = "retail",
    seed: SeedOption = 0,
    end_date: EndOption = None,
    fmt: FormatOption = "csv",
    overwrite: Annotated[
        bool, typer.Option(help="Replace a folder that is not a dataset.")
    ] = False,
) -> None:
    """Generate a synthetic retail world and write it as a dataset folder."""
    check_choice(size, list(SIZES), "--size")
    check_choice(sector, list(PRESETS), "--sector")
    check_choice(fmt, ["csv", "parquet"], "--format")
    end = parse_day(end_date, "--end-date") or date.today() - timedelta(days=1)
    world = _generate_with_progress(size, sector, seed, end)
    _write(world.dataset, out, fmt, overwrite)


def _write(dataset: Dataset, out: Path, fmt: str, overwrite: bool) -> None:
    with progress_bar() as progress, stage(progress, f"writing {fmt} to {out}"):
        try:
            dataset.write(out, "parquet" if fmt == "parquet" else "csv", overwrite=overwrite)
        except FileExistsError as exc:
            err_console.print(f"[red]error[/]: {exc}")
            raise typer.Exit(code=1) from None
    console.print(f"wrote {out}")


LangOption = Annotated[
    str, typer.Option("--lang", help="Language of report.html: en or zh-CN (Simplified Chinese).")
]


def _language(tag: str) -> str:
    """--lang as gettext names it; a usage error for a language the report does not speak."""
    from runtime.catalogs import language_of

    try:
        return language_of(tag)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's outputs.")] = Path("out/demo"),
    size: SizeOption = "small",
    sector: SectorOption = "retail",
    seed: SeedOption = 0,
    end_date: EndOption = None,
    fmt: FormatOption = "csv",
    serve_app: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Instead of the report: load the world into the service's database "
            "(REPLENISH_DATABASE_URL, else OUT/replenish.db), create a buyer, an approver "
            "and a planner (passwords printed once), request a first plan and serve the "
            "web app.",
        ),
    ] = False,
    lang: LangOption = "en",
    host: Annotated[str, typer.Option(help="With --serve: interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --serve: TCP port.", min=1, max=65535)] = 8000,
) -> None:
    """Generate a world, write it as a dataset, then `replenish run` on it (or, with
    --serve, serve it in the web app)."""
    check_choice(size, list(SIZES), "--size")
    check_choice(sector, list(PRESETS), "--sector")
    check_choice(fmt, ["csv", "parquet"], "--format")
    language = _language(lang)
    end = parse_day(end_date, "--end-date") or date.today() - timedelta(days=1)
    started = time.perf_counter()
    world = _generate_with_progress(size, sector, seed, end)
    data_dir = out / "dataset"
    _write(world.dataset, data_dir, fmt, overwrite=True)
    with progress_bar() as progress, stage(progress, "validating the written dataset"):
        report, dataset = check_folder(data_dir)
    print_report(report)
    if dataset is None:
        raise typer.Exit(code=1)
    if serve_app:
        demo_serve(data_dir, out / "replenish.db", host, port)
        return
    tiers = world.customer_truth.set_index("customer_id")["tier"]
    with progress_bar() as progress, stage(progress, "summarizing"):
        summary = overview(dataset, tiers)
    _print_overview(summary, world)
    outcome = _run_pipeline(dataset, RunSettings(), out / "report", language)
    seconds = {
        "generate + write + validate": time.perf_counter() - started - sum(outcome.seconds.values())
    }
    _print_timings({**seconds, **outcome.seconds}, time.perf_counter() - started)
    console.print(f"dataset in {data_dir}")


def _run_pipeline(
    dataset: Dataset, settings: RunSettings, out: Path, language: str = "en"
) -> Outcome:
    """The main job with a progress bar per stage; prints the buyer's summary; the
    report in `language`."""
    with progress_bar() as progress:
        bars = StageBars(progress)
        try:
            outcome = run_pipeline(
                dataset, settings, bars.stage, bars.progress_of("forecast"),
                bars.progress_of("simulation"),
            )  # fmt: skip
            started = time.perf_counter()
            with bars.stage("writing the report"):
                write_outputs(outcome, out, partial(write_report, language=language))
            outcome.seconds["writing the report"] = time.perf_counter() - started
        except (ParallelError, SimulationTooLarge) as exc:
            progress.stop()
            err_console.print(
                f"[red]error[/]: the {bars.current or 'main job'} stage stopped: "
                f"{escape(str(exc))}; the outputs of earlier runs stay as they were",
                soft_wrap=True, highlight=False,
            )  # fmt: skip
            raise typer.Exit(code=1) from None
    _print_outcome(outcome, out)
    return outcome


def _print_outcome(outcome: Outcome, out: Path) -> None:
    for note in outcome.notes:
        console.print(f"[yellow]note[/]: {escape(note)}")
    _print_plan(PlanRun(outcome.plan.problem, outcome.plan.solution, outcome.plan.plan))
    compared = outcome.comparison.copy()
    compared.index.name = "plan"
    console.print(
        fmt_table(
            "The same budget spent three ways (expected, protection interval)",
            compared,
            {c: pct for c in compared.columns if c.startswith("fill_")},
        )
    )
    if outcome.simulation is not None:
        print_experiment(outcome.simulation)
    if not outcome.care.empty:
        care = outcome.care.head(10).set_index("customer_id")
        console.print(
            fmt_table(
                "Care list: customers most likely hit by remaining stockouts",
                care,
                {"expected_stockouts": lambda v: f"{v:.2f}"},
            )
        )
    console.print(
        f"[bold]report[/]: {out / 'report.html'}; plan.csv, plan.json, care_list.csv and "
        f"charts/ beside it"
    )


def _print_timings(seconds: dict[str, float], total: float) -> None:
    table = pd.DataFrame({"seconds": [round(v, 1) for v in seconds.values()]}, index=list(seconds))
    table.index.name = "stage"
    console.print(fmt_table(f"Time per stage (total {total:.1f} s)", table, {}))


@app.command(name="run")
def run_cmd(
    folder: Annotated[Path, typer.Argument(help="Dataset folder; all of it is history.")],
    budget: Annotated[
        float | None,
        typer.Option(
            help="Purchase budget (currency); default 60% of an unlimited plan.", callback=finite
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Folder for report.html, the plan and the care list.")
    ] = Path("out/run"),
    days: Annotated[int, typer.Option(help="Days to simulate each policy over.")] = 90,
    replications: Annotated[int, typer.Option(help="Simulation replications (>= 2).")] = 10,
    sector: SectorOption = "retail",
    engine: Annotated[
        str, typer.Option(help="inline, local (Dask), dask (by address) or auto.")
    ] = "auto",
    lang: LangOption = "en",
) -> None:
    """The main job: forecast, plan, compare, simulate; write report.html and the plan."""
    check_choice(sector, list(PRESETS), "--sector")
    check_choice(engine, ENGINES, "--engine")
    language = _language(lang)
    try:
        settings = RunSettings(
            budget=budget, days=days, replications=replications, sector=sector, engine=engine
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    started = time.perf_counter()
    dataset = load_or_exit(folder)
    outcome = _run_pipeline(dataset, settings, out, language)
    _print_timings(
        {
            "load and validate": time.perf_counter() - started - sum(outcome.seconds.values()),
            **outcome.seconds,
        },
        time.perf_counter() - started,
    )


def _run_forecast(dataset: Dataset, config: ForecastConfig, engine: str) -> DatasetForecast:
    chunks = -(-len(dataset.skus) // config.chunk_size)
    with progress_bar() as progress:
        task = progress.add_task(f"forecasting {len(dataset.skus):,} SKUs", total=chunks)
        started = time.perf_counter()
        run = forecast_dataset(
            dataset,
            config,
            engine=engine,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    log.info("forecast %d SKUs in %.1f s", len(dataset.skus), time.perf_counter() - started)
    return run


def _print_forecast(run: DatasetForecast) -> None:
    sel = run.result.selection
    models = sel.groupby(["model", "demand_class"]).size().unstack(fill_value=0).astype(int)
    models.index.name = "model"
    console.print(fmt_table("Models chosen per demand class (SKUs)", models, {}))
    accuracy = sel.groupby("demand_class").agg(
        skus=("sku_id", "size"), median_mase=("mase", "median"), median_rmsse=("rmsse", "median")
    )
    accuracy.index.name = "class"
    console.print(fmt_table("Backtest accuracy of the chosen models", accuracy, {}))
    prot = run.result.protection
    per_segment = prot.groupby("segment", sort=False).agg(mean=("mean", "sum"), q90=("q90", "sum"))
    per_segment.index.name = "segment"
    console.print(
        fmt_table(
            "Demand over each SKU's protection interval (units, summed over SKUs)",
            per_segment,
            {},
        )
    )
    notes = run.history_notes(limit=10)
    console.print(
        f"Out of stock: {notes['days_out_of_stock']:,} SKU-days on "
        f"{notes['skus_out_of_stock']:,} SKUs, about {notes['units_lost']:,.0f} units of demand "
        f"never recorded (counted back into the forecast); {notes['bulk_lines']:,} one-off bulk "
        "line(s) kept out of it."
    )
    if not run.lost_sales.empty:
        top = run.lost_sales.head(10).set_index("sku_id")
        console.print(fmt_table("Lost sales: the SKUs that lost most", top, {}))
    if not run.bulk_orders.empty:
        top = run.bulk_orders.head(10).set_index("order_id")
        console.print(fmt_table("One-off bulk lines (not forecast)", top, {}))


def _holiday_country(code: str | None) -> str | None:
    if code is None:
        return None
    import holidays

    try:
        holidays.country_holidays(code)
    except NotImplementedError:
        raise typer.BadParameter(
            f"no holiday calendar for {code!r}", param_hint="--holidays"
        ) from None
    return code


def _read_events(path: Path | None) -> tuple[tuple[str, str], ...]:
    """(name, YYYY-MM-DD) pairs from a CSV with columns name,date; BadParameter if not."""
    if path is None:
        return ()
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="--events") from None
    if list(frame.columns[:2]) != ["name", "date"] or frame.empty:
        raise typer.BadParameter(
            "needs columns name,date and at least one row", param_hint="--events"
        )
    days = pd.to_datetime(frame["date"], format="%Y-%m-%d", errors="coerce")
    bad = [i + 1 for i in range(len(frame)) if pd.isna(days.iloc[i]) or not frame["name"].iloc[i]]
    if bad:
        raise typer.BadParameter(
            f"rows {bad[:10]} need a name and a YYYY-MM-DD date", param_hint="--events"
        )
    return tuple(zip(frame["name"], days.dt.strftime("%Y-%m-%d"), strict=True))


@app.command(name="forecast")
def forecast_cmd(
    folder: Annotated[Path, typer.Argument(help="Dataset folder; all of it is history.")],
    out: Annotated[Path, typer.Option(help="Folder for the forecast files.")] = Path(
        "out/forecast"
    ),
    horizon: Annotated[int, typer.Option(help="Days of daily forecasts to write.")] = 28,
    plot: Annotated[
        list[str] | None, typer.Option(help="Draw a fan chart PNG for this SKU (repeatable).")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="inline, local (Dask), dask (by address) or auto.")
    ] = "auto",
    ensemble: Annotated[
        bool, typer.Option(help="Average the two best models per SKU (else keep the best).")
    ] = True,
    arima: Annotated[bool, typer.Option(help="Also try AutoARIMA on smooth SKUs (slow).")] = False,
    prophet: Annotated[
        bool, typer.Option(help="Also try Prophet on smooth SKUs with a year of history (slow).")
    ] = False,
    holidays: Annotated[
        str | None, typer.Option(help="Holiday calendar for Prophet, e.g. US or CN.")
    ] = None,
    events: Annotated[
        Path | None, typer.Option(help="CSV of promotions for Prophet: columns name,date.")
    ] = None,
) -> None:
    """Forecast demand per SKU and customer segment; write Parquet files (and charts)."""
    if horizon < 1:
        raise typer.BadParameter("must be at least 1 day", param_hint="--horizon")
    check_choice(engine, ENGINES, "--engine")
    dataset = load_or_exit(folder)
    unknown = [s for s in plot or [] if s not in set(dataset.skus["sku_id"])]
    if unknown:
        raise typer.BadParameter(f"unknown sku_id(s): {', '.join(unknown)}", param_hint="--plot")
    config = ForecastConfig(
        horizon=horizon,
        ensemble=ensemble,
        arima=arima,
        prophet=prophet,
        holidays_country=_holiday_country(holidays),
        events=_read_events(events),
    )
    run = _run_forecast(dataset, config, engine)
    write_forecast(run.result, out, history=run)
    for sku in plot or []:
        path = fan_chart(run.panel, run.result, sku, out / f"fan_{sku}.png")
        console.print(f"chart: {path}")
    _print_forecast(run)
    console.print(f"wrote {', '.join(FILES + HISTORY_FILES)} to {out}")


def _print_plan(run: PlanRun) -> None:
    plan = run.plan
    lines = plan.lines.head(15)[
        ["sku_id", "supplier_id", "packs", "quantity", "line_cost", "binding"]
    ].set_index("sku_id")
    title = f"Plan lines (first {len(lines)} of {len(plan.lines)})"
    console.print(fmt_table(title, lines, {}))
    console.print(fmt_table("Totals per supplier", plan.suppliers.set_index("supplier_id"), {}))
    r = plan.record
    console.print(
        f"[bold]Plan[/]: {r['lines']} lines, cost {r['total_cost']:,.2f}"
        + (f" of budget {r['budget']:,.2f}" if r["budget"] is not None else "")
        + f"; expected value added {r['objective']:,.2f} (bound {r['bound']:,.2f}, "
        f"gap {100 * r['gap']:.3f}%), {r['status']}, {r['seconds']:.2f} s"
    )
    a = r["assumptions"]
    if a:
        rates = ", ".join(
            f"{k} {100 * v['mean']:.1f}% "
            f"[{100 * v['low']:.1f}-{100 * v['high']:.1f}%, {v['source']}]"
            for k, v in a["churn_per_stockout"].items()
        )
        console.print(f"churn per stockout: {rates} ({escape(a['churn_source'])})")
    for note in r["notes"]:
        console.print(f"[yellow]note[/]: {escape(note)}")


@app.command(name="plan")
def plan_cmd(
    folder: Annotated[Path, typer.Argument(help="Dataset folder; all of it is history.")],
    budget: Annotated[float, typer.Option(help="Purchase budget (currency).", callback=finite)],
    capacity: Annotated[
        float | None,
        typer.Option(help="Warehouse volume available for the order.", callback=finite),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for plan.csv and plan.json.")] = Path(
        "out/plan"
    ),
    frontier: Annotated[
        bool, typer.Option(help="Also chart fill rates and customers kept against the budget.")
    ] = False,
    rounding: Annotated[
        str, typer.Option(help="'up': round to whole packs past the target; 'cap': never past it.")
    ] = "up",
    engine: Annotated[
        str, typer.Option(help="Forecast engine: inline, local, dask or auto.")
    ] = "auto",
    churn: Annotated[
        str,
        typer.Option(
            help="Churn per stockout: 'fitted' on this history (shrunk toward the sector's "
            "preset), or 'preset' (A 10%, B 7%, C 4%; 'default' is the old spelling)."
        ),
    ] = "fitted",
    sector: SectorOption = "retail",
) -> None:
    """Forecast, then plan what to order within the budget; write plan.csv and plan.json."""
    if budget < 0:
        raise typer.BadParameter("must be a non-negative amount", param_hint="--budget")
    if capacity is not None and capacity < 0:
        raise typer.BadParameter("must be a non-negative volume", param_hint="--capacity")
    check_choice(rounding, ["up", "cap"], "--rounding")
    churn = _churn_option(churn)
    check_choice(engine, ENGINES, "--engine")
    check_choice(sector, list(PRESETS), "--sector")
    dataset = load_or_exit(folder)
    request = PlanRequest(budget, capacity, churn, rounding, sector=sector)  # type: ignore[arg-type]
    planned = _plan_with_progress(dataset, request, engine)
    write_plan(planned.run.plan, out)
    _print_plan(planned.run)
    if frontier:
        _draw_frontier(planned.run, planned.forecast, out)
    console.print(f"wrote plan.csv and plan.json to {out}")


def _churn_option(value: str) -> str:
    """`--churn`: fitted or preset; the old spelling `default` still works, with a note."""
    if value == "default":
        err_console.print("[yellow]note[/]: --churn default is now spelt --churn preset")
        return "preset"
    return check_choice(value, ["fitted", "preset"], "--churn")


def _plan_with_progress(dataset: Dataset, request: PlanRequest, engine: str) -> PlannedDataset:
    """`plan_dataset` with a progress bar for the forecast's chunks and one for the plan."""
    with progress_bar() as progress:
        bars = StageBars(progress, {"forecast": f"forecasting {len(dataset.skus):,} SKUs"})
        return plan_dataset(
            dataset, request, engine=engine, stage=bars.stage,
            forecast_progress=bars.progress_of("forecast"),
        )  # fmt: skip


def _draw_frontier(plan_run: PlanRun, run: DatasetForecast, out: Path) -> None:
    problem = plan_run.problem
    assumed = plan_run.plan.record["assumptions"].get("churn_per_stockout", {})
    churn = np.array([float(assumed.get(s, {}).get("mean", 0.0)) for s in problem.segments])
    units = np.ones(len(problem.segments))
    customers = 0.0
    if run.segments is not None:
        tiers = run.segments.tiers
        units = np.array(
            [float(tiers["units_per_line"].to_dict().get(s, 1.0)) for s in problem.segments]
        )
        customers = float(tiers["customers"].sum())
    top = float(problem.budget or 0.0)
    budgets = [top * f for f in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)]
    with progress_bar() as progress, stage(progress, "budget frontier"):
        table = budget_frontier(problem, budgets, churn, units)
    chart = plot_frontier(table, problem.segments, customers, out / "frontier.png")
    console.print(f"frontier chart: {chart}")


app.command(name="simulate")(simulate_cmd)
app.command(name="backtest")(backtest_cmd)
app.command(name="import")(import_cmd)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.command(name="serve")(serve)


@app.command(name="sim-check")
def sim_check(
    mean: Annotated[
        float, typer.Option(help="Poisson demand per period (units).", callback=finite)
    ],
    k: Annotated[float, typer.Option("--K", help="Fixed cost per order.", callback=finite)],
    h: Annotated[
        float, typer.Option("--h", help="Holding cost per unit per period.", callback=finite)
    ],
    p: Annotated[
        float, typer.Option("--p", help="Backorder cost per unit per period.", callback=finite)
    ],
    policy: Annotated[str, typer.Option(help="sS:s,S (e.g. sS:10,40) or base:S (e.g. base:25).")],
    lead_time: Annotated[int, typer.Option(help="Periods from order to arrival.")] = 0,
    periods: Annotated[
        int, typer.Option(help="Periods (days of the engine) per replication.", min=1)
    ] = 20_000,
    replications: Annotated[int, typer.Option(help="Independent runs.", min=2)] = 8,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    engine: Annotated[
        str, typer.Option(help="Where replications run: inline, local (Dask), dask or auto.")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run one SKU with Poisson demand and backorders through the daily simulation engine
    and compare its cost with the exact (s,S) / base-stock cost."""
    check_choice(engine, ENGINES, "--engine")
    try:
        rule = Policy.parse(policy)
        costs = Costs(k, h, p)
        exact = exact_cost(mean, rule, costs, lead_time)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with progress_bar() as progress:
        task = progress.add_task(
            f"simulating {replications} x {periods:,} days", total=replications
        )
        sim = simulate_policy(
            mean, rule, costs, lead_time, periods, replications, seed, engine,
            progress=lambda done, total: progress.update(task, completed=done),
        )  # fmt: skip
    error = (sim.cost - exact) / exact if exact > 0 else 0.0
    if as_json:
        payload = {
            "simulated_cost": sim.cost,
            "exact_cost": exact,
            "relative_error": error,
            "fill_rate": sim.fill_rate,
        }
        typer.echo(json.dumps(payload))
        return
    console.print(
        f"policy (s={rule.s}, S={rule.S}), Poisson mean {mean}, lead time {lead_time}: "
        f"simulated cost {sim.cost:.4f} (± {1.96 * sim.cost_se:.4f}), exact {exact:.4f}, "
        f"relative error {100 * error:+.3f}%, fill rate {100 * sim.fill_rate:.2f}%"
    )


def _print_overview(summary: Overview, world: GeneratedWorld | None = None) -> None:
    counts = ", ".join(f"{n:,} {name}" for name, n in summary.counts.items())
    console.print(
        f"\n[bold]Dataset[/]: {counts}; history {summary.first_day:%Y-%m-%d} .. "
        f"{summary.last_day:%Y-%m-%d}; revenue {summary.revenue:,.0f}; "
        f"top 20% of customers bring {pct(summary.top20_revenue_share)} of it"
    )
    if summary.tiers is not None:
        tiers = summary.tiers.copy()
        tiers.index.name = "tier"
        console.print(
            fmt_table(
                "Customers per tier (generated)",
                tiers,
                {"customer_share": pct, "revenue_share": pct, "customers": num},
            )
        )
    classes = summary.demand_classes.copy()
    classes.index.name = "class"
    console.print(
        fmt_table(
            "SKU demand classes (ADI / CV² of daily demand)",
            classes,
            {"sku_share": pct, "demand_share": pct},
        )
    )
    t = summary.stockout_totals
    console.print(
        f"[bold]Stockout history[/]: {t['lines_short']:,.0f} of {t['lines']:,.0f} order lines "
        f"short ({pct(t['short_rate'])}), {t['units_short']:,.0f} units, revenue lost "
        f"{t['revenue_lost']:,.0f}; {t['customers_hit']:,.0f} customers and "
        f"{t['skus_hit']:,.0f} SKUs hit"
    )
    if world is not None:
        truth = world.customer_truth
        hit = truth["stockout_events"] > 0
        churn_hit = float(truth.loc[hit, "ever_churned"].mean()) if hit.any() else 0.0
        churn_clean = float(truth.loc[~hit, "ever_churned"].mean()) if (~hit).any() else 0.0
        console.print(
            f"churned during the history: {pct(churn_hit)} of customers who met a stockout, "
            f"{pct(churn_clean)} of those who did not"
        )


if __name__ == "__main__":  # pragma: no cover
    entry()
