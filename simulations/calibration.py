"""Churn after a stockout: from a sector preset, or fitted on a dataset's own history.

Preset: a sector loses `annual` of its customers a year to stockouts (DESIGN.md). A
customer who meets `events` stockouts a year and churns with probability q at each
keeps buying with probability (1 - q)^events, so q = 1 - (1 - annual)^(1 / events).

Fitted: a logit (statsmodels) over customer-months. A customer who ordered in month m
is an observation; the outcome is "no order in the next `follow_months` months"
(churned); the regressors are whether they met a stockout in month m (any order line
short), how often they order (log of 1 + orders in months m-2..m) and, when given,
their tier. The per-event churn probability of a tier is the predicted probability
with a stockout minus without, at the tier's median frequency: the extra churn a
stockout causes, net of customers who would have left anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from contract.dataset import Dataset

MONTH_DAYS = 30


def per_event_churn(annual: float, events_per_year: float) -> float:
    """Per-stockout churn probability that loses `annual` of customers a year."""
    if not 0.0 <= annual < 1.0:
        raise ValueError(f"annual churn share must lie in [0, 1), got {annual}")
    if events_per_year <= 0:
        raise ValueError("a customer must meet some stockouts a year to calibrate on")
    return float(1.0 - (1.0 - annual) ** (1.0 / events_per_year))


def per_event_churn_exposure(annual: float, events_per_year: np.ndarray) -> float:
    """Per-stockout churn q that loses `annual` of customers a year, given each customer's
    own stockout exposure e_i (events a year): mean_i 1 - (1 - q)^e_i = annual.

    Customers meet stockouts unevenly (heavy buyers meet more), so this q is above
    `per_event_churn(annual, mean(e))`: by Jensen, the mean exposure understates it.
    """
    e = np.asarray(events_per_year, dtype=float)
    if not 0.0 <= annual < 1.0:
        raise ValueError(f"annual churn share must lie in [0, 1), got {annual}")
    if e.size == 0 or (e < 0).any() or not np.isfinite(e).all():
        raise ValueError("exposures must be finite, non-negative events per year")
    if float(np.mean(1.0 - (1.0 - 1.0) ** e)) < annual:
        raise ValueError(f"too few customers meet stockouts to lose {annual:.1%} a year to them")
    lo, hi = 0.0, 1.0
    for _ in range(60):  # the loss grows with q: bisection to ~1e-18
        q = 0.5 * (lo + hi)
        if float(np.mean(1.0 - (1.0 - q) ** e)) < annual:
            lo = q
        else:
            hi = q
    return hi


@dataclass(frozen=True)
class ChurnFit:
    """A fitted logit of churn on stockouts met, with what a planner needs from it.

    `coefficients`: estimate, 95% interval and p-value per regressor (log-odds).
    `per_event`: extra probability of churning after a stockout, per tier ("ALL"
    without tiers). `observations`: customer-months used; `base_rate`: share churned.
    """

    coefficients: pd.DataFrame
    per_event: dict[str, float]
    observations: int
    base_rate: float


def customer_months(
    dataset: Dataset, tiers: pd.Series | None = None, follow_months: int = 3
) -> pd.DataFrame:
    """One row per (customer, month with an order): churned, stockout, frequency, tier."""
    orders = dataset.orders[dataset.orders["customer_id"].notna()]
    if orders.empty:
        raise ValueError("no order lines with a customer: churn cannot be measured")
    start = orders["date"].min()
    month = ((orders["date"] - start).dt.days // MONTH_DAYS).to_numpy()
    n_months = int(month.max()) + 1
    customers = pd.Index(orders["customer_id"].unique())
    c = customers.get_indexer(pd.Index(orders["customer_id"]))
    n = len(customers)
    bought = np.zeros((n, n_months), dtype=bool)
    bought[c, month] = True
    short = np.zeros((n, n_months), dtype=bool)
    hit = (orders["quantity_short"] > 0).to_numpy()
    short[c[hit], month[hit]] = True
    order_ids = pd.DataFrame(
        {"c": c, "m": month, "o": orders["order_id"].to_numpy()}
    ).drop_duplicates()
    counts = np.zeros((n, n_months))
    np.add.at(counts, (order_ids["c"].to_numpy(), order_ids["m"].to_numpy()), 1)
    # Orders in m-2..m, and whether any order follows within `follow_months`.
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(counts, axis=1)], axis=1)
    m_idx = np.arange(n_months)
    recent = cum[:, m_idx + 1] - cum[:, np.maximum(m_idx - 2, 0)]
    later = np.concatenate([np.cumsum(bought[:, ::-1], axis=1)[:, ::-1], np.zeros((n, 1))], axis=1)
    ahead = (
        later[:, np.minimum(m_idx + 1, n_months)]
        - later[:, np.minimum(m_idx + 1 + follow_months, n_months)]
    )
    observable = m_idx + follow_months < n_months  # the whole follow-up lies in the history
    rows, cols = np.nonzero(bought & observable[None, :])
    frame = pd.DataFrame(
        {
            "customer_id": customers[rows],
            "month": cols,
            "churned": (ahead[rows, cols] == 0).astype(int),
            "stockout": short[rows, cols].astype(int),
            "log_frequency": np.log1p(recent[rows, cols]),
        }
    )
    if tiers is not None:
        frame["tier"] = tiers.reindex(frame["customer_id"]).astype(str).to_numpy()
    return frame


def fit_churn(dataset: Dataset, tiers: pd.Series | None = None, follow_months: int = 3) -> ChurnFit:
    """Fit the logit described in the module docstring; ValueError when it cannot be."""
    import statsmodels.api as sm

    data = customer_months(dataset, tiers, follow_months)
    if data["stockout"].nunique() < 2 or data["churned"].nunique() < 2:
        raise ValueError("the history needs customers with and without stockouts, churned and not")
    design = data[["stockout", "log_frequency"]].astype(float)
    labels = ["ALL"]
    if "tier" in data:
        labels = sorted(data["tier"].unique())
        for label in labels[1:]:  # the first tier is the reference level
            design[f"tier_{label}"] = (data["tier"] == label).astype(float)
    design = sm.add_constant(design, has_constant="add")
    result = sm.Logit(data["churned"].astype(float), design).fit(disp=0)
    interval = result.conf_int(alpha=0.05)
    coefficients = pd.DataFrame(
        {
            "estimate": result.params,
            "low_95": interval[0],
            "high_95": interval[1],
            "p_value": result.pvalues,
        }
    )
    per_event = {}
    for label in labels:
        members = data if label == "ALL" else data[data["tier"] == label]
        row = pd.DataFrame(0.0, index=[0, 1], columns=design.columns)
        row["const"] = 1.0
        row["stockout"] = [0.0, 1.0]
        row["log_frequency"] = float(members["log_frequency"].median())
        if f"tier_{label}" in row:
            row[f"tier_{label}"] = 1.0
        p0, p1 = np.asarray(result.predict(row))
        per_event[label] = float(max(p1 - p0, 0.0))
    return ChurnFit(coefficients, per_event, len(data), float(data["churned"].mean()))
