"""The daily simulation of one policy on one world: customers, stockouts, churn, orders.

Vectorized over customers and SKUs (numpy; the only Python loop is over days). A run
computes its `Setup` once and changes one `DayState` day by day, through named stages:

1. `deliver`: deliveries arrive; backorders are filled first (top segment first).
2. `come_and_go`: churned customers whose wait is over come back; customers whose
   baseline churn day has come leave for good.
3. `arrivals`: candidate orders are drawn for every customer, active or not (Poisson
   thinning: a total count, then customers by rate), and kept for the active ones.
   Each order has 1 + Poisson(lines - 1) lines; a line's SKU comes from the customer's
   favourite category with probability `affinity`, else from the whole catalogue.
4. `serving`: lines are served in arrival order per SKU. Under a reserve, other
   segments may not take a SKU's last `reserve` units (they are served first, against
   stock above the reserve; the protected segment then takes what is left).
5. `stockouts`: a short line is a stockout event: the customer backorders, substitutes
   (if the SKU has a substitute in stock), buys elsewhere or does not buy, by their
   segment's shares; and churns with their segment's probability (x the scenario's
   multiplier, x 1 - coupon effect with compensation on). A churned customer may come
   back later.
6. `replenish`: the policy plans its first levels from a demand estimate (the product's
   forecast of the history, `DemandEstimate`; the world's true rates only as an oracle
   reference) and replans every `replan_days` from the days it observed (the
   engine refit on the history plus those days, `DemandEstimate.refresh`);
   suppliers under review order position (on hand + on order - backorders) at or
   below s -> up to S, in whole packs, MOQ respected, within the review's budget; an
   optimizer policy skips a supplier whose lines are worth less than its order cost.
   Lead times are drawn per supplier order (normal, at least 1 day).
7. `close_day`: the accounts (stock value and holding cost, unit-days on hand and on
   backorder, active customers).

Common random numbers: every draw of day d comes from a generator seeded by (seed,
replication, d), and the number of draws does not depend on the policy (candidate
orders are drawn for inactive customers too), so two policies see the same customers,
baskets and reactions, and two identical policies give identical results.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from optimize.economics import stockout_cost
from optimize.ordering import (
    fit_by_value,
    fit_to_budget,
    order_units,
    runs_out_first,
    unit_values,
)
from simulations.model import Behaviour, SimWorld
from simulations.policies import Levels, PlanningView, Policy, relevel
from simulations.sampling import GuideTable, RowTables

log = logging.getLogger(__name__)

#: Days of demand the replanning estimate averages over (exponential smoothing span).
SMOOTHING_DAYS = 28


@dataclass(frozen=True)
class Conditions:
    """One scenario's overrides of the world, and the run's length.

    `lead_time_factor` stretches every lead time (mean and sd); `demand_factor` scales
    purchase rates; `churn_multiplier` scales churn per stockout (capped at 1);
    `compensation` hands out coupons on stockouts; `budget_factor` caps each review's
    spend at that share of the mean demand its SKUs see over their review period (None:
    no cap). Policies plan with the nominal world (they do not know of the shocks) and
    replan every `replan_days` from the demand they observe.
    """

    days: int = 365
    lead_time_factor: float = 1.0
    demand_factor: float = 1.0
    churn_multiplier: float = 1.0
    compensation: bool = False
    budget_factor: float | None = None
    holding_rate: float = 0.25
    replan_days: int = 28

    def __post_init__(self) -> None:
        if self.days < 1 or self.replan_days < 1:
            raise ValueError("days and replan_days must be at least 1")
        for name in ("lead_time_factor", "demand_factor", "churn_multiplier", "holding_rate"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value}")
        if self.lead_time_factor <= 0:
            raise ValueError("lead_time_factor must be positive")
        if self.budget_factor is not None and not self.budget_factor >= 0:
            raise ValueError("budget_factor must be non-negative")


class Refresh(Protocol):
    """How a policy re-estimates demand at a replan from what it observed in the run:
    `demand` (SKUs, segments, days so far) units asked, `censored` (SKUs, days) days a
    line was short; `changed` (SKUs) those asked for or short since the last replan,
    the only ones it needs to re-estimate, the others keeping `previous` (daily mean,
    variance; None for both: re-estimate all).
    Returns daily (mean, variance) per (SKU, segment). Must be deterministic and
    picklable (runs go to Dask workers)."""

    def __call__(
        self,
        demand: np.ndarray,
        censored: np.ndarray,
        changed: np.ndarray | None = None,
        previous: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class DemandEstimate:
    """What a policy believes daily demand is, per (SKU, segment) in the world's order:
    mean and variance (units per day), and where it comes from ("forecast": the
    product's forecast of the history before the run; "oracle": the world's true
    rates). `refresh`: how replans re-estimate it from the run's observed days (the
    product's forecast engine, `simulations.estimate.ForecastRefresh`); None smooths the
    observed demand (`SMOOTHING_DAYS`) and keeps the first estimate's dispersion."""

    daily_mean: np.ndarray
    daily_var: np.ndarray
    source: str = "forecast"
    refresh: Refresh | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.daily_mean.shape != self.daily_var.shape or self.daily_mean.ndim != 2:
            raise ValueError("daily_mean and daily_var must be (SKUs, segments) alike")
        if not (np.isfinite(self.daily_mean).all() and np.isfinite(self.daily_var).all()):
            raise ValueError("a demand estimate must be finite")
        if (self.daily_mean < 0).any() or (self.daily_var < 0).any():
            raise ValueError("a demand estimate cannot be negative")

    @classmethod
    def oracle(cls, world: SimWorld) -> DemandEstimate:
        mean, var = world.expected_daily_demand()
        return cls(mean, var, "oracle")

    def fits(self, world: SimWorld) -> DemandEstimate:
        """Self, checked against the world's shape."""
        if self.daily_mean.shape != (world.n_skus, len(world.segments)):
            raise ValueError(
                f"the demand estimate is {self.daily_mean.shape}, the world "
                f"({world.n_skus} SKUs, {len(world.segments)} segments)"
            )
        return self


