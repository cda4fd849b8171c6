"""Expected value of stock under priority rationing, and its marginal value per pack.

With S units available over the protection interval and segments served in order of
their stockout cost c_1 >= c_2 >= ... >= c_n (c_{n+1} = 0), segment j gets
min(D_j, (S - D_1 - ... - D_{j-1})^+). Writing C_j = D_1 + ... + D_j (independent
segments, so C_j's pmf is a convolution):

    E[served_j](S) = E[min(C_j, S)] - E[min(C_{j-1}, S)],   E[min(C, S)] = sum_{k<S} P(C > k)

so one more unit at stock S is worth

    dV(S) = sum_j (c_j - c_{j+1}) P(C_j > S) - h P(C_n <= S)

(value of the units it serves minus holding cost h if it is left over). Each term falls
with S, so the value curve is concave: with one segment, dV(S) >= 0 exactly while
P(D <= S) <= c / (c + h), the newsvendor critical fractile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimize.problem import ReorderProblem


@dataclass(frozen=True)
class SkuCurve:
    """Priority order and tail probabilities of one SKU's cumulative demands."""

    order: np.ndarray  # segment indices, highest stockout cost first
    costs: np.ndarray  # stockout costs in that order
    sf: np.ndarray  # (n_segments, L): sf[j, k] = P(C_j > k), C_j in priority order
    holding: float

    def tail(self, stock: np.ndarray | float) -> np.ndarray:
        """P(C_j > S) for each j at stock S (columns), any integer S (negative: 1)."""
        s = np.atleast_1d(np.asarray(stock, dtype=np.int64))
        inside = np.clip(s, 0, self.sf.shape[1] - 1)
        out = np.where(s < 0, 1.0, np.where(s >= self.sf.shape[1], 0.0, self.sf[:, inside]))
        return np.asarray(out)

    def unit_values(self, start: int, count: int) -> np.ndarray:
        """dV of the units that take stock from `start` to `start + count`."""
        levels = np.arange(start, start + count)
        tails = self.tail(levels)
        weights = self.costs - np.append(self.costs[1:], 0.0)
        return np.asarray(weights @ tails - self.holding * (1.0 - tails[-1]))

    def expected_min(self, stock: float) -> np.ndarray:
        """E[min(C_j, S)] for each j (units)."""
        s = int(max(stock, 0))
        upto = min(s, self.sf.shape[1])
        return np.asarray(self.sf[:, :upto].sum(axis=1))

    def served(self, stock: float) -> np.ndarray:
        """Expected units served per segment (in the problem's segment order) at stock S."""
        prefix = self.expected_min(stock)
        by_priority = np.diff(np.concatenate([[0.0], prefix]))
        out = np.empty_like(by_priority)
        out[self.order] = by_priority
        return out

    def fully_served(self, stock: float) -> np.ndarray:
        """P(segment's whole demand is met) per segment (problem order) at stock S."""
        p = 1.0 - self.tail(int(np.floor(stock)))[:, 0]
        out = np.empty_like(p)
        out[self.order] = p
        return out


def sku_curve(problem: ReorderProblem, i: int) -> SkuCurve:
    """The curve of SKU i: segments sorted by stockout cost, cumulative pmfs convolved."""
    costs = problem.stockout_cost[i]
    order = np.argsort(-costs, kind="stable")
    cumulative = np.ones(1)
    rows = []
    for s in order:
        cumulative = np.convolve(cumulative, problem.pmfs[i][s])
        rows.append(cumulative)
    length = rows[-1].size
    sf = np.zeros((len(order), length))
    for j, pmf in enumerate(rows):
        tail = 1.0 - np.cumsum(pmf)
        sf[j, : pmf.size] = np.clip(tail, 0.0, 1.0)
    return SkuCurve(order, costs[order], sf, float(problem.holding_cost[i]))


@dataclass(frozen=True)
class PackItems:
    """Every orderable pack of every SKU, as flat arrays.

    Item k of SKU i is its (k+1)-th pack; `value` is the expected value it adds
    (currency), `cost` and `volume` what it takes. The first `moq_packs[i]` packs of a
    SKU can only be ordered together.
    """

    sku: np.ndarray
    k: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    volume: np.ndarray
    start: np.ndarray  # index of each SKU's first item (n_skus + 1 entries)
    moq_packs: np.ndarray
    unit_optimum: np.ndarray  # units ordered if units could be bought one by one, no limits


def pack_items(
    problem: ReorderProblem,
    curves: list[SkuCurve],
    rounding: str = "up",
    topup: np.ndarray | None = None,
) -> PackItems:
    """Packs worth considering per SKU, with their marginal values.

    Packs are considered until demand runs out (beyond the support every unit only adds
    holding cost) or `max_units`. `rounding` applies to the unit-level optimum q*:
    "up" allows packs up to ceil(q* / pack), the last one ordered when its units add
    value together; "cap" up to floor(q* / pack), never more units than q*. MOQ blocks
    are always allowed. SKUs flagged in `topup` (their supplier has a minimum order
    value) also get as many packs again beyond that, worth less than nothing, so a
    minimum can be reached with the least harmful extra units.
    """
    if rounding not in ("up", "cap"):
        raise ValueError(f"rounding must be 'up' or 'cap', got {rounding!r}")
    skus, ks, values, starts, moq_packs, optimum = [], [], [], [0], [], []
    for i, curve in enumerate(curves):
        pos = int(np.floor(problem.position[i]))
        pack = int(problem.pack_size[i])
        span = max(curve.sf.shape[1] - pos, 0)
        units = int(min(span + pack, problem.max_units[i]))
        unit_values = curve.unit_values(pos, units) if units > 0 else np.zeros(0)
        positive = unit_values > 0
        q_star = int(positive.sum())  # concave: the positive ones come first
        optimum.append(q_star)
        limit = -(-q_star // pack) if rounding == "up" else q_star // pack
        moq_k = -(-int(problem.moq[i]) // pack) if problem.moq[i] > 0 else 0
        n_packs = max(limit, moq_k if limit > 0 else 0)
        if topup is not None and topup[i] and rounding == "up":
            n_packs += max(n_packs, 2)
        if np.isfinite(problem.max_units[i]):
            n_packs = min(n_packs, int(problem.max_units[i] // pack))
        need = n_packs * pack
        if need > unit_values.size:
            extra = curve.unit_values(pos + unit_values.size, need - unit_values.size)
            unit_values = np.concatenate([unit_values, extra])
        per_pack = unit_values[:need].reshape(n_packs, pack).sum(axis=1) if n_packs else np.zeros(0)
        skus.append(np.full(n_packs, i))
        ks.append(np.arange(n_packs))
        values.append(per_pack)
        starts.append(starts[-1] + n_packs)
        moq_packs.append(min(moq_k, n_packs))
    sku = np.concatenate(skus) if skus else np.zeros(0, dtype=int)
    unit_cost = problem.unit_cost * problem.pack_size
    unit_vol = problem.unit_volume * problem.pack_size
    return PackItems(
        sku=sku.astype(np.int64),
        k=np.concatenate(ks).astype(np.int64) if ks else np.zeros(0, dtype=np.int64),
        value=np.concatenate(values) if values else np.zeros(0),
        cost=unit_cost[sku],
        volume=unit_vol[sku],
        start=np.asarray(starts, dtype=np.int64),
        moq_packs=np.asarray(moq_packs, dtype=np.int64),
        unit_optimum=np.asarray(optimum, dtype=np.int64),
    )
