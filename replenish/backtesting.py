"""The decision backtest: what each policy would have done on the user's own past.

At each review date from the start, the product sees only the history before that day:
it segments the customers, forecasts, fits churn per stockout and plans under the
budget rule, exactly as `replenish plan` would have then. The baselines plan on the
same dates from the same forecast (so the comparison is of decisions, not of
forecasts): the segment-blind optimizer, ERP min/max with safety stock, base-stock and
(s,S), each set for the same 95% service target (fixed in advance, so no run that is
evaluated is also used to tune it), cutting to the budget the lines that run out first.

Each policy keeps its own stock: its orders arrive after the SKU's lead time (days,
rounded up), and the recorded demand of the following days (units delivered + units
recorded short, line by line, in the order it came) is served from it
(`simulations.replay`); what it could not serve is short. The product also holds back
its Littlewood reserve for the protected tier until the next review. Every policy starts
from the same stock: the last recorded snapshot before the start where there is one,
else the first review's mean demand over the protection interval.

Per policy and review period: units and lines asked and short, fill rate per tier,
customers who met a stockout, the customers and CLV that stockouts are expected to cost
(the product's churn per stockout and CLV of that review, the same for every policy),
average stock value, purchase spend, order costs, margin on what was served, holding
cost, and the net value (margin - holding - order costs - CLV lost). Bootstrap 95% CIs
over review periods, and differences paired by period against the product's plan.

Forecasts of the review dates are independent and run as chunks (`runtime.parallel`:
inline, a local Dask cluster, or a cluster by address); the replay is sequential.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from contract.dataset import Dataset
from forecast.engine import ForecastConfig, ForecastResult, forecast_dataset
from forecast.panel import TOTAL
from forecast.segments import Segments
from optimize.baselines import (
    SERVICE_LEVEL,
    SERVICE_Z,
    base_stock,
    min_max_safety,
    segment_blind,
    ss,
    urgency,
)
from optimize.economics import DAYS_PER_YEAR
from optimize.inputs import ChurnAssumptions, PlanSettings, build_problem
from optimize.problem import ReorderProblem
from optimize.reservation import reserve_rule, reserve_units
from optimize.solve import solve
from optimize.value_curve import SkuCurve
from replenish.planning import DEFAULT_BUDGET_SHARE, ChurnSource, churn_assumptions
from runtime.parallel import run_chunks
from simulations.replay import Lines, replay
from simulations.world import PRESETS

log = logging.getLogger(__name__)

PRODUCT = "replenish"
POLICIES = (
    PRODUCT,
    "segment-blind optimizer",
    "ERP min/max + safety stock",
    "base-stock",
    "(s,S)",
)
#: History a first review needs behind it, days.
MIN_HISTORY_DAYS = 56
BOOTSTRAP = 2_000
#: Metrics summed over periods (the rest are ratios of sums).
SUMS = (
    "demand_units", "served_units", "short_units", "lines", "lines_short",
    "customers_exposed", "customers_lost", "clv_lost", "units_ordered", "purchase_spend",
    "order_costs", "margin", "holding", "net_value", "stock_value",
)  # fmt: skip


@dataclass(frozen=True)
class BacktestRequest:
    """The replay: from `start` (None: `weeks` x 7 days before the history ends),
    `weeks` of reviews every `review_days`; the budget per review (`budget`, currency,
    or `budget_share` of what the product's unlimited plan would buy then)."""

    start: date | None = None
    weeks: int = 8
    review_days: int = 7
    budget: float | None = None
    budget_share: float = DEFAULT_BUDGET_SHARE
    churn: ChurnSource = "fitted"
    sector: str = "retail"
    horizon_days: int = 28
    policies: tuple[str, ...] = POLICIES
    seed: int = 0

    def __post_init__(self) -> None:
        if self.weeks < 1 or not 1 <= self.review_days <= 28:
            raise ValueError("weeks must be at least 1 and review_days lie in 1-28")
        if self.budget is not None and not (np.isfinite(self.budget) and self.budget >= 0):
            raise ValueError(f"the budget must be a non-negative amount, got {self.budget}")
        if not 0 < self.budget_share <= 1:
            raise ValueError(f"budget_share must lie in (0, 1], got {self.budget_share}")
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown or PRODUCT not in self.policies:
            raise ValueError(
                f"policies are {', '.join(POLICIES)} and must include {PRODUCT!r}; "
                f"got {', '.join(self.policies)}"
            )
        if self.sector not in PRESETS:
            raise ValueError(f"unknown sector {self.sector!r}; choose one of {sorted(PRESETS)}")


@dataclass(frozen=True)
class ReviewFit:
    """What the product knew at one review: its forecast and segments, and churn per
    stockout. (Only what the replay reads: the history's panel, stockouts and fitted
    models stay with the worker that forecast it, so eight reviews of a wide catalogue
    do not hold eight panels.)"""

    day: pd.Timestamp
    result: ForecastResult
    segments: Segments | None
    churn: ChurnAssumptions
    churn_source: str


@dataclass(frozen=True)
class BacktestResult:
    """`periods`: one row per policy and review period (the metrics above, and
    the units in stock at its start and end and those that arrived, for the accounting);
    `tiers`: units asked and served per policy, period and tier; `summary`: per policy
    and metric the total or rate with its 95% CI; `paired`: per policy and metric the
    difference to the product's plan per period (mean, 95% CI); `notes`."""

    periods: pd.DataFrame
    tiers: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame
    request: BacktestRequest
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "request": {
                k: (str(v) if isinstance(v, date) else v) for k, v in self.request.__dict__.items()
            },
            "summary": self.summary.to_dict(orient="records"),
            "paired": self.paired.to_dict(orient="records"),
            "notes": list(self.notes),
        }


