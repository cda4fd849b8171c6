"""Churn per stockout a customer meets, estimated on the history with its uncertainty.

**Stockouts met.** Most histories never write a line nothing could be delivered on, so
the recorded shortages (`quantity_short > 0`) undercount the stockouts customers met,
and a visit whose every line failed leaves no trace at all. A visit (a customer's day
with an order) carries, besides its recorded shortages, in expectation

    (L_c - 1) x chance_c(d)          lines of the visit that failed unseen (its first
                                     line left the trace)
    + L_c x mean over the customer's usual gap after d of chance_c(d')^L_c
                                     a next visit that failed on every line, unseen

where L_c is the customer's lines per order and chance_c(d) = sum_k p_ck x out[k, d]:
p_ck is the customer's share of lines on SKU k (their own history, shrunk toward the
catalogue's mix by `PREFERENCE_PRIOR` lines) and out[k, d] the days `forecast.stockouts`
judged out of stock (snapshots, recorded shortages, or inferred from the sales alone, on
each SKU's local rate: `exposure_days`).

**The model.** A discrete-time hazard over visits: the outcome is "no visit in the next
`FOLLOW_DAYS` days" (quit); the customer who meets s stockouts and would have quit
anyway with probability p0 stays with probability (1 - p0)(1 - q)^s, so

    P(quit) = 1 - (1 - p0)(1 - q_tier)^s,   p0 = logit^-1(frequency, gap, tier),

fitted by maximum likelihood (statsmodels), with the tier each customer had before the
visit (`tiers_at_visits`), frequency the log of 1 + visits in the 90 days before, gap
the log of 1 + days since the previous visit. q_tier's log-odds and their standard
errors come from the fit.

**Shrinkage, with the tiers pooled.** The prior is the sector preset (DESIGN.md): its
annual loss to stockouts turned into one per-event probability given the whole base's
exposure (`prior_churn`). The tiers' log-odds are partially pooled (Gelman & Hill 2007,
"Data analysis using regression and multilevel/hierarchical models", ch. 12):

    theta_t = m + eta + delta_t,  eta ~ N(0, PRIOR_LOGIT_SD^2),  delta_t ~ N(0, TIER_LOGIT_SD^2)

with m the prior's centre, eta the base's shift away from it and delta_t the tier's own.
The fit's log-odds per tier and standard errors are the data (a weak normal of
`FIT_RIDGE_SD` in the fit keeps a tier the data push to 0 finite; its information is
taken out again); the posterior is Gaussian and exact. A tier with thin data of its own
borrows the others' (tier A's many stockouts tell of B and C too) instead of falling
back to the preset, and thin or flat data overall give the prior, never a fitted 0%.
The prior's centre is set so that its mean, E[q], is the preset's figure, and the plan
uses the posterior mean. A customer lost for a stockout who comes back within the
follow-up looks as if they never left: the estimate is divided by the chance they stay
away that long (the sector's return probability, returns after an exponential wait, as
the simulator assumes). A tier with fewer than `MIN_EVENTS` stockouts met is not fitted
on its own. The source says whether the data moved a tier: "prior" (they removed <= 25%
of the prior's variance), "fitted" (the tier's own stockouts carry >= 75% of what is
known of it), "mixed" otherwise (a tier that borrows from the others is mixed).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import sparse

from contract.dataset import Dataset
from optimize.inputs import ChurnAssumptions
from simulations.calibration import per_event_churn_exposure

#: A customer with no visit for this many days after a visit has churned there.
FOLLOW_DAYS = 60
#: Tiers are taken as of the start of every such period (before the visits they label).
TIER_PERIOD_DAYS = 91
#: Lines of the catalogue's mix added to every customer's own SKU preferences.
PREFERENCE_PRIOR = 5.0
#: Fewer stockouts met than this in a tier: the prior, unfitted.
MIN_EVENTS = 20.0
#: Prior standard deviation of the log-odds of the base's churn per stockout (1.0: the
#: prior's 90% interval runs from about 0.2x to 5x its centre). The preset becomes a
#: per-event figure through the exposure, itself inferred: on generated worlds the
#: inferred stockouts met ran from 0.4x to 2.7x the true ones.
PRIOR_LOGIT_SD = 1.0
#: How far one tier's log-odds sit from the base's (0.75: 90% within 0.3x to 3.4x).
TIER_LOGIT_SD = 0.75
#: A weak normal on each tier's log-odds in the fit (taken out again before pooling).
FIT_RIDGE_SD = 3.0
#: z of a two-sided 90% interval.
Z90 = 1.6448536269514722
#: When the history shows no stockouts at all, the prior per tier (per event): the
#: plan's default assumptions.
FALLBACK_PRIOR = ChurnAssumptions().per_tier
CUSTOMERS_PER_BLOCK = 2_000
#: The longest wait for a customer's next visit (days) an unseen visit is looked for in.
MAX_GAP_DAYS = 90
#: Visits the hazard model is fitted on at most (a uniform sample beyond).
MAX_ROWS = 300_000


@dataclass(frozen=True)
class TierChurn:
    """Churn per stockout of one tier (probabilities): the posterior `mean` the plan
    uses, its 90% interval [`low`, `high`], the `prior`, the data's own `estimate` and
    standard error (None when not fitted), `events` (stockouts met, recorded and
    expected) and `source` (fitted / prior / mixed)."""

    mean: float
    low: float
    high: float
    source: str
    events: float
    prior: float
    estimate: float | None = None
    standard_error: float | None = None

    def to_json(self) -> dict[str, float | str | None]:
        return {
            "mean": round(self.mean, 5),
            "low": round(self.low, 5),
            "high": round(self.high, 5),
            "source": self.source,
            "events": round(self.events, 1),
            "prior": round(self.prior, 5),
            "estimate": None if self.estimate is None else round(self.estimate, 5),
        }


@dataclass(frozen=True)
class ChurnEstimate:
    """Per tier churn per stockout, with what it rests on: `observations` (visits
    followed up), `recorded` and `inferred` stockouts met, the hazard model's
    `coefficients` (log-odds with 90% intervals; empty when not fitted) and a one-line
    `note` for a planner."""

    per_tier: dict[str, TierChurn]
    observations: int
    recorded: float
    inferred: float
    coefficients: pd.DataFrame
    note: str

    def means(self) -> dict[str, float]:
        return {t: c.mean for t, c in self.per_tier.items()}


@dataclass(frozen=True)
class StockoutsMet:
    """Per visit (a customer's day with an order), in day order per customer: the
    customer (index into `customers`), the day (from `start`), orders placed, recorded
    and expected unrecorded stockouts met."""

    customers: pd.Index
    start: pd.Timestamp
    n_days: int
    customer: np.ndarray
    day: np.ndarray
    orders: np.ndarray
    recorded: np.ndarray
    inferred: np.ndarray

    @property
    def events(self) -> np.ndarray:
        met: np.ndarray = self.recorded + self.inferred
        return met


def stockouts_met(
    orders: pd.DataFrame,
    sku_ids: np.ndarray,
    p_out: np.ndarray | None,
    start: pd.Timestamp,
) -> StockoutsMet:
    """Stockouts met per visit (see the module docstring). `p_out[k, d]`: whether SKU
    k was out of stock on day d counted from `start` (None: only what was recorded
    counts)."""
    lines = orders[orders["customer_id"].notna()]
    if lines.empty:
        raise ValueError("no order lines with a customer: churn cannot be measured")
    customers = pd.Index(pd.unique(lines["customer_id"].astype(str)))
    c = customers.get_indexer(pd.Index(lines["customer_id"].astype(str)))
    k = pd.Index(sku_ids.astype(str)).get_indexer(pd.Index(lines["sku_id"].astype(str)))
    day = (lines["date"] - start).dt.days.to_numpy()
    if (k < 0).any() or (day < 0).any():
        raise ValueError("order lines outside the SKUs or days the stockouts cover")
    n_days = int(day.max()) + 1
    # Visits: one per customer and day; orders and recorded shortages counted on them.
    key = c.astype(np.int64) * n_days + day
    visit_key, visit = np.unique(key, return_inverse=True)
    v_c, v_d = visit_key // n_days, visit_key % n_days
    recorded = np.bincount(
        visit, weights=(lines["quantity_short"] > 0).to_numpy(dtype=float), minlength=v_c.size
    )
    per_order = pd.DataFrame({"v": visit, "o": lines["order_id"].astype(str).to_numpy()})
    placed = np.bincount(per_order.drop_duplicates()["v"].to_numpy(), minlength=v_c.size)
    inferred = np.zeros(v_c.size)
    if p_out is not None and p_out.size:
        n_lines = np.bincount(c, minlength=len(customers)).astype(float)
        n_orders = np.bincount(v_c, weights=placed, minlength=len(customers))
        lines_per_order = n_lines / np.maximum(n_orders, 1.0)
        # The customer's usual days between visits: where their next visit would fall.
        first_day = np.full(len(customers), n_days)
        last_day = np.zeros(len(customers), dtype=np.int64)
        np.minimum.at(first_day, v_c, v_d)
        np.maximum.at(last_day, v_c, v_d)
        visits = np.bincount(v_c, minlength=len(customers))
        gap = np.where(visits > 1, (last_day - first_day) / np.maximum(visits - 1, 1), 30.0)
        window = np.clip(np.round(gap), 1, MAX_GAP_DAYS).astype(np.int64)
        chance, ahead = _chance_out(
            c, k, n_lines, p_out.astype(np.float32), v_c, v_d, lines_per_order, window
        )
        # At a visit that left a trace, its first line did: only the others can have
        # failed unseen. The next visit, if every line failed, left none.
        lines = np.maximum(lines_per_order[v_c], 1.0)
        inferred = placed * (lines - 1.0) * chance + lines * ahead
    return StockoutsMet(
        customers, start, n_days, v_c, v_d, placed.astype(float), recorded, inferred
    )


def _chance_out(
    c: np.ndarray, k: np.ndarray, n_lines: np.ndarray, p_out: np.ndarray,
    v_c: np.ndarray, v_d: np.ndarray, lines_per_order: np.ndarray, window: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per visit (customer v_c on day v_d): the chance one of the customer's lines asks
    for a SKU that was out that day, chance = sum_k p_ck p_out[k, d]; and the mean over
    the customer's `window` days after it of chance^L (L lines per order): the chance
    their next visit failed on every line and so left no trace at all."""
    n_c, n_k, n_d = n_lines.size, p_out.shape[0], p_out.shape[1]
    counts = sparse.csr_matrix(
        (np.ones(c.size, dtype=np.float32), (c, k)), shape=(n_c, n_k)
    )  # lines per customer and SKU (duplicates summed)
    mix = np.bincount(k, minlength=n_k).astype(np.float32)
    mix /= max(float(mix.sum()), 1.0)
    catalogue = mix @ p_out  # the catalogue mix's chance per day
    weight = (PREFERENCE_PRIOR / (n_lines + PREFERENCE_PRIOR)).astype(np.float32)
    d = np.minimum(v_d, n_d - 1)
    at_visit, ahead = np.zeros(v_c.size), np.zeros(v_c.size)
    order = np.argsort(v_c, kind="stable")
    edges = np.arange(0, n_c + CUSTOMERS_PER_BLOCK, CUSTOMERS_PER_BLOCK)
    bounds = np.searchsorted(v_c[order], edges)
    for b in range(bounds.size - 1):
        rows = order[bounds[b] : bounds[b + 1]]
        if rows.size == 0:
            continue
        first = b * CUSTOMERS_PER_BLOCK
        members = slice(first, min(first + CUSTOMERS_PER_BLOCK, n_c))
        own = np.asarray(counts[members] @ p_out) / np.maximum(n_lines[members], 1.0)[:, None]
        w = weight[members][:, None]
        chance = w * catalogue[None, :] + (1.0 - w) * own  # (block, days)
        r = v_c[rows] - first
        at_visit[rows] = chance[r, d[rows]]
        silent = chance ** np.maximum(lines_per_order[members], 1.0)[:, None]
        cum = np.concatenate([np.zeros((silent.shape[0], 1)), np.cumsum(silent, axis=1)], 1)
        w_rows = window[v_c[rows]]
        end = np.minimum(d[rows] + w_rows, n_d - 1)
        ahead[rows] = (cum[r, end + 1] - cum[r, d[rows] + 1]) / np.maximum(end - d[rows], 1)
    return at_visit, ahead


def visits_followed(
    met: StockoutsMet, visit_tiers: np.ndarray | None = None, follow_days: int = FOLLOW_DAYS
) -> pd.DataFrame:
    """One row per visit whose follow-up lies in the history: churned (no visit in the
    next `follow_days` days), stockouts met, log_frequency (log of 1 + visits in the 90
    days before), gap (log of 1 + days since the previous visit), tier."""
    c, d = met.customer, met.day
    same = np.r_[False, c[1:] == c[:-1]]  # the previous visit is the same customer's
    nxt = np.r_[c[:-1] == c[1:], False]
    next_day = np.where(nxt, np.r_[d[1:], 0], np.iinfo(np.int64).max // 2)
    prev_day = np.where(same, np.r_[0, d[:-1]], -1)
    # Visits of the same customer within the 90 days before (a cumulative count).
    first = np.searchsorted(c, c, side="left")
    position = np.arange(c.size) - first
    key = c * met.n_days + d
    window = position - (np.maximum(np.searchsorted(key, key - 90), first) - first)
    observable = d + follow_days < met.n_days
    frame = pd.DataFrame(
        {
            "customer_id": met.customers[c],
            "churned": (next_day - d > follow_days).astype(int),
            "stockouts": met.events,
            "log_frequency": np.log1p(window),
            "gap": np.log1p(np.where(prev_day >= 0, d - prev_day, 365)),
            "tier": "ALL" if visit_tiers is None else visit_tiers,
        }
    )
    known = frame["tier"].notna().to_numpy()
    return frame[observable & known]


def tiers_at_visits(
    dataset: Dataset, met: StockoutsMet, period_days: int = TIER_PERIOD_DAYS
) -> np.ndarray:
    """Each visit's customer tier as it stood before the visit: the segments as of the
    day before each period of `period_days` (None in the first period, with no history
    to score). A tier scored at the end of the history would be scored after the churn
    it is meant to explain: a customer who left for a stockout has lost spend and growth
    and reads as tier C."""
    from forecast.segments import SegmentConfig, segment_customers

    out = np.full(met.day.size, None, dtype=object)
    config = SegmentConfig(clv_model="tier")
    for first in range(period_days, met.n_days, period_days):
        as_of = (met.start + pd.Timedelta(days=first - 1)).date()
        segments = segment_customers(dataset, as_of=as_of, config=config)
        tier = segments.customers.set_index("customer_id")["tier"].astype(str)
        rows = (met.day >= first) & (met.day < first + period_days)
        out[rows] = tier.reindex(met.customers[met.customer[rows]]).to_numpy()
    return out


def prior_churn(met: StockoutsMet, annual: float, labels: tuple[str, ...]) -> dict[str, float]:
    """Per tier, the prior's mean churn per stockout: the one per-event figure that loses
    `annual` of the whole base a year given each customer's stockouts met a year
    (`per_event_churn_exposure`); a history without stockouts `FALLBACK_PRIOR`. One
    figure for every tier: the preset is a share of the base, and a tier that meets few
    stockouts loses few customers to them (a per-tier calibration read a rare stockout
    as a near-certain loss: 30-60% per event for tier C)."""
    fallback = {label: FALLBACK_PRIOR.get(label, 0.05) for label in labels}
    if not met.events.any():
        return fallback
    years = max(met.n_days, 1) / 365.25
    per_year = np.bincount(met.customer, weights=met.events, minlength=len(met.customers)) / years
    try:
        q = per_event_churn_exposure(annual, per_year)
    except ValueError:  # too few customers meet stockouts to lose that many
        return fallback
    return {label: q for label in labels}


def estimate_churn(
    met: StockoutsMet,
    tiers: pd.Series | None,
    annual: float,
    visit_tiers: np.ndarray | None = None,
    return_probability: float = 0.0,
    mean_days_to_return: float = 90.0,
    follow_days: int = FOLLOW_DAYS,
) -> ChurnEstimate:
    """Churn per stockout per tier (see the module docstring). `tiers`: each customer's
    tier now (the labels reported); `visit_tiers`: the tier of each visit as it stood
    then (`tiers_at_visits`; None: `tiers`). `annual`: the sector preset's share of
    customers lost a year to stockouts (the prior); `return_probability` and
    `mean_days_to_return` (days, exponential) of a lost customer: one who came back
    within the follow-up looks as if they never left."""
    if visit_tiers is None and tiers is not None:
        visit_tiers = tiers.astype(str).reindex(met.customers[met.customer]).to_numpy()
    data = visits_followed(met, visit_tiers, follow_days)
    if tiers is not None:
        labels: tuple[str, ...] = tuple(sorted(set(tiers.astype(str)))) or ("ALL",)
    else:
        labels = ("ALL",)
    prior = prior_churn(met, annual, labels)
    centre = {t: _centre_for_mean(prior[t], PRIOR_LOGIT_SD**2 + TIER_LOGIT_SD**2) for t in labels}
    events = data.groupby("tier")["stockouts"].sum().reindex(labels).fillna(0.0)
    fitted, coefficients, note = _fit(data, labels, events, centre)
    # Seen as churned only if not back within the follow-up: q_seen = q x keep.
    keep = 1.0 - return_probability * (1.0 - np.exp(-follow_days / mean_days_to_return))
    own: dict[str, tuple[float, float]] = {}
    for t in fitted:
        data_t = _own_data(*fitted[t], centre[t], keep)
        if data_t is not None:
            own[t] = data_t
    mean, cov = pooled_posterior(labels, centre, own)
    per_tier = {}
    for i, label in enumerate(labels):
        sd = float(np.sqrt(cov[i, i]))
        moved = 1.0 - cov[i, i] / (PRIOR_LOGIT_SD**2 + TIER_LOGIT_SD**2)
        share = own[label][1] * cov[i, i] if label in own else 0.0
        source = "prior" if moved <= 0.25 else "fitted" if share >= 0.75 else "mixed"
        estimate = own.get(label)
        per_tier[label] = TierChurn(
            mean=_posterior_mean(float(mean[i]), sd),
            low=_sigmoid(mean[i] - Z90 * sd),
            high=_sigmoid(mean[i] + Z90 * sd),
            source=source,
            events=float(events[label]),
            prior=prior[label],
            estimate=None if estimate is None else _sigmoid(estimate[0]),
            standard_error=None
            if estimate is None
            else _q_standard_error(estimate[0], 1.0 / np.sqrt(estimate[1])),
        )
    return ChurnEstimate(
        per_tier=per_tier,
        observations=len(data),
        recorded=float(met.recorded.sum()),
        inferred=float(met.inferred.sum()),
        coefficients=coefficients,
        note=note,
    )


def _own_data(
    theta: float, se: float, ridge_centre: float, keep: float
) -> tuple[float, float] | None:
    """A tier's own data on the log-odds of the true churn per stockout: (estimate,
    precision), the fit's ridge taken out and the returners put back (q = q_seen /
    keep, delta method); None when the data say nothing beyond the ridge."""
    precision = 1.0 / se**2 - 1.0 / FIT_RIDGE_SD**2
    if not np.isfinite(precision) or precision < 1e-6:
        return None
    seen = (theta / se**2 - ridge_centre / FIT_RIDGE_SD**2) / precision
    q_seen = _sigmoid(seen)
    q = min(q_seen / keep, 0.999)
    # d logit(q) / d logit(q_seen) = (1 - q_seen) / (1 - q)
    slope = (1.0 - q_seen) / (1.0 - q)
    return _logit(q), precision / slope**2


def pooled_posterior(
    labels: tuple[str, ...], centre: dict[str, float], own: dict[str, tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the tiers' log-odds, theta_t = centre_t + eta + delta_t
    (see the module docstring), given each tier's own (estimate, precision): a Gaussian
    over (eta, delta_1..delta_T), solved exactly, mapped to theta."""
    n = len(labels)
    precision = np.zeros((n + 1, n + 1))
    linear = np.zeros(n + 1)
    precision[0, 0] = 1.0 / PRIOR_LOGIT_SD**2
    for i, label in enumerate(labels, start=1):
        precision[i, i] = 1.0 / TIER_LOGIT_SD**2
        if label in own:  # estimate - centre = eta + delta_t + noise
            estimate, p = own[label]
            for a in (0, i):
                linear[a] += p * (estimate - centre[label])
                for b in (0, i):
                    precision[a, b] += p
    cov_latent = np.linalg.inv(precision)
    mean_latent = cov_latent @ linear
    to_theta = np.hstack([np.ones((n, 1)), np.eye(n)])  # theta_t - centre_t = eta + delta_t
    mean = np.array([centre[t] for t in labels]) + to_theta @ mean_latent
    cov: np.ndarray = to_theta @ cov_latent @ to_theta.T
    return mean, cov


def _centre_for_mean(q: float, variance: float) -> float:
    """The centre m of log-odds ~ Normal(m, variance) whose mean probability is `q`."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        m = 0.5 * (lo + hi)
        if _posterior_mean(m, float(np.sqrt(variance))) < q:
            lo = m
        else:
            hi = m
    return 0.5 * (lo + hi)


def _q_standard_error(theta: float, se: float) -> float:
    q = _sigmoid(theta)
    return float(q * (1 - q) * se)


def _fit(
    data: pd.DataFrame,
    labels: tuple[str, ...],
    events: pd.Series,
    ridge: dict[str, float],
) -> tuple[dict[str, tuple[float, float]], pd.DataFrame, str]:
    """The hazard model and, per tier with enough stockouts met, the log-odds of the
    churn per stockout seen within the follow-up and its standard error (with a weak
    normal of `FIT_RIDGE_SD` around `ridge[t]`, so a tier the data push to 0 stays
    finite and its standard error says how little they tell)."""
    from statsmodels.base.model import GenericLikelihoodModel

    fitted_tiers = [t for t in labels if events[t] >= MIN_EVENTS]
    if not fitted_tiers or data["churned"].nunique() < 2:
        return {}, pd.DataFrame(), "prior only: too few stockouts met to fit on"
    if len(data) > MAX_ROWS:  # a uniform sample keeps the fit in seconds
        data = data.sample(MAX_ROWS, random_state=0)
    base = pd.DataFrame({"const": 1.0, "log_frequency": data["log_frequency"]}, index=data.index)
    base["gap"] = data["gap"]
    for t in labels[1:]:
        base[f"tier_{t}"] = (data["tier"] == t).astype(float)
    x = base.to_numpy(dtype=float)
    exposure = np.column_stack(
        [data["stockouts"].to_numpy(dtype=float) * (data["tier"] == t) for t in fitted_tiers]
    )
    y = data["churned"].to_numpy(dtype=float)
    n_base = x.shape[1]
    centres = np.array([ridge[t] for t in fitted_tiers])

    class _Hazard(GenericLikelihoodModel):  # type: ignore[misc]
        def loglikeobs(self, params: np.ndarray) -> np.ndarray:
            # log P(stays) = log(1 - p0(x)) + sum_t e_t log(1 - q_t), q_t = sigmoid(theta_t)
            log_stay = -np.logaddexp(0.0, x @ params[:n_base])
            log_stay = log_stay - exposure @ np.logaddexp(0.0, params[n_base:])
            log_stay = np.minimum(log_stay, -1e-12)
            log_quit = np.log(-np.expm1(log_stay))
            out: np.ndarray = y * log_quit + (1 - y) * log_stay
            return out

        def loglike(self, params: np.ndarray) -> float:
            penalty = 0.5 * np.sum(((params[n_base:] - centres) / FIT_RIDGE_SD) ** 2)
            return float(self.loglikeobs(params).sum() - penalty)

    names = [*base.columns, *(f"stockout_{t}" for t in fitted_tiers)]
    start = np.r_[np.zeros(n_base), np.full(len(fitted_tiers), -3.0)]
    start[0] = float(np.log(max(y.mean(), 1e-3) / max(1 - y.mean(), 1e-3)))
    try:
        model = _Hazard(y, np.column_stack([x, exposure]), extra_params_names=None)
        model.exog_names[:] = names
        result = model.fit(start_params=start, method="bfgs", maxiter=500, disp=0)
        cov = np.asarray(result.cov_params())
    except (ValueError, np.linalg.LinAlgError) as exc:
        return {}, pd.DataFrame(), f"prior only: the hazard model could not be fitted ({exc})"
    params = np.asarray(result.params)
    if not (np.isfinite(params).all() and np.isfinite(cov).all()):
        return {}, pd.DataFrame(), "prior only: the hazard model did not converge"
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    coefficients = pd.DataFrame(
        {"estimate": params, "low_90": params - Z90 * se, "high_90": params + Z90 * se},
        index=names,
    )
    out = {
        t: (float(params[n_base + j]), float(se[n_base + j]))
        for j, t in enumerate(fitted_tiers)
        if np.isfinite(se[n_base + j]) and se[n_base + j] > 0
    }
    return out, coefficients, f"hazard model on {len(data):,} visits, tiers pooled"


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def _posterior_mean(mean: float, sd: float) -> float:
    """E[sigmoid(theta)] for theta ~ Normal(mean, sd) (Gauss-Hermite, 32 points)."""
    x, w = np.polynomial.hermite.hermgauss(32)
    values = 1.0 / (1.0 + np.exp(-(mean + np.sqrt(2.0) * sd * x)))
    return float(w @ values / np.sqrt(np.pi))


def exposure_days(dataset: Dataset) -> tuple[np.ndarray, pd.Timestamp]:
    """The days each SKU was out of stock, as the stockouts customers met are counted
    on: judged on each SKU's local rate (`forecast.stockouts`, `LEVEL_DAYS`), not the
    whole-history rate the forecast censors on. (n_skus, days) bool, and the first day."""
    from forecast.engine import dataset_stockouts
    from forecast.stockouts import LEVEL_DAYS

    stockouts, start = dataset_stockouts(dataset, level_days=LEVEL_DAYS)
    return stockouts.out, start


def churn_from_history(
    dataset: Dataset,
    tiers: pd.Series | None,
    out: np.ndarray | None,
    start: pd.Timestamp,
    sector: str = "retail",
) -> ChurnEstimate:
    """The whole estimate on a dataset: stockouts met (with `out[k, d]`, the days each
    SKU was out counted from `start`), tiers as they stood at each visit, the hazard
    model, shrunk toward `sector`'s preset."""
    from simulations.model import Behaviour
    from simulations.world import PRESETS

    wait = {f.name: f.default for f in fields(Behaviour)}["mean_days_to_return"]

    if sector not in PRESETS:
        raise ValueError(f"unknown sector {sector!r}; choose one of {sorted(PRESETS)}")
    preset = PRESETS[sector]
    p_out = None if out is None else out.astype(np.float32)
    met = stockouts_met(dataset.orders, dataset.skus["sku_id"].to_numpy(), p_out, start)
    visit_tiers = tiers_at_visits(dataset, met) if tiers is not None else None
    return estimate_churn(
        met,
        tiers,
        preset.stockout_churn_annual,
        visit_tiers,
        preset.return_probability,
        float(wait),  # type: ignore[arg-type]
    )
