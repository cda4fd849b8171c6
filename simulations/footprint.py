"""What a simulation needs in memory, from the shape of the business, before it starts.

Every worker holds one copy of what the cells share (the world, the forecast's history
the policies refit on, the policies' first levels) and runs one cell at a time. A cell
keeps its days' state (deliveries per day and SKU, demand asked per day, SKU and
segment) and, at each replan, refits the forecast on the history plus the days seen
(a panel of SKUs x segments x days, float32, and its uncensored total, float64) and,
for an optimizer, solves its reorder problem (value curves of at most
`simulations.policies.POLICY_POINTS` points per SKU and segment). The bytes per unit
below were measured on the shared retailer's history and the generated worlds
(benchmarks/README.md, "Memory"); `experiments.run_experiment` sizes its workers by
them: as many as fit in the memory the machine has free, else one in this process, else
a refusal that gives the figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulations.engine import Conditions, DemandEstimate
from simulations.estimate import ForecastRefresh
from simulations.model import SimWorld
from simulations.policies import POLICY_POINTS

#: A worker process with the engines imported (numpy, pandas, scipy, statsforecast,
#: OR-Tools), before it holds any data: bytes.
WORKER_BASE = 450e6
#: Bytes per (SKU, history day, segment) of the refit: the panel the policies refit on
#: (float32), its copy with the run's days appended, the uncensored total (float64) and
#: the running sums `forecast.panel.uncensor` takes.
REFIT_PER_SKU_DAY = 20.0
#: Bytes per (SKU, point, segment) of an optimizer's replan: its pmfs, the batched FFTs of
#: its value curves, the curves it keeps and the unit values of its levels.
LEVELS_PER_POINT = 45.0
#: Bytes per (SKU, simulated day) of a run's own state (deliveries, demand asked per
#: segment, days short).
STATE_PER_SKU_DAY = 40.0
#: Bytes per customer of the world and a run's per-customer arrays.
PER_CUSTOMER = 200.0
#: Bytes per SKU of everything else (the world's SKU arrays, the forecast's tables and
#: the fitted models a refit runs forward).
PER_SKU = 4_000.0


@dataclass(frozen=True)
class Footprint:
    """Estimated bytes: `shared` (one copy per worker of what the cells share) and
    `cell` (one cell's own peak on top of it), and a worker's whole (`worker`)."""

    shared: float
    cell: float

    @property
    def worker(self) -> float:
        return WORKER_BASE + self.shared + self.cell


def simulation_footprint(
    world: SimWorld, planning: DemandEstimate | None, conditions: Conditions
) -> Footprint:
    """The footprint of simulating `world` for `conditions.days` days (see the module
    docstring); `planning` with a forecast refresh adds the refit's panel."""
    n, m, k = world.n_skus, world.n_customers, len(world.segments)
    days = conditions.days
    shared = n * PER_SKU + m * PER_CUSTOMER
    cell = n * (days + 60) * STATE_PER_SKU_DAY * max(k, 1) / 3
    cell += n * POLICY_POINTS * max(k, 1) * LEVELS_PER_POINT
    refresh = planning.refresh if planning is not None else None
    if isinstance(refresh, ForecastRefresh):
        history = refresh.history
        segments = len(history.segments)
        # The panel (float32 per segment), its censored days, and its uncensoring
        # (values and raw totals, float64, two flags).
        shared += n * history.n_periods * (4 * segments + 1 + 18)
        cell += n * (history.n_periods + days) * REFIT_PER_SKU_DAY * max(segments, 1) / 4
    return Footprint(shared=float(shared), cell=float(cell))


class SimulationTooLarge(MemoryError):
    """Not even one worker's footprint fits in the memory the machine has free."""


@dataclass(frozen=True)
class Sizing:
    """How a simulation runs in the memory it has: `workers` Dask workers (0: in this
    process), and a `note` for the report when that is fewer than it asked for."""

    workers: int
    note: str | None = None


def size_workers(footprint: Footprint, wanted: int, free: float) -> Sizing:
    """As many of `wanted` workers as fit in `free` bytes (each its whole footprint); one
    in this process when none does but its data and cells fit; else SimulationTooLarge
    with the figures."""
    fits = int(free // footprint.worker) if footprint.worker > 0 else wanted
    if fits >= wanted:
        return Sizing(wanted)
    gb = 1e9
    if fits >= 1:
        return Sizing(
            fits,
            f"The simulation ran on {fits} worker(s) instead of {wanted}: each needs about "
            f"{footprint.worker / gb:.1f} GB and {free / gb:.1f} GB were free.",
        )
    inline = footprint.shared + footprint.cell
    if inline <= free:
        return Sizing(
            0,
            f"The simulation ran in one process, not on {wanted} workers: a worker needs "
            f"about {footprint.worker / gb:.1f} GB and {free / gb:.1f} GB were free.",
        )
    raise SimulationTooLarge(
        f"the simulation needs about {inline / gb:.1f} GB beside the history and "
        f"{free / gb:.1f} GB are free: simulate fewer days, or run on a machine (or a Dask "
        "cluster) with more memory"
    )
