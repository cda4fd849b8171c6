"""Customer value scores, tiers A/B/C, "new" and "at risk" flags, and CLV.

Deterministic and explainable: every customer's score is a weighted mean of parts in
[0, 1] that are kept in the output, so a buyer can see why a customer is tier A.
Money is in the dataset's currency, times in days, CLV over `clv_horizon_years`.

Parts (default weights 25/25/20/15/15, renormalized over the parts a customer has):
- amount: spend over the last 365 days, as a percentile rank among customers;
- margin: gross margin over the same window, percentile rank;
- growth: spend of the last half-year against the half-year before, percentile rank;
- strategic, reputation: the optional scores of the customers table, as given.

Value per customer (P(alive), purchases expected next year, CLV) comes from a
buy-till-you-die model (`forecast.customer_value`, BG/NBD + Gamma-Gamma); "at risk" is
a customer who was active (ordered on `at_risk_min_orders` days or more) and is now
unlikely to be alive. When too few customers came back to fit the model on, CLV is the
tier's (measured retention x yearly margin) and "at risk" the hand rule (silent for
`at_risk_factor` of the customer's own intervals); `Segments.clv_source` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from contract.dataset import Dataset

PARTS = ("amount", "margin", "growth", "strategic", "reputation")
TIER_LABELS = ("A", "B", "C")


@dataclass(frozen=True)
class SegmentConfig:
    """How scores, tiers, flags and CLV are computed."""

    weights: dict[str, float] = field(
        default_factory=lambda: {
            "amount": 0.25,
            "margin": 0.25,
            "growth": 0.20,
            "strategic": 0.15,
            "reputation": 0.15,
        }
    )
    tier_shares: tuple[float, float, float] = (0.2, 0.3, 0.5)  # A, B, C by score rank
    window_days: int = 365
    new_days: int = 90  # first purchase within this many days -> "new"
    at_risk_factor: float = 3.0  # silent for this many of the customer's own intervals
    at_risk_min_orders: int = 3
    at_risk_p_alive: float = 0.5  # "at risk" below this P(alive) (BG/NBD)
    clv_model: str = "bgnbd"  # "bgnbd" (per customer) or "tier" (per tier)
    clv_horizon_years: int = 3
    discount_rate: float = 0.10  # per year

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(PARTS)
        if unknown:
            raise ValueError(f"unknown score parts {sorted(unknown)}; parts are {PARTS}")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError("weights must be non-negative with a positive sum")
        if abs(sum(self.tier_shares) - 1) > 1e-9 or min(self.tier_shares) < 0:
            raise ValueError("tier_shares must be non-negative and sum to 1")
        if self.clv_model not in ("bgnbd", "tier"):
            raise ValueError(f"clv_model is 'bgnbd' or 'tier', not {self.clv_model!r}")


@dataclass(frozen=True)
class Segments:
    """Per customer: score, its parts, tier and flags; per tier: value and CLV.

    `customers` columns: customer_id, score, tier, one column per part (NaN where the
    customer has none), spend_12m, margin_12m, orders_12m, recency_days,
    mean_interval_days, new, at_risk, p_alive, purchases_next_year, clv (currency).
    `tiers` index: tier; columns: customers, active, margin_per_year (per active
    customer), retention (annual), clv (the tier's mean), units_per_line.
    `clv_source`: "bgnbd" (per customer) or why the tier's CLV is used instead.
    """

    as_of: date
    customers: pd.DataFrame
    tiers: pd.DataFrame
    clv_source: str = "tier"


def _rank(values: pd.Series) -> pd.Series:
    """Percentile rank in [0, 1] (ties share the average rank; one customer -> 1)."""
    if len(values) <= 1:
        return pd.Series(1.0, index=values.index)
    return (values.rank(method="average") - 1) / (len(values) - 1)


def segment_customers(
    dataset: Dataset, as_of: date | None = None, config: SegmentConfig | None = None
) -> Segments:
    """Score and tier every customer of `dataset` as of `as_of` (default: last order day)."""
    if dataset.customers is None:
        raise ValueError("the dataset has no customers table: sales are anonymous")
    cfg = config or SegmentConfig()
    orders = dataset.orders[dataset.orders["customer_id"].notna()]
    end = pd.Timestamp(as_of) if as_of else dataset.orders["date"].max()
    cost = pd.Series(dataset.skus["unit_cost"].to_numpy(), index=dataset.skus["sku_id"])
    qty = orders["quantity"].to_numpy(dtype=float)
    revenue = qty * orders["unit_price"].to_numpy()
    margin = revenue - qty * cost.reindex(orders["sku_id"]).to_numpy()
    age = (end - orders["date"]).dt.days.to_numpy()
    ids = pd.Index(dataset.customers["customer_id"])
    code = ids.get_indexer(orders["customer_id"])
    n = len(ids)
    window = (age >= 0) & (age < cfg.window_days)
    half = cfg.window_days // 2
    spend = np.bincount(code[window], weights=revenue[window], minlength=n)
    gross = np.bincount(code[window], weights=margin[window], minlength=n)
    recent = np.bincount(code[age < half], weights=revenue[age < half], minlength=n)
    prior_mask = (age >= half) & (age < 2 * half)
    prior = np.bincount(code[prior_mask], weights=revenue[prior_mask], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        growth = np.where(recent + prior > 0, (recent - prior) / (recent + prior), 0.0)

    parts = pd.DataFrame(
        {
            "amount": _rank(pd.Series(spend)),
            "margin": _rank(pd.Series(gross)),
            "growth": _rank(pd.Series(growth)),
            "strategic": dataset.customers["strategic"].to_numpy(),
            "reputation": dataset.customers["reputation"].to_numpy(),
        }
    )
    weights = np.array([cfg.weights.get(p, 0.0) for p in PARTS])
    present = parts.notna().to_numpy() & (weights > 0)
    weighted = np.where(present, parts.fillna(0.0).to_numpy() * weights, 0.0).sum(axis=1)
    total_weight = np.where(present, weights, 0.0).sum(axis=1)
    score = np.where(total_weight > 0, weighted / np.maximum(total_weight, 1e-12), 0.0)

    # Tiers by score rank; ties broken by spend, then id, so the split is deterministic.
    order = np.lexsort((np.arange(n), -spend, -score))
    cut = np.round(np.cumsum(cfg.tier_shares) * n).astype(int)
    tier_of_rank = np.searchsorted(cut, np.arange(n), side="right")
    tier = np.empty(n, dtype=object)
    tier[order] = np.asarray(TIER_LABELS)[np.minimum(tier_of_rank, 2)]

    day_codes = pd.DataFrame({"c": code, "d": orders["date"].to_numpy()}).drop_duplicates()
    first = day_codes.groupby("c")["d"].min().reindex(range(n))
    last = day_codes.groupby("c")["d"].max().reindex(range(n))
    n_days = day_codes.groupby("c").size().reindex(range(n), fill_value=0).to_numpy()
    orders_12m = (
        pd.DataFrame({"c": code[window], "o": orders["order_id"].to_numpy()[window]})
        .drop_duplicates()
        .groupby("c")
        .size()
        .reindex(range(n), fill_value=0)
        .to_numpy()
    )
    recency = (end - last).dt.days.to_numpy(dtype=float)
    span = (last - first).dt.days.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        interval = np.where(n_days > 1, span / np.maximum(n_days - 1, 1), np.nan)
    since = pd.to_datetime(dataset.customers["since"]).to_numpy()
    start = np.where(pd.isna(first.to_numpy()), since, np.minimum(first.to_numpy(), since))
    age_days = (
        np.datetime64(end.to_datetime64()) - start.astype("datetime64[ns]")
    ) / np.timedelta64(1, "D")
    new = age_days < cfg.new_days
    at_risk = (
        (n_days >= cfg.at_risk_min_orders)
        & (recency > cfg.at_risk_factor * np.nan_to_num(interval, nan=np.inf))
        & ~new
    )
    value, clv_source = _customer_value(dataset, orders, end, cfg)
    if value is not None:
        value = value.reindex(ids.astype(str))
        at_risk = (
            (n_days >= cfg.at_risk_min_orders)
            & (value["p_alive"].fillna(1.0).to_numpy() < cfg.at_risk_p_alive)
            & ~new
        )

    customers = pd.DataFrame(
        {
            "customer_id": dataset.customers["customer_id"].to_numpy(),
            "score": score,
            "tier": pd.Categorical(tier, categories=list(TIER_LABELS)),
            **{p: parts[p].to_numpy() for p in PARTS},
            "spend_12m": spend,
            "margin_12m": gross,
            "orders_12m": orders_12m,
            "recency_days": recency,
            "mean_interval_days": interval,
            "new": new,
            "at_risk": at_risk,
        }
    )
    tiers = _tier_values(orders, code, age, margin, customers, cfg)
    if value is None:
        customers["p_alive"] = np.nan
        customers["purchases_next_year"] = np.nan
        customers["clv"] = _tier_clv(customers, tiers, cfg)
    else:
        customers["p_alive"] = value["p_alive"].fillna(0.0).to_numpy()
        customers["purchases_next_year"] = value["purchases_next_year"].fillna(0.0).to_numpy()
        customers["clv"] = value["clv"].fillna(0.0).to_numpy()
        tiers["clv"] = customers.groupby("tier", observed=False)["clv"].mean().reindex(tiers.index)
    return Segments(as_of=end.date(), customers=customers, tiers=tiers, clv_source=clv_source)


def _customer_value(
    dataset: Dataset, orders: pd.DataFrame, end: pd.Timestamp, cfg: SegmentConfig
) -> tuple[pd.DataFrame | None, str]:
    """The BG/NBD + Gamma-Gamma values per customer, or None and why not."""
    if cfg.clv_model == "tier":
        return None, "tier (asked for)"
    from forecast.customer_value import fit_customer_value, rfm

    cost = pd.Series(dataset.skus["unit_cost"].to_numpy(), index=dataset.skus["sku_id"])
    try:
        value = fit_customer_value(rfm(orders, cost, end), cfg.clv_horizon_years, cfg.discount_rate)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        return None, f"tier (could not fit BG/NBD: {exc})"
    return value.customers, "bgnbd"


def _tier_clv(customers: pd.DataFrame, tiers: pd.DataFrame, cfg: SegmentConfig) -> np.ndarray:
    """Each customer's last year's margin x their tier's CLV factor (the fallback)."""
    tier = customers["tier"].astype(str).to_numpy()
    retention = tiers["retention"].reindex(tier).fillna(0.0).to_numpy(dtype=float)
    margin = customers["margin_12m"].to_numpy(dtype=float)
    return np.asarray(np.maximum(margin, 0.0) * clv_factor(retention, cfg))


def clv_factor(retention: np.ndarray | float, config: SegmentConfig | None = None) -> np.ndarray:
    """Discounted years of margin a customer kept at `retention` a year is worth:
    sum over the horizon of retention^(year - 1) / (1 + discount)^year."""
    cfg = config or SegmentConfig()
    years = np.arange(1, cfg.clv_horizon_years + 1)
    r = np.asarray(retention, dtype=float)[..., None]
    return np.asarray((r ** (years - 1) / (1 + cfg.discount_rate) ** years).sum(axis=-1))


def customer_clv(segments: Segments, customer_ids: pd.Index) -> np.ndarray:
    """Each customer's CLV (currency; 0 for customers the segments do not know)."""
    people = segments.customers.set_index("customer_id")
    return np.asarray(people["clv"].reindex(customer_ids).fillna(0.0).to_numpy(dtype=float))


def _tier_values(
    orders: pd.DataFrame,
    code: np.ndarray,
    age: np.ndarray,
    margin: np.ndarray,
    customers: pd.DataFrame,
    cfg: SegmentConfig,
) -> pd.DataFrame:
    """Per tier: active customers, yearly margin per active customer, retention, CLV.

    Retention is measured, not assumed: of the customers who bought in the window before
    last, the share who bought again in the last window (windows of up to a year, the
    rate converted to a yearly one). CLV = sum over the horizon of yearly margin x
    retention^(year - 1) discounted at `discount_rate`.
    """
    span = int(age.max()) + 1 if age.size else 1
    w = max(1, min(cfg.window_days, span // 2))
    tier = customers["tier"].to_numpy()
    bought_last = np.zeros(len(customers), dtype=bool)
    bought_before = np.zeros(len(customers), dtype=bool)
    bought_last[code[age < w]] = True
    bought_before[code[(age >= w) & (age < 2 * w)]] = True
    qty = orders["quantity"].to_numpy(dtype=float) + orders["quantity_short"].to_numpy(dtype=float)
    line_tier = tier[code]
    rows = []
    for label in TIER_LABELS:
        members = tier == label
        active = members & bought_last
        in_window = (age < w) & (line_tier == label)
        margin_per_year = float(margin[in_window].sum()) / max(int(active.sum()), 1) * 365.0 / w
        base = members & bought_before
        kept = float((base & bought_last).sum()) / max(int(base.sum()), 1) if base.any() else 0.0
        retention = kept ** (365.0 / w) if kept > 0 else 0.0
        clv = margin_per_year * float(clv_factor(retention, cfg))
        units = float(qty[line_tier == label].mean()) if (line_tier == label).any() else 1.0
        rows.append(
            {
                "tier": label,
                "customers": int(members.sum()),
                "active": int(active.sum()),
                "margin_per_year": margin_per_year,
                "retention": retention,
                "clv": clv,
                "units_per_line": units,
            }
        )
    return pd.DataFrame(rows).set_index("tier")
