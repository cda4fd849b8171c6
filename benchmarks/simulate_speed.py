"""Simulator speed: customer-days per second, five policies, one process and a Dask cluster.

World: 100,000 customers x 1,000 SKUs (generated), simulated 365 days per run with the
full model (baskets, category preferences, stockout reactions, backorders, substitutes,
churn and return, baseline churn, supplier reviews and stochastic lead times). Peer in
the same run: a bare numpy loop of a much simpler model (50 SKUs, 3 segments, one line
per order, lost sales, churn and return, a daily base-stock policy) on the same number
of customers, as the issue's reference point.

    python -m benchmarks.simulate_speed [--customers 100000] [--skus 1000] [--days 365]
        [--repeat 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from runtime.parallel import run_chunks
from simulations.engine import Conditions, RunResult, run_policy
from simulations.estimate import from_generated
from simulations.experiments import _run_cell
from simulations.policies import (
    BaseStockPolicy,
    MinMaxPolicy,
    OptimizerPolicy,
    Policy,
    SsPolicy,
)
from simulations.world import WorldParams, generate

POLICIES: tuple[Policy, ...] = (
    MinMaxPolicy(),
    BaseStockPolicy(),
    SsPolicy(),
    OptimizerPolicy(name="segment-blind", churn_aware=False),
    OptimizerPolicy(name="churn-aware"),
)


def simple_model(customers: int, days: int, seed: int = 0) -> float:
    """The peer: seconds for a bare loop of a much simpler model (see module docstring)."""
    rng = np.random.default_rng(seed)
    n_skus = 50
    segment = rng.integers(0, 3, customers)
    rate = np.array([60.0, 24.0, 8.0])[segment] / 365.0
    churn = np.array([0.02, 0.06, 0.2])[segment]
    popularity = rng.dirichlet(np.ones(n_skus))
    daily = rate.sum() * popularity
    target = np.ceil(daily * 3 + 2 * np.sqrt(daily * 3))
    stock = target.copy()
    active = np.ones(customers, dtype=bool)
    return_day = np.full(customers, -1)
    started = time.perf_counter()
    for d in range(days):
        back = return_day == d
        active |= back
        buying = np.flatnonzero(active & (rng.random(customers) < rate))
        sku = rng.choice(n_skus, buying.size, p=popularity)
        order = rng.permutation(buying.size)
        sku, buying = sku[order], buying[order]
        rank = np.zeros(buying.size, dtype=np.int64)
        sorter = np.argsort(sku, kind="stable")
        counts = np.bincount(sku, minlength=n_skus)
        starts = np.cumsum(counts) - counts
        rank[sorter] = np.arange(buying.size) - np.repeat(starts, counts)
        served = rank < stock[sku]
        stock -= np.bincount(sku[served], minlength=n_skus)
        hit = buying[~served]
        leave = hit[rng.random(hit.size) < churn[hit]]
        active[leave] = False
        comes_back = rng.random(leave.size) < 0.35
        return_day[leave[comes_back]] = d + 1 + rng.integers(30, 150, comes_back.sum())
        stock = np.maximum(stock, target)  # daily delivery up to target
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    console = Console()

    started = time.perf_counter()
    world = generate(WorldParams(n_skus=args.skus, n_customers=args.customers, days=365, seed=1))
    sim, behaviour = from_generated(world)
    console.print(f"world generated in {time.perf_counter() - started:.1f} s")
    cond = Conditions(days=args.days)
    customer_days = args.customers * args.days
    run_policy(sim, behaviour, MinMaxPolicy(), Conditions(days=5))  # warm-up

    peer = statistics.median(simple_model(args.customers, args.days, r) for r in range(3))
    peer_rate = customer_days / peer
    table = Table(
        title=f"{args.customers:,} customers x {args.skus:,} SKUs x {args.days} days, one process"
    )
    for col in ("model / policy", "seconds", "M customer-days/s", "vs bare loop"):
        table.add_column(col, justify="right")
    table.add_row("bare numpy loop (peer)", f"{peer:.2f}", f"{peer_rate / 1e6:.1f}", "1.00")
    inline: dict[str, RunResult] = {}
    for policy in POLICIES:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            inline[policy.name] = run_policy(sim, behaviour, policy, cond, seed=1, replication=0)
            times.append(time.perf_counter() - t0)
        seconds = statistics.median(times)
        rate = customer_days / seconds
        table.add_row(
            f"full model, {policy.name}", f"{seconds:.2f}", f"{rate / 1e6:.1f}",
            f"{rate / peer_rate:.2f}",
        )  # fmt: skip
    console.print(table)

    # Dask: every policy x `workers` replications on a LocalCluster, results as inline.
    # The cluster is started and warmed up (modules imported) before the clock starts.
    from distributed import LocalCluster

    cells = [(0, p, r) for p in range(len(POLICIES)) for r in range(args.workers)]
    simple = [c for c in cells if c[1] < 3]
    shared = {"world": sim, "behaviour": behaviour, "policies": POLICIES,
              "conditions": (cond,), "seed": 1}  # fmt: skip
    dask = Table(title=f"Dask LocalCluster, {args.workers} workers x 1 thread, warm")
    for col in ("runs", "wall s", "M customer-days/s", "per core", "identical to inline"):
        dask.add_column(col, justify="right")
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        warm = {**shared, "conditions": (Conditions(days=2),)}
        run_chunks(_run_cell, simple[: args.workers], engine="dask", address=address, shared=warm)
        for label, grid in ((f"{len(simple)} simple-policy", simple), (f"all {len(cells)}", cells)):
            t0 = time.perf_counter()
            runs = run_chunks(_run_cell, grid, engine="dask", address=address, shared=shared)
            wall = time.perf_counter() - t0
            same = all(
                np.array_equal(run.hits, inline[POLICIES[p].name].hits)
                and run.totals == inline[POLICIES[p].name].totals
                for (_, p, r), run in zip(grid, runs, strict=True)
                if r == 0
            )
            rate = len(grid) * customer_days / wall
            dask.add_row(
                label, f"{wall:.1f}", f"{rate / 1e6:.1f}", f"{rate / args.workers / 1e6:.1f}",
                str(same),
            )  # fmt: skip
    console.print(dask)


if __name__ == "__main__":
    main()