@dataclass(frozen=True)
class RunResult:
    """What one run produced. Per-segment arrays have one value per world segment.

    `segment`: units_requested, units_filled_now (served from stock when asked),
    units_substituted, units_backordered, units_backorder_filled, units_lost, lines,
    lines_short (stockout events), revenue, cogs, customers_lost (churned after a
    stockout), customers_regained, customers_base_churn, active_start, active_end,
    clv_active_end, clv_lost (of the customers lost to a stockout and not back by the
    end), compensation_cost. `totals`: holding_cost, order_cost,
    purchase_cost, orders_placed, units_received, units_sold, on_hand_start,
    on_hand_end, on_order_end, inventory_value (average over days). `active`: active
    customers at the start and after each day. Per customer: `hits` (stockout events
    met), `lost` (churned after a stockout at least once), `active_end`.
    """

    segments: tuple[str, ...]
    segment: dict[str, np.ndarray]
    totals: dict[str, float]
    active: np.ndarray
    hits: np.ndarray = field(repr=False)
    lost: np.ndarray = field(repr=False)
    active_end: np.ndarray = field(repr=False)


def planning_view(
    world: SimWorld,
    behaviour: Behaviour,
    daily_mean: np.ndarray,
    daily_var: np.ndarray,
    holding_rate: float,
) -> PlanningView:
    """The planner's view: demand estimate, nominal lead times, DESIGN.md stockout costs."""
    k = len(world.segments)
    lead = world.lead_mean[world.supplier]
    clv = np.bincount(world.segment, weights=world.clv, minlength=k) / np.maximum(
        np.bincount(world.segment, minlength=k), 1
    )
    units = np.full(k, float(np.mean(world.mean_quantity)) if world.n_skus else 1.0)
    margin = world.unit_price - world.unit_cost
    return PlanningView(
        daily_mean=daily_mean,
        daily_var=daily_var,
        protection_days=lead + world.review[world.supplier],
        lead_days=lead,
        unit_cost=world.unit_cost,
        unit_price=world.unit_price,
        stockout_cost=stockout_cost(margin, behaviour.churn_per_stockout, clv, units),
        order_cost=world.order_cost[world.supplier],
        holding_rate=holding_rate,
        segments=world.segments,
    )


