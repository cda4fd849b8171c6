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
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from forecast.plots import fan_chart
from optimize.frontier import plot_frontier
from replenish.pipeline import Outcome
from replenish.tables import html_table
from replenish.verdicts import Verdict
from runtime.catalogs import compiled
from simulations.charts import customers_lost, profit_vs_fill
from simulations.experiments import ExperimentResult
from simulations.metrics import ALL, lookup, paired

#: The report's catalogs: replenish/locale/LANG/LC_MESSAGES/report.po (`make messages`).
LOCALE = Path(__file__).resolve().parent / "locale"
Words = Callable[[str], str]


def N_(message: str) -> str:
    """Marks a string for the catalog that is translated later, where it is shown."""
    return message


def words(language: str) -> Words:
    """The report's gettext in `language` ("en" or "zh_CN")."""
    return compiled(LOCALE / language / "LC_MESSAGES" / "report.po", language).gettext


SECTIONS = (
    ("summary", N_("What to order")),
    ("plans", N_("This plan against the alternatives")),
    ("simulation", N_("What each policy costs in customers")),
    ("frontier", N_("What each budget buys")),
    ("forecasts", N_("Forecasts of the biggest lines")),
    ("history", N_("What the history hid")),
    ("segments", N_("Customer segments and their value")),
    ("care", N_("Care list")),
    ("assumptions", N_("Assumptions")),
)
#: Words the report shows from data, for the catalog: plans and policies, where a
#: churn figure came from, the plan's status, the packs' rounding rule.
NAMES = (
    N_("churn-aware (this plan)"), N_("segment-blind"), N_("ERP min/max + safety stock"),
    N_("base-stock"), N_("churn-aware"), N_("(s,S)"), N_("min/max"),
    N_("prior"), N_("fitted"), N_("mixed"),
    N_("optimal"), N_("near-optimal"), N_("feasible"), N_("nothing to order"),
    N_("up"), N_("cap"),
    # what limits a line (optimize.solve)
    N_("none"), N_("budget"), N_("volume"), N_("moq"), N_("supplier terms"),
    N_("supplier minimum"), N_("max units"),
)  # fmt: skip

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


def _unspent(why: dict[str, object] | None, _: Words) -> str:
    """A list item saying why part of the budget was left, or nothing."""
    if not why:
        return ""
    reasons = "; ".join(str(r) for r in why["reasons"])  # type: ignore[attr-defined]
    amount = _money(float(why["amount"]))  # type: ignore[arg-type]
    said = _("Left unspent: %(amount)s (%(reasons)s).") % {"amount": amount, "reasons": reasons}
    return f"<li>{html.escape(said)}</li>"


