"""report.html: one self-contained page a buyer reads first (charts embedded, no links out).

First, where the plan does not beat an alternative on the user's own history (and where
it does). Sections, in reading order: what to order and what it protects, the plans compared,
the policies simulated over the next days with 95% CIs, the budget frontier, forecast
fan charts of the biggest lines, the stockouts and one-off bulk orders the
forecast corrected for, customer segments and their value, the care list, and
the assumptions the numbers rest on. Charts are PNG files in `charts/` and are also
embedded in the page as data URIs, so the page opens offline and alone.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from forecast.plots import fan_chart
from optimize.frontier import plot_frontier
from replenish.pipeline import Outcome
from replenish.tables import html_table
from replenish.verdicts import Verdict
from simulations.charts import customers_lost, profit_vs_fill
from simulations.experiments import ExperimentResult
from simulations.metrics import ALL, lookup, paired

SECTIONS = (
    ("summary", "What to order"),
    ("plans", "This plan against the alternatives"),
    ("simulation", "What each policy costs in customers"),
    ("frontier", "What each budget buys"),
    ("forecasts", "Forecasts of the biggest lines"),
    ("history", "What the history hid"),
    ("segments", "Customer segments and their value"),
    ("care", "Care list"),
    ("assumptions", "Assumptions"),
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: .5rem 0; }
.headline { font-size: 1.15rem; background: #f6f9fc; padding: .8rem 1rem;
            border-left: 4px solid #2a6f97; }
.note { background: #fff8e1; padding: .5rem .8rem; border-left: 4px solid #f0a500; }
.verdict { padding: .3rem 1rem; margin-bottom: 1rem; }
.verdict.warn { background: #fdecea; border-left: 4px solid #c0392b; }
.verdict.good { background: #eaf7ee; border-left: 4px solid #2e8b57; }
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _unspent(why: dict[str, object] | None) -> str:
    """A list item saying why part of the budget was left, or nothing."""
    if not why:
        return ""
    reasons = "; ".join(str(r) for r in why["reasons"])  # type: ignore[attr-defined]
    return f"<li>Left unspent: {_money(float(why['amount']))} ({html.escape(reasons)}).</li>"  # type: ignore[arg-type]


#: The simulation's paired metrics the report shows, in words (money in currency).
METRIC_WORDS = {
    "net_value": "net value",
    "customers_lost": "customers lost",
    "profit": "profit",
    "clv_active_end": "CLV of customers kept",
}


def simulated_verdicts(sim: ExperimentResult, plan_policy: str = "churn-aware") -> list[Verdict]:
    """The plan's policy against every other policy of the simulation's first scenario,
    on net value, paired replication by replication (95% CI)."""
    diffs = paired(sim.cells, plan_policy)
    rows = diffs[
        (diffs["scenario"] == sim.scenarios[0])
        & (diffs["segment"] == ALL)
        & (diffs["metric"] == "net_value")
    ]
    # `paired` gives policy - plan; a verdict reads plan - policy.
    return [
        Verdict(str(r.policy), -float(r.diff), -float(r.ci_high), -float(r.ci_low))  # type: ignore[arg-type]
        for r in rows.itertuples(index=False)
    ]


def _first_screen(sim: ExperimentResult | None) -> str:
    """What a buyer must read before anything else: where the plan does not beat an
    alternative on their own history, said plainly; then where it does."""
    if sim is None:
        return ""
    verdicts = simulated_verdicts(sim)
    short = [v for v in verdicts if v.outcome != "beat"]
    lead = (
        f"On your history the plan does not beat {', '.join(v.against for v in short)} "
        "on net value (margin - holding - order costs - CLV of customers lost)."
        if short
        else "On your history the plan beat every alternative on net value."
    )
    items = "".join(
        f"<li>{html.escape(v.sentence())}</li>"
        for v in short + [v for v in verdicts if v.outcome == "beat"]
    )
    kind = "warn" if short else "good"
    return (
        f'<div class="verdict {kind}"><p><b>{html.escape(lead)}</b> Simulated over the '
        f"{html.escape(sim.scenarios[0])} on the customers estimated from your history, "
        f"every policy meeting the same customers:</p><ul>{items}</ul></div>"
    )


def write_report(outcome: Outcome, folder: Path) -> Path:
    """Draw the charts into `folder/charts` and write `folder/report.html`."""
    charts = folder / "charts"
    charts.mkdir(parents=True, exist_ok=True)
    plan, record = outcome.plan.plan, outcome.plan.plan.record
    problem = outcome.plan.problem
    segments = outcome.forecast.segments
    body: dict[str, str] = {}

    # What to order.
    lines = plan.lines.sort_values("line_cost", ascending=False, kind="stable")
    expected = outcome.comparison.loc["churn-aware (this plan)"]
    fills = ", ".join(
        f"tier {s} {100 * float(expected[f'fill_{s}']):.1f}%" for s in problem.segments
    )
    body["summary"] = _first_screen(outcome.simulation) + (
        f'<p class="headline">Order <b>{len(plan.lines):,} lines</b> from '
        f"<b>{len(plan.suppliers):,} suppliers</b> for <b>{_money(record['total_cost'])}</b> "
        f"(budget {_money(outcome.settings.budget or 0.0)}). Expected fill rate over each "
        f"SKU's protection interval: {fills}; expected customers lost to stockouts "
        f"{float(expected['customers_lost']):,.1f}.</p>"
        + "<h3>Totals per supplier</h3>"
        + html_table(plan.suppliers.set_index("supplier_id"))
        + "<h3>Biggest lines (all in plan.csv, with their reasons)</h3>"
        + html_table(
            lines.head(15)[
                ["sku_id", "supplier_id", "packs", "quantity", "line_cost", "binding"]
            ].set_index("sku_id")
        )
    )

    # Plans compared.
    body["plans"] = (
        "<p>The same budget and forecast, four ways to spend it: expected outcomes over "
        "each SKU's protection interval (customers lost: expected short purchases x the "
        "tier's churn per stockout; value lost: units short x their stockout cost).</p>"
        + html_table(outcome.comparison)
    )

    # Simulation.
    sim = outcome.simulation
    if sim is None:
        body["simulation"] = (
            '<p class="note">No customer-level simulation: the dataset has no customers.</p>'
        )
    else:
        stats = lookup(sim.summary)
        scenario = sim.scenarios[0]
        rows = []
        for policy in sim.policies:

            def est(metric: str, seg: str = ALL, p: str = policy) -> str:
                mean, low, high = stats[(scenario, p, seg, metric)]
                places = 1 if metric == "customers_lost" else 0  # else money
                return f"{mean:,.{places}f} ± {(high - low) / 2:,.{places}f}"

            row = {"policy": policy, "net value": est("net_value"),
                   "customers lost": est("customers_lost"),
                   "CLV of customers kept": est("clv_active_end"), "profit": est("profit"),
                   "average stock value": est("inventory_value")}  # fmt: skip
            for seg in (s for s in dict.fromkeys(sim.summary["segment"]) if s != ALL):
                row[f"fill rate {seg}"] = (
                    f"{100 * stats[(scenario, policy, str(seg), 'fill_rate')][0]:.1f}%"
                )
            rows.append(row)
        paired = sim.paired[(sim.paired["segment"] == ALL) & sim.paired["metric"].isin(
            list(METRIC_WORDS))].copy()  # fmt: skip
        places = [1 if m == "customers_lost" else 0 for m in paired["metric"]]
        paired["difference"] = [f"{d:+,.{p}f}" for d, p in zip(paired["diff"], places, strict=True)]
        paired["95% CI"] = [
            f"{lo:+,.{p}f} to {hi:+,.{p}f}"
            for lo, hi, p in zip(paired["ci_low"], paired["ci_high"], places, strict=True)
        ]
        paired["metric"] = paired["metric"].map(METRIC_WORDS)
        body["simulation"] = (
            f"<p>{scenario}, {outcome.settings.replications} replications on the customers "
            "estimated from your history, every policy meeting the same customers (mean ± "
            "95% CI half-width; the optimizer policies hold the ERP policy's average stock "
            "value).</p>"
            + html_table(pd.DataFrame(rows))
            + f"<h3>Each policy minus {html.escape(sim.reference)}, paired by replication</h3>"
            + html_table(paired[["policy", "metric", "difference", "95% CI"]])
            + _img(profit_vs_fill(sim, charts / "profit_vs_fill_rate.png"), "profit vs fill rate")
            + _img(customers_lost(sim, charts / "customers_lost.png"), "customers lost per tier")
        )

    # Frontier.
    customers = float(segments.tiers["customers"].sum()) if segments is not None else 0.0
    frontier_png = plot_frontier(
        outcome.frontier, problem.segments, customers, charts / "frontier.png"
    )
    body["frontier"] = _img(frontier_png, "budget frontier") + html_table(
        outcome.frontier.set_index("budget")
    )

    # Forecast fan charts of the three biggest lines.
    figures = []
    for sku in lines["sku_id"].head(3):
        path = fan_chart(
            outcome.forecast.panel, outcome.forecast.result, str(sku), charts / f"fan_{sku}.png"
        )
        figures.append(_img(path, f"forecast of {sku}"))
    body["forecasts"] = "".join(figures) or "<p>The plan orders nothing.</p>"

    # What the history hid: lost sales counted back, bulk lines left out.
    notes = record["assumptions"].get("demand_history") or {}
    lost = outcome.forecast.lost_sales
    bulk = outcome.forecast.bulk_orders
    body["history"] = (
        f"<p>{notes.get('days_out_of_stock', 0):,} SKU-days out of stock on "
        f"{notes.get('skus_out_of_stock', 0):,} SKUs, about "
        f"{notes.get('units_lost', 0.0):,.0f} units asked for that sales never recorded; "
        "the forecast counts them back. Evidence per day: a stock count at zero "
        "(snapshot), a recorded shortage the day before (short), or a run of days without "
        "a sale too long for the SKU's rate (inferred).</p>"
        + (html_table(lost.head(15).set_index("sku_id")) if not lost.empty else "")
        + f"<p>{len(bulk):,} one-off bulk line(s), far above their SKU's usual line, kept "
        "out of the forecast (all in the plan's record).</p>"
        + (html_table(bulk.head(15).set_index("order_id")) if not bulk.empty else "")
    )

    # Segments.
    if segments is None:
        body["segments"] = (
            '<p class="note">Anonymous sales: one segment for everybody; no tiers or CLV.</p>'
        )
    else:
        body["segments"] = (
            "<p>Tiers by value score (spend, margin, growth, strategic fit, "
            "reputation); CLV over 3 years from measured retention.</p>"
            + html_table(segments.tiers)
        )

    # Care list.
    care = outcome.care.head(25)
    body["care"] = (
        "<p>Customers most likely to meet the stockouts this plan still leaves, ranked by "
        "the CLV at risk (all in care_list.csv).</p>" + html_table(care)
        if not care.empty
        else "<p>No customer is expected to meet a stockout.</p>"
    )

    # Assumptions.
    a = record["assumptions"]
    churn = ", ".join(
        f"tier {k}: {100 * v['mean']:.1f}% (90% interval {100 * v['low']:.1f}-"
        f"{100 * v['high']:.1f}%, {v['source']}, {float(v['events'] or 0):,.0f} stockouts met)"
        for k, v in a["churn_per_stockout"].items()
    )
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in outcome.notes)
    body["assumptions"] = notes + (
        "<ul>"
        f"<li>Churn per stockout: {html.escape(churn)} ({html.escape(a['churn_source'])}).</li>"
        f"<li>Holding cost {100 * a['holding_rate_per_year']:.0f}% a year of unit cost; "
        f"packs rounded {html.escape(a['rounding'])}.</li>"
        f"<li>Budget {_money(outcome.settings.budget or 0.0)}; plan gap to its bound "
        f"{100 * record['gap']:.4f}% ({html.escape(record['status'])}).</li>"
        f"{_unspent(record.get('budget_unspent'))}"
        f"<li>Simulation: {outcome.settings.days} days x {outcome.settings.replications} "
        f"replications, sector preset {html.escape(outcome.settings.sector)} for returns "
        "and baseline churn.</li>"
        "</ul>"
    )

    sections = "\n".join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>{body[key]}</section>'
        for key, title in SECTIONS
    )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>replenish: reorder plan</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Reorder plan</h1><p>History up to {outcome.dataset.orders['date'].max():%Y-%m-%d}; "
        f"{len(outcome.dataset.skus):,} SKUs.</p>{sections}</body></html>"
    )
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