def history_before(dataset: Dataset, day: pd.Timestamp) -> Dataset:
    """The dataset as it stood on the morning of `day`: orders, snapshots and customers
    from before it; no current inventory (each policy brings its own)."""
    orders = dataset.orders[dataset.orders["date"] < day].reset_index(drop=True)
    customers = dataset.customers
    if customers is not None:
        customers = customers[customers["since"] < day].reset_index(drop=True)
    history = dataset.stock_history
    if history is not None:
        history = history[history["date"] < day].reset_index(drop=True)
    return replace(
        dataset, orders=orders, customers=customers, stock_history=history, inventory=None
    )


def review_days(dataset: Dataset, request: BacktestRequest) -> list[pd.Timestamp]:
    """The review dates, or a ValueError that says what history is missing."""
    first, last = dataset.orders["date"].min(), dataset.orders["date"].max()
    span = request.weeks * 7
    start = (
        pd.Timestamp(request.start)
        if request.start is not None
        else last + pd.Timedelta(days=1) - pd.Timedelta(days=span)
    )
    if start - first < pd.Timedelta(days=MIN_HISTORY_DAYS):
        raise ValueError(
            f"the backtest starts {start:%Y-%m-%d}, {(start - first).days} days into the "
            f"history (first order {first:%Y-%m-%d}); it needs at least {MIN_HISTORY_DAYS} "
            "days of history before its first review"
        )
    end = start + pd.Timedelta(days=span)
    if end > last + pd.Timedelta(days=1):
        raise ValueError(
            f"{request.weeks} weeks from {start:%Y-%m-%d} run to {end:%Y-%m-%d}, past the "
            f"last order day {last:%Y-%m-%d}: start earlier or replay fewer weeks"
        )
    return list(pd.date_range(start, end - pd.Timedelta(days=1), freq=f"{request.review_days}D"))


def fit_review(day: pd.Timestamp, dataset: Dataset, request: BacktestRequest) -> ReviewFit:
    """Forecast and churn on the history before `day` (one chunk of the backtest)."""
    seen = history_before(dataset, day)
    run = forecast_dataset(seen, ForecastConfig(horizon=request.horizon_days), engine="inline")
    churn, source = churn_assumptions(seen, run.segments, request.churn, request.sector)
    return ReviewFit(day, replace(run.result, fitted=None), run.segments, churn, source)


@dataclass
class _Book:
    """A policy's stock: on hand per SKU, and what arrives on each day of the backtest."""

    on_hand: np.ndarray
    arrivals: np.ndarray  # (days of the backtest + the longest lead time, SKUs)

    def on_order(self, today: int) -> np.ndarray:
        """Units ordered and not yet arrived on the morning of backtest day `today`."""
        return np.asarray(self.arrivals[today:].sum(axis=0))