#: The simulation's paired metrics the report shows, in words (money in currency).
METRIC_WORDS = {
    "net_value": N_("net value"),
    "customers_lost": N_("customers lost"),
    "profit": N_("profit"),
    "clv_active_end": N_("CLV of customers kept"),
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


def _first_screen(sim: ExperimentResult | None, _: Words) -> str:
    """What a buyer must read before anything else: where the plan does not beat an
    alternative on their own history, said plainly; then where it does."""
    if sim is None:
        return ""
    verdicts = simulated_verdicts(sim)
    short = [v for v in verdicts if v.outcome != "beat"]
    lead = (
        _("On your history the plan does not beat %(policies)s on net value (margin - "
          "holding - order costs - CLV of customers lost).")
        % {"policies": ", ".join(_(v.against) for v in short)}
        if short
        else _("On your history the plan beat every alternative on net value.")
    )  # fmt: skip
    items = "".join(
        f"<li>{html.escape(v.sentence(_))}</li>"
        for v in short + [v for v in verdicts if v.outcome == "beat"]
    )
    kind = "warn" if short else "good"
    rest = _(
        "Simulated over the %(scenario)s on the customers estimated from your history, "
        "every policy meeting the same customers:"
    ) % {"scenario": sim.scenarios[0]}
    return (
        f'<div class="verdict {kind}"><p><b>{html.escape(lead)}</b> {html.escape(rest)}</p>'
        f"<ul>{items}</ul></div>"
    )


def write_report(outcome: Outcome, folder: Path, language: str = "en") -> Path:
    """Draw the charts into `folder/charts` and write `folder/report.html` in `language`
    ("en" or "zh_CN"; the charts' own labels stay in English)."""
    _ = words(language)
    charts = folder / "charts"
    charts.mkdir(parents=True, exist_ok=True)
    plan, record = outcome.plan.plan, outcome.plan.plan.record
    problem = outcome.plan.problem
    segments = outcome.forecast.segments
    body: dict[str, str] = {}

    def table(frame: pd.DataFrame) -> str:
        return html_table(frame, words=_)

    # What to order.
    lines = plan.lines.sort_values("line_cost", ascending=False, kind="stable")
    expected = outcome.comparison.loc["churn-aware (this plan)"]
    fills = ", ".join(
        _("tier %(tier)s %(fill)s")
        % {"tier": s, "fill": f"{100 * float(expected[f'fill_{s}']):.1f}%"}
        for s in problem.segments
    )
    headline = _(
        "Order %(lines)s lines from %(suppliers)s suppliers for %(cost)s (budget %(budget)s). "
        "Expected fill rate over each SKU's protection interval: %(fills)s; expected "
        "customers lost to stockouts %(lost)s."
    ) % {
        "lines": f"{len(plan.lines):,}", "suppliers": f"{len(plan.suppliers):,}",
        "cost": _money(record["total_cost"]), "budget": _money(outcome.settings.budget or 0.0),
        "fills": fills, "lost": f"{float(expected['customers_lost']):,.1f}",
    }  # fmt: skip
    totals = _("Totals per supplier")
    biggest = _("Biggest lines (all in plan.csv, with their reasons)")
    body["summary"] = _first_screen(outcome.simulation, _) + (
        f'<p class="headline">{html.escape(headline)}</p>'
        + f"<h3>{html.escape(totals)}</h3>"
        + table(plan.suppliers.set_index("supplier_id"))
        + f"<h3>{html.escape(biggest)}</h3>"
        + table(
            lines.head(15)[["sku_id", "supplier_id", "packs", "quantity", "line_cost", "binding"]]
            .assign(binding=lambda f: f["binding"].map(lambda b: _(str(b))))
            .set_index("sku_id")
        )
    )

    # Plans compared.
    compared = outcome.comparison.rename(index=lambda name: _(str(name)))
    body["plans"] = (
        "<p>"
        + html.escape(_(
            "The same budget and forecast, four ways to spend it: expected outcomes over "
            "each SKU's protection interval (customers lost: expected short purchases x the "
            "tier's churn per stockout; value lost: units short x their stockout cost; value "
            "added: margin and customers kept, less what the stock and the orders cost, each "
            "plan by this plan's economics: value lost alone favours whoever buys more)."
        ))
        + "</p>"
        + table(compared)
    )  # fmt: skip

    # Simulation.
    sim = outcome.simulation
    if sim is None:
        no_sim = _("No customer-level simulation: the dataset has no customers.")
        body["simulation"] = f'<p class="note">{html.escape(no_sim)}</p>'
    else:
        stats = lookup(sim.summary)
        scenario = sim.scenarios[0]
        rows = []
        for policy in sim.policies:

            def est(metric: str, seg: str = ALL, p: str = policy) -> str:
                mean, low, high = stats[(scenario, p, seg, metric)]
                places = 1 if metric == "customers_lost" else 0  # else money
                return f"{mean:,.{places}f} ± {(high - low) / 2:,.{places}f}"

            row = {_("policy"): _(policy), _("net value"): est("net_value"),
                   _("customers lost"): est("customers_lost"),
                   _("CLV of customers kept"): est("clv_active_end"), _("profit"): est("profit"),
                   _("average stock value"): est("inventory_value")}  # fmt: skip
            for seg in (s for s in dict.fromkeys(sim.summary["segment"]) if s != ALL):
                row[_("fill rate %(tier)s") % {"tier": seg}] = (
                    f"{100 * stats[(scenario, policy, str(seg), 'fill_rate')][0]:.1f}%"
                )
            rows.append(row)
        paired = sim.paired[(sim.paired["segment"] == ALL) & sim.paired["metric"].isin(
            list(METRIC_WORDS))].copy()  # fmt: skip
        places = [1 if m == "customers_lost" else 0 for m in paired["metric"]]
        paired["difference"] = [f"{d:+,.{p}f}" for d, p in zip(paired["diff"], places, strict=True)]
        paired["95% CI"] = [
            _("%(low)s to %(high)s") % {"low": f"{lo:+,.{p}f}", "high": f"{hi:+,.{p}f}"}
            for lo, hi, p in zip(paired["ci_low"], paired["ci_high"], places, strict=True)
        ]
        paired["metric"] = paired["metric"].map(lambda m: _(METRIC_WORDS[str(m)]))
        paired["policy"] = paired["policy"].map(lambda p: _(str(p)))
        intro = _(
            "%(scenario)s, %(replications)s replications on the customers estimated from your "
            "history, every policy meeting the same customers (mean ± 95%% CI half-width; the "
            "optimizer policies hold the ERP policy's average stock value)."
        ) % {"scenario": scenario, "replications": outcome.settings.replications}
        minus = _("Each policy minus %(reference)s, paired by replication") % {
            "reference": _(sim.reference)
        }
        body["simulation"] = (
            f"<p>{html.escape(intro)}</p>"
            + table(pd.DataFrame(rows))
            + f"<h3>{html.escape(minus)}</h3>"
            + table(paired[["policy", "metric", "difference", "95% CI"]])
            + _img(
                profit_vs_fill(sim, charts / "profit_vs_fill_rate.png"), _("profit vs fill rate")
            )
            + _img(customers_lost(sim, charts / "customers_lost.png"), _("customers lost per tier"))
        )

    # Frontier.
    customers = float(segments.tiers["customers"].sum()) if segments is not None else 0.0
    frontier_png = plot_frontier(
        outcome.frontier, problem.segments, customers, charts / "frontier.png"
    )
    body["frontier"] = _img(frontier_png, _("budget frontier")) + table(
        outcome.frontier.set_index("budget")
    )

    # Forecast fan charts of the three biggest lines.
    figures = []
    for sku in lines["sku_id"].head(3):
        path = fan_chart(
            outcome.forecast.panel, outcome.forecast.result, str(sku), charts / f"fan_{sku}.png"
        )
        figures.append(_img(path, _("forecast of %(sku)s") % {"sku": sku}))
    nothing = html.escape(_("The plan orders nothing."))
    body["forecasts"] = "".join(figures) or f"<p>{nothing}</p>"

    # What the history hid: lost sales counted back, bulk lines left out.
    notes = record["assumptions"].get("demand_history") or {}
    lost = outcome.forecast.lost_sales
    bulk = outcome.forecast.bulk_orders
    hid = _(
        "%(days)s SKU-days out of stock on %(skus)s SKUs, about %(units)s units asked for "
        "that sales never recorded; the forecast counts them back. Evidence per day: a stock "
        "count at zero (snapshot), a recorded shortage the day before (short), or a run of "
        "days without a sale too long for the SKU's rate (inferred)."
    ) % {
        "days": f"{notes.get('days_out_of_stock', 0):,}",
        "skus": f"{notes.get('skus_out_of_stock', 0):,}",
        "units": f"{notes.get('units_lost', 0.0):,.0f}",
    }
    kept_out = _(
        "%(count)s one-off bulk line(s), far above their SKU's usual line, kept out of the "
        "forecast (all in the plan's record)."
    ) % {"count": f"{len(bulk):,}"}
    body["history"] = (
        f"<p>{html.escape(hid)}</p>"
        + (table(lost.head(15).set_index("sku_id")) if not lost.empty else "")
        + f"<p>{html.escape(kept_out)}</p>"
        + (table(bulk.head(15).set_index("order_id")) if not bulk.empty else "")
    )

    # Segments.
    if segments is None:
        anonymous = _("Anonymous sales: one segment for everybody; no tiers or CLV.")
        body["segments"] = f'<p class="note">{html.escape(anonymous)}</p>'
    else:
        tiers = _(
            "Tiers by value score (spend, margin, growth, strategic fit, reputation); CLV "
            "over 3 years from measured retention."
        )
        body["segments"] = f"<p>{html.escape(tiers)}</p>" + table(segments.tiers)

    # Care list.
    care = outcome.care.head(25)
    body["care"] = (
        "<p>"
        + html.escape(_(
            "Customers most likely to meet the stockouts this plan still leaves, ranked by "
            "the CLV at risk (all in care_list.csv)."
        ))
        + "</p>"
        + table(care)
        if not care.empty
        else "<p>" + html.escape(_("No customer is expected to meet a stockout.")) + "</p>"
    )  # fmt: skip

    # Assumptions.
    a = record["assumptions"]
    churn = ", ".join(
        _("tier %(tier)s: %(mean)s (90%% interval %(low)s-%(high)s, %(source)s, %(events)s "
          "stockouts met)") % {
            "tier": k, "mean": f"{100 * v['mean']:.1f}%", "low": f"{100 * v['low']:.1f}",
            "high": f"{100 * v['high']:.1f}%", "source": _(str(v["source"])),
            "events": f"{float(v['events'] or 0):,.0f}",
        }
        for k, v in a["churn_per_stockout"].items()
    )  # fmt: skip
    notes_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in outcome.notes)
    items = [
        _("Churn per stockout: %(churn)s (%(source)s).")
        % {"churn": churn, "source": a["churn_source"]},
        _("Holding cost %(rate)s a year of unit cost; packs rounded %(rounding)s.")
        % {"rate": f"{100 * a['holding_rate_per_year']:.0f}%", "rounding": _(a["rounding"])},
        _("Budget %(budget)s; plan gap to its bound %(gap)s (%(status)s).")
        % {"budget": _money(outcome.settings.budget or 0.0), "gap": f"{100 * record['gap']:.4f}%",
           "status": _(record["status"])},
        _("Simulation: %(days)s days x %(replications)s replications, sector preset %(sector)s "
          "for returns and baseline churn.")
        % {"days": outcome.settings.days, "replications": outcome.settings.replications,
           "sector": outcome.settings.sector},
    ]  # fmt: skip
    body["assumptions"] = notes_html + (
        "<ul>"
        + "".join(f"<li>{html.escape(item)}</li>" for item in items[:3])
        + _unspent(record.get("budget_unspent"), _)
        + f"<li>{html.escape(items[3])}</li></ul>"
    )

    sections = "\n".join(
        f'<section id="{key}"><h2>{html.escape(_(title))}</h2>{body[key]}</section>'
        for key, title in SECTIONS
    )
    lang = "zh-CN" if language == "zh_CN" else "en"
    history = _("History up to %(day)s; %(skus)s SKUs.") % {
        "day": f"{outcome.dataset.orders['date'].max():%Y-%m-%d}",
        "skus": f"{len(outcome.dataset.skus):,}",
    }
    title, heading = _("replenish: reorder plan"), _("Reorder plan")
    page = (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(heading)}</h1><p>{html.escape(history)}</p>"
        f"{sections}</body></html>"
    )
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
