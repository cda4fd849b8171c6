"""Replenishment policies behind one interface: stock levels from a demand estimate.

Every policy answers one question, `levels(view)`: given what the planner knows (mean
and variance of daily demand per SKU and segment, lead times, review periods, costs),
at what inventory position to reorder (`reorder_point`, s), up to what level
(`order_up_to`, S), how many units to hold back for the top segment (`reserve`), and
what each unit is worth (`unit_value`, the optimizers': a review short of money buys
packs by value per currency, and skips a supplier whose lines are not worth its order
cost). The engine applies them at each supplier's review: if position <= s,
order S - position in whole packs, MOQ respected (`optimize.ordering`). The levels are
the plan's own rules (`optimize.levels`, `optimize.reservation`, the optimizer), so a
simulation tests what the plan was made with. The five policies differ only there:

- `SsPolicy`: s = mean + z sd over the protection interval, S = s + EOQ.
- `BaseStockPolicy`: S = the service-level quantile of protection demand, s = S - 1.
- `MinMaxPolicy`: what ERPs do, min/max as multiples of protection-interval demand,
  with z sd of safety stock on both when set.
- `OptimizerPolicy`: the replenish optimizer chooses S per SKU within an investment
  budget; segment-blind (every segment at the SKU's average stockout cost) or
  churn-aware (stockout cost = margin + P(churn) x CLV / units, DESIGN.md) with a
  Littlewood reserve for the top segment, recomputed each day from the days left
  until the next delivery (a static reserve over the whole protection interval holds
  back units the top segment cannot use before fresh stock arrives).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from forecast.distribution import grouped_pmfs, pmfs
from optimize.baselines import blind_costs
from optimize.economics import DAYS_PER_YEAR, holding_cost
from optimize.levels import base_stock_levels, min_max_levels, safety_min_max_levels, ss_levels
from optimize.problem import ReorderProblem, catalogue_mix
from optimize.reservation import reserve_rule, reserve_units
from optimize.solve import solve
from optimize.value_curve import BATCH_SUPPORT, unit_optimum


@dataclass(frozen=True)
class PlanningView:
    """What a policy may look at when it sets levels. Arrays per SKU unless noted.

    `daily_mean`, `daily_var`: (n, k) units per day per segment. `protection_days`: lead
    time + review period (days). `stockout_cost`: (n, k) currency per unit short, from
    the margin and, per segment, P(churn | stockout) x CLV / units per line.
    `order_cost`: the supplier's fixed cost per order. `holding_rate`: per year.
    """

    daily_mean: np.ndarray
    daily_var: np.ndarray
    protection_days: np.ndarray
    lead_days: np.ndarray
    unit_cost: np.ndarray
    unit_price: np.ndarray
    stockout_cost: np.ndarray
    order_cost: np.ndarray
    holding_rate: float
    segments: tuple[str, ...]

    @property
    def protection_mean(self) -> np.ndarray:
        return np.asarray(self.daily_mean.sum(axis=1) * self.protection_days)

    @property
    def protection_var(self) -> np.ndarray:
        return np.asarray(self.daily_var.sum(axis=1) * self.protection_days)

    def rows(self, skus: np.ndarray) -> PlanningView:
        """The view of these SKUs alone."""
        return replace(
            self, daily_mean=self.daily_mean[skus], daily_var=self.daily_var[skus],
            protection_days=self.protection_days[skus], lead_days=self.lead_days[skus],
            unit_cost=self.unit_cost[skus], unit_price=self.unit_price[skus],
            stockout_cost=self.stockout_cost[skus], order_cost=self.order_cost[skus],
        )  # fmt: skip


@dataclass(frozen=True)
class Reserve:
    """Littlewood's rule, day by day (`optimize.reservation`): units of each SKU other
    segments may not take. `segment` is protected with each SKU's critical ratio
    `ratio` (NaN: no reserve) against its demand until the next delivery, t days:
    mean `daily_mean` x t, variance `daily_var` x t."""

    segment: int
    daily_mean: np.ndarray
    daily_var: np.ndarray
    ratio: np.ndarray

    def units(self, days_to_arrival: np.ndarray, skus: np.ndarray | None = None) -> np.ndarray:
        """Units held back per SKU, `days_to_arrival` days before its next delivery; with
        `skus`, of those SKUs only (`days_to_arrival` one value each)."""
        t = np.maximum(days_to_arrival, 0.0)
        if skus is None:
            return reserve_units(self.daily_mean * t, self.daily_var * t, self.ratio)
        return reserve_units(self.daily_mean[skus] * t, self.daily_var[skus] * t, self.ratio[skus])


@dataclass(frozen=True)
class Levels:
    """Per SKU: reorder point s, order-up-to S (units), an optional `reserve` for the
    top segment, and for a review whose budget binds either each unit's value
    (`unit_value`: packs are bought by marginal value per currency) or a `priority` per
    line (None: what runs out first goes first)."""

    reorder_point: np.ndarray
    order_up_to: np.ndarray
    reserve: Reserve | None = None
    priority: np.ndarray | None = None
    # The value (currency) of each unit of stock per SKU: values[start[i] + x] for SKU
    # i's x-th unit (`optimize.ordering.fit_by_value`); None for rules without values.
    unit_value: tuple[np.ndarray, np.ndarray] | None = None


class Policy(Protocol):
    """A replenishment rule. `name` labels results; `levels` must be deterministic."""

    @property
    def name(self) -> str: ...

    def levels(self, view: PlanningView) -> Levels: ...


def relevel(policy: Policy, previous: Levels, view: PlanningView, changed: np.ndarray) -> Levels:
    """`policy.levels(view)` at a replan where only the SKUs `changed` have a new view:
    a policy that can (`OptimizerPolicy.relevel`) plans those alone and keeps the rest,
    with the same result."""
    again = getattr(policy, "relevel", None)
    if again is None:
        return policy.levels(view)
    out: Levels = again(previous, view, changed)
    return out


@dataclass(frozen=True)
class SsPolicy:
    """(s, S): reorder at mean + z sd of protection demand, order up to s + EOQ."""

    name: str = "(s,S)"
    z: float = 1.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.z):
            raise ValueError("z must be a finite safety factor")

    def levels(self, view: PlanningView) -> Levels:
        annual = view.daily_mean.sum(axis=1) * DAYS_PER_YEAR
        s, big = ss_levels(
            view.protection_mean, view.protection_var, self.z, view.order_cost, annual,
            view.holding_rate * view.unit_cost,
        )  # fmt: skip
        return Levels(s, big)


@dataclass(frozen=True)
class BaseStockPolicy:
    """Order up to the `service_level` quantile of protection demand at every review."""

    name: str = "base-stock"
    service_level: float = 0.95

    def __post_init__(self) -> None:
        if not 0.0 < self.service_level < 1.0:
            raise ValueError(
                f"service_level must lie strictly between 0 and 1, got {self.service_level}"
            )

    def levels(self, view: PlanningView) -> Levels:
        return Levels(
            *base_stock_levels(view.protection_mean, view.protection_var, self.service_level)
        )


@dataclass(frozen=True)
class MinMaxPolicy:
    """ERP min/max: min and max as multiples of mean protection-interval demand, both
    raised by `z` sd of safety stock (0: none, as ERPs are often left)."""

    name: str = "min/max"
    min_factor: float = 1.0
    max_factor: float = 2.0
    z: float = 0.0

    def __post_init__(self) -> None:
        min_max_levels(np.zeros(0), self.min_factor, self.max_factor)  # checks the factors
        if not np.isfinite(self.z):
            raise ValueError("z must be a finite safety factor")

    def levels(self, view: PlanningView) -> Levels:
        if self.z == 0.0:
            return Levels(*min_max_levels(view.protection_mean, self.min_factor, self.max_factor))
        return Levels(
            *safety_min_max_levels(
                view.protection_mean, view.protection_var, self.z, self.max_factor,
                self.min_factor,
            )
        )  # fmt: skip


@dataclass(frozen=True)
class OptimizerPolicy:
    """The replenish optimizer sets S; `investment` caps the sum of unit cost x S.

    `holding_factor` scales the holding cost it plans with (below 1: stock looks
    cheaper, so it holds more), the knob that matches another policy's inventory when
    even an uncapped plan holds less.

    Targets are solved as one reorder problem from an empty position (whole units; packs
    and MOQ apply when the engine orders), so the budget is the stock investment the
    policy may hold. Churn-aware reserves stock for the top segment (`Reserve`).
    """

    name: str = "churn-aware"
    churn_aware: bool = True
    investment: float | None = None
    reserve: bool = True
    holding_factor: float = 1.0

    def __post_init__(self) -> None:
        if self.investment is not None and not self.investment >= 0:
            raise ValueError("investment must be a non-negative amount")
        if not self.holding_factor > 0:
            raise ValueError("holding_factor must be positive")

    def problem(self, view: PlanningView, position: np.ndarray | None = None) -> ReorderProblem:
        """The reorder problem this policy solves: demand over each SKU's protection
        interval from `position` (default: empty shelves), in whole units."""
        return self.lot_problem(view, position, lots=False)[0]

    def lot_problem(
        self, view: PlanningView, position: np.ndarray | None = None, lots: bool = True
    ) -> tuple[ReorderProblem, np.ndarray]:
        """`problem`, with `lots` in lots of units where a SKU's demand spans more than
        POLICY_POINTS units (demand, stock, costs and values per lot); and the units per
        lot of each SKU (1: whole units)."""
        n, k = view.daily_mean.shape
        mean = view.daily_mean * view.protection_days[:, None]
        var = np.maximum(view.daily_var * view.protection_days[:, None], mean)
        stockout = view.stockout_cost
        if not self.churn_aware:  # the catalogue's mix in units, whatever the lots
            stockout = blind_costs(stockout, catalogue_mix(mean))
        if lots:
            flat, lot = grouped_pmfs(mean, var, POLICY_POINTS)
        else:
            flat, lot = pmfs(mean, var), np.ones(n, dtype=np.int64)
        size = lot.astype(float)
        by_sku = tuple(tuple(flat[i * k : (i + 1) * k]) for i in range(n))
        holding = holding_cost(
            view.unit_cost, self.holding_factor * view.holding_rate, view.protection_days
        )
        problem = ReorderProblem(
            sku_ids=np.arange(n),
            segments=view.segments,
            pmfs=by_sku,
            stockout_cost=stockout * size[:, None],
            position=np.zeros(n) if position is None else np.asarray(position) / size,
            unit_cost=view.unit_cost * size,
            holding_cost=holding * size,
            pack_size=np.ones(n, dtype=np.int64),
            moq=np.zeros(n, dtype=np.int64),
            unit_volume=np.zeros(n),
            max_units=np.full(n, np.inf),
            supplier=np.zeros(n, dtype=np.int64),
            supplier_ids=("all",),
            supplier_min_value=np.zeros(1),
            supplier_order_cost=np.zeros(1),
            budget=self.investment,
            interval_mean=mean / size[:, None],
            interval_var=var / size[:, None] ** 2,
            protection_days=view.protection_days,
        )
        return problem, lot

    def levels(self, view: PlanningView) -> Levels:
        problem, lot = self.lot_problem(view)
        if self.investment is None:  # nothing binds: each SKU's own best, in one pass
            quantity, lot_values = unit_optimum(problem)
        else:
            solution = solve(problem)
            quantity = solution.quantity.astype(np.int64)
            lot_values = [
                c.unit_values(0, max(int(m), 1))
                for c, m in zip(solution.curves, quantity, strict=True)
            ]
        target = (quantity * lot).astype(float)
        # Every unit's value up to the target (at least one lot), for reviews short of
        # money: a lot's value shared by its units.
        counts = np.maximum(quantity, 1)
        start = np.r_[0, np.cumsum(counts * lot)]
        values = np.concatenate(
            [np.repeat(v / size, size) for v, size in zip(lot_values, lot, strict=True)]
        )
        reserve = None
        if self.churn_aware and self.reserve and len(view.segments) > 1:
            reserve = _littlewood(view)
        return Levels(target - 1.0, target, reserve, unit_value=(start, values))

    def relevel(self, previous: Levels, view: PlanningView, changed: np.ndarray) -> Levels:
        """`levels(view)` planning only the SKUs `changed`: churn-aware and without an
        investment cap, one SKU's level does not depend on another's, so the others
        keep theirs. (A segment-blind policy prices every SKU's stockout with the whole
        catalogue's segment mix, which any SKU's new estimate moves: it replans all.)"""
        rows = np.flatnonzero(changed)
        if (
            self.investment is not None or not self.churn_aware
            or previous.unit_value is None or rows.size == changed.size
        ):  # fmt: skip
            return self.levels(view)
        if rows.size == 0:
            return previous  # no SKU has a new view
        fresh = self.levels(view.rows(rows))
        assert fresh.unit_value is not None
        target = previous.order_up_to.copy()
        target[rows] = fresh.order_up_to
        start, values = _splice(previous.unit_value, fresh.unit_value, rows, changed.size)
        reserve = None
        if self.churn_aware and self.reserve and len(view.segments) > 1:
            reserve = _littlewood(view)
        return Levels(target - 1.0, target, reserve, unit_value=(start, values))


def _splice(
    old: tuple[np.ndarray, np.ndarray], new: tuple[np.ndarray, np.ndarray], rows: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Ragged unit values per SKU (`start`, `values`): `new`'s for the SKUs `rows` (in
    that order), `old`'s for the rest."""
    old_start, old_values = old
    new_start, new_values = new
    counts = np.diff(old_start)
    counts[rows] = np.diff(new_start)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    owner = np.repeat(np.arange(n), counts)
    local = np.arange(start[-1]) - start[owner]
    slot = np.full(n, -1)
    slot[rows] = np.arange(rows.size)
    fresh = slot[owner] >= 0
    values = np.empty(start[-1])
    values[~fresh] = old_values[old_start[owner[~fresh]] + local[~fresh]]
    values[fresh] = new_values[new_start[slot[owner[fresh]]] + local[fresh]]
    return start, values


#: A simulated optimizer replans many times a run: a SKU whose demand over the
#: protection interval spans more units than this (a wholesaler's SKU of thousands;
#: its segments' spans added up) is planned in lots, so its value curve has at most
#: about this many points: few enough for the optimizer's batched FFT
#: (`optimize.value_curve.BATCH_SUPPORT`, a cumulative support of at most that many
#: points). Its levels then move in steps of one lot.
POLICY_POINTS = BATCH_SUPPORT // 2 - 1


def _littlewood(view: PlanningView) -> Reserve:
    """The day-by-day reserve for the protected segment (`optimize.reservation`)."""
    rule = reserve_rule(view.stockout_cost)
    return Reserve(
        rule.segment, view.daily_mean[:, rule.segment], view.daily_var[:, rule.segment],
        rule.ratio,
    )  # fmt: skip
