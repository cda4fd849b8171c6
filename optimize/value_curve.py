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

A unit left over is not gone at the end of the interval: it waits on the shelf until
later demand takes it. When the problem knows its protection intervals, each unit also
pays for that wait: the (S+1)-th unit is left over when D <= S and is then taken after
(S + 1 - D) / d more days (d: mean daily demand), so at h_d per unit-day

    dV(S) -= h_d E[(S + 1 - D)^+] / d,    E[(S + 1 - D)^+] = sum_{k<=S} P(D <= k)

which grows with S (the curve stays concave): a line that covers many intervals pays for
every day of it, not only for one interval.

Curves are computed in O(support): segment pmfs are convolved exactly while the support
is short, by FFT when it is long, and a very long support (over a million units) is one
negative binomial with the summed mean and variance (moment matched).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal, stats

from forecast.distribution import negbin_params
from optimize.problem import ReorderProblem

#: Convolve by FFT when the cumulative support is longer than this (units).
FFT_SUPPORT = 2_048
#: Beyond this support (units), cumulative demand is one moment-matched negative binomial.
MOMENT_SUPPORT = 1_000_000
#: A SKU offers at most this many pack items beyond its MOQ block; more packs are taken
#: in lots of several packs (a quantity resolution under 0.1% of the largest order).
MAX_ITEMS = 1_000


@dataclass(frozen=True)
class SkuCurve:
    """Priority order and tail probabilities of one SKU's cumulative demands."""

    order: np.ndarray  # segment indices, highest stockout cost first
    costs: np.ndarray  # stockout costs in that order
    sf: np.ndarray  # (n_segments, L): sf[j, k] = P(C_j > k), C_j in priority order
    holding: float  # currency per unit left over at the end of the interval
    carry_per_unit: float = 0.0  # h_d / d: currency per unit of E[(S + 1 - D)^+]
    #: c_j - c_{j+1}: what serving one more unit of C_j is worth (currency); derived.
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)
    #: sum_{k' <= k} P(D <= k') over the support; derived (given by batch builders).
    cdf_sum: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.weights.size != self.costs.size:
            weights = np.append(self.costs[:-1] - self.costs[1:], self.costs[-1])
            object.__setattr__(self, "weights", weights)
        if self.cdf_sum.size != self.sf.shape[1]:
            object.__setattr__(self, "cdf_sum", np.cumsum(1.0 - self.sf[-1]))

    def carry(self, levels: np.ndarray) -> np.ndarray:
        """E[(S + 1 - D)^+] at each stock level S: sum over k <= S of P(D <= k)."""
        cdf_sum = self.cdf_sum
        s = np.asarray(levels, dtype=np.int64)
        inside = np.clip(s, 0, cdf_sum.size - 1)
        beyond = np.maximum(s - (cdf_sum.size - 1), 0)  # P(D <= k) = 1 past the support
        return np.asarray(np.where(s < 0, 0.0, cdf_sum[inside] + beyond))

    def tail(self, stock: np.ndarray | float) -> np.ndarray:
        """P(C_j > S) for each j at stock S (columns), any integer S (negative: 1)."""
        s = np.atleast_1d(np.asarray(stock, dtype=np.int64))
        inside = np.clip(s, 0, self.sf.shape[1] - 1)
        out = np.where(s < 0, 1.0, np.where(s >= self.sf.shape[1], 0.0, self.sf[:, inside]))
        return np.asarray(out)

    def _tails(self, start: int, count: int) -> np.ndarray:
        """tail() at start, start + 1, ..., start + count - 1, by slicing (the hot path
        of every solve: no index arrays)."""
        length = self.sf.shape[1]
        out = np.zeros((self.sf.shape[0], count))
        if start < 0:
            out[:, : min(-start, count)] = 1.0
        lo, hi = max(start, 0), min(start + count, length)
        if hi > lo:
            out[:, lo - start : hi - start] = self.sf[:, lo:hi]
        return out

    def unit_values(self, start: int, count: int) -> np.ndarray:
        """dV of the units that take stock from `start` to `start + count`."""
        tails = self._tails(start, count)
        value = self.weights @ tails - self.holding * (1.0 - tails[-1])
        if self.carry_per_unit > 0:
            cdf_sum, top = self.cdf_sum, self.cdf_sum.size - 1
            levels = np.arange(start, start + count)
            carried = np.zeros(count)
            lo, hi = max(start, 0), min(start + count, top + 1)
            if hi > lo:
                carried[lo - start : hi - start] = cdf_sum[lo:hi]
            past = levels > top  # P(D <= k) = 1 past the support
            carried[past] = cdf_sum[top] + (levels[past] - top)
            value = value - self.carry_per_unit * carried
        return np.asarray(value)

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
    """The curve of SKU i: segments sorted by stockout cost, cumulative demands."""
    costs = problem.stockout_cost[i]
    order = np.argsort(-costs, kind="stable")
    support = sum(problem.pmfs[i][s].size for s in order)
    if support > MOMENT_SUPPORT:
        rows = _moment_matched(
            problem.demand_means[i][order], problem.demand_vars[i][order], support
        )
    else:
        rows, cumulative = [], np.ones(1)
        for s in order:
            pmf = problem.pmfs[i][s]
            if cumulative.size + pmf.size > FFT_SUPPORT and min(cumulative.size, pmf.size) > 1:
                cumulative = np.clip(signal.fftconvolve(cumulative, pmf), 0.0, None)
                cumulative /= cumulative.sum()
            else:
                cumulative = np.convolve(cumulative, pmf)
            rows.append(cumulative)
    length = rows[-1].size
    sf = np.zeros((len(order), length))
    for j, pmf in enumerate(rows):
        tail = 1.0 - np.cumsum(pmf)
        sf[j, : pmf.size] = np.clip(tail, 0.0, 1.0)
    holding = float(problem.holding_cost[i])
    carry = 0.0
    if problem.protection_days is not None:
        days = max(float(problem.protection_days[i]), 1e-9)
        daily = max(float(problem.demand_means[i].sum()) / days, MIN_DAILY_DEMAND)
        carry = holding / days / daily  # h_d / d
    return SkuCurve(order, costs[order], sf, holding, carry)


