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

`simulate_policy` runs the same system through the product's own daily engine
(`simulations.engine`: one period a day, one customer, one SKU, every shortage
backordered), so the two can be compared: they agree within 1% in the tests, which
checks the engine's ordering, serving, backordering and accounting against the textbook.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from runtime.parallel import run_chunks
from simulations.engine import Conditions, RunResult, run_policy
from simulations.model import Behaviour, SimWorld
from simulations.policies import Levels, PlanningView


@dataclass(frozen=True)
class Policy:
    """(s,S): order up to S when the position is at or below s (s < S)."""

    s: int
    S: int

    def __post_init__(self) -> None:
        if self.s >= self.S:
            raise ValueError(f"need s < S, got s={self.s}, S={self.S}")

    @property
    def name(self) -> str:
        return f"(s={self.s}, S={self.S})"

    def levels(self, view: PlanningView) -> Levels:
        """The engine's policy interface: the same s and S for every SKU, whatever the
        demand estimate."""
        n = view.daily_mean.shape[0]
        return Levels(np.full(n, float(self.s)), np.full(n, float(self.S)))

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


def textbook_world(mean: float, policy: Policy, costs: Costs, lead_time: int) -> SimWorld:
    """The textbook system as a world of the daily engine: one customer ordering one
    unit per line at Poisson rate `mean` per day, one SKU at unit cost 1 starting at S,
    one supplier reviewing daily with a fixed cost K per order and a lead time of
    L + 1 days (the engine reviews at the end of a day, after its demand: an order then
    arrives the next morning, before that day's demand, which is the textbook's L = 0)."""
    one, zero = np.ones(1), np.zeros(1)
    return SimWorld(
        segments=("all",), customer_ids=np.zeros(1, dtype=np.int64),
        segment=np.zeros(1, dtype=np.int64), rate=np.array([mean]), lines=one,
        favourite=np.zeros(1, dtype=np.int64), affinity=zero, active=np.ones(1, dtype=bool),
        clv=zero, sku_ids=np.zeros(1, dtype=np.int64), category=np.zeros(1, dtype=np.int64),
        popularity=one, mean_quantity=one, unit_cost=one, unit_price=one,
        pack_size=np.ones(1, dtype=np.int64), moq=np.zeros(1, dtype=np.int64),
        supplier=np.zeros(1, dtype=np.int64), substitute=np.full(1, -1, dtype=np.int64),
        on_hand=np.array([float(policy.S)]), on_order=zero,
        lead_mean=np.array([float(lead_time + 1)]), lead_sd=zero, review=one,
        order_cost=np.array([costs.K]), weekly=np.ones(7),
    )  # fmt: skip


#: Every short unit is backordered; nobody churns.
BACKORDERS = Behaviour(
    reactions=np.array([[1.0, 0.0, 0.0, 0.0]]),
    churn_per_stockout=np.zeros(1),
    return_probability=np.zeros(1),
    base_churn_daily=np.zeros(1),
)


def _replication(
    replication: int, world: SimWorld, policy: Policy, conditions: Conditions, seed: int
) -> RunResult:
    return run_policy(world, BACKORDERS, policy, conditions, seed=seed, replication=replication)


def simulate_policy(
    mean: float,
    policy: Policy,
    costs: Costs,
    lead_time: int = 0,
    periods: int = 20_000,
    replications: int = 8,
    seed: int = 0,
    engine: str = "inline",
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Run the textbook system through the daily engine (`simulations.engine`), one
    period a day, and price what it did: K per order, h per unit-day on hand and p per
    unit-day on backorder, per period, with its standard error over replications.
    Replications run on `engine` (`runtime.parallel`)."""
    _check(mean, lead_time)
    if periods < 1 or replications < 1:
        raise ValueError("periods and replications must be positive")
    world = textbook_world(mean, policy, costs, lead_time)
    conditions = Conditions(days=periods, holding_rate=0.0, replan_days=periods)
    shared = {"world": world, "policy": policy, "conditions": conditions, "seed": seed}
    runs = run_chunks(
        _replication, list(range(replications)), engine, progress=progress, shared=shared
    )
    per_period = np.array(
        [
            (costs.K * r.totals["orders_placed"] + costs.h * r.totals["on_hand_unit_days"]
             + costs.p * r.totals["backlog_unit_days"]) / periods
            for r in runs
        ]
    )  # fmt: skip
    asked = sum(float(r.segment["units_requested"].sum()) for r in runs)
    served = sum(float(r.segment["units_filled_now"].sum()) for r in runs)
    orders = sum(r.totals["orders_placed"] for r in runs)
    return SimulationResult(
        cost=float(per_period.mean()),
        cost_se=float(per_period.std(ddof=1) / np.sqrt(replications))
        if replications > 1
        else float("nan"),
        fill_rate=served / max(asked, 1.0),
        order_rate=orders / (periods * replications),
    )