def _with_position(seen: Dataset, sku_ids: np.ndarray, book: _Book, today: int) -> Dataset:
    frame = pd.DataFrame(
        {
            "sku_id": pd.array(sku_ids, dtype="string"),
            "on_hand": book.on_hand.astype(np.int64),
            "on_order": book.on_order(today).astype(np.int64),
            "as_of": pd.Timestamp(seen.orders["date"].max()).normalize(),
        }
    )
    return replace(seen, inventory=frame)


#: The policies that solve the reorder problem (they need its value curves at their own
#: position); the others read only its demand moments and their position.
OPTIMIZERS = (PRODUCT, "segment-blind optimizer")


@dataclass(frozen=True)
class _Catalogue:
    """What the replay needs of the SKUs and suppliers, per SKU: lead time (whole days,
    rounded up), unit cost, supplier index; per supplier the fixed order cost; the
    holding rate per year and the days between reviews."""

    lead: np.ndarray
    cost: np.ndarray
    supplier: np.ndarray
    order_cost: np.ndarray
    holding_rate: float
    review_days: int

    @classmethod
    def of(cls, dataset: Dataset, review_days: int) -> _Catalogue:
        skus, suppliers = dataset.skus, dataset.suppliers
        return cls(
            lead=np.ceil(skus["lead_time_days"].to_numpy(dtype=float)).astype(np.int64),
            cost=skus["unit_cost"].to_numpy(dtype=float),
            supplier=pd.Index(suppliers["supplier_id"]).get_indexer(pd.Index(skus["supplier_id"])),
            order_cost=suppliers["order_cost"].to_numpy(dtype=float),
            holding_rate=PlanSettings().holding_rate,
            review_days=review_days,
        )


