"""Supplier terms: the least-loss way to reach a supplier's minimum order value."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.solve import Blocks
from optimize.terms import least_loss_cover

STEPS = 32


def _blocks(chains: list[list[tuple[float, float]]]) -> Blocks:
    """One SKU per chain of (cost, net value) blocks, in the order they must be taken."""
    sku = np.array([i for i, chain in enumerate(chains) for _ in chain], dtype=np.int64)
    index = np.array([j for chain in chains for j in range(len(chain))], dtype=np.int64)
    cost = np.array([c for chain in chains for c, _ in chain])
    net = np.array([v for chain in chains for _, v in chain])
    ones = np.ones(sku.size)
    return Blocks(sku, index, ones.astype(np.int64), net, cost, ones)


# Past a SKU's best prefix every longer prefix gives up value (a block may still add
# some back, as packs after an MOQ block do).
chain = st.lists(
    st.tuples(st.integers(1, 40).map(float), st.integers(-30, 5).map(float)),
    min_size=1,
    max_size=4,
).filter(lambda c: bool((np.cumsum([v for _, v in c]) <= 0).all()))


@settings(max_examples=60, deadline=None)
@given(
    chains=st.lists(chain, min_size=2, max_size=5),
    split=st.integers(1, 4),
    deficits=st.tuples(st.integers(1, 120), st.integers(1, 120)),
)
def test_the_cover_reaches_the_minimum_giving_up_no_more_than_brute_force(
    chains: list[list[tuple[float, float]]], split: int, deficits: tuple[int, int]
) -> None:
    """Two suppliers share the SKUs; each must add spend past nothing taken. Brute force
    over every number of blocks per SKU: when some plan reaches the deficit the cover
    does too, and gives up no more than the best plan with a step of room per SKU (the
    cover rounds each SKU's spend down to a step of deficit / STEPS)."""
    split = min(split, len(chains) - 1)
    supplier = np.array([0] * split + [1] * (len(chains) - split))
    problem: Any = SimpleNamespace(n_skus=len(chains), supplier_ids=["S0", "S1"], supplier=supplier)
    blocks = _blocks(chains)
    net = blocks.value
    deficit = np.array(deficits, dtype=float)
    extra, reached = least_loss_cover(
        problem, blocks, net, np.zeros(len(chains), dtype=np.int64), deficit, steps=STEPS
    )
    for s in (0, 1):
        mine = np.flatnonzero(supplier == s)
        plans = []
        for counts in itertools.product(*(range(len(chains[i]) + 1) for i in mine)):
            spend = sum(sum(c for c, _ in chains[i][:k]) for i, k in zip(mine, counts, strict=True))
            loss = -sum(sum(v for _, v in chains[i][:k]) for i, k in zip(mine, counts, strict=True))
            plans.append((spend, loss))
        feasible = [loss for spend, loss in plans if spend >= deficit[s]]
        assert bool(reached[s]) == bool(feasible)
        if not feasible:
            continue
        spend = sum(sum(c for c, _ in chains[i][: extra[i]]) for i in mine)
        loss = -sum(sum(v for _, v in chains[i][: extra[i]]) for i in mine)
        assert spend >= deficit[s] - 1e-9
        room = deficit[s] * (1 + len(mine) / STEPS)
        roomy = [given for sp, given in plans if sp >= room + 1e-9]
        assert loss >= min(feasible) - 1e-9
        if roomy:
            assert loss <= min(roomy) + 1e-9
