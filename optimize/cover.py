"""Reaching a supplier's minimum order value while giving up the least value.

At prices (see `optimize.terms`) each SKU sits at its best prefix of blocks. A supplier
whose SKUs' best prefixes spend less than its minimum order value must add blocks past
them, and each block added gives up net value (its loss, -net). Per supplier this is a
covering knapsack over chains: a SKU's blocks are taken in order (packs after the MOQ
block), and the blocks added must reach the missing spend (the deficit, currency).
Everything here works on every supplier at once, vectorized over blocks:

- `covering_loss`: the fractional bound (its LP relaxation with the order of blocks
  relaxed): a lower bound on the loss, which keeps the Lagrangian relaxation an upper
  bound;
- `least_loss_cover`: a plan that reaches each deficit, the best per supplier of the
  fractional cover rounded up, a dynamic program over all its blocks at coarse steps
  and one at fine steps over a window around the fractional cover, then improved by
  exchanging packs between SKUs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from optimize.problem import ReorderProblem

if TYPE_CHECKING:
    from optimize.solve import Blocks

#: Steps of a supplier's missing spend in the program over all its blocks.
COVER_STEPS = 64
#: Steps of the missing spend in the program over the window around the fractional
#: cover, and the window: from `WINDOW[0]` blocks below the fractional cover's whole
#: pieces to `WINDOW[1]` blocks above them, per SKU.
FINE_STEPS = 2048
WINDOW = (1, 2)
#: Rounds of exchanges that take back the programs' overshoot (`_exchange`), and how
#: many SKUs of a supplier each dropped block may be exchanged for.
EXCHANGE_ROUNDS = 8
EXCHANGE_PARTNERS = 16


def grouped_cumsum(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sums of x restarting at each new value of `group` (sorted runs): per
    block sorted by SKU, the sum over its SKU's blocks up to and including it."""
    total = np.cumsum(x, dtype=float)
    if not x.size:
        return total
    start = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    size = np.diff(np.r_[start, x.size])
    out: np.ndarray = total - np.repeat(total[start] - x[start], size)
    return out


def sku_starts(blocks: Blocks, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per SKU its first block and its number of blocks (blocks are sorted by SKU)."""
    count = np.bincount(blocks.sku, minlength=n)
    return np.cumsum(count) - count, count


@dataclass(frozen=True)
class CoverOrder:
    """Blocks by supplier, then by loss per currency, with their data in that order.

    At prices (lambda_b, lambda_v) a block's loss per currency is lambda_b + (lambda_v
    volume - value) / cost: its order is the same at every budget price, so a search
    over that price sorts once and then reads the blocks in order (`covering_loss`).

    Only the blocks a fractional cover can use are kept: per supplier, those up to the
    first whose spend with all before it reaches the minimum order value (the cover
    adds at most the minimum less the best prefixes' spend, and those prefixes lie in
    the same order), and every block worth its volume price (one adding value at some
    budget price is taken whatever its place). At 100,000 SKUs that is a fifth."""

    volume_price: float
    supplier: np.ndarray
    sku: np.ndarray
    index: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    volume: np.ndarray

    @classmethod
    def of(cls, problem: ReorderProblem, blocks: Blocks, volume_price: float) -> CoverOrder:
        key = (volume_price * blocks.volume - blocks.value) / np.maximum(blocks.cost, 1e-12)
        supplier = problem.supplier[blocks.sku]
        order = np.lexsort((key, supplier))
        before = grouped_cumsum(blocks.cost[order], supplier[order]) - blocks.cost[order]
        order = order[(before < problem.supplier_min_value[supplier[order]]) | (key[order] <= 0)]
        return cls(
            volume_price, supplier[order], blocks.sku[order], blocks.index[order],
            blocks.value[order], blocks.cost[order], blocks.volume[order],
        )  # fmt: skip


def covering_loss(
    problem: ReorderProblem,
    order: CoverOrder,
    budget_price: float,
    best_t: np.ndarray,
    deficit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per supplier, the least net value given up to add `deficit` of spend beyond its
    SKUs' best prefixes at prices (`budget_price`, the order's volume price): blocks that
    add value anyway first, then by loss per currency, the last one in part (precedence
    relaxed: a lower bound on the true loss); inf where its blocks cannot reach the
    deficit, 0 where there is none. Also the spend that fractional cover adds."""
    n_sup = len(problem.supplier_ids)
    out = np.zeros(n_sup)
    keep = (order.index >= best_t[order.sku]) & (deficit[order.supplier] > 1e-9)
    s, cost = order.supplier[keep], order.cost[keep]
    if not s.size:
        return out, out.copy()
    loss = budget_price * cost + order.volume_price * order.volume[keep] - order.value[keep]
    free = loss <= 0  # past a negative MOQ block, a block may add value on its own
    out += np.bincount(s[free], weights=loss[free], minlength=n_sup)
    free_spend = np.bincount(s[free], weights=cost[free], minlength=n_sup)
    need = deficit - free_spend
    rest = ~free & (cost > 0)
    s, loss, cost = s[rest], loss[rest], cost[rest]  # by supplier, then loss per currency
    upto = grouped_cumsum(cost, s)
    before = upto - cost
    want = np.maximum(need[s], 0.0)
    used = np.clip(want - before, 0.0, cost)  # the part of each block needed
    out += np.bincount(s, weights=loss / cost * used, minlength=n_sup)
    reach = np.bincount(s, weights=cost, minlength=n_sup)
    out[(need > 1e-9) & (reach < need - 1e-9)] = np.inf
    return out, free_spend + np.clip(need, 0.0, reach)