def _review(
    policy: str,
    problem: ReorderProblem,
    units: np.ndarray,
    book: _Book,
    period: pd.DataFrame,
    who: pd.DataFrame,
    churn: ChurnAssumptions,
    days: tuple[int, int],
    catalogue: _Catalogue,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One policy at one review: book the `units` it orders, replay the period's lines
    (backtest days `days[0]` to `days[1]` - 1) against its stock (`book` changes); the
    period's metrics and units per tier."""
    today, until = days
    n = units.size
    np.add.at(book.arrivals, (today + catalogue.lead, np.arange(n)), units)
    reserve, protected = (
        _reserve(problem, catalogue.review_days) if policy == PRODUCT else (None, None)
    )
    lines = Lines(
        day=(period["day"].to_numpy() - today).astype(np.int64),
        sku=period["sku"].to_numpy(dtype=np.int64),
        units=period["units"].to_numpy(dtype=np.int64),
        protected=(who["tier"] == protected).to_numpy()
        if protected is not None
        else np.zeros(len(period), dtype=bool),
    )
    stock_start = float(book.on_hand.sum())
    arrived = float(book.arrivals[today:until].sum())
    out = replay(book.on_hand, book.arrivals[today:until], lines, reserve)
    book.on_hand = out.on_hand
    ordered_from = np.unique(catalogue.supplier[units > 0])
    held = float(out.stock_days @ catalogue.cost)  # currency-days
    row = _metrics(period, who, out.served, churn)
    row.update(
        budget=problem.budget,
        units_ordered=float(units.sum()),
        purchase_spend=float(units @ problem.unit_cost),
        order_costs=float(catalogue.order_cost[ordered_from].sum()),
        stock_value=held / max(until - today, 1),
        holding=held * catalogue.holding_rate / DAYS_PER_YEAR,
        stock_start_units=stock_start,
        arrived_units=arrived,
        stock_end_units=float(out.on_hand.sum()),
    )
    row["net_value"] = row["margin"] - row["holding"] - row["order_costs"] - row["clv_lost"]
    served = pd.Series(out.served, index=period.index)
    by_tier = [
        {
            "tier": str(tier),
            "demand_units": float(group["units"].sum()),
            "served_units": float(served.loc[group.index].sum()),
        }
        for tier, group in period.groupby(who["tier"].to_numpy(), sort=True)
    ]
    return row, by_tier


def _packs(
    policy: str, problem: ReorderProblem, curves: list[SkuCurve] | None = None
) -> np.ndarray:
    """The units a policy orders on `problem` (budget already set). `curves`: the
    product's value curves from an unlimited solve of the same problem, reused."""
    if policy == PRODUCT:
        packs = solve(problem, curves=curves).packs
    elif policy == "segment-blind optimizer":
        packs = solve(segment_blind(problem)).packs
    elif policy == "ERP min/max + safety stock":
        packs = min_max_safety(problem, SERVICE_Z, priority=urgency(problem))
    elif policy == "base-stock":
        packs = base_stock(problem, SERVICE_LEVEL, priority=urgency(problem))
    else:
        packs = ss(problem, SERVICE_Z, priority=urgency(problem))
    return np.asarray(packs * problem.pack_size)


def _reserve(problem: ReorderProblem, review: int) -> tuple[np.ndarray, str | None]:
    """The product's reserve for the protected tier until the next review (units), and
    that tier's label (None: no reserve)."""
    rule = reserve_rule(problem.stockout_cost)
    if np.isnan(rule.ratio).all():
        return np.zeros(problem.n_skus, dtype=np.int64), None
    days = np.maximum(np.asarray(problem.protection_days, dtype=float), 1.0)
    share = np.minimum(review / days, 1.0)
    mean = problem.demand_means[:, rule.segment] * share
    var = problem.demand_vars[:, rule.segment] * share
    units = reserve_units(mean, var, rule.ratio)
    return units.astype(np.int64), problem.segments[rule.segment]


def _starting_stock(
    dataset: Dataset, start: pd.Timestamp, first: ReviewFit
) -> tuple[np.ndarray, str]:
    """The same stock for every policy on the first morning, and where it came from."""
    sku_ids = dataset.skus["sku_id"].astype(str)
    prot = first.result.protection
    total = prot[prot["segment"] == TOTAL].set_index("sku_id")["mean"]
    stock = np.round(total.reindex(sku_ids).fillna(0.0).to_numpy(dtype=float))
    source = "the first review's mean demand over the protection interval"
    history = dataset.stock_history
    if history is not None:
        before = history[history["date"] < start].sort_values("date", kind="stable")
        last = before.groupby("sku_id", observed=True)["on_hand"].last()
        last.index = last.index.astype(str)
        known = sku_ids.isin(last.index).to_numpy()
        if known.any():
            stock[known] = last.reindex(sku_ids[known]).to_numpy(dtype=float)
            source = (
                f"the last stock snapshot before the start for {known.sum():,} of "
                f"{known.size:,} SKUs, the first review's mean protection demand for the rest"
            )
    return np.maximum(stock, 0).astype(np.int64), source


def fit_reviews(
    dataset: Dataset,
    request: BacktestRequest,
    engine: str = "auto",
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ReviewFit]:
    """What the product knew at every review date: independent chunks, run on `engine`.
    The same fits serve any budget and any set of policies of the same dates."""
    days = review_days(dataset, request)
    return run_chunks(
        fit_review, days, engine, address, progress, shared={"dataset": dataset, "request": request}
    )


def backtest(
    dataset: Dataset,
    request: BacktestRequest,
    engine: str = "auto",
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    fits: list[ReviewFit] | None = None,
) -> BacktestResult:
    """Replay the history under every policy; see the module docstring.

    `progress(done, total)` is called as review dates are forecast and as they are
    replayed (total = twice the number of reviews). `fits`: from `fit_reviews` for the
    same dates, to replay again (another budget) without forecasting again.
    """
    days = review_days(dataset, request)
    total_steps = 2 * len(days)

    def fitted(done: int, _total: int) -> None:
        if progress is not None:
            progress(done, total_steps)

    if fits is None:
        fits = fit_reviews(dataset, request, engine, address, fitted)
    if [f.day for f in fits] != days:
        raise ValueError("the fits given are not of this backtest's review dates")
    start = days[0]
    span = request.weeks * 7
    skus = dataset.skus
    sku_ids = skus["sku_id"].to_numpy(dtype=object)
    n = len(sku_ids)
    catalogue = _Catalogue.of(dataset, request.review_days)
    stock0, stock_source = _starting_stock(dataset, start, fits[0])
    longest = int(catalogue.lead.max(initial=0))
    books = {
        p: _Book(stock0.copy(), np.zeros((span + longest + 1, n), np.int64))
        for p in request.policies
    }
    demand = _demand(dataset, start, span, sku_ids)
    rows: list[dict[str, Any]] = []
    tier_rows: list[dict[str, Any]] = []
    notes = [f"Every policy started from {stock_source}."]
    for k, fit in enumerate(fits):
        today = (fit.day - start).days
        until = min(today + request.review_days, span)
        seen = history_before(dataset, fit.day)
        settings = PlanSettings(budget=request.budget, churn=fit.churn)
        budget = request.budget
        problems: dict[str, ReorderProblem] = {}
        for policy in request.policies:
            book = books[policy]
            if policy in OPTIMIZERS or PRODUCT not in problems:
                seen_here = _with_position(seen, sku_ids, book, today)
                problems[policy] = build_problem(seen_here, fit.result, fit.segments, settings)
            else:  # the product's problem at this policy's position (the pmfs unused)
                position = (book.on_hand + book.on_order(today)).astype(float)
                problems[policy] = replace(problems[PRODUCT], position=position)
        curves = None
        if budget is None:  # the share of what the product's unlimited plan buys today
            ample = solve(problems[PRODUCT])
            budget, curves = round(request.budget_share * ample.cost, 2), ample.curves
        period = demand[(demand["day"] >= today) & (demand["day"] < until)]
        who = _customers(period, fit)
        for policy in request.policies:
            problem = replace(problems[policy], budget=budget)
            units = _packs(policy, problem, curves if policy == PRODUCT else None)
            row, by_tier = _review(
                policy, problem, units, books[policy], period, who, fit.churn, (today, until),
                catalogue,
            )  # fmt: skip
            rows.append({"policy": policy, "period": k, "review": fit.day.date(), **row})
            tier_rows += [{"policy": policy, "period": k, **t} for t in by_tier]
        if progress is not None:
            progress(len(days) + k + 1, total_steps)
        log.info("review %s replayed (%d of %d)", fit.day.date(), k + 1, len(days))
    sources = sorted({f.churn_source.split(":")[0] for f in fits})
    notes.append(
        f"Churn per stockout and CLV: the product's at each review ({', '.join(sources)})."
    )
    notes.append(
        "Demand: the recorded lines (units delivered + recorded short); lines a stockout "
        "kept from being written at all are not replayed, for any policy."
    )
    periods = pd.DataFrame(rows)
    tiers = pd.DataFrame(tier_rows)
    summary, paired = summarize(periods, tiers, request.policies, request.seed)
    return BacktestResult(periods, tiers, summary, paired, request, tuple(notes))


def _demand(dataset: Dataset, start: pd.Timestamp, span: int, sku_ids: np.ndarray) -> pd.DataFrame:
    """The recorded lines of the backtest's days in the order they came: day (from the
    start), SKU index, units asked (delivered + short), customer, margin per unit."""
    orders = dataset.orders
    end = start + pd.Timedelta(days=span)
    lines = orders[(orders["date"] >= start) & (orders["date"] < end)]
    index = pd.Index(sku_ids.astype(str)).get_indexer(pd.Index(lines["sku_id"].astype(str)))
    cost = dataset.skus["unit_cost"].to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "day": (lines["date"] - start).dt.days.to_numpy(dtype=np.int64),
            "sku": index,
            "units": (lines["quantity"] + lines["quantity_short"]).to_numpy(dtype=np.int64),
            "customer": lines["customer_id"].astype(object).to_numpy(),
            "unit_margin": lines["unit_price"].to_numpy(dtype=float) - cost[index],
        }
    )
    frame = frame[frame["units"] > 0]
    return frame.sort_values("day", kind="stable").reset_index(drop=True)


