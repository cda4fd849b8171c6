"""Decisions on histories the product has not seen: the decision backtest against strong
baselines, at three budgets, on generated worlds that never recorded unserved lines.

    python -m benchmarks.backtest_decisions [--seeds 3] [--size tiny] [--weeks 8]
        [--shares 0.25 0.5 1.0] [--engine local]

Per world (seed s: true churn per stockout 4 + s % 5 percent for every tier, lost sales
unrecorded), `replenish.backtesting` replays the last `--weeks` weeks: at each weekly
review the product forecasts, fits churn and CLV and plans on the history before that
day; the baselines (segment-blind optimizer, ERP min/max with safety stock, base-stock,
(s,S), all set for a 95% service target) order on the same forecast and budget. The
budget per review is a share of what the product's unlimited plan would buy then.
Figures: net value (margin - holding - order costs - CLV lost, currency) per policy,
and each baseline minus the plan, paired by review period, with bootstrap 95% CIs.
The forecasts of a world are made once and replayed at every budget.
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from replenish.backtesting import POLICIES, PRODUCT, BacktestRequest, backtest, fit_reviews
from simulations.world import generate, params_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--shares", nargs="+", type=float, default=[0.25, 0.5, 1.0])
    parser.add_argument("--engine", default="local")
    args = parser.parse_args()
    console = Console(width=200)
    table = Table(title="Backtest: net value per policy, and baseline minus plan (95% CI)")
    for column in (
        "world",
        "budget",
        "policy",
        "net value",
        "fill",
        "customers lost",
        "minus plan [95% CI]",
        "verdict",
    ):
        table.add_column(column, justify="right")
    wins = {p: [0, 0, 0] for p in POLICIES if p != PRODUCT}  # plan better, tie, worse
    for seed in range(args.seeds):
        q = 0.04 + 0.01 * (seed % 5)
        params = params_for(
            args.size, seed=seed, record_unserved=False, churn_per_stockout=(q, q, q)
        )
        dataset = generate(params).dataset
        request = BacktestRequest(weeks=args.weeks)
        started = time.perf_counter()
        fits = fit_reviews(dataset, request, args.engine)
        seconds = time.perf_counter() - started
        console.print(f"world {seed}: {len(fits)} reviews fitted in {seconds:.0f} s")
        for share in args.shares:
            request = BacktestRequest(weeks=args.weeks, budget_share=share)
            result = backtest(dataset, request, fits=fits)
            s = result.summary.set_index(["policy", "metric"])
            paired = result.paired[result.paired["metric"] == "net_value"].set_index("policy")
            for policy in POLICIES:
                cells = [
                    f"{seed} (q {q:.0%})",
                    f"{share:.0%}",
                    policy,
                    f"{s.loc[(policy, 'net_value'), 'value']:,.0f}",
                    f"{s.loc[(policy, 'fill_rate'), 'value']:.1%}",
                    f"{s.loc[(policy, 'customers_lost'), 'value']:,.1f}",
                ]
                if policy == PRODUCT:
                    cells += ["", ""]
                else:
                    r = paired.loc[policy]
                    verdict = (
                        "plan better" if r["high"] < 0 else "plan worse" if r["low"] > 0 else "tie"
                    )
                    wins[policy][("plan better", "tie", "plan worse").index(verdict)] += 1
                    diff = f"{r['minus_replenish']:+,.0f} [{r['low']:+,.0f}, {r['high']:+,.0f}]"
                    cells += [diff, verdict]
                table.add_row(*cells)
                print(" | ".join(cells), flush=True)
    console.print(table)
    for policy, (better, tie, worse) in wins.items():
        console.print(
            f"plan vs {policy}: better in {better}, tied in {tie}, worse in {worse} "
            "world-budget cells"
        )


if __name__ == "__main__":
    main()
