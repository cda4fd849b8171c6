"""Generator speed and peak memory per world size, against the 60-second budget.

Each size runs in a fresh subprocess so its peak RSS is its own. The budget column is
the ratio of the time taken to the issue's target (10k SKUs x 50k customers x 2 years
in under a minute on a 2-core machine): below 1.0 is within budget.

    python -m benchmarks.world [--sizes small medium large] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from rich.console import Console
from rich.table import Table

BUDGET_SECONDS = 60.0

_CHILD = """
import json, resource, sys, time
from simulations.world import generate, params_for
params = params_for(sys.argv[1], seed=int(sys.argv[2]))
started = time.perf_counter()
world = generate(params)
seconds = time.perf_counter() - started
print(json.dumps({
    "skus": params.n_skus, "customers": params.n_customers, "days": params.days,
    "lines": len(world.dataset.orders), "seconds": seconds,
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""

_BASELINE = """
import json, resource
import numpy, pandas, pyarrow, simulations.world  # the imports alone
print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", default=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    baseline = _run(_BASELINE)["peak_mib"]
    table = Table(title="World generator (one process per size)")
    for column in (
        "size",
        "SKUs",
        "customers",
        "days",
        "order lines",
        "seconds",
        "lines/s",
        "peak RSS MiB",
        "above imports MiB",
        "time / budget",
    ):
        table.add_column(column, justify="right")
    for size in args.sizes:
        r = _run(_CHILD, size, str(args.seed))
        table.add_row(
            size,
            f"{r['skus']:,}",
            f"{r['customers']:,}",
            f"{r['days']:,}",
            f"{r['lines']:,}",
            f"{r['seconds']:.1f}",
            f"{r['lines'] / r['seconds']:,.0f}",
            f"{r['peak_mib']:,.0f}",
            f"{r['peak_mib'] - baseline:,.0f}",
            f"{r['seconds'] / BUDGET_SECONDS:.2f}",
        )
    Console(width=160).print(table)
    Console(width=160).print(f"interpreter + imports alone: {baseline:,.0f} MiB peak RSS")


if __name__ == "__main__":
    main()