def _customers(period: pd.DataFrame, fit: ReviewFit) -> pd.DataFrame:
    """Per line: the customer's tier, churn per stockout and CLV as the product saw
    them at the review ("-" and 0 for lines without a known customer)."""
    segments = fit.segments
    tier = pd.Series("-", index=period.index, dtype=object)
    clv = pd.Series(0.0, index=period.index)
    if segments is not None:
        table = segments.customers.set_index("customer_id")
        customer = period["customer"].astype(object)
        known = customer.isin(table.index) & customer.notna()
        tier[known] = table["tier"].astype(str).reindex(customer[known]).to_numpy()
        clv[known] = table["clv"].astype(float).reindex(customer[known]).fillna(0.0).to_numpy()
    churn = tier.map(fit.churn.per_tier).fillna(0.0).astype(float)
    return pd.DataFrame({"tier": tier, "clv": clv.clip(lower=0.0), "churn": churn})


def _metrics(
    period: pd.DataFrame, who: pd.DataFrame, served: np.ndarray, churn: ChurnAssumptions
) -> dict[str, Any]:
    """One policy's period: units and lines short, customers exposed and expected lost
    (1 - (1 - churn)^stockouts met, per customer), CLV lost, margin served."""
    asked = period["units"].to_numpy(dtype=float)
    short = asked - served
    short_line = short > 0
    customer = period["customer"]
    exposed = customer[short_line & customer.notna().to_numpy()]
    met = exposed.value_counts()
    first = who[short_line & customer.notna().to_numpy()].groupby(exposed.to_numpy()).first()
    p_lost = 1.0 - (1.0 - first["churn"].reindex(met.index)) ** met
    clv_lost = float((p_lost * first["clv"].reindex(met.index)).sum())
    return {
        "demand_units": float(asked.sum()),
        "served_units": float(served.sum()),
        "short_units": float(short.sum()),
        "lines": float(len(period)),
        "lines_short": float(short_line.sum()),
        "customers_exposed": float(len(met)),
        "customers_lost": float(p_lost.sum()),
        "clv_lost": clv_lost,
        "margin": float((served * period["unit_margin"].to_numpy(dtype=float)).sum()),
    }


