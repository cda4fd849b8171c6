"""The daily simulation of one policy on one world: customers, stockouts, churn, orders.

Vectorized over customers and SKUs (numpy; the only Python loop is over days). Each day:

1. Deliveries arrive; backorders are filled first (top segment first).
2. Churned customers whose wait is over come back; customers whose baseline churn day
   has come leave for good.
3. Orders: candidate orders are drawn for every customer, active or not (Poisson
   thinning: a total count, then customers by rate), and kept for the active ones.
   Each order has 1 + Poisson(lines - 1) lines; a line's SKU comes from the customer's
   favourite category with probability `affinity`, else from the whole catalogue.
4. Lines are served in arrival order per SKU. Under a reserve, other segments may not
   take a SKU's last `reserve` units (they are served first, against stock above the
   reserve; the protected segment then takes what is left).
5. A short line is a stockout event: the customer backorders, substitutes (if the SKU
   has a substitute in stock), buys elsewhere or does not buy, by their segment's
   shares; and churns with their segment's probability (x the scenario's multiplier,
   x 1 - coupon effect with compensation on). A churned customer may come back later.
6. Suppliers under review order: position (on hand + on order - backorders) at or
   below s -> up to S, in whole packs, MOQ respected, within the review's budget.
   Lead times are drawn per supplier order (normal, at least 1 day).

Common random numbers: every draw of day d comes from a generator seeded by (seed,
replication, d), and the number of draws does not depend on the policy (candidate
orders are drawn for inactive customers too), so two policies see the same customers,
baskets and reactions, and two identical policies give identical results.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from simulations.model import Behaviour, SimWorld
from simulations.policies import Levels, PlanningView, Policy
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


@dataclass(frozen=True)
class RunResult:
    """What one run produced. Per-segment arrays have one value per world segment.

    `segment`: units_requested, units_filled_now (served from stock when asked),
    units_substituted, units_backordered, units_backorder_filled, units_lost, lines,
    lines_short (stockout events), revenue, cogs, customers_lost (churned after a
    stockout), customers_regained, customers_base_churn, active_start, active_end,
    clv_active_end, compensation_cost. `totals`: holding_cost, order_cost,
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
    margin = np.maximum(world.unit_price - world.unit_cost, 0.0)
    clv = np.bincount(world.segment, weights=world.clv, minlength=k) / np.maximum(
        np.bincount(world.segment, minlength=k), 1
    )
    units = np.full(k, float(np.mean(world.mean_quantity)) if world.n_skus else 1.0)
    extra = behaviour.churn_per_stockout * clv / np.maximum(units, 1e-9)
    return PlanningView(
        daily_mean=daily_mean,
        daily_var=daily_var,
        protection_days=lead + world.review[world.supplier],
        lead_days=lead,
        unit_cost=world.unit_cost,
        unit_price=world.unit_price,
        stockout_cost=margin[:, None] + extra[None, :],
        order_cost=world.order_cost[world.supplier],
        holding_rate=holding_rate,
        segments=world.segments,
    )


