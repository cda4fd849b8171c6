"""Value curves in a batch: the simulated optimizer's one-pass best stock is what the
optimizer finds, unit by unit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimize.solve import solve
from optimize.value_curve import BATCH_SUPPORT, MAX_ITEMS, sku_curve, unit_optimum
from tests.optimize.problems import poisson, problem


@settings(max_examples=40, deadline=None)
@given(
    means=st.lists(st.lists(st.floats(0.0, 60.0), min_size=2, max_size=2), min_size=1, max_size=6),
    costs=st.lists(st.floats(0.0, 40.0), min_size=2, max_size=2),
    holding=st.floats(0.05, 5.0),
    wide=st.booleans(),
)
def test_the_one_pass_optimum_is_the_solvers_unit_by_unit(
    means: list[list[float]], costs: list[float], holding: float, wide: bool
) -> None:
    """Short supports in the batched FFT, and (`wide`) a SKU past BATCH_SUPPORT done on
    its own: the same stock levels as `solve` (which takes over MAX_ITEMS units in lots,
    and may leave out a last partial lot), the same unit values as the curves."""
    rows = [[poisson(m) for m in pair] for pair in means]
    if wide:
        rows.append([poisson(700.0), poisson(500.0)])
    p = problem(rows, [costs] * len(rows), holding=[holding] * len(rows))
    quantity, values = unit_optimum(p)
    solved = solve(p).quantity
    small = quantity <= MAX_ITEMS
    assert np.array_equal(quantity[small], solved[small])
    lot = -(-quantity[~small] // MAX_ITEMS)
    assert (solved[~small] <= quantity[~small]).all()
    assert (quantity[~small] - solved[~small] < lot).all()
    for i, v in enumerate(values):
        assert v.size == max(quantity[i], 1)
        assert np.allclose(v, sku_curve(p, i).unit_values(0, v.size), atol=1e-9)
        assert (v[: quantity[i]] > 0).all()
    if wide:
        assert sum(x.size for x in p.pmfs[-1]) > BATCH_SUPPORT


def test_the_one_pass_optimum_refuses_what_it_does_not_solve() -> None:
    p = problem([[poisson(3.0)]], [[5.0]], budget=10.0)
    with pytest.raises(ValueError, match="without a budget"):
        unit_optimum(p)
    with pytest.raises(ValueError, match="empty shelves"):
        unit_optimum(problem([[poisson(3.0)]], [[5.0]], position=[2.0]))