#: SKUs whose cumulative support is at most this many units get their curves in batches.
BATCH_SUPPORT = 1_024


@dataclass(frozen=True)
class CurveBatch:
    """The value curves of SKUs whose cumulative supports pad to one length, as arrays:
    `rows` (SKU indices), `tails` (rows, segments, length): P(C_j > k) in priority order,
    `weights` (rows, segments): c_j - c_{j+1}, `cdf_sums` (rows, length), `support`
    (rows): each curve's own length within the padding."""

    rows: np.ndarray
    orders: np.ndarray
    costs: np.ndarray
    tails: np.ndarray
    weights: np.ndarray
    cdf_sums: np.ndarray
    support: np.ndarray


def curve_batches(problem: ReorderProblem) -> tuple[list[CurveBatch], np.ndarray]:
    """The batched curves of the SKUs with short supports (at most BATCH_SUPPORT, most of
    a catalogue): their segment pmfs, padded to a power of two, convolved in priority
    order by one batched FFT (the product of their transforms); and the SKUs left for
    `sku_curve` one by one."""
    n, k = problem.n_skus, len(problem.segments)
    sizes = np.array([[p.size for p in problem.pmfs[i]] for i in range(n)], dtype=np.int64)
    support = sizes.sum(axis=1) - (k - 1) if n else np.zeros(0, dtype=np.int64)
    batched = support <= BATCH_SUPPORT
    length = 2 ** np.ceil(np.log2(np.maximum(support, 1))).astype(np.int64)
    orders = np.argsort(-problem.stockout_cost, axis=1, kind="stable")
    batches = []
    for size in np.unique(length[batched]):
        rows = np.flatnonzero(batched & (length == size))
        # Every (row, priority) pmf laid into its padded slot in one scatter.
        parts = [problem.pmfs[i][s] for i in rows for s in orders[i]]
        widths = sizes[rows[:, None], orders[rows]].ravel()
        slot = np.repeat(np.arange(rows.size * k) * size, widths)
        within = np.arange(slot.size) - np.repeat(np.cumsum(widths) - widths, widths)
        padded = np.zeros(rows.size * k * size)
        padded[slot + within] = np.concatenate(parts) if parts else 0.0
        padded = padded.reshape(rows.size, k, size)
        # C_j = D_1 + ... + D_j: its pmf is the product of the first j transforms.
        cumulative = np.fft.irfft(np.cumprod(np.fft.rfft(padded, axis=2), axis=1), size, axis=2)
        cumulative = np.clip(cumulative, 0.0, None)
        cumulative /= cumulative.sum(axis=2, keepdims=True)
        tails = np.clip(1.0 - np.cumsum(cumulative, axis=2), 0.0, 1.0)
        cdf_sums = np.cumsum(1.0 - tails[:, -1, :], axis=1)
        costs = np.take_along_axis(problem.stockout_cost[rows], orders[rows], axis=1)
        weights = np.concatenate([costs[:, :-1] - costs[:, 1:], costs[:, -1:]], axis=1)
        batches.append(
            CurveBatch(rows, orders[rows], costs, tails, weights, cdf_sums, support[rows])
        )
    return batches, np.flatnonzero(~batched)


