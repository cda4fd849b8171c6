"""Reaching a supplier's minimum order value: the fractional bound and the least-loss cover."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.cover import CoverOrder, _exchange, covering_loss, least_loss_cover
from optimize.solve import Blocks

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


def _brute_force(
    chains: list[list[tuple[float, float]]], mine: np.ndarray
) -> list[tuple[float, float]]:
    """(spend, loss) of every way to take a prefix of each chain in `mine`."""
    plans = []
    for counts in itertools.product(*(range(len(chains[i]) + 1) for i in mine)):
        spend = sum(sum(c for c, _ in chains[i][:k]) for i, k in zip(mine, counts, strict=True))
        loss = -sum(sum(v for _, v in chains[i][:k]) for i, k in zip(mine, counts, strict=True))
        plans.append((spend, loss))
    return plans


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
        plans = _brute_force(chains, mine)
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


@settings(max_examples=60, deadline=None)
@given(chains=st.lists(chain, min_size=1, max_size=5), deficit=st.integers(1, 120))
def test_the_fractional_bound_never_gives_up_more_than_a_real_cover(
    chains: list[list[tuple[float, float]]], deficit: int
) -> None:
    """`covering_loss` keeps the Lagrangian relaxation an upper bound: it is at most the
    least loss of any plan reaching the deficit (inf when none does), and the spend it
    reports is at least the deficit. The blocks it reads stop at the supplier's minimum
    (`CoverOrder`): the same answer as with all of them."""
    problem: Any = SimpleNamespace(
        n_skus=len(chains), supplier_ids=["S0"], supplier=np.zeros(len(chains), dtype=np.int64),
        supplier_min_value=np.array([float(deficit)]),
    )  # fmt: skip
    blocks = _blocks(chains)
    nothing = np.zeros(len(chains), dtype=np.int64)  # no SKU has a best prefix
    # At budget price 0 and volume price 0 a block's net value is its value.
    order = CoverOrder.of(problem, blocks, 0.0)
    loss, spend = covering_loss(problem, order, 0.0, nothing, np.array([float(deficit)]))
    unlimited: Any = SimpleNamespace(**{**vars(problem), "supplier_min_value": np.array([np.inf])})
    every = CoverOrder.of(unlimited, blocks, 0.0)
    assert every.cost.size == blocks.cost.size
    np.testing.assert_allclose(
        np.r_[loss, spend],
        np.r_[covering_loss(problem, every, 0.0, nothing, np.array([float(deficit)]))],
    )
    plans = _brute_force(chains, np.arange(len(chains)))
    feasible = [given for sp, given in plans if sp >= deficit]
    if not feasible:
        assert loss[0] == np.inf
        return
    assert loss[0] <= min(feasible) + 1e-9
    assert spend[0] >= deficit - 1e-9


def test_exchanges_take_back_an_overshoot_and_still_reach() -> None:
    """Two SKUs of one supplier, 10 short of its minimum: a cover of one 12-currency pack
    of the first SKU gives up 6; a pack of 10 of the second gives up 4 and reaches it too,
    so an exchange swaps them."""
    chains = [[(12.0, -6.0)], [(10.0, -4.0)]]
    problem: Any = SimpleNamespace(
        n_skus=2, supplier_ids=["S0"], supplier=np.zeros(2, dtype=np.int64)
    )
    blocks = _blocks(chains)
    zero = np.zeros(2, dtype=np.int64)
    better = _exchange(problem, blocks, blocks.value, zero, np.array([10.0]), np.array([1, 0]))
    assert better.tolist() == [0, 1]
    # Dropping the only pack would fall short: nothing to exchange.
    kept = _exchange(problem, blocks, blocks.value, zero, np.array([11.0]), np.array([1, 0]))
    assert kept.tolist() == [1, 0]


@settings(max_examples=40, deadline=None)
@given(chains=st.lists(chain, min_size=2, max_size=24), deficit=st.integers(1, 400))
def test_exchanges_never_give_up_more_or_fall_short(
    chains: list[list[tuple[float, float]]], deficit: int
) -> None:
    """From taking everything, exchanges keep every SKU within its blocks, reach the
    deficit and give up no more; up to 24 SKUs, past the partners each may try."""
    problem: Any = SimpleNamespace(
        n_skus=len(chains), supplier_ids=["S0"], supplier=np.zeros(len(chains), dtype=np.int64)
    )
    blocks = _blocks(chains)
    zero = np.zeros(len(chains), dtype=np.int64)
    everything = np.array([len(c) for c in chains])
    spend = sum(c for ch in chains for c, _ in ch)
    if spend < deficit:
        return
    after = _exchange(problem, blocks, blocks.value, zero, np.array([float(deficit)]), everything)

    def measured(counts: np.ndarray) -> tuple[float, float]:
        return (
            sum(sum(c for c, _ in chains[i][:k]) for i, k in enumerate(counts)),
            -sum(sum(v for _, v in chains[i][:k]) for i, k in enumerate(counts)),
        )

    assert ((after >= 0) & (after <= everything)).all()
    (spent, given), (_, given_before) = measured(after), measured(everything)
    assert spent >= deficit - 1e-9
    assert given <= given_before + 1e-9