def least_loss_cover(
    problem: ReorderProblem,
    blocks: Blocks,
    net: np.ndarray,
    best_t: np.ndarray,
    deficit: np.ndarray,
    steps: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per SKU, how many blocks past its best prefix to add so that each supplier with a
    `deficit` (currency) reaches it giving up the least net value. Per supplier, the
    best of three plans:

    - the fractional cover rounded up: whole pieces (a SKU's next blocks, its first
      ones merged where that lowers their loss per currency) in order of loss per
      currency until the deficit is reached; it reaches whenever all blocks do;
    - a dynamic program over all the supplier's blocks and its deficit in `steps` steps
      (default `COVER_STEPS`): each SKU's spend rounded down to a step, so it reaches,
      and gives up no more than the best plan with a step of room per SKU;
    - the same program over a window of `WINDOW` blocks around the fractional cover's
      whole pieces, at `FINE_STEPS` steps of what the window leaves missing, where the
      best plans lie;

    then exchanges (`_exchange`) take back what rounding to steps overshoots. On the
    binding-terms benchmark (2,000 SKUs, 121 suppliers short of their minimum at the
    bound's prices) the coarse program alone (then at 128 steps) gave up 2,577 more than
    the fractional bound in all; this cover 113, in 0.3 s. Returns (extra blocks per
    SKU, reached per supplier)."""
    n, n_sup = problem.n_skus, len(problem.supplier_ids)
    short = deficit > 1e-9
    if not short.any():
        return np.zeros(n, dtype=np.int64), np.ones(n_sup, dtype=bool)
    whole, rounded, reached = _fractional_cover(problem, blocks, net, best_t, deficit)
    coarse, coarse_ok = _program(problem, blocks, net, best_t, deficit, steps or COVER_STEPS)
    below, above = WINDOW
    skip = np.maximum(whole - below, 0)  # blocks surely taken: the window starts there
    base = best_t + skip
    missing = deficit - _spend_between(problem, blocks, best_t, base)
    fine, fine_ok = _program(
        problem, blocks, net, base, np.where(short, missing, 0.0), FINE_STEPS,
        limit=whole - skip + above + 1,
    )  # fmt: skip
    fine = fine + skip
    plans = [(rounded, reached), (coarse, coarse_ok & short), (fine, fine_ok & short)]
    losses = np.array(
        [np.where(ok, _loss(problem, blocks, net, best_t, e), np.inf) for e, ok in plans]
    )
    pick = np.argmin(losses, axis=0)[problem.supplier]  # per SKU, its supplier's best plan
    extra = np.choose(pick, [e for e, _ in plans])
    extra[~short[problem.supplier]] = 0
    extra = _exchange(problem, blocks, net, best_t, deficit, extra)
    return extra, ~short | reached


def _exchange(
    problem: ReorderProblem,
    blocks: Blocks,
    net: np.ndarray,
    best_t: np.ndarray,
    deficit: np.ndarray,
    extra: np.ndarray,
    rounds: int = EXCHANGE_ROUNDS,
) -> np.ndarray:
    """Covers improved by exchanges: per supplier and round, the move that gives up the
    least, if it gives up less than now and still reaches the deficit: one SKU's last
    added block dropped, alone or for the next block of one of the `EXCHANGE_PARTNERS`
    SKUs whose next block gives up least (a bound on the pairs tried: a supplier may
    have thousands of SKUs). The programs round spend to steps, so their plans overshoot
    a minimum by up to a step per SKU; this takes most of that back."""
    n_sup = len(problem.supplier_ids)
    first, count = sku_starts(blocks, problem.n_skus)
    skus = np.flatnonzero(deficit[problem.supplier] > 1e-9)
    if not skus.size:
        return extra
    sup = problem.supplier[skus]
    partners = EXCHANGE_PARTNERS
    extra = extra.copy()
    for _ in range(rounds):
        t = best_t[skus] + extra[skus]  # blocks taken per SKU
        drop_ok = extra[skus] > 0
        last = np.where(drop_ok, first[skus] + t - 1, 0)
        add_ok = t < count[skus]
        nxt = np.where(add_ok, first[skus] + t, 0)
        gives = np.where(add_ok, -net[nxt], np.inf)  # what adding the next block gives up
        # Per supplier the partners whose next block gives up least (-1: none).
        ranked = np.lexsort((gives, sup))
        place = np.arange(skus.size) - np.searchsorted(sup[ranked], sup[ranked])
        table = np.full((n_sup, partners + 1), -1)
        top = place < partners
        table[sup[ranked[top]], place[top]] = ranked[top]
        droppers = np.flatnonzero(drop_ok)
        i = np.repeat(droppers, partners + 1)  # i drops its last block ...
        j = table[sup[droppers]].ravel()  # ... for j's next block, or for none (-1)
        keep = (j != i) & ((j < 0) | add_ok[np.maximum(j, 0)])
        i, j = i[keep], j[keep]
        spend = _spend_between(problem, blocks, best_t, best_t + extra) - deficit
        d_cost = -blocks.cost[last[i]]
        d_loss = net[last[i]]
        gets = j >= 0
        d_cost[gets] += blocks.cost[nxt[j[gets]]]
        d_loss[gets] -= net[nxt[j[gets]]]
        ok = (spend[sup[i]] + d_cost >= -1e-9) & (d_loss < -1e-9)
        if not ok.any():
            break
        move = np.flatnonzero(ok)
        move = move[np.lexsort((d_loss[move], sup[i[move]]))]
        move = move[np.r_[True, np.diff(sup[i[move]]) != 0]]  # the best move per supplier
        extra[skus[i[move]]] -= 1
        adds = move[j[move] >= 0]
        extra[skus[j[adds]]] += 1
    return extra


def _fractional_cover(
    problem: ReorderProblem,
    blocks: Blocks,
    net: np.ndarray,
    best_t: np.ndarray,
    deficit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per SKU the blocks past its best prefix in the fractional cover's whole pieces,
    and in the cover rounded up (pieces until the deficit is reached); per supplier
    whether all its blocks reach the deficit.

    A SKU's pieces: its first blocks up to the prefix with the least loss per currency
    as one piece (an MOQ block that gives up much, followed by packs that give back,
    is taken with them), then each block alone. Taken in order of loss per currency,
    pieces keep each SKU's order wherever its later blocks' losses per currency rise
    (concave values); a piece out of order takes its SKU's earlier blocks with it."""
    n, n_sup = problem.n_skus, len(problem.supplier_ids)
    whole = np.zeros(n, dtype=np.int64)
    rounded = np.zeros(n, dtype=np.int64)
    sup_of = problem.supplier[blocks.sku]
    cand = np.flatnonzero((blocks.index >= best_t[blocks.sku]) & (deficit[sup_of] > 1e-9))
    if not cand.size:
        return whole, rounded, deficit <= 1e-9
    sku = blocks.sku[cand]
    spend = grouped_cumsum(blocks.cost[cand], sku)
    loss = grouped_cumsum(-net[cand], sku)
    ratio = loss / np.maximum(spend, 1e-12)
    first = np.r_[True, sku[1:] != sku[:-1]]
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    at = np.arange(cand.size)
    # Per SKU the prefix with the least loss per currency (the longest on ties).
    least = np.minimum.reduceat(ratio, starts)[group]
    head = np.maximum.reduceat(np.where(ratio <= least, at, -1), starts)[group]
    ends = np.flatnonzero(at >= head)  # where pieces end: the head, then each block
    is_head = ends == head[ends]
    cost = np.where(is_head, spend[ends], blocks.cost[cand[ends]])
    given = np.where(is_head, loss[ends], -net[cand[ends]])
    s = sup_of[cand[ends]]
    order = np.lexsort((given / np.maximum(cost, 1e-12), s))
    upto = grouped_cumsum(cost[order], s[order])
    need = deficit[s[order]]
    whole_pieces = upto <= need + 1e-9
    until_reached = upto - cost[order] < need - 1e-9
    for counts, taken in ((whole, whole_pieces), (rounded, until_reached)):
        last = cand[ends[order][taken]]
        sku_of = blocks.sku[last]
        np.maximum.at(counts, sku_of, blocks.index[last] - best_t[sku_of] + 1)
    reach = np.bincount(s, weights=cost, minlength=n_sup)
    return whole, rounded, (deficit <= 1e-9) | (reach >= deficit - 1e-9)


def _spend_between(
    problem: ReorderProblem, blocks: Blocks, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Per supplier the spend of its SKUs' blocks from count `lo` up to count `hi`."""
    inside = (blocks.index >= lo[blocks.sku]) & (blocks.index < hi[blocks.sku])
    return np.bincount(
        problem.supplier[blocks.sku[inside]],
        weights=blocks.cost[inside],
        minlength=len(problem.supplier_ids),
    )


def _loss(
    problem: ReorderProblem, blocks: Blocks, net: np.ndarray, best_t: np.ndarray, extra: np.ndarray
) -> np.ndarray:
    """Per supplier the net value its SKUs give up with `extra` blocks past `best_t`."""
    added = (blocks.index >= best_t[blocks.sku]) & (blocks.index < (best_t + extra)[blocks.sku])
    return -np.bincount(
        problem.supplier[blocks.sku[added]], weights=net[added], minlength=len(problem.supplier_ids)
    )


def _program(
    problem: ReorderProblem,
    blocks: Blocks,
    net: np.ndarray,
    base: np.ndarray,
    deficit: np.ndarray,
    steps: int,
    limit: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The dynamic program over each supplier's SKUs (each one's blocks past `base`, at
    most `limit` of them) and its `deficit` in `steps` steps, each SKU's spend rounded
    down to a step. Returns (blocks past `base` per SKU, per supplier whether it found a
    plan reaching the deficit)."""
    n, n_sup = problem.n_skus, len(problem.supplier_ids)
    extra = np.zeros(n, dtype=np.int64)
    found = np.zeros(n_sup, dtype=bool)
    sup_of = problem.supplier[blocks.sku]
    inside = blocks.index >= base[blocks.sku]
    if limit is not None:
        inside &= blocks.index < (base + limit)[blocks.sku]
    cand = np.flatnonzero(inside & (deficit[sup_of] > 1e-9))
    if not cand.size:
        return extra, found
    sups = np.unique(sup_of[cand])
    row = np.full(n_sup, -1)
    row[sups] = np.arange(sups.size)
    step = deficit[sups] / steps
    sku = blocks.sku[cand]
    rank = blocks.index[cand] - base[sku]  # j - 1: blocks added so far
    r = row[sup_of[cand]]
    spend = grouped_cumsum(blocks.cost[cand], sku)
    units = np.minimum(np.floor(spend / step[r] + 1e-9), steps).astype(np.int64)
    loss = grouped_cumsum(-net[cand], sku)
    # Of a SKU's block counts that reach the same step (a run: spend only grows), only
    # the one giving up least matters (at most steps + 1 options per SKU).
    new_run = np.r_[True, (np.diff(sku) != 0) | (np.diff(units) != 0)]
    run = np.cumsum(new_run) - 1
    least = np.minimum.reduceat(loss, np.flatnonzero(new_run))[run]
    order = np.flatnonzero(loss <= least)
    order = order[np.r_[True, np.diff(run[order]) != 0]]  # the first at the least
    cand, units, loss, rank, r, sku = (
        x[order] for x in (cand, units, loss, rank, r, sku)
    )  # options: by SKU, then step
    first = np.r_[True, sku[1:] != sku[:-1]]
    starts = np.flatnonzero(first)
    ordinal = np.arange(sku.size) - np.repeat(starts, np.diff(np.r_[starts, sku.size]))
    slot = _slots(r[starts])[np.cumsum(first) - 1]
    state = np.arange(steps + 1)
    best = np.full((sups.size, steps + 1), np.inf)
    best[:, 0] = 0.0
    choices = []
    for k in range(int(slot.max()) + 1):
        members = np.flatnonzero(slot == k)
        members = members[np.argsort(ordinal[members], kind="stable")]
        rows = np.unique(r[members])
        after = best[rows].copy()  # adding nothing
        choice = np.full(after.shape, -1, dtype=np.int64)
        where = np.searchsorted(rows, r[members])
        cuts = np.searchsorted(ordinal[members], np.arange(int(ordinal[members].max()) + 2))
        for j in range(cuts.size - 1):
            part = members[cuts[j] : cuts[j + 1]]
            p = where[cuts[j] : cuts[j + 1]]
            source = np.maximum(state[None, :] - units[part][:, None], 0)
            value = np.take_along_axis(best[rows[p]], source, axis=1) + loss[part][:, None]
            better = value < after[p] - 1e-12
            after[p] = np.where(better, value, after[p])
            choice[p] = np.where(better, j, choice[p])
        best[rows] = after
        choices.append((rows, choice, members))
    ok = np.isfinite(best[:, steps])
    found[sups[ok]] = True
    level = np.full(sups.size, steps)
    width = int(ordinal.max()) + 2
    for rows, choice, members in reversed(choices):
        j = choice[np.arange(rows.size), level[rows]]
        chosen = (j >= 0) & ok[rows]
        # The option of ordinal j of this slot's SKU, in each row that chose one.
        key = r[members] * width + ordinal[members]
        order = np.argsort(key)
        at = members[order[np.searchsorted(key[order], rows[chosen] * width + j[chosen])]]
        extra[sku[at]] = rank[at] + 1
        level[rows[chosen]] = np.maximum(level[rows[chosen]] - units[at], 0)
    return extra, found


def _slots(owner: np.ndarray) -> np.ndarray:
    """For items listed with their owner (any order): each item's position among its
    owner's items (0, 1, ...), in listed order."""
    order = np.argsort(owner, kind="stable")
    count = np.bincount(owner)
    first = np.cumsum(count) - count
    out = np.empty(owner.size, dtype=np.int64)
    out[order] = np.arange(owner.size) - np.repeat(first, count)
    return out