def _serve(sku: np.ndarray, qty: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Units served per line, lines of each SKU in the given order, from `stock` per SKU."""
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


def simulate(
    world: SimWorld,
    behaviour: Behaviour,
    policy: Policy,
    conditions: Conditions | None = None,
    seed: int = 0,
    replication: int = 0,
) -> RunResult:
    """Run `policy` on `world` for `conditions.days` days; see the module docstring."""
    cond = conditions or Conditions()
    m, n, k = world.n_customers, world.n_skus, len(world.segments)
    days = cond.days
    start_rng = np.random.default_rng([seed, replication, 0])

    # Static catalogue draws: category-sorted cumulative popularity.
    by_cat = np.argsort(world.category, kind="stable")
    cum_pop = np.cumsum(world.popularity[by_cat])
    total_pop = float(cum_pop[-1]) if n else 0.0
    cats = world.category[by_cat]
    c_idx = np.arange(max(world.n_categories, 1))
    cat_lo_i = np.searchsorted(cats, c_idx, side="left")
    cat_hi_i = np.searchsorted(cats, c_idx, side="right")
    cat_lo = np.where(cat_lo_i > 0, cum_pop[np.maximum(cat_lo_i - 1, 0)], 0.0)
    cat_hi = np.where(cat_hi_i > 0, cum_pop[np.maximum(cat_hi_i - 1, 0)], 0.0)
    # Per customer: where their favourite category sits on the cumulative popularity.
    # One row per customer (affinity, start, width), gathered together per line.
    fav_lo = cat_lo[world.favourite]
    fav_width = cat_hi[world.favourite] - fav_lo
    taste = np.column_stack([np.where(fav_width > 0, world.affinity, 0.0), fav_lo, fav_width])
    line_units = RowTables.poisson(np.maximum(world.mean_quantity - 1.0, 0.0))
    customers = GuideTable(np.cumsum(world.rate * cond.demand_factor))
    total_rate = customers.total
    skus = GuideTable(cum_pop)
    weekly = world.weekly / max(float(world.weekly.mean()), 1e-12)
    react_cum = np.cumsum(behaviour.reactions, axis=1)
    coupon = (1.0 - behaviour.coupon_effect) if cond.compensation else 1.0
    churn_p = np.clip(behaviour.churn_per_stockout * cond.churn_multiplier * coupon, 0.0, 1.0)

    # Lead times and reviews.
    lead_mean = world.lead_mean * cond.lead_time_factor
    lead_sd = world.lead_sd * cond.lead_time_factor
    max_lead = int(np.ceil(np.max(lead_mean + 5 * lead_sd, initial=1.0))) + 2
    incoming = np.zeros((days + max_lead + 1, n), dtype=np.int64)
    review_offset = np.arange(world.review.size) % world.review
    sku_review = world.review[world.supplier]

    # Initial state: stock on order arrives uniformly over each supplier's nominal lead.
    on_hand = world.on_hand.astype(np.int64).copy()
    arrive = 1 + np.floor(start_rng.random(n) * world.lead_mean[world.supplier]).astype(np.int64)
    np.add.at(incoming, (np.minimum(arrive, incoming.shape[0] - 1), np.arange(n)), world.on_order)
    on_order = world.on_order.astype(np.int64).copy()
    backlog = np.zeros((n, k), dtype=np.int64)
    active = world.active.copy()
    hazard = behaviour.base_churn_daily[world.segment]
    with np.errstate(divide="ignore"):
        base_day = np.where(
            hazard > 0, np.ceil(start_rng.exponential(1.0, m) / np.maximum(hazard, 1e-300)), np.inf
        )
    # Baseline churn days sorted once: day d's leavers are one slice.
    by_base = np.argsort(base_day, kind="stable")
    base_edges = np.searchsorted(base_day[by_base], np.arange(days + 1))
    return_day = np.full(m, -1, dtype=np.int64)
    returning: dict[int, list[np.ndarray]] = {}

    # Planning.
    mean0, var0 = world.expected_daily_demand()
    dispersion = np.where(mean0 > 0, var0 / np.maximum(mean0, 1e-12), 1.0)
    estimate = mean0.copy()
    alpha = 2.0 / (SMOOTHING_DAYS + 1)
    view = planning_view(world, behaviour, mean0, var0, cond.holding_rate)
    levels: Levels = policy.levels(view)
    budget_base = (mean0.sum(axis=1) * sku_review * world.unit_cost) * (cond.budget_factor or 0.0)

    # Accounting.
    zk = np.zeros(k)
    acc: dict[str, np.ndarray] = {
        name: zk.copy()
        for name in (
            "units_requested", "units_filled_now", "units_substituted", "units_backordered",
            "units_backorder_filled", "units_lost", "lines", "lines_short", "revenue", "cogs",
            "customers_lost", "customers_regained", "customers_base_churn", "compensation_cost",
        )
    }  # fmt: skip
    acc["active_start"] = np.bincount(world.segment, weights=active, minlength=k)
    hits = np.zeros(m, dtype=np.int32)
    lost = np.zeros(m, dtype=bool)
    holding = order_cost = purchase = inventory_value = 0.0
    orders_placed = 0
    received = int(world.on_order.sum())
    sold = 0
    active_series = np.empty(days + 1, dtype=np.int64)
    active_series[0] = int(active.sum())
    price, cost = world.unit_price, world.unit_cost

    def book(g: np.ndarray, units: np.ndarray, sku: np.ndarray, column: str) -> None:
        acc[column] += np.bincount(g, weights=units, minlength=k)
        acc["revenue"] += np.bincount(g, weights=units * price[sku], minlength=k)
        acc["cogs"] += np.bincount(g, weights=units * cost[sku], minlength=k)

    for d in range(days):
        rng = np.random.default_rng([seed, replication, d + 1])
        # 1. Deliveries, then backorders (top segment first).
        on_hand += incoming[d]
        on_order -= incoming[d]
        if backlog.any():
            for g in range(k):
                fill = np.minimum(backlog[:, g], on_hand)
                if fill.any():
                    on_hand -= fill
                    backlog[:, g] -= fill
                    acc["units_backorder_filled"][g] += float(fill.sum())
                    acc["revenue"][g] += float(fill @ price)
                    acc["cogs"][g] += float(fill @ cost)
                    sold += int(fill.sum())

        # 2. Returns and baseline churn.
        scheduled = returning.pop(d, [])
        back = np.concatenate(scheduled) if scheduled else np.zeros(0, dtype=np.int64)
        back = back[return_day[back] == d]
        if back.size:
            return_day[back] = -1
            back = back[base_day[back] > d]
            active[back] = True
            acc["customers_regained"] += np.bincount(world.segment[back], minlength=k)
        leaving = by_base[base_edges[d] : base_edges[d + 1]]
        leaving = leaving[active[leaving]]
        if leaving.size:
            active[leaving] = False
            acc["customers_base_churn"] += np.bincount(world.segment[leaving], minlength=k)

        # 3. Candidate orders, lines and quantities (drawn whatever the policy).
        n_orders = rng.poisson(total_rate * weekly[(world.start_weekday + d) % 7])
        cust = customers.draw(rng.random(n_orders) * total_rate)
        n_lines = 1 + rng.poisson(world.lines[cust] - 1.0)
        line_cust = np.repeat(cust, n_lines)
        n_all = line_cust.size
        u_fav, u_sku, u_qty = rng.random(n_all), rng.random(n_all), rng.random(n_all)
        t = taste[line_cust]
        at = np.where(u_fav < t[:, 0], t[:, 1] + u_sku * t[:, 2], u_sku * total_pop)
        line_sku = by_cat[skus.draw(at)]
        qty = 1 + line_units.draw(line_sku, u_qty)
        u_react, u_churn, u_back = rng.random(n_all), rng.random(n_all), rng.random(n_all)
        wait = rng.exponential(behaviour.mean_days_to_return, n_all)
        z_lead = rng.normal(size=world.lead_mean.size)

        keep = np.flatnonzero(active[line_cust])
        c, s, q = line_cust[keep], line_sku[keep], qty[keep]
        g = world.segment[c]
        acc["lines"] += np.bincount(g, minlength=k)
        acc["units_requested"] += np.bincount(g, weights=q, minlength=k)
        asked = np.bincount(s * k + g, weights=q, minlength=n * k).reshape(n, k)
        estimate += alpha * (asked - estimate)

        # 4. Serve, under the reserve if the policy keeps one.
        if levels.reserve is not None:
            held = levels.reserve.units(_days_to_arrival(incoming, d, lead_mean[world.supplier]))
            top = g == levels.reserve.segment
            served = np.zeros_like(q)
            rest = np.flatnonzero(~top)
            served[rest] = _serve(s[rest], q[rest], np.maximum(on_hand - held, 0))
            on_hand -= np.bincount(s[rest], weights=served[rest], minlength=n).astype(np.int64)
            first = np.flatnonzero(top)
            served[first] = _serve(s[first], q[first], on_hand)
            on_hand -= np.bincount(s[first], weights=served[first], minlength=n).astype(np.int64)
        else:
            served = _serve(s, q, on_hand)
            on_hand -= np.bincount(s, weights=served, minlength=n).astype(np.int64)
        book(g, served, s, "units_filled_now")
        sold += int(served.sum())

        # 5. Stockouts: reactions, churn, returns.
        hit = np.flatnonzero(served < q)
        if hit.size:
            hc, hs, hg, short = c[hit], s[hit], g[hit], (q - served)[hit]
            acc["lines_short"] += np.bincount(hg, minlength=k)
            np.add.at(hits, hc, 1)
            reaction = (u_react[keep][hit][:, None] >= react_cum[hg]).sum(axis=1)
            wait_back = reaction == 0
            if wait_back.any():
                np.add.at(backlog, (hs[wait_back], hg[wait_back]), short[wait_back])
                acc["units_backordered"] += np.bincount(
                    hg[wait_back], weights=short[wait_back], minlength=k
                )
            subst = (reaction == 1) & (world.substitute[hs] >= 0)
            got = np.zeros_like(short)
            if subst.any():
                sub_sku = world.substitute[hs[subst]]
                got[subst] = _serve(sub_sku, short[subst], on_hand)
                on_hand -= np.bincount(sub_sku, weights=got[subst], minlength=n).astype(np.int64)
                book(hg[subst], got[subst], sub_sku, "units_substituted")
                sold += int(got.sum())
            gone = ~wait_back
            acc["units_lost"] += np.bincount(hg[gone], weights=(short - got)[gone], minlength=k)
            if cond.compensation:
                acc["compensation_cost"] += behaviour.coupon_cost * np.bincount(hg, minlength=k)
            churning = u_churn[keep][hit] < churn_p[hg]
            who, first_line = np.unique(hc[churning], return_index=True)
            if who.size:
                active[who] = False
                lost[who] = True
                seg = world.segment[who]
                acc["customers_lost"] += np.bincount(seg, minlength=k)
                idx = keep[hit][churning][first_line]
                comes_back = u_back[idx] < behaviour.return_probability[seg]
                when = d + 1 + np.ceil(wait[idx]).astype(np.int64)
                return_day[who] = np.where(comes_back, when, -1)
                for day in np.unique(when[comes_back & (when < days)]):
                    returning.setdefault(int(day), []).append(who[comes_back & (when == day)])

        # 6. Replan, then review and order.
        if d > 0 and d % cond.replan_days == 0:
            view = planning_view(
                world, behaviour, estimate.copy(), estimate * dispersion, cond.holding_rate
            )
            levels = policy.levels(view)
        reviewing = ((d + review_offset) % world.review == 0)[world.supplier]
        position = on_hand + on_order - backlog.sum(axis=1)
        want = reviewing & (position <= levels.reorder_point)
        if want.any():
            need = np.where(want, np.maximum(levels.order_up_to - position, 0), 0)
            packs = np.ceil(need / world.pack_size)
            moq_packs = np.ceil(world.moq / world.pack_size)
            packs = np.where((packs > 0) & (packs < moq_packs), moq_packs, packs)
            units: np.ndarray = (packs * world.pack_size).astype(np.int64)
            if cond.budget_factor is not None:
                units = _within_budget(
                    units, world.unit_cost, float(budget_base[reviewing].sum()), levels.priority
                )
            ordered = np.flatnonzero(units > 0)
            if ordered.size:
                sup = world.supplier[ordered]
                delay = np.maximum(1, np.round(lead_mean[sup] + lead_sd[sup] * z_lead[sup])).astype(
                    np.int64
                )
                arrive_day = np.minimum(d + delay, incoming.shape[0] - 1)
                np.add.at(incoming, (arrive_day, ordered), units[ordered])
                on_order += units
                purchase += float(units @ world.unit_cost)
                suppliers = np.unique(sup)
                order_cost += float(world.order_cost[suppliers].sum())
                orders_placed += int(suppliers.size)
                received += int(units.sum())

        value = float(on_hand @ world.unit_cost)
        inventory_value += value
        holding += value * cond.holding_rate / 365.0
        active_series[d + 1] = np.count_nonzero(active)

    # Orders still in the pipeline were not received.
    in_transit = int(incoming[days:].sum())
    acc["active_end"] = np.bincount(world.segment, weights=active, minlength=k)
    acc["clv_active_end"] = np.bincount(world.segment, weights=world.clv * active, minlength=k)
    totals = {
        "holding_cost": holding,
        "order_cost": order_cost,
        "purchase_cost": purchase,
        "orders_placed": float(orders_placed),
        "units_received": float(received - in_transit),
        "units_sold": float(sold),
        "on_hand_start": float(world.on_hand.sum()),
        "on_hand_end": float(on_hand.sum()),
        "on_order_end": float(in_transit),
        "backlog_end": float(backlog.sum()),
        "inventory_value": inventory_value / days,
    }
    return RunResult(world.segments, acc, totals, active_series, hits, lost, active.copy())


def _days_to_arrival(incoming: np.ndarray, day: int, lead: np.ndarray) -> np.ndarray:
    """Days from `day` until each SKU's next delivery; its lead time if none is on order."""
    ahead = incoming[day + 1 :] > 0
    has = ahead.any(axis=0)
    return np.where(has, np.argmax(ahead, axis=0) + 1, lead).astype(float)


def _within_budget(
    units: np.ndarray, unit_cost: np.ndarray, budget: float, priority: np.ndarray | None
) -> np.ndarray:
    """Keep whole lines, best priority first (else SKU order), while they fit `budget`."""
    order = np.argsort(-priority, kind="stable") if priority is not None else np.arange(units.size)
    spend = np.cumsum((units * unit_cost)[order])
    keep = np.zeros(units.size, dtype=bool)
    keep[order] = spend <= budget + 1e-9
    return np.where(keep, units, 0)
