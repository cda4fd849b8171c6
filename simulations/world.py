"""A seeded generator of realistic retail worlds: the dataset plus the truth behind it.

The world is simulated day by day, vectorized over customers and SKUs (no Python loop
over either): customers of tiers A/B/C place orders at heavy-tailed rates, baskets draw
SKUs from a Zipf-like catalogue with weekly and yearly seasonality, trends and launches;
stock follows a periodic-review order-up-to policy with stochastic supplier lead times
(ordering and serving as the simulation engine does: `optimize.ordering.order_units`,
`simulations.engine.serve_lines`), so stockouts happen and are recorded as
`quantity_short`; a customer who meets a
stockout churns with a per-tier probability calibrated to the sector's annual loss rate
(DESIGN.md), and may come back later.

Units: days, units of stock, currency. Same `WorldParams` (seed included) -> identical
world, whatever the machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from contract.dataset import Dataset
from optimize.ordering import order_units
from simulations.calibration import per_event_churn
from simulations.engine import serve_lines

TIERS = ("A", "B", "C")


@dataclass(frozen=True)
class SectorPreset:
    """Churn and calendar facts of one sector (DESIGN.md table), every one overridable.

    `stockout_churn_annual`: share of customers lost per year to stockouts.
    `return_probability`: chance a customer lost that way comes back.
    `base_churn_annual`: share lost per year to every other cause.
    `weekly_profile`: relative order traffic Monday..Sunday.
    `quantity_scale`: how many units a typical order line asks for, relative to retail.
    """

    name: str
    stockout_churn_annual: float
    return_probability: float
    base_churn_annual: float
    weekly_profile: tuple[float, float, float, float, float, float, float]
    quantity_scale: float = 1.0


PRESETS: dict[str, SectorPreset] = {
    "e-commerce": SectorPreset(
        "e-commerce", 0.217, 0.40, 0.25, (1.15, 1.05, 1.0, 1.0, 0.95, 0.85, 1.0)
    ),
    "retail": SectorPreset("retail", 0.185, 0.35, 0.165, (0.85, 0.8, 0.85, 0.95, 1.15, 1.5, 0.9)),
    "manufacturing": SectorPreset(
        "manufacturing", 0.123, 0.50, 0.08, (1.3, 1.25, 1.2, 1.2, 1.05, 0.1, 0.05), 3.0
    ),
    "services": SectorPreset("services", 0.088, 0.60, 0.10, (1.2, 1.15, 1.1, 1.1, 1.0, 0.3, 0.15)),
}


@dataclass(frozen=True)
class WorldParams:
    """Everything that shapes a generated world. Rates are per customer per year.

    Tier parameters are (A, B, C). `service_z` is the mean safety factor of the historic
    replenishment policy (lower -> more stockouts); `service_z_sd` spreads it across
    SKUs so some items are chronically short. `stockout_churn_annual` and
    `return_probability` default to the sector preset's.
    """

    n_skus: int = 300
    n_customers: int = 2_000
    days: int = 730
    end_date: date = date(2026, 9, 30)
    sector: str = "retail"
    seed: int = 0
    n_suppliers: int | None = None
    n_categories: int | None = None
    tier_shares: tuple[float, float, float] = (0.2, 0.3, 0.5)
    tier_orders_per_year: tuple[float, float, float] = (60.0, 24.0, 8.0)
    tier_lines_per_order: tuple[float, float, float] = (4.0, 2.5, 1.5)
    tier_discount: tuple[float, float, float] = (0.05, 0.02, 0.0)
    rate_sigma: float = 0.6
    popularity_exponent: float = 0.9
    share_seasonal: float = 0.3
    share_trending: float = 0.2
    share_launched: float = 0.05
    new_customer_share: float = 0.4
    service_z: float = 1.0
    service_z_sd: float = 0.7
    stockout_churn_annual: float | None = None
    # Per-event churn per tier (A, B, C), fixed: overrides the calibration to the annual
    # loss (a known truth for estimators to recover).
    churn_per_stockout: tuple[float, float, float] | None = None
    return_probability: float | None = None
    mean_days_to_return: float = 90.0
    # How the history is recorded. `record_unserved`: a line that could not be served at
    # all is written (with quantity 0 and its short units); most ERPs never write it, and
    # then only partly served lines show a shortage. `bulk_lines_per_year`: outsize
    # one-off lines (50-500 times a SKU's usual line) placed by random customers.
    # `snapshot_days`: stock on hand recorded every so many days (stock_history; None:
    # no such table).
    record_unserved: bool = True
    bulk_lines_per_year: float = 0.0
    snapshot_days: int | None = None

    def __post_init__(self) -> None:
        if self.sector not in PRESETS:
            raise ValueError(f"unknown sector {self.sector!r}; choose one of {sorted(PRESETS)}")
        for name in ("n_skus", "n_customers", "days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if abs(sum(self.tier_shares) - 1.0) > 1e-9 or min(self.tier_shares) < 0:
            raise ValueError("tier_shares must be non-negative and sum to 1")

    @property
    def preset(self) -> SectorPreset:
        return PRESETS[self.sector]

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)


SIZES: dict[str, tuple[int, int, int]] = {
    # name: (n_skus, n_customers, days)
    "tiny": (60, 400, 365),
    "small": (300, 2_000, 730),
    "medium": (2_000, 10_000, 730),
    "large": (10_000, 50_000, 730),
    "thin": (20_000, 2_500, 365),
}
#: What else a size changes. "thin" is a wide, thinly sold catalogue (a grocer's
#: loyalty-card households: most SKUs sold a handful of times in the year, launches in
#: its last weeks, hundreds of suppliers).
SIZE_PARAMS: dict[str, dict[str, object]] = {
    "thin": {
        "tier_orders_per_year": (36.0, 14.0, 5.0),
        "popularity_exponent": 0.5,
        "share_launched": 0.1,
        "n_suppliers": 600,
    },
}


def params_for(size: str, **overrides: object) -> WorldParams:
    """WorldParams of a named size (tiny, small, medium, large, thin) with overrides."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {list(SIZES)}")
    n_skus, n_customers, days = SIZES[size]
    return replace(
        WorldParams(n_skus=n_skus, n_customers=n_customers, days=days),
        **{**SIZE_PARAMS.get(size, {}), **overrides},  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class GeneratedWorld:
    """A generated dataset and the ground truth the generator used to make it.

    `customer_truth`: customer_id, tier, orders_per_year, lines_per_order (mean lines per
    order), favourite_category and affinity (share of lines drawn from it), joined_day,
    churned (inactive at the end), churn_day (-1 if active), ever_churned,
    first_churn_day (-1 if never), churned_after_stockout (the last churn followed a
    stockout), stockout_events (order lines short). Days count from the first day of
    the history (day 0).
    `sku_truth`: sku_id, pattern (smooth, seasonal, trending, launched), popularity,
    season_amplitude and season_phase (demand x 1 + a sin(2 pi t/365.25 + phase), t in
    days from the start), trend_per_year (log growth), launch_day, service_z (the
    historic safety factor), mean_quantity (units per order line).
    `churn_per_stockout`: the per-event churn probability used for each tier.
    `true_demand`: units asked for per SKU and day, whether the history recorded them or
    not; `bulk_lines`: the outsize one-off lines among the orders.
    """

    params: WorldParams
    dataset: Dataset
    customer_truth: pd.DataFrame
    sku_truth: pd.DataFrame
    churn_per_stockout: dict[str, float] = field(default_factory=dict)
    #: (n_skus, days): units customers asked for each day, recorded or not.
    true_demand: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    #: The outsize one-off lines as recorded (order_id, sku_id, quantity, quantity_short).
    bulk_lines: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


ProgressFn = Callable[[int, int], None]


def generate(
    params: WorldParams | None = None, progress: ProgressFn | None = None
) -> GeneratedWorld:
    """Generate a world. `progress(done_days, total_days)` is called as days are simulated."""
    p = params or WorldParams()
    rng = np.random.default_rng(p.seed)
    catalogue = _catalogue(p, rng)
    people = _customers(p, rng, catalogue)
    history = _history(p, rng, catalogue, people, progress)
    return _assemble(p, catalogue, people, history)


# --- catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Catalogue:
    supplier_lead: np.ndarray  # mean lead time, days
    supplier_lead_sd: np.ndarray
    supplier_review: np.ndarray  # review period, days (int)
    supplier_min_value: np.ndarray
    supplier_order_cost: np.ndarray
    sku_supplier: np.ndarray
    sku_category: np.ndarray
    n_categories: int
    unit_cost: np.ndarray
    unit_price: np.ndarray
    pack_size: np.ndarray
    moq: np.ndarray
    unit_volume: np.ndarray
    popularity: np.ndarray  # relative line share, sums to 1
    mean_quantity: np.ndarray  # units per order line
    season_amp: np.ndarray
    season_phase: np.ndarray
    trend: np.ndarray  # log growth per year
    launch_day: np.ndarray
    pattern: np.ndarray  # label per SKU
    service_z: np.ndarray
    substitutes: np.ndarray  # index of a substitute SKU or -1


def _catalogue(p: WorldParams, rng: np.random.Generator) -> _Catalogue:
    n = p.n_skus
    n_sup = p.n_suppliers or max(3, n // 60)
    n_cat = p.n_categories or int(np.clip(n // 40, 3, 40))

    lead = np.round(rng.gamma(shape=4.0, scale=2.5, size=n_sup) + 2.0, 1)  # ~12 days
    lead_sd = np.round(lead * rng.uniform(0.05, 0.4, n_sup), 1)
    review = rng.choice(np.array([1, 7, 7, 7, 14]), size=n_sup)
    min_value = np.round(rng.choice(np.array([0.0, 0.0, 100.0, 250.0, 500.0]), size=n_sup), 2)
    order_cost = np.round(rng.uniform(10.0, 80.0, n_sup), 2)

    category = rng.integers(0, n_cat, n)
    supplier = rng.integers(0, n_sup, n)
    markup = rng.uniform(1.15, 2.2, n_cat)[category] * rng.uniform(0.92, 1.08, n)
    cost = np.round(np.exp(rng.normal(2.2, 1.0, n)), 2) + 0.1
    price = np.round(cost * np.maximum(markup, 1.05), 2)
    # Cheap items come in bigger packs.
    pack = np.where(
        cost < 5, rng.choice(np.array([1, 6, 12, 24]), n), rng.choice(np.array([1, 1, 2, 4]), n)
    )
    moq = np.where(rng.random(n) < 0.4, pack * rng.integers(1, 5, n), 0)
    volume = np.round(np.exp(rng.normal(-6.0, 1.0, n)), 5)

    ranks = rng.permutation(n) + 1
    popularity = ranks.astype(float) ** -p.popularity_exponent
    popularity /= popularity.sum()
    mean_qty = 1.0 + rng.gamma(1.0, 0.6 * p.preset.quantity_scale, n)

    kind = rng.random(n)
    seasonal = kind < p.share_seasonal
    trending = (kind >= p.share_seasonal) & (kind < p.share_seasonal + p.share_trending)
    launched = rng.random(n) < p.share_launched
    amp = np.where(seasonal, rng.uniform(0.4, 0.9, n), 0.0)
    phase = rng.uniform(0.0, 2 * np.pi, n)
    trend = np.where(trending, rng.choice(np.array([-1.0, 1.0]), n) * rng.uniform(0.3, 0.8, n), 0)
    launch = np.where(launched, rng.integers(p.days // 2, max(p.days // 2 + 1, p.days - 30), n), 0)
    pattern = np.select(
        [launched, seasonal, trending], ["launched", "seasonal", "trending"], "smooth"
    )
    z = rng.normal(p.service_z, p.service_z_sd, n)

    # A substitute from the same category for about a third of the SKUs.
    order = np.lexsort((rng.random(n), category))
    nxt = np.roll(order, -1)
    same = category[order] == category[nxt]
    subs = np.full(n, -1)
    subs[order] = np.where(same & (rng.random(n) < 0.33), nxt, -1)

    return _Catalogue(
        lead, lead_sd, review, min_value, order_cost, supplier, category, n_cat, cost, price,
        pack, moq, volume, popularity, mean_qty, amp, phase, trend, launch, pattern, z, subs,
    )  # fmt: skip


# --- customers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Customers:
    tier: np.ndarray  # 0=A, 1=B, 2=C
    rate: np.ndarray  # orders per day
    lines: np.ndarray  # mean lines per order
    favourite: np.ndarray  # favourite category
    affinity: np.ndarray  # probability a line comes from the favourite category
    join_day: np.ndarray  # first day of activity (0 for customers from before the history)
    since_days_before_start: np.ndarray  # for customers from before the history
    strategic: np.ndarray
    reputation: np.ndarray


def _customers(p: WorldParams, rng: np.random.Generator, cat: _Catalogue) -> _Customers:
    m = p.n_customers
    tier = rng.choice(3, size=m, p=np.asarray(p.tier_shares))
    base = np.asarray(p.tier_orders_per_year)[tier] / 365.25
    sigma = p.rate_sigma
    rate = base * np.exp(rng.normal(-(sigma**2) / 2, sigma, m))
    lines = np.asarray(p.tier_lines_per_order)[tier]
    cat_weight = np.bincount(cat.sku_category, weights=cat.popularity, minlength=cat.n_categories)
    favourite = rng.choice(cat.n_categories, size=m, p=cat_weight / cat_weight.sum())
    affinity = rng.uniform(0.3, 0.8, m)
    new = rng.random(m) < p.new_customer_share
    # Newcomers join on a day inside the history (day 0 is the first day; none if 1 day).
    join = np.where(new & (p.days > 1), rng.integers(1, max(2, p.days), m), 0)
    before = np.ceil(rng.exponential(700.0, m)).astype(np.int64) + 1
    scored = rng.random(m) < 0.7
    tier_boost = np.array([0.25, 0.1, 0.0])[tier]
    strategic = np.where(scored, np.clip(rng.beta(2, 3, m) + tier_boost, 0, 1), np.nan)
    reputation = np.where(scored, np.clip(rng.beta(3, 2, m), 0, 1), np.nan)
    return _Customers(
        tier, rate, lines, favourite, affinity, join, before, np.round(strategic, 3),
        np.round(reputation, 3),
    )  # fmt: skip


# --- the daily simulation ----------------------------------------------------------------


@dataclass(frozen=True)
class _History:
    day: np.ndarray
    order: np.ndarray
    customer: np.ndarray
    sku: np.ndarray
    quantity: np.ndarray
    short: np.ndarray
    on_hand: np.ndarray  # at the end of the history
    on_order: np.ndarray
    churn_day: np.ndarray  # -1 when active at the end
    churned_after_stockout: np.ndarray
    ever_churned: np.ndarray
    first_churn_day: np.ndarray
    stockout_events: np.ndarray
    churn_per_stockout: np.ndarray  # per tier
    demand: np.ndarray  # (n_skus, days): units asked for, recorded or not
    bulk: np.ndarray  # per line: an outsize one-off line
    snapshots: list[tuple[int, np.ndarray]]  # (day, on hand at its end)


def _sku_weights(cat: _Catalogue, day: int, days: int) -> np.ndarray:
    """Relative line share of every SKU on `day` (seasonality, trend, launch)."""
    t = day / 365.25
    season = 1.0 + cat.season_amp * np.sin(2 * np.pi * t + cat.season_phase)
    growth = np.exp(cat.trend * (t - days / 730.5))
    live = day >= cat.launch_day
    return cat.popularity * season * growth * live


def _churn_per_stockout(
    p: WorldParams, people: _Customers, expected_short_rate: float
) -> np.ndarray:
    """Per-event churn probability per tier, so each tier loses the sector's annual share.

    A tier-average customer meets `e = orders/year * lines/order * short rate` stockouts a
    year; solving 1 - (1 - q)^e = annual share for q.
    """
    if p.churn_per_stockout is not None:
        fixed: np.ndarray = np.clip(np.asarray(p.churn_per_stockout, dtype=float), 0.0, 1.0)
        return fixed
    annual = p.stockout_churn_annual
    if annual is None:
        annual = p.preset.stockout_churn_annual
    out = np.zeros(3)
    for t in range(3):
        mask = people.tier == t
        if not mask.any():
            continue
        events = (
            float(np.mean(people.rate[mask] * 365.25 * people.lines[mask])) * expected_short_rate
        )
        out[t] = per_event_churn(annual, max(events, 1e-9))
    return np.clip(out, 0.0, 1.0)


def _history(
    p: WorldParams,
    rng: np.random.Generator,
    cat: _Catalogue,
    people: _Customers,
    progress: ProgressFn | None,
) -> _History:
    n, m, days = p.n_skus, p.n_customers, p.days
    weekly = np.asarray(p.preset.weekly_profile)
    weekly = weekly / weekly.mean()
    start_dow = p.start_date.weekday()
    return_prob = p.return_probability
    if return_prob is None:
        return_prob = p.preset.return_probability
    base_hazard = 1.0 - (1.0 - p.preset.base_churn_annual) ** (1.0 / 365.25)

    # Expected units per SKU per day at day 0, for the historic planner's first estimate.
    lines_per_day = float(np.sum(people.rate * people.lines * (people.join_day == 0)))
    estimate = lines_per_day * _sku_weights(cat, 0, days) * cat.mean_quantity
    estimate = np.maximum(estimate, 1e-3)
    # Stockout churn is calibrated each day to the share of lines short so far (with a
    # prior of 5% over the first 1,000 lines), so the annual loss lands near the sector's.
    lines_seen, lines_short = 1_000.0, 50.0

    lead = cat.supplier_lead[cat.sku_supplier]
    protection = lead + cat.supplier_review[cat.sku_supplier]
    max_lead = int(np.ceil(cat.supplier_lead.max() + 4 * cat.supplier_lead_sd.max())) + 2
    incoming = np.zeros((days + max_lead + 1, n), dtype=np.int64)
    dispersion = cat.mean_quantity + 1.0  # variance-to-mean of daily units (compound Poisson)

    def order_up_to(est: np.ndarray) -> np.ndarray:
        mean = est * protection
        target: np.ndarray = mean + cat.service_z * np.sqrt(mean * dispersion)
        # A service level under 50% has z < 0: a slow SKU's target can fall below zero,
        # and stock on hand cannot.
        floored: np.ndarray = np.maximum(target, 0.0)
        return floored

    on_hand = np.ceil(order_up_to(estimate)).astype(np.int64)
    on_order = np.zeros(n, dtype=np.int64)
    review_offset = rng.integers(0, 14, cat.supplier_review.size)

    status_active = people.join_day == 0
    churn_day = np.full(m, -1, dtype=np.int64)
    return_day = np.full(m, -1, dtype=np.int64)
    churned_after_stockout = np.zeros(m, dtype=bool)
    ever_churned = np.zeros(m, dtype=bool)
    first_churn_day = np.full(m, -1, dtype=np.int64)
    stockout_events = np.zeros(m, dtype=np.int64)

    # Category-sorted SKU order: one cumsum per day serves global and per-category draws.
    by_cat = np.argsort(cat.sku_category, kind="stable")
    cat_of_sorted = cat.sku_category[by_cat]
    cat_start = np.searchsorted(cat_of_sorted, np.arange(cat.n_categories), side="left")
    cat_end = np.searchsorted(cat_of_sorted, np.arange(cat.n_categories), side="right")

    chunks: list[tuple[np.ndarray, ...]] = []
    demand = np.zeros((n, days), dtype=np.float32)
    snapshots: list[tuple[int, np.ndarray]] = []
    next_order = 0
    alpha = 0.03
    for d in range(days):
        on_hand += incoming[d]
        on_order -= incoming[d]
        joining = people.join_day == d
        status_active |= joining & (churn_day < 0)
        back = return_day == d
        status_active |= back
        churn_day[back] = -1

        # Orders: Poisson visits per active customer, scaled by the weekday profile.
        lam = people.rate * weekly[(start_dow + d) % 7] * status_active
        n_orders = rng.poisson(lam)
        buyers = np.repeat(np.arange(m), n_orders)
        k = buyers.size
        order_ids = next_order + np.arange(k)
        next_order += k
        n_lines = 1 + rng.poisson(np.maximum(people.lines[buyers] - 1.0, 0.0))
        line_order = np.repeat(order_ids, n_lines)
        line_cust = np.repeat(buyers, n_lines)

        weights = _sku_weights(cat, d, days)[by_cat]
        cum = np.cumsum(weights)
        total = cum[-1]
        fav = people.favourite[line_cust]
        use_fav = rng.random(line_cust.size) < people.affinity[line_cust]
        lo = np.where(use_fav, np.where(cat_start[fav] > 0, cum[cat_start[fav] - 1], 0.0), 0.0)
        hi = np.where(use_fav, cum[np.maximum(cat_end[fav] - 1, 0)], total)
        empty = hi - lo <= 0  # a favourite category with nothing on sale today
        lo = np.where(empty, 0.0, lo)
        hi = np.where(empty, total, hi)
        u = lo + rng.random(line_cust.size) * (hi - lo)
        pos = np.minimum(np.searchsorted(cum, u, side="right"), n - 1)
        line_sku = by_cat[pos]
        qty = 1 + rng.poisson(cat.mean_quantity[line_sku] - 1.0)
        outsize = np.zeros(qty.size, dtype=bool)
        if p.bulk_lines_per_year > 0 and qty.size:
            # Outsize one-off lines: drawn apart, so the usual draws stay as they were.
            bulk_rng = np.random.default_rng([p.seed, 7, d])
            hit = bulk_rng.random(qty.size) < p.bulk_lines_per_year / 365.25 / qty.size
            scale = bulk_rng.integers(50, 501, qty.size)
            qty = np.where(hit, np.ceil(qty * cat.mean_quantity[line_sku] * scale), qty)
            outsize = hit

        # One line per (order, sku): merge repeats within an order.
        key = line_order * n + line_sku
        uniq, inverse = np.unique(key, return_inverse=True)
        qty = np.bincount(inverse, weights=qty).astype(np.int64)
        outsize = np.bincount(inverse, weights=outsize) > 0
        line_order = uniq // n
        line_sku = uniq % n
        line_cust = _customer_of(line_order, order_ids, buyers)

        # Serve in random arrival order per SKU until stock runs out (the engine's stage).
        arrival = np.argsort(rng.random(line_sku.size), kind="stable")
        served = np.empty_like(qty)
        served[arrival] = serve_lines(line_sku[arrival], qty[arrival], on_hand)
        short = qty - served
        on_hand -= np.bincount(line_sku, weights=served, minlength=n).astype(np.int64)
        demand[:, d] = np.bincount(line_sku, weights=qty, minlength=n)

        # Stockouts: count events, churn some customers (per tier), schedule returns.
        hit = short > 0
        lines_seen += hit.size
        lines_short += np.count_nonzero(hit)
        q_churn = _churn_per_stockout(p, people, lines_short / lines_seen)
        hit_cust = line_cust[hit]
        np.add.at(stockout_events, hit_cust, 1)
        draws = rng.random(hit_cust.size) < q_churn[people.tier[hit_cust]]
        lost = np.unique(hit_cust[draws])
        lost = lost[status_active[lost]]
        base_lost = np.flatnonzero(status_active & (rng.random(m) < base_hazard))
        base_lost = np.setdiff1d(base_lost, lost, assume_unique=True)
        for group, after_stockout in ((lost, True), (base_lost, False)):
            status_active[group] = False
            churn_day[group] = d
            ever_churned[group] = True
            first_churn_day[group] = np.where(first_churn_day[group] < 0, d, first_churn_day[group])
            churned_after_stockout[group] = after_stockout
            comes_back = rng.random(group.size) < (return_prob if after_stockout else 0.0)
            wait = np.ceil(rng.exponential(p.mean_days_to_return, group.size)).astype(np.int64)
            return_day[group] = np.where(comes_back, d + 1 + wait, -1)

        # The historic planner: smoothed demand, periodic review, order up to target.
        requested = np.bincount(line_sku, weights=qty, minlength=n)
        estimate += alpha * (requested - estimate)
        # Base-stock at every review, in whole packs with the MOQ: the plan's own rule.
        reviewing = ((d + review_offset) % cat.supplier_review == 0)[cat.sku_supplier]
        target = np.ceil(order_up_to(estimate))
        s = np.where(reviewing, target - 1, -np.inf)
        q = order_units(on_hand + on_order, s, target, cat.pack_size, cat.moq)
        ordering = np.flatnonzero(q > 0)
        sup = cat.sku_supplier[ordering]
        delay = np.maximum(
            1, np.round(rng.normal(cat.supplier_lead[sup], cat.supplier_lead_sd[sup]))
        ).astype(np.int64)
        np.add.at(incoming, (np.minimum(d + delay, incoming.shape[0] - 1), ordering), q[ordering])
        on_order += q

        if p.snapshot_days and d % p.snapshot_days == p.snapshot_days - 1:
            snapshots.append((d, on_hand.copy()))
        # int32 halves the history's memory; ids and quantities stay far below 2**31.
        day_lines = (np.full(line_sku.size, d), line_order, line_cust, line_sku, qty, short)
        chunks.append((*(a.astype(np.int32) for a in day_lines), outsize))
        if progress is not None:
            progress(d + 1, days)

    cols = [np.concatenate([c[i] for c in chunks]) for i in range(7)]
    return _History(
        day=cols[0], order=cols[1], customer=cols[2], sku=cols[3], quantity=cols[4], short=cols[5],
        on_hand=on_hand, on_order=on_order, churn_day=churn_day,
        churned_after_stockout=churned_after_stockout & ever_churned,
        ever_churned=ever_churned,
        first_churn_day=first_churn_day,
        stockout_events=stockout_events,
        churn_per_stockout=_churn_per_stockout(p, people, lines_short / lines_seen),
        demand=demand, bulk=cols[6], snapshots=snapshots,
    )  # fmt: skip


def _customer_of(line_order: np.ndarray, order_ids: np.ndarray, buyers: np.ndarray) -> np.ndarray:
    """The customer of each line, from its order id (order ids of a day are contiguous)."""
    if order_ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    customers: np.ndarray = buyers[line_order - order_ids[0]]
    return customers


# --- assembling the dataset --------------------------------------------------------------


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    text = pc.utf8_lpad(pa.array(numbers, type=pa.int64()).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), text, "")


def _text(arr: pa.Array) -> pd.Series:
    return pd.Series(arr.to_pandas(types_mapper=pd.ArrowDtype), dtype="string[pyarrow]")


def _assemble(p: WorldParams, cat: _Catalogue, people: _Customers, h: _History) -> GeneratedWorld:
    n, m = p.n_skus, p.n_customers
    start = pd.Timestamp(p.start_date)
    sku_ids = _ids("SKU", np.arange(n), len(str(n)) + 1)
    sup_ids = _ids("SUP", np.arange(cat.supplier_lead.size), 3)
    cust_ids = _ids("C", np.arange(m), len(str(m)) + 1)
    sku_id = _text(sku_ids)
    sup_id = _text(sup_ids)
    cust_id = _text(cust_ids)

    suppliers = pd.DataFrame(
        {
            "supplier_id": sup_id,
            "name": _text(pc.binary_join_element_wise(pa.scalar("Supplier "), sup_ids, "")),
            "lead_time_days": cat.supplier_lead,
            "lead_time_sd_days": cat.supplier_lead_sd,
            "review_period_days": cat.supplier_review.astype("float64"),
            "min_order_value": cat.supplier_min_value,
            "order_cost": cat.supplier_order_cost,
        }
    )
    categories = np.array([f"Category {i:02d}" for i in range(cat.n_categories)], dtype=object)
    has_sub = cat.substitutes >= 0
    substitutes = pd.Series(pd.NA, index=range(n), dtype="string[pyarrow]")
    substitutes[has_sub] = sku_id.to_numpy()[cat.substitutes[has_sub]]
    skus = pd.DataFrame(
        {
            "sku_id": sku_id,
            "name": _text(pc.binary_join_element_wise(pa.scalar("Item "), sku_ids, "")),
            "category": pd.Series(categories[cat.sku_category], dtype="string[pyarrow]"),
            "supplier_id": pd.Series(sup_id.to_numpy()[cat.sku_supplier], dtype="string[pyarrow]"),
            "unit_cost": cat.unit_cost,
            "unit_price": cat.unit_price,
            "pack_size": cat.pack_size.astype("int64"),
            "moq": cat.moq.astype("int64"),
            "unit_volume": cat.unit_volume,
            "lead_time_days": cat.supplier_lead[cat.sku_supplier],
            "substitutes": substitutes,
        }
    )
    since = np.where(people.join_day > 0, people.join_day, -people.since_days_before_start).astype(
        "timedelta64[D]"
    )
    customers = pd.DataFrame(
        {
            "customer_id": cust_id,
            "since": (start + pd.to_timedelta(since)).astype("datetime64[ns]"),
            "strategic": people.strategic,
            "reputation": people.reputation,
        }
    )
    if not p.record_unserved:  # a line nothing was delivered on is never written
        kept = (h.quantity - h.short) > 0
        h = replace(
            h, day=h.day[kept], order=h.order[kept], customer=h.customer[kept],
            sku=h.sku[kept], quantity=h.quantity[kept], short=h.short[kept], bulk=h.bulk[kept],
        )  # fmt: skip
    discount = np.asarray(p.tier_discount)[people.tier[h.customer]]
    orders = pd.DataFrame(
        {
            "order_id": _text(_ids("O", h.order, 8)),
            "date": (start + pd.to_timedelta(h.day.astype("timedelta64[D]"))).astype(
                "datetime64[ns]"
            ),
            "customer_id": _text(pc.take(cust_ids, pa.array(h.customer))),
            "sku_id": _text(pc.take(sku_ids, pa.array(h.sku))),
            "quantity": (h.quantity - h.short).astype("int64"),
            "unit_price": np.round(cat.unit_price[h.sku] * (1.0 - discount), 2),
            "quantity_short": h.short.astype("int64"),
        }
    )
    inventory = pd.DataFrame(
        {
            "sku_id": sku_id,
            "on_hand": h.on_hand.astype("int64"),
            "on_order": h.on_order.astype("int64"),
            "as_of": pd.Series([pd.Timestamp(p.end_date)] * n, dtype="datetime64[ns]"),
        }
    )
    stock_history = None
    if h.snapshots:
        days = np.repeat([d for d, _ in h.snapshots], n)
        stock_history = pd.DataFrame(
            {
                "sku_id": pd.Series(
                    np.tile(sku_id.to_numpy(), len(h.snapshots)), dtype="string[pyarrow]"
                ),
                "date": (start + pd.to_timedelta(days.astype("timedelta64[D]"))).astype(
                    "datetime64[ns]"
                ),
                "on_hand": np.concatenate([oh for _, oh in h.snapshots]).astype("int64"),
            }
        )
    dataset = Dataset(
        suppliers=suppliers, skus=skus, orders=orders, customers=customers, inventory=inventory,
        stock_history=stock_history,
    )  # fmt: skip
    customer_truth = pd.DataFrame(
        {
            "customer_id": cust_id,
            "tier": pd.Categorical(np.asarray(TIERS)[people.tier], categories=list(TIERS)),
            "orders_per_year": people.rate * 365.25,
            "lines_per_order": people.lines,
            "favourite_category": pd.Series(categories[people.favourite], dtype="string[pyarrow]"),
            "affinity": people.affinity,
            "joined_day": people.join_day,
            "churned": h.churn_day >= 0,
            "churn_day": h.churn_day,
            "ever_churned": h.ever_churned,
            "first_churn_day": h.first_churn_day,
            "churned_after_stockout": h.churned_after_stockout,
            "stockout_events": h.stockout_events,
        }
    )
    sku_truth = pd.DataFrame(
        {
            "sku_id": sku_id,
            "pattern": cat.pattern,
            "popularity": cat.popularity,
            "season_amplitude": cat.season_amp,
            "season_phase": cat.season_phase,
            "trend_per_year": cat.trend,
            "launch_day": cat.launch_day,
            "service_z": cat.service_z,
            "mean_quantity": cat.mean_quantity,
        }
    )
    churn = {t: float(q) for t, q in zip(TIERS, h.churn_per_stockout, strict=True)}
    bulk = orders.loc[h.bulk, ["order_id", "sku_id", "quantity", "quantity_short"]]
    return GeneratedWorld(
        p, dataset, customer_truth, sku_truth, churn, h.demand, bulk.reset_index(drop=True)
    )
