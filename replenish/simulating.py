"""The simulation facade: an experiment's tables and charts written to a folder.

Files (each replaced in one rename, so a reader never sees half a file):
`summary.csv` (mean and 95% CI per scenario, policy, segment and metric),
`paired.csv` (differences against the reference policy), `cells.csv` (every
replication), `care_list.csv` (customers hit by stockouts, per scenario and policy,
most valuable risk first), `matched.csv` (investments found when inventory was
matched) and three PNG charts.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from contract.atomic import replace_file
from simulations.charts import draw_all
from simulations.experiments import ExperimentResult


def care_table(result: ExperimentResult) -> pd.DataFrame:
    """All care lists in one table, with scenario and policy columns."""
    frames = []
    for (scenario, policy), frame in result.care.items():
        frames.append(frame.assign(scenario=scenario, policy=policy))
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    first = ["scenario", "policy"]
    return table[first + [c for c in table.columns if c not in first]]


def write_experiment(result: ExperimentResult, out: str | Path) -> list[Path]:
    """Write the tables and charts of `result` into `out`; returns the paths written."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "summary.csv": result.summary,
        "paired.csv": result.paired,
        "cells.csv": result.cells,
        "care_list.csv": care_table(result),
        "matched.csv": result.matched,
    }
    written = []
    for name, frame in tables.items():
        replace_file(folder / name, partial(frame.to_csv, index=False))
        written.append(folder / name)
    return written + draw_all(result, folder)
