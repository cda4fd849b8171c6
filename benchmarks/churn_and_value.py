"""Churn per stockout on histories that never recorded unserved lines, and the cost of
value per customer (BG/NBD + Gamma-Gamma) at 50,000 customers.

    python -m benchmarks.churn_and_value [--seeds 1-10] [--customers 50000]

Part 0: the days judged out of stock (`forecast.stockouts`, from the sales alone) against
the generator's daily stock counts, with one rate over the whole history (what the
forecast censors on) and with each SKU's local rate (what the stockouts met are counted
on): days judged, the share of them truly out (precision), the share of true days found
(recall). A true day out: no line recorded and no stock at the day's close.
Part 1: generated retail worlds whose true churn per stockout is the same for every
tier, 4-8% by seed, and whose history drops the lines nothing was delivered on. Per
seed and tier: the posterior mean and 90% interval of `simulations.churn`, against two
peers from the same run: the sector preset alone (the prior) and the same model on the
recorded shortages only (no inferred stockouts).
Part 2: `segment_customers` on a world of `--customers` customers with the tier CLV
(the peer) and with BG/NBD + Gamma-Gamma: the difference is what value per customer
adds to `replenish run`.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from rich.console import Console
from rich.table import Table

from forecast.engine import dataset_stockouts
from forecast.segments import SegmentConfig, segment_customers
from forecast.stockouts import LEVEL_DAYS, SNAPSHOT
from simulations.churn import churn_from_history, exposure_days
from simulations.world import generate, params_for


def days_out_table(seeds: list[int]) -> Table:
    table = Table(title="Days judged out of stock from sales alone, against daily stock counts")
    for column in ("seed", "rate", "days judged", "truly out", "precision", "recall"):
        table.add_column(column, justify="right")
    totals: dict[str, list[int]] = {}
    for seed in seeds:
        q = 0.04 + 0.01 * (seed % 5)
        params = params_for(
            "small", seed=seed, record_unserved=False, churn_per_stockout=(q, q, q),
            snapshot_days=1,
        )  # fmt: skip
        counted = generate(params).dataset  # the counts only add the stock_history table
        truth = dataset_stockouts(counted)[0].evidence == SNAPSHOT
        sales = replace(counted, stock_history=None)
        for label, level in (("whole history", 0), (f"local ({LEVEL_DAYS} days)", LEVEL_DAYS)):
            judged = dataset_stockouts(sales, level_days=level)[0].out
            right = int((judged & truth).sum())
            row = [int(judged.sum()), right, int(truth.sum())]
            totals[label] = [a + b for a, b in zip(totals.get(label, [0, 0, 0]), row, strict=True)]
            table.add_row(
                str(seed), label, f"{row[0]:,}", f"{right:,}",
                f"{right / max(row[0], 1):.0%}", f"{right / max(row[2], 1):.0%}",
            )  # fmt: skip
    table.caption = "; ".join(
        f"{label}: {j:,} judged, precision {r / max(j, 1):.0%}, recall {r / max(t, 1):.0%}"
        for label, (j, r, t) in totals.items()
    )
    return table


def churn_table(seeds: list[int]) -> Table:
    table = Table(title="Churn per stockout, unrecorded lost sales (truth = q for every tier)")
    for column in ("seed", "q", "tier", "ours [90%]", "source", "recorded only", "prior"):
        table.add_column(column, justify="right")
    hits = {"ours": 0, "recorded only": 0, "prior": 0}
    inside, inside_recorded, cells = 0, 0, 0
    for seed in seeds:
        q = 0.04 + 0.01 * (seed % 5)
        world = generate(
            params_for("small", seed=seed, record_unserved=False, churn_per_stockout=(q, q, q))
        )
        ds = world.dataset
        tiers = segment_customers(ds, config=SegmentConfig(clv_model="tier")).customers
        tier = tiers.set_index("customer_id")["tier"].astype(str)
        out, start = exposure_days(ds)
        ours = churn_from_history(ds, tier, out, start)
        recorded = churn_from_history(ds, tier, None, start)
        for label, figure in ours.per_tier.items():
            other = recorded.per_tier[label]
            hits["ours"] += figure.low <= q <= figure.high
            hits["recorded only"] += other.low <= q <= other.high
            hits["prior"] += abs(figure.prior / q - 1) < 0.5
            inside += 0.02 <= figure.mean <= 0.12
            inside_recorded += 0.02 <= other.mean <= 0.12
            cells += 1
            table.add_row(
                str(seed), f"{q:.0%}", label,
                f"{figure.mean:.3f} [{figure.low:.3f}, {figure.high:.3f}]", figure.source,
                f"{other.mean:.3f} [{other.low:.3f}, {other.high:.3f}]", f"{figure.prior:.3f}",
            )  # fmt: skip
    table.caption = (
        f"intervals covering the truth: ours {hits['ours']}/{cells}, recorded only "
        f"{hits['recorded only']}/{cells}; prior within 50% of the truth {hits['prior']}/{cells}; "
        f"means within [2%, 12%]: ours {inside}/{cells}, recorded only {inside_recorded}/{cells}"
    )
    return table


def value_table(customers: int) -> Table:
    t = time.perf_counter()
    world = generate(params_for("small", n_customers=customers, n_skus=500, seed=1))
    made = time.perf_counter() - t
    timings = {}
    for model in ("tier", "bgnbd"):
        t = time.perf_counter()
        segments = segment_customers(world.dataset, config=SegmentConfig(clv_model=model))
        timings[model] = time.perf_counter() - t
    table = Table(
        title=f"Value per customer on {customers:,} customers (world made in {made:.0f} s)"
    )
    for column in ("segments with", "seconds", "ratio to tier CLV", "source"):
        table.add_column(column, justify="right")
    for model, seconds in timings.items():
        source = segments.clv_source if model == "bgnbd" else "tier"
        table.add_row(model, f"{seconds:.1f}", f"{seconds / timings['tier']:.2f}", source)
    table.caption = f"BG/NBD + Gamma-Gamma add {timings['bgnbd'] - timings['tier']:.1f} s"
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="1-10")
    parser.add_argument("--customers", type=int, default=50_000)
    args = parser.parse_args()
    lo, _, hi = args.seeds.partition("-")
    seeds = list(range(int(lo), int(hi or lo) + 1))
    console = Console(width=160)
    console.print(days_out_table(seeds))
    console.print(churn_table(seeds))
    console.print(value_table(args.customers))


if __name__ == "__main__":
    main()