def sku_curves(problem: ReorderProblem) -> list[SkuCurve]:
    """Every SKU's curve, as `sku_curve` gives it; the short ones from `curve_batches`,
    so a catalogue of thousands costs a few array operations instead of a loop."""
    curves: list[SkuCurve | None] = [None] * problem.n_skus
    carry = _carry_per_unit(problem)
    batches, alone = curve_batches(problem)
    for b in batches:
        for r, i in enumerate(b.rows):
            top = b.support[r]
            curves[i] = SkuCurve(
                b.orders[r], b.costs[r], b.tails[r, :, :top], float(problem.holding_cost[i]),
                float(carry[i]), b.weights[r], b.cdf_sums[r, :top],
            )  # fmt: skip
    for i in alone:
        curves[i] = sku_curve(problem, int(i))
    return [c for c in curves if c is not None]


def unit_optimum(problem: ReorderProblem) -> tuple[np.ndarray, list[np.ndarray]]:
    """For a problem of single units from empty shelves with nothing to bind (no budget,
    MOQ, pack, cap or supplier terms: a simulated optimizer's), each SKU's best stock
    q* (the units of positive marginal value: the curve is concave) and the values of
    its first max(q*, 1) units, `SkuCurve.unit_values` for a whole batch at once. The
    q* `solve` finds for such a problem (which takes more than MAX_ITEMS units in lots,
    and so may stop up to one lot short of it)."""
    if problem.budget is not None or (np.asarray(problem.position) != 0).any():
        raise ValueError("unit_optimum solves problems from empty shelves without a budget")
    n = problem.n_skus
    carry = _carry_per_unit(problem)
    holding = np.asarray(problem.holding_cost, dtype=float)
    quantity = np.zeros(n, dtype=np.int64)
    values: list[np.ndarray] = [np.zeros(0)] * n
    batches, alone = curve_batches(problem)
    for b in batches:
        length = b.tails.shape[2]
        # dV(S) = sum_j w_j P(C_j > S) - h P(C_n <= S) - carry E[(S + 1 - D)^+], S < support.
        value = np.einsum("rk,rkl->rl", b.weights, b.tails)
        value -= holding[b.rows, None] * (1.0 - b.tails[:, -1, :])
        value -= carry[b.rows, None] * b.cdf_sums
        inside = np.arange(length)[None, :] < b.support[:, None]
        positive = (value > 0) & inside
        best = positive.sum(axis=1)
        quantity[b.rows] = best
        for r, i in enumerate(b.rows):
            values[i] = value[r, : max(best[r], 1)]
    for i in alone:
        curve = sku_curve(problem, int(i))
        span = curve.unit_values(0, curve.sf.shape[1] + 1)
        quantity[i] = int((span > 0).sum())
        values[i] = span[: max(quantity[i], 1)]
    return quantity, values


def _carry_per_unit(problem: ReorderProblem) -> np.ndarray:
    """h_d / d per SKU (see the module docstring); 0 when protection days are unknown."""
    if problem.protection_days is None:
        return np.zeros(problem.n_skus)
    days = np.maximum(np.asarray(problem.protection_days, dtype=float), 1e-9)
    daily = np.maximum(problem.demand_means.sum(axis=1) / days, MIN_DAILY_DEMAND)
    return np.asarray(np.asarray(problem.holding_cost, dtype=float) / days / daily)


#: Mean daily demand below this (units) counts as this much when pricing how long a
#: left-over unit waits (a SKU nobody buys would otherwise hold stock forever at no cost).
MIN_DAILY_DEMAND = 1.0 / 365.0


def _moment_matched(means: np.ndarray, variances: np.ndarray, upto: int) -> list[np.ndarray]:
    """Pmfs of the cumulative demands C_1, C_1 + D_2, ... as negative binomials with the
    summed means and variances, on one support of at most `upto` units, the tail beyond
    as one atom (O(support), no convolution)."""
    mean, var = np.cumsum(means), np.cumsum(variances)
    n, p = negbin_params(mean, var)
    top = int(min(stats.nbinom.ppf(1 - 1e-9, n[-1], p[-1]) + 1, upto))
    ks = np.arange(top + 1)
    rows = []
    for j in range(mean.size):
        if mean[j] > 0:
            pmf = np.append(stats.nbinom.pmf(ks, n[j], p[j]), stats.nbinom.sf(top, n[j], p[j]))
        else:
            pmf = np.append((ks == 0).astype(float), 0.0)
        rows.append(pmf / pmf.sum())
    return rows


