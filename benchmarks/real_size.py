"""Real histories at real size, as a new user would run them: import, run, plan, backtest.

- the shared real history (UCI Online Retail, `benchmarks.shared_history`): `replenish
  import` of its export folder, then `run`, `plan` and `backtest`;
- the generated `large` world (10,000 SKUs x 50,000 customers x 2 years) and `thin`
  catalogue (20,000 SKUs x 2,500 customers x a year, most SKUs sold a handful of times):
  `run` and `backtest`;
- ("generated") two histories shaped like an online retailer's (long-tailed SKU
  popularity, a few wholesale customers placing one-off bulk lines, unserved lines never
  recorded): 4,000 SKUs x 4,000 customers x ~500k lines written as a raw export with
  cancellations, returns, repeated lines and non-product codes (`import`, then `run`),
  and 4,000 SKUs x 16,000 customers x ~1.9M lines (`plan`).

Each command runs as a user would start it (a subprocess); its wall time and the peak
memory of its whole process tree (Dask workers included) are measured. They are
compared with its budget (`BUDGETS`; memory against 4 GB), and the forecast stage of
the retailer-shaped run with the peer in the same run: statsforecast's AutoETS over the
same SKU series.

    python -m benchmarks.real_size [--cases shared large thin generated] [--skip-peer]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from contract import Dataset
from forecast.panel import build_panel
from simulations.raw_export import messy_export
from simulations.world import WorldParams, generate

#: Orders per customer a year, per tier: 1.6 x the generator's default, for 500k lines.
BUSY = (96.0, 38.0, 13.0)


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mib: float
    output: str


def _measure(args: list[str]) -> Measured:
    """Run `replenish ARGS`; wall seconds and the peak RSS of its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    peak = 0.0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                total = sum(p.memory_info().rss for p in tree if p.is_running())
            except psutil.Error:
                total = 0
            peak = max(peak, total / 2**20)
            time.sleep(0.25)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    output, _ = proc.communicate()
    done.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"replenish {' '.join(args)} failed:\n{output}")
    return Measured(time.perf_counter() - started, peak, output)


def _stage_seconds(output: str, stage: str) -> float:
    match = re.search(rf"{stage}\s*│\s*([\d.]+)", output)
    return float(match.group(1)) if match else float("nan")


def _peer_seconds(folder: Path) -> float:
    """statsforecast AutoETS over every SKU's daily series of the dataset (28 days)."""
    from statsforecast.models import AutoETS

    ds = Dataset.read(folder)
    y = build_panel(ds).total
    started = time.perf_counter()
    model = AutoETS(season_length=7)
    for row in y:
        model.forecast(y=row.astype(float), h=28)
    return time.perf_counter() - started


#: (case, command): budget in seconds. Memory: every command under 4 GB but the
#: backtests of the generated worlds (the issue gave them time budgets only).
BUDGETS: dict[tuple[str, str], float] = {
    ("shared", "import"): 120.0, ("shared", "run"): 120.0, ("shared", "plan"): 60.0,
    ("shared", "backtest"): 600.0,
    ("large", "run"): 300.0, ("large", "backtest"): 600.0,
    ("thin", "run"): 300.0, ("thin", "backtest"): 600.0,
    ("500k", "import"): 120.0, ("500k", "run"): 120.0, ("1.9M", "plan"): 300.0,
}  # fmt: skip
CASES = ("shared", "large", "thin", "generated")
STAGES = ("load and validate", "forecast", "plan", "compare", "budget frontier", "simulation",
          "writing the report")  # fmt: skip


def _shared(work: Path) -> list[tuple[str, str, int, Measured]]:
    """The shared real history: import its export folder, then run, plan and backtest."""
    from benchmarks.shared_history import ENV, shared_history

    found = shared_history()
    if found is None:
        raise SystemExit(f"the shared history was not found; set {ENV}")
    data = work / "shared"
    imported = _measure(["import", str(found / "export"), str(data), "--overwrite"])
    lines = len(Dataset.read(data).orders)
    ran = _measure(["run", str(data), "--out", str(work / "shared-run")])
    planned = _measure(
        ["plan", str(data), "--budget", "200000", "--out", str(work / "shared-plan")]
    )
    replayed = _measure(["backtest", str(data), "--out", str(work / "shared-backtest")])
    return [
        ("shared", "import", lines, imported),
        ("shared", "run", lines, ran),
        ("shared", "plan", lines, planned),
        ("shared", "backtest", lines, replayed),
    ]


