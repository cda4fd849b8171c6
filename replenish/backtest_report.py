"""What `replenish backtest` writes: tables, a chart over time and a page to read first.

- `backtest.csv`: one row per policy and review period (units, lines, customers, money);
- `backtest_tiers.csv`: units asked and served per policy, period and tier;
- `backtest.json`: the request, the summary with 95% CIs, the paired differences, notes;
- `backtest.png`: per review period, net value and fill rate per policy;
- `backtest.html`: the summary, the differences to the product's plan, the chart, notes,
  and on its first line whether the plan beat each baseline on this history.

All of them are replaced together or not at all (`contract.atomic.replace_files`).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from contract.atomic import replace_files
from replenish.backtesting import PRODUCT, BacktestResult
from replenish.report import STYLE, _img
from replenish.verdicts import Verdict
from simulations.charts import backtest_chart

#: Metrics shown to people, in reading order, with their format.
SHOWN = {
    "net_value": "{:,.0f}",
    "margin": "{:,.0f}",
    "clv_lost": "{:,.0f}",
    "holding": "{:,.0f}",
    "order_costs": "{:,.0f}",
    "fill_rate": "{:.1%}",
    "short_units": "{:,.0f}",
    "lines_short": "{:,.0f}",
    "customers_exposed": "{:,.0f}",
    "customers_lost": "{:,.1f}",
    "stock_value": "{:,.0f}",
    "purchase_spend": "{:,.0f}",
}
LABELS = {
    "net_value": "net value (margin - holding - order costs - CLV lost)",
    "margin": "margin on units served",
    "clv_lost": "CLV expected lost to stockouts",
    "holding": "holding cost",
    "order_costs": "order costs",
    "fill_rate": "fill rate (units)",
    "short_units": "units short",
    "lines_short": "lines short",
    "customers_exposed": "customers who met a stockout",
    "customers_lost": "customers expected lost",
    "stock_value": "average stock value",
    "purchase_spend": "purchase spend",
}


def verdicts(result: BacktestResult) -> list[str]:
    """One sentence per baseline: did the product's plan beat it on net value, with the
    paired 95% CI, or not (said plainly)."""
    out = []
    paired = result.paired[result.paired["metric"] == "net_value"]
    for row in paired.itertuples(index=False):
        # minus_replenish = baseline - product: below 0 means the plan did better.
        diff, lo, hi = (float(v) for v in (row.minus_replenish, row.low, row.high))  # type: ignore[arg-type]
        out.append(Verdict(str(row.policy), -diff, -hi, -lo).sentence())
    return out


def chart(result: BacktestResult, path: Path) -> Path:
    """Net value and fill rate per review period, one line per policy."""
    return backtest_chart(result.periods, path, PRODUCT)


def summary_table(result: BacktestResult) -> pd.DataFrame:
    """Policies as columns, metrics as rows, each 'value (low-high)'."""
    s = result.summary.set_index(["metric", "policy"])
    tiers = sorted(m for m in result.summary["metric"].unique() if m.startswith("fill_rate "))
    rows = {}
    for metric in [*SHOWN, *tiers]:
        fmt = SHOWN.get(metric, "{:.1%}")
        label = LABELS.get(metric, f"fill rate, tier {metric.removeprefix('fill_rate ')}")
        rows[label] = {
            p: f"{fmt.format(s.loc[(metric, p), 'value'])} "
            f"({fmt.format(s.loc[(metric, p), 'low'])} to {fmt.format(s.loc[(metric, p), 'high'])})"
            for p in result.request.policies
            if (metric, p) in s.index
        }
    return pd.DataFrame(rows).T


def paired_table(result: BacktestResult) -> pd.DataFrame:
    """Per baseline and metric: baseline minus the product's plan, with its 95% CI."""
    p = result.paired[result.paired["metric"].isin(list(SHOWN))]
    rows = {}
    for metric in SHOWN:
        fmt = SHOWN[metric].replace("{:", "{:+")  # differences carry their sign
        mine = p[p["metric"] == metric].set_index("policy")
        rows[LABELS[metric]] = {
            policy: f"{fmt.format(r.minus_replenish)} ({fmt.format(r.low)} to {fmt.format(r.high)})"
            for policy, r in mine.iterrows()
        }
    return pd.DataFrame(rows).T


def page(result: BacktestResult, chart_path: Path) -> str:
    """backtest.html: verdicts first, then the tables, the chart and the notes."""
    periods = result.periods
    first, last = periods["review"].min(), periods["review"].max()
    verdict = "".join(f"<li>{html.escape(v)}</li>" for v in verdicts(result))
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in result.notes)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>replenish: backtest</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Backtest on your own history</h1>"
        f"<p>{periods['period'].nunique()} reviews every {result.request.review_days} days, "
        f"{first} to {last}; each policy planned on what it knew that day.</p>"
        f'<div class="headline"><ul>{verdict}</ul></div>'
        "<h2>Per policy, over the whole backtest (95% CI over review periods)</h2>"
        f"{summary_table(result).to_html(border=0, escape=True)}"
        f"<h2>Each baseline minus the plan (paired by review period, 95% CI)</h2>"
        f"{paired_table(result).to_html(border=0, escape=True)}"
        f"<h2>Over time</h2>{_img(chart_path, 'net value and fill rate per review period')}"
        f"<h2>How it was run</h2>{notes}</body></html>"
    )


def write_backtest(result: BacktestResult, out: str | Path) -> Path:
    """All of the files above into `out`, replaced together."""

    def write_json(path: Path) -> None:
        path.write_text(json.dumps(result.to_json(), indent=2, default=str), encoding="utf-8")

    def write_html(path: Path) -> None:
        png = path.with_name("backtest.png")
        path.write_text(page(result, png if png.exists() else chart(result, png)), "utf-8")

    return replace_files(
        out,
        {
            "backtest.csv": lambda p: result.periods.to_csv(p, index=False),
            "backtest_tiers.csv": lambda p: result.tiers.to_csv(p, index=False),
            "backtest.json": write_json,
            "backtest.png": lambda p: chart(result, p),
            "backtest.html": write_html,
        },
    )