def serve_lines(sku: np.ndarray, qty: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Units served per line from `stock` per SKU, the lines of each SKU in the order
    given (first come, first served), until its stock runs out."""
    if sku.size == 0:
        return np.zeros(0, dtype=np.int64)
    # Stable sort keeps arrival order within a SKU; small ints sort by radix.
    key = sku.astype(np.int16) if stock.size < 2**15 else sku
    order = np.argsort(key, kind="stable")
    s, q = sku[order], qty[order]
    ahead = np.cumsum(q) - q  # units asked before each line, all SKUs
    first = np.ones(s.size, dtype=bool)
    np.not_equal(s[1:], s[:-1], out=first[1:])
    start = np.maximum.accumulate(np.where(first, np.arange(s.size), 0))
    before = ahead - ahead[start]  # ... before it for the same SKU
    served = np.empty_like(q)
    served[order] = np.minimum(np.maximum(stock[s] - before, 0), q)
    return served


#: Per-segment counters of a run (RunResult.segment), each an array over segments.
COUNTERS = (
    "units_requested", "units_filled_now", "units_substituted", "units_backordered",
    "units_backorder_filled", "units_lost", "lines", "lines_short", "revenue", "cogs",
    "customers_lost", "customers_regained", "customers_base_churn", "compensation_cost",
)  # fmt: skip


@dataclass(frozen=True)
class Setup:
    """What a run computes once from the world, the behaviour and the conditions: the
    O(1) samplers, reaction shares, churn per stockout, lead times, review days and the
    baseline churn day of every customer. Read-only during the run."""

    world: SimWorld
    behaviour: Behaviour
    conditions: Conditions
    by_cat: np.ndarray  # SKUs sorted by category
    total_pop: float
    taste: np.ndarray  # per customer: (affinity, start, width) on the cumulative popularity
    line_units: RowTables
    customers: GuideTable
    skus: GuideTable
    weekly: np.ndarray
    react_cum: np.ndarray
    churn_p: np.ndarray
    lead_mean: np.ndarray
    lead_sd: np.ndarray
    review_offset: np.ndarray
    first_arrival: np.ndarray  # day each SKU's initial stock on order arrives
    base_day: np.ndarray
    by_base: np.ndarray
    base_edges: np.ndarray
    dispersion: np.ndarray
    budget_base: np.ndarray
    planning: DemandEstimate = field(repr=False)

    @classmethod
    def of(
        cls,
        world: SimWorld,
        behaviour: Behaviour,
        cond: Conditions,
        start: np.random.Generator,
        planning: DemandEstimate | None = None,
    ) -> Setup:
        n, m = world.n_skus, world.n_customers
        # Static catalogue draws: category-sorted cumulative popularity.
        by_cat = np.argsort(world.category, kind="stable")
        cum_pop = np.cumsum(world.popularity[by_cat])
        cats = world.category[by_cat]
        c_idx = np.arange(max(world.n_categories, 1))
        cat_lo_i = np.searchsorted(cats, c_idx, side="left")
        cat_hi_i = np.searchsorted(cats, c_idx, side="right")
        cat_lo = np.where(cat_lo_i > 0, cum_pop[np.maximum(cat_lo_i - 1, 0)], 0.0)
        cat_hi = np.where(cat_hi_i > 0, cum_pop[np.maximum(cat_hi_i - 1, 0)], 0.0)
        # Per customer: where their favourite category sits on the cumulative popularity,
        # one row per customer (affinity, start, width), gathered together per line.
        fav_lo = cat_lo[world.favourite]
        fav_width = cat_hi[world.favourite] - fav_lo
        taste = np.column_stack([np.where(fav_width > 0, world.affinity, 0.0), fav_lo, fav_width])
        coupon = (1.0 - behaviour.coupon_effect) if cond.compensation else 1.0
        # Stock on order arrives uniformly over each supplier's nominal lead time.
        first_arrival = 1 + np.floor(start.random(n) * world.lead_mean[world.supplier])
        hazard = behaviour.base_churn_daily[world.segment]
        with np.errstate(divide="ignore"):
            base_day = np.where(
                hazard > 0, np.ceil(start.exponential(1.0, m) / np.maximum(hazard, 1e-300)), np.inf
            )
        # Baseline churn days sorted once: day d's leavers are one slice.
        by_base = np.argsort(base_day, kind="stable")
        estimate = planning or DemandEstimate.oracle(world)
        mean0, var0 = estimate.daily_mean, estimate.daily_var
        sku_review = world.review[world.supplier]
        return cls(
            world=world, behaviour=behaviour, conditions=cond, by_cat=by_cat,
            total_pop=float(cum_pop[-1]) if n else 0.0, taste=taste,
            line_units=RowTables.poisson(np.maximum(world.mean_quantity - 1.0, 0.0)),
            customers=GuideTable(np.cumsum(world.rate * cond.demand_factor)),
            skus=GuideTable(cum_pop),
            weekly=world.weekly / max(float(world.weekly.mean()), 1e-12),
            react_cum=np.cumsum(behaviour.reactions, axis=1),
            churn_p=np.clip(
                behaviour.churn_per_stockout * cond.churn_multiplier * coupon, 0.0, 1.0
            ),
            lead_mean=world.lead_mean * cond.lead_time_factor,
            lead_sd=world.lead_sd * cond.lead_time_factor,
            review_offset=np.arange(world.review.size) % world.review,
            first_arrival=first_arrival.astype(np.int64), base_day=base_day, by_base=by_base,
            base_edges=np.searchsorted(base_day[by_base], np.arange(cond.days + 1)),
            dispersion=np.where(mean0 > 0, var0 / np.maximum(mean0, 1e-12), 1.0),
            budget_base=(mean0.sum(axis=1) * sku_review * world.unit_cost)
            * (cond.budget_factor or 0.0),
            planning=estimate,
        )  # fmt: skip


@dataclass
class DayState:
    """Everything a run changes from day to day: stock, the pipeline of deliveries,
    backorders, who is active and who comes back when, the demand estimate and the
    policy's current levels, and the accounts."""

    on_hand: np.ndarray
    on_order: np.ndarray
    incoming: np.ndarray  # (day, SKU): units arriving that morning
    backlog: np.ndarray  # (SKU, segment)
    active: np.ndarray
    return_day: np.ndarray
    returning: dict[int, list[np.ndarray]]
    estimate: np.ndarray
    levels: Levels
    belief: tuple[np.ndarray, np.ndarray]  # the daily mean and variance `levels` came from
    replanned: int  # the day the policy last replanned (0: the start)
    acc: dict[str, np.ndarray]
    asked: np.ndarray  # (days, SKU, segment) units asked; empty without a refresh
    short: np.ndarray  # (days, SKU) a line was short; empty without a refresh
    hits: np.ndarray
    lost: np.ndarray
    active_series: np.ndarray
    totals: dict[str, float]

    @classmethod
    def start(cls, setup: Setup, levels: Levels) -> DayState:
        """Day 0: the world's stock, its stock on order in the pipeline."""
        world, days = setup.world, setup.conditions.days
        n, m, k = world.n_skus, world.n_customers, len(world.segments)
        max_lead = int(np.ceil(np.max(setup.lead_mean + 5 * setup.lead_sd, initial=1.0))) + 2
        incoming = np.zeros((days + max_lead + 1, n), dtype=np.int64)
        first = np.minimum(setup.first_arrival, incoming.shape[0] - 1)
        np.add.at(incoming, (first, np.arange(n)), world.on_order)
        acc: dict[str, np.ndarray] = {name: np.zeros(k) for name in COUNTERS}
        acc["active_start"] = np.bincount(world.segment, weights=world.active, minlength=k)
        active_series = np.empty(days + 1, dtype=np.int64)
        active_series[0] = int(world.active.sum())
        totals = dict.fromkeys(
            ("holding_cost", "order_cost", "purchase_cost", "inventory_value",
             "on_hand_unit_days", "backlog_unit_days", "orders_placed", "units_sold"),
            0.0,
        )  # fmt: skip
        totals["units_received"] = float(world.on_order.sum())
        kept = days if setup.planning.refresh is not None else 0
        return cls(
            on_hand=world.on_hand.astype(np.int64).copy(),
            on_order=world.on_order.astype(np.int64).copy(),
            incoming=incoming, backlog=np.zeros((n, k), dtype=np.int64),
            active=world.active.copy(), return_day=np.full(m, -1, dtype=np.int64),
            returning={}, estimate=setup.planning.daily_mean.copy(), levels=levels,
            belief=(setup.planning.daily_mean, setup.planning.daily_var), replanned=0,
            acc=acc, asked=np.zeros((kept, n, k), dtype=np.float32),
            short=np.zeros((kept, n), dtype=bool),
            hits=np.zeros(m, dtype=np.int32), lost=np.zeros(m, dtype=bool),
            active_series=active_series, totals=totals,
        )  # fmt: skip

    def book(
        self, setup: Setup, g: np.ndarray, units: np.ndarray, sku: np.ndarray, column: str
    ) -> None:
        """Units sold to segments `g` from SKUs `sku`: the counter, revenue and cost."""
        k, world = len(setup.world.segments), setup.world
        self.acc[column] += np.bincount(g, weights=units, minlength=k)
        self.acc["revenue"] += np.bincount(g, weights=units * world.unit_price[sku], minlength=k)
        self.acc["cogs"] += np.bincount(g, weights=units * world.unit_cost[sku], minlength=k)
        self.totals["units_sold"] += float(units.sum())


@dataclass(frozen=True)
class Lines:
    """One day's order lines and the uniform draws that decide their fate. Drawn for
    every customer, active or not, so the draws never depend on the policy; `keep`
    indexes the lines of active customers, and `c`, `s`, `q`, `g` are theirs."""

    keep: np.ndarray
    c: np.ndarray  # customer
    s: np.ndarray  # SKU
    q: np.ndarray  # units asked for
    g: np.ndarray  # segment
    u_react: np.ndarray  # the draws below are for every line, kept or not
    u_churn: np.ndarray
    u_back: np.ndarray
    wait: np.ndarray
    z_lead: np.ndarray  # one normal per supplier: today's lead-time draws


def deliver(state: DayState, setup: Setup, d: int) -> None:
    """Stage 1: the morning's deliveries, then backorders filled (top segment first)."""
    state.on_hand += state.incoming[d]
    state.on_order -= state.incoming[d]
    if not state.backlog.any():
        return
    world = setup.world
    for g in range(len(world.segments)):
        fill = np.minimum(state.backlog[:, g], state.on_hand)
        if fill.any():
            state.on_hand -= fill
            state.backlog[:, g] -= fill
            state.acc["units_backorder_filled"][g] += float(fill.sum())
            state.acc["revenue"][g] += float(fill @ world.unit_price)
            state.acc["cogs"][g] += float(fill @ world.unit_cost)
            state.totals["units_sold"] += float(fill.sum())


def come_and_go(state: DayState, setup: Setup, d: int) -> None:
    """Stage 2: customers whose wait after churning is over come back; those whose
    baseline churn day has come leave for good."""
    world, k = setup.world, len(setup.world.segments)
    scheduled = state.returning.pop(d, [])
    back = np.concatenate(scheduled) if scheduled else np.zeros(0, dtype=np.int64)
    back = back[state.return_day[back] == d]
    if back.size:
        state.return_day[back] = -1
        back = back[setup.base_day[back] > d]
        state.active[back] = True
        state.acc["customers_regained"] += np.bincount(world.segment[back], minlength=k)
    leaving = setup.by_base[setup.base_edges[d] : setup.base_edges[d + 1]]
    leaving = leaving[state.active[leaving]]
    if leaving.size:
        state.active[leaving] = False
        state.acc["customers_base_churn"] += np.bincount(world.segment[leaving], minlength=k)


def arrivals(state: DayState, setup: Setup, d: int, rng: np.random.Generator) -> Lines:
    """Stage 3: candidate orders, lines and quantities (drawn whatever the policy), the
    active customers' lines counted and fed to the demand estimate."""
    world, k, n = setup.world, len(setup.world.segments), setup.world.n_skus
    total_rate = setup.customers.total
    n_orders = rng.poisson(total_rate * setup.weekly[(world.start_weekday + d) % 7])
    cust = setup.customers.draw(rng.random(n_orders) * total_rate)
    n_lines = 1 + rng.poisson(world.lines[cust] - 1.0)
    line_cust = np.repeat(cust, n_lines)
    n_all = line_cust.size
    u_fav, u_sku, u_qty = rng.random(n_all), rng.random(n_all), rng.random(n_all)
    t = setup.taste[line_cust]
    at = np.where(u_fav < t[:, 0], t[:, 1] + u_sku * t[:, 2], u_sku * setup.total_pop)
    line_sku = setup.by_cat[setup.skus.draw(at)]
    qty = 1 + setup.line_units.draw(line_sku, u_qty)
    u_react, u_churn, u_back = rng.random(n_all), rng.random(n_all), rng.random(n_all)
    wait = rng.exponential(setup.behaviour.mean_days_to_return, n_all)
    z_lead = rng.normal(size=world.lead_mean.size)

    keep = np.flatnonzero(state.active[line_cust])
    c, s, q = line_cust[keep], line_sku[keep], qty[keep]
    g = world.segment[c]
    state.acc["lines"] += np.bincount(g, minlength=k)
    state.acc["units_requested"] += np.bincount(g, weights=q, minlength=k)
    asked = np.bincount(s * k + g, weights=q, minlength=n * k).reshape(n, k)
    if state.asked.shape[0]:
        state.asked[d] = asked
    else:
        state.estimate += 2.0 / (SMOOTHING_DAYS + 1) * (asked - state.estimate)
    return Lines(keep, c, s, q, g, u_react, u_churn, u_back, wait, z_lead)


def serving(state: DayState, setup: Setup, d: int, lines: Lines) -> np.ndarray:
    """Stage 4: lines served from stock in arrival order per SKU; under a reserve, other
    segments may not take a SKU's last `reserve` units (the protected segment is served
    after them, from what is left). Returns the units served per line."""
    n, reserve = setup.world.n_skus, state.levels.reserve
    s, q, g = lines.s, lines.q, lines.g
    if reserve is None:
        served = serve_lines(s, q, state.on_hand)
        state.on_hand -= np.bincount(s, weights=served, minlength=n).astype(np.int64)
    else:
        top = g == reserve.segment
        served = np.zeros_like(q)
        rest = np.flatnonzero(~top)
        # The reserve only matters where other segments ask today: computed there alone.
        asking = np.unique(s[rest])
        lead = setup.lead_mean[setup.world.supplier[asking]]
        held = np.zeros(n)
        held[asking] = reserve.units(_days_to_arrival(state.incoming[:, asking], d, lead), asking)
        served[rest] = serve_lines(s[rest], q[rest], np.maximum(state.on_hand - held, 0))
        state.on_hand -= np.bincount(s[rest], weights=served[rest], minlength=n).astype(np.int64)
        first = np.flatnonzero(top)
        served[first] = serve_lines(s[first], q[first], state.on_hand)
        state.on_hand -= np.bincount(s[first], weights=served[first], minlength=n).astype(np.int64)
    state.book(setup, g, served, s, "units_filled_now")
    return served


def stockouts(state: DayState, setup: Setup, d: int, lines: Lines, served: np.ndarray) -> None:
    """Stage 5: each short line is a stockout event. The customer backorders,
    substitutes (if the SKU has one in stock), buys elsewhere or does not buy, by their
    segment's shares; then churns with the segment's probability and may come back
    after an exponential wait."""
    world, behaviour, cond = setup.world, setup.behaviour, setup.conditions
    k, n, days = len(world.segments), world.n_skus, cond.days
    hit = np.flatnonzero(served < lines.q)
    if not hit.size:
        return
    if state.short.shape[0]:
        state.short[d, lines.s[hit]] = True
    hc, hs, hg = lines.c[hit], lines.s[hit], lines.g[hit]
    short = (lines.q - served)[hit]
    state.acc["lines_short"] += np.bincount(hg, minlength=k)
    np.add.at(state.hits, hc, 1)
    reaction = (lines.u_react[lines.keep][hit][:, None] >= setup.react_cum[hg]).sum(axis=1)
    wait_back = reaction == 0
    if wait_back.any():
        np.add.at(state.backlog, (hs[wait_back], hg[wait_back]), short[wait_back])
        state.acc["units_backordered"] += np.bincount(
            hg[wait_back], weights=short[wait_back], minlength=k
        )
    subst = (reaction == 1) & (world.substitute[hs] >= 0)
    got = np.zeros_like(short)
    if subst.any():
        sub_sku = world.substitute[hs[subst]]
        got[subst] = serve_lines(sub_sku, short[subst], state.on_hand)
        state.on_hand -= np.bincount(sub_sku, weights=got[subst], minlength=n).astype(np.int64)
        state.book(setup, hg[subst], got[subst], sub_sku, "units_substituted")
    gone = ~wait_back
    state.acc["units_lost"] += np.bincount(hg[gone], weights=(short - got)[gone], minlength=k)
    if cond.compensation:
        state.acc["compensation_cost"] += behaviour.coupon_cost * np.bincount(hg, minlength=k)
    # Churn, and some of the churned come back.
    churning = lines.u_churn[lines.keep][hit] < setup.churn_p[hg]
    who, first_line = np.unique(hc[churning], return_index=True)
    if not who.size:
        return
    state.active[who] = False
    state.lost[who] = True
    seg = world.segment[who]
    state.acc["customers_lost"] += np.bincount(seg, minlength=k)
    idx = lines.keep[hit][churning][first_line]
    comes_back = lines.u_back[idx] < behaviour.return_probability[seg]
    when = d + 1 + np.ceil(lines.wait[idx]).astype(np.int64)
    state.return_day[who] = np.where(comes_back, when, -1)
    for day in np.unique(when[comes_back & (when < days)]):
        state.returning.setdefault(int(day), []).append(who[comes_back & (when == day)])


def replenish(state: DayState, setup: Setup, d: int, policy: Policy, z_lead: np.ndarray) -> None:
    """Stage 6: replan every `replan_days` from the demand observed; suppliers under
    review order what the policy's levels say (`review_orders`), after a random lead."""
    world, cond = setup.world, setup.conditions
    if d > 0 and d % cond.replan_days == 0:
        refresh = setup.planning.refresh
        if refresh is not None:
            # The days so far, today's included (its demand is in); only the SKUs asked
            # for or short since the last replan are re-estimated and re-planned: the
            # work follows the active catalogue, not every SKU ever sold.
            since = slice(state.replanned, d + 1)
            changed = (state.asked[since].sum(axis=(0, 2)) > 0) | state.short[since].any(axis=0)
            asked, short = state.asked[: d + 1].transpose(1, 2, 0), state.short[: d + 1].T
            mean, var = refresh(asked, short, changed, state.belief)
        else:
            mean, var = state.estimate.copy(), state.estimate * setup.dispersion
        view = planning_view(world, setup.behaviour, mean, var, cond.holding_rate)
        # Replanned: the SKUs whose estimate moved (whatever the refresh chose to redo).
        moved = (mean != state.belief[0]).any(axis=1) | (var != state.belief[1]).any(axis=1)
        state.levels = relevel(policy, state.levels, view, moved)
        state.belief, state.replanned = (mean, var), d + 1
    reviewing = ((d + setup.review_offset) % world.review == 0)[world.supplier]
    position = state.on_hand + state.on_order - state.backlog.sum(axis=1)
    if not (reviewing & (position <= state.levels.reorder_point)).any():
        return
    budget = None if cond.budget_factor is None else float(setup.budget_base[reviewing].sum())
    units = review_orders(
        state.levels, position, reviewing, world.pack_size, world.moq, world.unit_cost, budget
    )
    units = worth_the_order(state.levels, position, units, world.supplier, world.order_cost)
    ordered = np.flatnonzero(units > 0)
    if not ordered.size:
        return
    sup = world.supplier[ordered]
    delay = np.maximum(1, np.round(setup.lead_mean[sup] + setup.lead_sd[sup] * z_lead[sup])).astype(
        np.int64
    )
    arrive_day = np.minimum(d + delay, state.incoming.shape[0] - 1)
    np.add.at(state.incoming, (arrive_day, ordered), units[ordered])
    state.on_order += units
    suppliers = np.unique(sup)
    state.totals["purchase_cost"] += float(units @ world.unit_cost)
    state.totals["order_cost"] += float(world.order_cost[suppliers].sum())
    state.totals["orders_placed"] += float(suppliers.size)
    state.totals["units_received"] += float(units.sum())


def close_day(state: DayState, setup: Setup, d: int) -> None:
    """Stage 7, the accounts: stock value held overnight and its holding cost, unit-days
    on hand and on backorder, active customers."""
    value = float(state.on_hand @ setup.world.unit_cost)
    state.totals["inventory_value"] += value
    state.totals["holding_cost"] += value * setup.conditions.holding_rate / 365.0
    state.totals["on_hand_unit_days"] += float(state.on_hand.sum())
    state.totals["backlog_unit_days"] += float(state.backlog.sum())
    state.active_series[d + 1] = np.count_nonzero(state.active)


def run_policy(
    world: SimWorld,
    behaviour: Behaviour,
    policy: Policy,
    conditions: Conditions | None = None,
    seed: int = 0,
    replication: int = 0,
    planning: DemandEstimate | None = None,
    first: Levels | None = None,
) -> RunResult:
    """Run `policy` on `world` for `conditions.days` days; see the module docstring.

    `planning`: the demand the policy plans its first levels with (and the dispersion
    it keeps for its replans): the product's forecast of the history before the run, or
    None for the world's true rates (an oracle reference). `first`: those first levels
    when already computed (`first_levels`: the same for every replication)."""
    cond = conditions or Conditions()
    start = np.random.default_rng([seed, replication, 0])
    setup = Setup.of(world, behaviour, cond, start, planning)
    levels = first if first is not None else first_levels(world, behaviour, policy, cond, planning)
    state = DayState.start(setup, levels)
    for d in range(cond.days):
        rng = np.random.default_rng([seed, replication, d + 1])
        deliver(state, setup, d)
        come_and_go(state, setup, d)
        lines = arrivals(state, setup, d, rng)
        served = serving(state, setup, d, lines)
        stockouts(state, setup, d, lines, served)
        replenish(state, setup, d, policy, lines.z_lead)
        close_day(state, setup, d)
    return _result(state, setup)


def first_levels(
    world: SimWorld,
    behaviour: Behaviour,
    policy: Policy,
    conditions: Conditions | None = None,
    planning: DemandEstimate | None = None,
) -> Levels:
    """The levels `policy` starts a run with: planned on `planning` (None: the world's
    true rates) under the nominal world and the scenario's holding rate; they depend on
    nothing a replication draws, so an experiment computes them once per policy."""
    cond = conditions or Conditions()
    estimate = planning or DemandEstimate.oracle(world)
    view = planning_view(
        world, behaviour, estimate.daily_mean, estimate.daily_var, cond.holding_rate
    )
    return policy.levels(view)


def _result(state: DayState, setup: Setup) -> RunResult:
    world, k, days = setup.world, len(setup.world.segments), setup.conditions.days
    # Orders still in the pipeline were not received.
    in_transit = float(state.incoming[days:].sum())
    acc = state.acc
    acc["active_end"] = np.bincount(world.segment, weights=state.active, minlength=k)
    acc["clv_active_end"] = np.bincount(
        world.segment, weights=world.clv * state.active, minlength=k
    )
    gone = state.lost & ~state.active  # lost to a stockout, not back by the end
    acc["clv_lost"] = np.bincount(world.segment, weights=world.clv * gone, minlength=k)
    t = state.totals
    totals = {
        "holding_cost": t["holding_cost"],
        "order_cost": t["order_cost"],
        "purchase_cost": t["purchase_cost"],
        "orders_placed": t["orders_placed"],
        "units_received": t["units_received"] - in_transit,
        "units_sold": t["units_sold"],
        "on_hand_start": float(world.on_hand.sum()),
        "on_hand_end": float(state.on_hand.sum()),
        "on_order_end": in_transit,
        "backlog_end": float(state.backlog.sum()),
        "inventory_value": t["inventory_value"] / days,
        "on_hand_unit_days": t["on_hand_unit_days"],
        "backlog_unit_days": t["backlog_unit_days"],
    }
    return RunResult(
        world.segments, acc, totals, state.active_series, state.hits, state.lost,
        state.active.copy(),
    )  # fmt: skip


def review_orders(
    levels: Levels,
    position: np.ndarray,
    reviewing: np.ndarray,
    pack_size: np.ndarray,
    moq: np.ndarray,
    unit_cost: np.ndarray,
    budget: float | None,
) -> np.ndarray:
    """Units each SKU under review orders: the policy's levels through the plan's own
    ordering rule (`optimize.ordering`: whole packs, MOQ). When the review's `budget`
    binds, a policy that values each unit (the optimizers) buys packs by marginal value
    per currency across its lines (`fit_by_value`, the plan's own rule); a rule without
    values (ERP min/max, base-stock, (s,S)) keeps lines whole, what runs out first (the
    least of its order-up-to level held) first, a line too dear cut to the packs that
    still fit and the list gone on (`fit_to_budget`, as the plan's baselines and the
    backtest do), as a buyer works down an ERP's reorder list."""
    s = np.where(reviewing, levels.reorder_point, -np.inf)
    units = order_units(position, s, levels.order_up_to, pack_size, moq)
    if budget is None:
        return units
    if levels.unit_value is not None:
        start, values = levels.unit_value
        return fit_by_value(units, position, unit_cost, budget, pack_size, moq, start, values)
    priority = levels.priority
    if priority is None:
        priority = runs_out_first(position, levels.order_up_to)
    return fit_to_budget(units, unit_cost, budget, priority, pack_size, moq)


def worth_the_order(
    levels: Levels,
    position: np.ndarray,
    units: np.ndarray,
    supplier: np.ndarray,
    order_cost: np.ndarray,
) -> np.ndarray:
    """`units`, less the lines of every supplier whose lines this review are worth less
    than its fixed order cost (`order_cost` per supplier, currency), for a policy that
    values each unit (`Levels.unit_value`): the plan drops such a supplier too, and a
    policy ordering up to S at every review would otherwise pay the order cost for a
    few units at a time. Rules without values (ERP min/max, base-stock, (s,S)) order as
    their levels say: their band between s and S is how they economize on orders."""
    if levels.unit_value is None or not (order_cost > 0).any():
        return units
    start, values = levels.unit_value
    worth = np.zeros(order_cost.size)
    for i in np.flatnonzero(units > 0):
        added = unit_values(start, values, int(i), position[i], int(units[i]))
        worth[supplier[i]] += float(added.sum())
    ordering = np.bincount(supplier[units > 0], minlength=order_cost.size) > 0
    skip = ordering & (worth < order_cost)
    return np.where(skip[supplier], 0, units)


def _days_to_arrival(incoming: np.ndarray, day: int, lead: np.ndarray) -> np.ndarray:
    """Days from `day` until each SKU's next delivery (columns of `incoming`, the
    deliveries per day); its lead time if none is on order."""
    ahead = incoming[day + 1 :] > 0
    has = ahead.any(axis=0)
    return np.where(has, np.argmax(ahead, axis=0) + 1, lead).astype(float)
