"""What the CLI shows people: one console, progress bars, stages and tables (rich).

Tables and summaries go to stdout; progress bars and logs to stderr, so a command's
output can be piped while a person still sees it working.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from contract.dataset import Dataset, check_folder
from contract.validation import Report
from runtime.memory import PeakMemory, gigabytes

console = Console()
err_console = Console(stderr=True)
log = logging.getLogger("replenish")


def progress_bar() -> Progress:
    """A progress display on stderr: spinner, description, bar, count, elapsed time and
    the time left (estimated from the steps done so far)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


@contextmanager
def stage(progress: Progress, description: str) -> Iterator[None]:
    """A one-step task on the progress display, logged once with its duration and the
    peak memory of this process and its workers."""
    task = progress.add_task(description, total=1)
    started = time.perf_counter()
    with PeakMemory() as memory:
        yield
    progress.update(task, completed=1)
    log.info(
        "%s: %.1f s, peak %s", description, time.perf_counter() - started,
        gigabytes(memory.peak),
    )  # fmt: skip


def fmt_table(title: str, frame: pd.DataFrame, formats: dict[str, Callable[[float], str]]) -> Table:
    """A rich table of `frame` (index first), each column by its format (default `num`)."""
    table = Table(title=title)
    table.add_column(str(frame.index.name or ""))
    for column in frame.columns:
        table.add_column(column.replace("_", " "), justify="right")
    columns = [frame[c].tolist() for c in frame.columns]  # keeps ints as ints, unlike iterrows
    for i, label in enumerate(frame.index):
        cells = [
            formats.get(c, num)(values[i]) for c, values in zip(frame.columns, columns, strict=True)
        ]
        table.add_row(str(label), *cells)
    return table


def num(value: float | str) -> str:
    """Whole numbers with thousands separators, others with two decimals; text as is."""
    if isinstance(value, str):
        return value
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def print_report(report: Report) -> None:
    """One line per problem, compiler style, so the output can be grepped and pasted."""
    for p in report.errors + report.warnings:
        style = "red" if p.severity.value == "error" else "yellow"
        console.print(f"[{style}]{escape(str(p))}[/]", soft_wrap=True, highlight=False)
    counts = ", ".join(f"{name}: {n:,} rows" for name, n in report.row_counts.items())
    if report.ok:
        console.print(f"[green]dataset accepted[/] ({counts})")
    else:
        console.print(
            f"[red]dataset rejected[/]: {len(report.errors)} error(s), nothing was loaded"
        )


def load_or_exit(folder: Path) -> Dataset:
    """The validated dataset of `folder`; on rejection print the report and exit 1."""
    with progress_bar() as progress, stage(progress, f"validating {folder}"):
        report, dataset = check_folder(folder)
    if dataset is None:
        print_report(report)
        raise typer.Exit(code=1)
    return dataset


class StageBars:
    """A progress bar per named stage of work (`stage(name)`, a context, logged once
    with its time and peak memory), moved by `progress(name, done, total)` as the
    stage's steps finish (the forecast's chunks, the simulation's runs): what
    `replenish.planning.plan_dataset` and the main job report through. `current`: the
    stage under way (for an error that names it)."""

    def __init__(self, progress: Progress, labels: dict[str, str] | None = None) -> None:
        self.progress, self.labels = progress, labels or {}
        self.tasks: dict[str, TaskID] = {}
        self.current: str | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.tasks[name] = self.progress.add_task(self.labels.get(name, name), total=1)
        self.current = name
        started = time.perf_counter()
        with PeakMemory() as memory:
            yield
        task = self.progress.tasks[self.tasks[name]]
        self.progress.update(self.tasks[name], completed=task.total, total=task.total)
        self.current = None
        log.info("%s: %.1f s, peak %s", name, time.perf_counter() - started, gigabytes(memory.peak))

    def progress_of(self, name: str) -> Callable[[int, int], None]:
        """`(done, total)` for the stage `name`'s bar."""
        return lambda done, total: self.update(name, done, total)

    def update(self, name: str, done: int, total: int) -> None:
        if name in self.tasks:
            self.progress.update(self.tasks[name], completed=done, total=max(total, 1))

    def forecast_progress(self, done: int, total: int) -> None:
        self.update("forecast", done, total)


def finite(value: float | None) -> float | None:
    """Typer callback: refuse nan and infinities (a float option's parser takes both)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, got {value}")
    return value


def parse_day(value: str | None, option: str) -> date | None:
    """An option's YYYY-MM-DD day, or a BadParameter naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


def check_choice(value: str, choices: list[str], option: str) -> str:
    """`value` if it is one of `choices`, else a BadParameter naming the option."""
    if value not in choices:
        raise typer.BadParameter(f"choose one of {', '.join(choices)}", param_hint=option)
    return value
