"""Validated loading against plain pandas reading the same files (the peer).

`replenish` reads every table, checks types, ranges, keys, references and dates, and
names bad rows; the peer is what a user would do without it: `pd.read_csv` with dtypes
and parsed dates, or `pd.read_parquet`, with no checks at all. The ratio is the price
of validation.

    python -m benchmarks.load [--size medium] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from contract import Dataset
from contract.schema import TABLES, Kind
from simulations.world import generate, params_for


def _pandas_csv(folder: Path) -> None:
    for table in TABLES:
        dtypes: dict[Hashable, Any] = {
            c.name: c.kind.dtype for c in table.columns if c.kind is not Kind.DATE
        }
        dates = [c.name for c in table.columns if c.kind is Kind.DATE]
        pd.read_csv(folder / f"{table.name}.csv", dtype=dtypes, parse_dates=dates)


def _pandas_parquet(folder: Path) -> None:
    for table in TABLES:
        pd.read_parquet(folder / f"{table.name}.parquet")


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="medium")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    world = generate(params_for(args.size, seed=0))
    lines = len(world.dataset.orders)
    table = Table(
        title=f"Loading a {args.size} world ({lines:,} order lines), best of {args.repeat}"
    )
    for column in ("format", "replenish s", "pandas s", "ratio", "replenish lines/s"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, peer in (("csv", _pandas_csv), ("parquet", _pandas_parquet)):
            folder = world.dataset.write(Path(tmp) / fmt, fmt)  # type: ignore[arg-type]
            ours = _best(lambda f=folder: Dataset.read(f), args.repeat)  # type: ignore[misc]
            theirs = _best(lambda f=folder, p=peer: p(f), args.repeat)  # type: ignore[misc]
            table.add_row(
                fmt, f"{ours:.2f}", f"{theirs:.2f}", f"{ours / theirs:.2f}", f"{lines / ours:,.0f}"
            )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