@dataclass(frozen=True)
class PackItems:
    """Every orderable item of every SKU, as flat arrays.

    Item k of SKU i holds `packs[k]` packs: its first `moq_packs[i]` items are single
    packs that can only be ordered together (the MOQ), the rest lots of packs (one pack
    each unless the SKU has more than MAX_ITEMS packs to consider). `value` is the
    expected value an item adds on top of the items before it (currency), `cost` and
    `volume` what it takes.
    """

    sku: np.ndarray
    k: np.ndarray
    packs: np.ndarray
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
    """Items worth considering per SKU, with their marginal values.

    Packs are considered until demand runs out (beyond the support every unit only adds
    holding cost) or `max_units` (the cover cap): the cap never cuts into the MOQ, so a
    SKU is ordered not at all or at least at its MOQ. `rounding` applies to the
    unit-level optimum q*: "up" allows packs up to ceil(q* / pack), the last one ordered
    when its units add value together; "cap" up to floor(q* / pack), never more units
    than q*. MOQ blocks are always allowed. SKUs with a `topup` (their supplier's
    minimum order value, currency) also get packs beyond that, worth less than nothing,
    so a minimum can be reached with the least harmful extra units: as many again, and
    at least enough to reach the minimum on their own.
    """
    if rounding not in ("up", "cap"):
        raise ValueError(f"rounding must be 'up' or 'cap', got {rounding!r}")
    skus, ks, packs, values, starts, moq_packs, optimum = [], [], [], [], [0], [], []
    for i, curve in enumerate(curves):
        pos = int(np.floor(problem.position[i]))
        pack = int(problem.pack_size[i])
        moq_k = -(-int(problem.moq[i]) // pack) if problem.moq[i] > 0 else 0
        cap_packs = int(problem.max_units[i] // pack) if np.isfinite(problem.max_units[i]) else None
        span = max(curve.sf.shape[1] - pos, 0)
        units = span + pack if cap_packs is None else min(span + pack, cap_packs * pack)
        unit_values = curve.unit_values(pos, units) if units > 0 else np.zeros(0)
        q_star = int((unit_values > 0).sum())  # concave: the positive ones come first
        optimum.append(q_star)
        limit = -(-q_star // pack) if rounding == "up" else q_star // pack
        n_packs = limit
        if topup is not None and topup[i] > 0 and rounding == "up":
            pack_cost = float(problem.unit_cost[i]) * pack
            alone = -(-float(topup[i]) // pack_cost) if pack_cost > 0 else 0
            n_packs = max(n_packs + max(n_packs, 2), int(alone))
        if cap_packs is not None:
            n_packs = min(n_packs, cap_packs)
        if 0 < n_packs < moq_k or (limit > 0 and n_packs < moq_k):
            n_packs = moq_k  # the MOQ or nothing, never in between
        need = n_packs * pack
        if need > unit_values.size:
            extra = curve.unit_values(pos + unit_values.size, need - unit_values.size)
            unit_values = np.concatenate([unit_values, extra])
        per_pack = unit_values[:need].reshape(n_packs, pack).sum(axis=1) if n_packs else np.zeros(0)
        head = min(moq_k, n_packs)
        rest = n_packs - head
        lot = max(1, -(-rest // MAX_ITEMS))
        lots = rest // lot  # whole lots only: a partial last lot is left out
        lot_values = per_pack[head : head + lots * lot].reshape(lots, lot).sum(axis=1)
        n_items = head + lots
        skus.append(np.full(n_items, i))
        ks.append(np.arange(n_items))
        packs.append(np.concatenate([np.ones(head, dtype=np.int64), np.full(lots, lot)]))
        values.append(np.concatenate([per_pack[:head], lot_values]))
        starts.append(starts[-1] + n_items)
        moq_packs.append(head)
    sku = np.concatenate(skus).astype(np.int64) if skus else np.zeros(0, dtype=np.int64)
    item_packs = np.concatenate(packs).astype(np.int64) if packs else np.zeros(0, dtype=np.int64)
    return PackItems(
        sku=sku,
        k=np.concatenate(ks).astype(np.int64) if ks else np.zeros(0, dtype=np.int64),
        packs=item_packs,
        value=np.concatenate(values) if values else np.zeros(0),
        cost=(problem.unit_cost * problem.pack_size)[sku] * item_packs,
        volume=(problem.unit_volume * problem.pack_size)[sku] * item_packs,
        start=np.asarray(starts, dtype=np.int64),
        moq_packs=np.asarray(moq_packs, dtype=np.int64),
        unit_optimum=np.asarray(optimum, dtype=np.int64),
    )