def summarize(
    periods: pd.DataFrame, tiers: pd.DataFrame, policies: tuple[str, ...], seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Totals and rates per policy with bootstrap 95% CIs over review periods, and the
    differences to the product's plan with the same resamples (paired by period)."""
    n_periods = int(periods["period"].nunique())
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_periods, (BOOTSTRAP, n_periods))
    counts = np.stack([np.bincount(d, minlength=n_periods) for d in draws])  # (B, periods)

    def per_period(frame: pd.DataFrame, policy: str, column: str) -> np.ndarray:
        mine = frame[frame["policy"] == policy].groupby("period")[column].sum()
        return mine.reindex(range(n_periods)).fillna(0.0).to_numpy(dtype=float)

    def stats(point: float, boot: np.ndarray) -> tuple[float, float, float]:
        low, high = np.nanpercentile(boot, [2.5, 97.5]) if boot.size else (np.nan, np.nan)
        return point, float(low), float(high)

    estimates: dict[tuple[str, str], tuple[float, np.ndarray]] = {}
    for policy in policies:
        for metric in SUMS:
            v = per_period(periods, policy, metric)
            # Stock value is an average level: its mean over periods, not a sum.
            scale = 1.0 / n_periods if metric == "stock_value" else 1.0
            estimates[(policy, metric)] = (v.sum() * scale, counts @ v * scale)
        rates = {"fill_rate": ("served_units", "demand_units", periods)}
        for tier in sorted(tiers["tier"].unique()) if not tiers.empty else []:
            rates[f"fill_rate {tier}"] = (
                "served_units",
                "demand_units",
                tiers[tiers["tier"] == tier],
            )
        for name, (num, den, frame) in rates.items():
            a, b = per_period(frame, policy, num), per_period(frame, policy, den)
            with np.errstate(invalid="ignore", divide="ignore"):
                estimates[(policy, name)] = (
                    a.sum() / max(b.sum(), 1e-12),
                    (counts @ a) / (counts @ b),
                )
    summary = pd.DataFrame(
        [
            {
                "policy": p,
                "metric": m,
                **dict(zip(("value", "low", "high"), stats(*est), strict=True)),
            }
            for (p, m), est in estimates.items()
        ]
    )
    paired = []
    for (p, m), (point, boot) in estimates.items():
        if p == PRODUCT:
            continue
        base_point, base_boot = estimates[(PRODUCT, m)]
        value, low, high = stats(point - base_point, boot - base_boot)
        paired.append(
            {"policy": p, "metric": m, "minus_replenish": value, "low": low, "high": high}
        )
    return summary, pd.DataFrame(paired)
