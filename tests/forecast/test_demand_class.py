"""ADI / CV² classes: the Syntetos-Boylan cut-offs and a profile that matches pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecast.demand_class import ADI_CUTOFF, CV2_CUTOFF, classify, profile, profile_matrix


def test_classes_at_the_cutoffs() -> None:
    adi = np.array([1.0, 1.0, 2.0, 2.0, ADI_CUTOFF, np.inf])
    cv2 = np.array([0.1, 0.9, 0.1, 0.9, CV2_CUTOFF, 0.0])
    assert list(classify(adi, cv2)) == [
        "smooth",
        "erratic",
        "intermittent",
        "lumpy",
        "lumpy",  # the cut-offs themselves belong to the upper class
        "no demand",
    ]


def test_textbook_series() -> None:
    # 10 periods: series 0 sells 5 units every period (smooth, ADI 1, CV² 0);
    # series 1 sells 1 and 3 units in two periods (ADI 5, sizes mean 2, var 2 -> CV² 0.5);
    # series 2 never sells.
    series = np.array([0] * 10 + [1, 1])
    period = np.array([*range(10), 2, 7])
    qty = np.array([5.0] * 10 + [1.0, 3.0])
    prof = profile(series, period, qty, n_series=3, n_periods=10)
    assert prof.adi[0] == 1.0 and prof.cv2[0] == 0.0
    assert prof.adi[1] == 5.0 and prof.cv2[1] == pytest.approx(0.5)
    assert np.isinf(prof.adi[2])
    assert list(prof.label) == ["smooth", "lumpy", "no demand"]
    assert list(prof.total) == [50.0, 4.0, 0.0]


def test_lines_of_one_period_are_summed_first() -> None:
    prof = profile(np.array([0, 0, 0]), np.array([1, 1, 3]), np.array([2.0, 3.0, 5.0]), 1, 4)
    assert prof.demand_periods[0] == 2 and prof.cv2[0] == 0.0 and prof.adi[0] == 2.0


def test_indices_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="series"):
        profile(np.array([3]), np.array([0]), np.array([1.0]), 3, 5)
    with pytest.raises(ValueError, match="period"):
        profile(np.array([0]), np.array([5]), np.array([1.0]), 3, 5)


@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 29), st.integers(0, 20)),
        min_size=0,
        max_size=200,
    )
)
def test_profile_matches_a_pandas_reference(records: list[tuple[int, int, int]]) -> None:
    frame = pd.DataFrame(records, columns=["s", "p", "q"], dtype="int64")
    prof = profile(frame["s"].to_numpy(), frame["p"].to_numpy(), frame["q"].to_numpy(), 5, 30)
    sizes = frame.groupby(["s", "p"])["q"].sum()
    sizes = sizes[sizes > 0]
    for s in range(5):
        mine = sizes[sizes.index.get_level_values(0) == s] if len(sizes) else sizes
        assert prof.demand_periods[s] == len(mine)
        if len(mine) == 0:
            assert np.isinf(prof.adi[s]) and prof.label[s] == "no demand"
            continue
        assert prof.adi[s] == pytest.approx(30 / len(mine))
        expected_cv2 = (mine.var(ddof=1) / mine.mean() ** 2) if len(mine) > 1 else 0.0
        assert prof.cv2[s] == pytest.approx(expected_cv2, abs=1e-9)
        assert prof.adi[s] >= 1.0


@given(
    st.lists(
        st.lists(st.sampled_from([0, 0, 0, 1, 2, 5]), min_size=12, max_size=12),
        min_size=1,
        max_size=6,
    )
)
def test_dense_and_record_profiles_agree(rows: list[list[int]]) -> None:
    y = np.array(rows, dtype=float)
    dense = profile_matrix(y)
    s, p = np.nonzero(y >= 0)
    records = profile(s, p, y[s, p], y.shape[0], y.shape[1])
    assert np.array_equal(dense.label, records.label)
    assert np.allclose(dense.cv2, records.cv2) and np.array_equal(dense.adi, records.adi)
