"""The textbook check: one SKU, Poisson demand, full backordering, (s,S) or base-stock.

Convention (the textbook one): at the start of each period, if the inventory position
(on hand + on order - backorders) is at or below s, order up to S; the order arrives L
periods later (L = 0: before that period's demand); cost per period = K per order +
h x end-of-period on hand + p x end-of-period backorders. Base-stock S is (s,S) with
s = S - 1.

`exact_cost` computes the long-run average cost from the Markov chain of the
inventory position after ordering, y in {s+1, ..., S}: net inventory at the end of
period t + L is y_t minus the demand of periods t..t+L (Poisson((L+1) * mean)), so

    cost = K * P(order in a period) + sum_y pi(y) * E[h (y - D)^+ + p (D - y)^+].

`simulate` runs the same system period by period, vectorized over independent
replications, so the two can be compared (they agree within 1% in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Policy:
    """(s,S): order up to S when the position is at or below s (s < S)."""

    s: int
    S: int

    def __post_init__(self) -> None:
        if self.s >= self.S:
            raise ValueError(f"need s < S, got s={self.s}, S={self.S}")

    @classmethod
    def parse(cls, text: str) -> Policy:
        """'sS:s,S' for (s,S) or 'base:S' for base-stock S."""
        kind, _, args = text.partition(":")
        try:
            if kind == "sS":
                s, big = (int(v) for v in args.split(","))
                return cls(s, big)
            if kind == "base":
                level = int(args)
                return cls(level - 1, level)
        except ValueError as exc:
            if "need s < S" in str(exc):
                raise
        raise ValueError(f"policy {text!r}: use sS:s,S (e.g. sS:10,40) or base:S (e.g. base:25)")


@dataclass(frozen=True)
class Costs:
    """Fixed cost per order K, holding h and backorder p per unit per period."""

    K: float
    h: float
    p: float

    def __post_init__(self) -> None:
        if min(self.K, self.h, self.p) < 0:
            raise ValueError("K, h and p must be non-negative")


def _check(mean: float, lead_time: int) -> None:
    if not mean > 0:
        raise ValueError(f"mean demand per period must be positive, got {mean}")
    if lead_time < 0:
        raise ValueError(f"lead time must be at least 0 periods, got {lead_time}")


def exact_cost(mean: float, policy: Policy, costs: Costs, lead_time: int = 0) -> float:
    """Long-run average cost per period, from the Markov chain of the position."""
    _check(mean, lead_time)
    levels = np.arange(policy.s + 1, policy.S + 1)  # post-order positions
    n = levels.size
    # Transition y -> y - d if that stays above s, else -> S.
    drop = levels[:, None] - levels[None, :]  # demand that moves y_i to y_j
    move = np.where(drop >= 0, stats.poisson.pmf(drop, mean), 0.0)
    reorder = 1.0 - move.sum(axis=1)  # P(y - D <= s)
    move[:, -1] += reorder
    # Stationary distribution: pi P = pi, sum pi = 1.
    a = np.vstack([move.T - np.eye(n), np.ones(n)])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    horizon_mean = (lead_time + 1) * mean
    top = int(stats.poisson.ppf(1 - 1e-12, horizon_mean)) + policy.S + 2
    d = np.arange(top)
    pd_ = stats.poisson.pmf(d, horizon_mean)
    net = levels[:, None] - d[None, :]
    g = (costs.h * np.maximum(net, 0) + costs.p * np.maximum(-net, 0)) @ pd_
    # Backorders beyond the truncation (tail mass below 1e-12) are negligible.
    return float(costs.K * (pi @ reorder) + pi @ g)


@dataclass(frozen=True)
class SimulationResult:
    cost: float  # mean cost per period
    cost_se: float  # standard error over replications
    fill_rate: float  # share of demand met from stock on hand
    order_rate: float  # orders per period


def simulate(
    mean: float,
    policy: Policy,
    costs: Costs,
    lead_time: int = 0,
    periods: int = 20_000,
    replications: int = 32,
    warmup: int = 500,
    seed: int = 0,
) -> SimulationResult:
    """Simulate the system; the loop is over periods, replications are vectorized."""
    _check(mean, lead_time)
    if periods < 1 or replications < 1 or warmup < 0:
        raise ValueError("periods and replications must be positive, warmup non-negative")
    rng = np.random.default_rng(seed)
    r = replications
    net = np.full(r, float(policy.S))  # on hand - backorders
    pipeline = np.zeros((r, lead_time + 1))  # slot k arrives k periods from now
    total_cost = np.zeros(r)
    demand_sum = np.zeros(r)
    served_sum = np.zeros(r)
    orders = np.zeros(r)
    for t in range(warmup + periods):
        position = net + pipeline.sum(axis=1)
        order = position <= policy.s
        quantity = np.where(order, policy.S - position, 0.0)
        pipeline[:, lead_time] += quantity
        net += pipeline[:, 0]  # arrivals due now (this period's order too when L = 0)
        pipeline = np.roll(pipeline, -1, axis=1)
        pipeline[:, -1] = 0.0
        demand = rng.poisson(mean, r)
        served = np.minimum(demand, np.maximum(net, 0.0))
        net -= demand
        if t >= warmup:
            total_cost += (
                costs.K * order + costs.h * np.maximum(net, 0) + costs.p * np.maximum(-net, 0)
            )
            demand_sum += demand
            served_sum += served
            orders += order
    per_rep = total_cost / periods
    return SimulationResult(
        cost=float(per_rep.mean()),
        cost_se=float(per_rep.std(ddof=1) / np.sqrt(r)) if r > 1 else float("nan"),
        fill_rate=float(served_sum.sum() / max(demand_sum.sum(), 1.0)),
        order_rate=float(orders.sum() / (periods * r)),
    )