def _generated(work: Path, size: str) -> list[tuple[str, str, int, Measured]]:
    """A generated world of `size` (large, thin): run and backtest."""
    data = work / size
    _measure(["generate", str(data), "--size", size, "--format", "parquet", "--overwrite"])
    lines = len(Dataset.read(data).orders)
    ran = _measure(["run", str(data), "--out", str(work / f"{size}-run")])
    replayed = _measure(["backtest", str(data), "--out", str(work / f"{size}-backtest")])
    return [(size, "run", lines, ran), (size, "backtest", lines, replayed)]


def _retailer_shaped(work: Path) -> list[tuple[str, str, int, Measured]]:
    """Generated histories shaped like an online retailer's (see the module docstring)."""
    p500 = WorldParams(n_skus=4_000, n_customers=4_000, days=730, seed=11,
                       bulk_lines_per_year=30, record_unserved=False,
                       tier_orders_per_year=BUSY)  # fmt: skip
    world = generate(p500)
    export = messy_export(world.dataset, seed=1)
    src = work / "export.csv"
    export.frame.to_csv(src, index=False)
    lines = len(world.dataset.orders)
    imported = _measure(["import", str(src), str(work / "ds500k"), "--overwrite"])
    ran = _measure(["run", str(work / "ds500k"), "--out", str(work / "run500k")])
    p2m = WorldParams(n_skus=4_000, n_customers=16_000, days=730, seed=12,
                      bulk_lines_per_year=60, record_unserved=False,
                      tier_orders_per_year=BUSY)  # fmt: skip
    big = generate(p2m)
    big.dataset.write(work / "ds2m", fmt="parquet", overwrite=True)
    planned = _measure(
        ["plan", str(work / "ds2m"), "--budget", "500000", "--out", str(work / "plan2m")]
    )
    return [
        ("500k", "import", len(export.frame), imported),
        ("500k", "run", lines, ran),
        ("1.9M", "plan", len(big.dataset.orders), planned),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "real-size")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    work: Path = args.folder
    work.mkdir(parents=True, exist_ok=True)
    console = Console(width=140)

    rows: list[tuple[str, str, int, Measured]] = []
    if "shared" in args.cases:
        rows += _shared(work)
    for size in ("large", "thin"):
        if size in args.cases:
            rows += _generated(work, size)
    if "generated" in args.cases:
        rows += _retailer_shaped(work)

    table = Table(title="Real size on this machine (wall time, peak RSS of the process tree)")
    for column in ("case", "command", "lines", "seconds", "budget s", "time / budget",
                   "peak MiB", "MiB / 4096"):  # fmt: skip
        table.add_column(column, justify="right")
    for case, command, n, m in rows:
        budget = BUDGETS[(case, command)]
        table.add_row(case, command, f"{n:,}", f"{m.seconds:.1f}", f"{budget:.0f}",
                      f"{m.seconds / budget:.2f}", f"{m.peak_mib:,.0f}",
                      f"{m.peak_mib / 4096:.2f}")  # fmt: skip
    console.print(table)

    runs = [(case, m) for case, command, _, m in rows if command == "run"]
    stages = Table(title="replenish run: seconds per stage")
    stages.add_column("stage")
    for case, _ in runs:
        stages.add_column(case, justify="right")
    for stage in STAGES:
        stages.add_row(stage, *(f"{_stage_seconds(m.output, stage):.1f}" for _, m in runs))
    console.print(stages)

    retailer = [m for case, command, _, m in rows if (case, command) == ("500k", "run")]
    if retailer and not args.skip_peer:
        forecast_s = _stage_seconds(retailer[0].output, "forecast")
        peer = _peer_seconds(work / "ds500k")
        peer_table = Table(title="Forecast stage vs statsforecast AutoETS on the same SKUs")
        for column in ("method", "seconds", "ratio to peer"):
            peer_table.add_column(column, justify="right")
        peer_table.add_row(
            "replenish forecast (classify, backtest, select, stockouts, quantiles)",
            f"{forecast_s:.1f}", f"{forecast_s / peer:.2f}",
        )  # fmt: skip
        peer_table.add_row("AutoETS(season 7), one process", f"{peer:.1f}", "1.00")
        console.print(peer_table)


if __name__ == "__main__":
    main()
