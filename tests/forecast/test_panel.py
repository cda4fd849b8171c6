"""The demand panel holds what customers asked for, per segment, with stockout days."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from forecast.panel import TOTAL, Uncensoring, build_panel, uncensor
from simulations.world import GeneratedWorld


def test_panel_adds_up_to_the_order_lines(tiny_world: GeneratedWorld) -> None:
    ds = tiny_world.dataset
    tiers = tiny_world.customer_truth.set_index("customer_id")["tier"]
    panel = build_panel(ds, tiers)
    assert panel.segments == ("A", "B", "C")
    asked = (ds.orders["quantity"] + ds.orders["quantity_short"]).sum()
    assert panel.demand.sum() == asked
    assert panel.n_periods == (ds.orders["date"].max() - ds.orders["date"].min()).days + 1
    # One SKU on one day, checked against the lines directly.
    lines = ds.orders[(ds.orders["sku_id"] == "SKU000") & (ds.orders["date"] == panel.start)]
    tier_of = tiers.reindex(lines["customer_id"]).astype(str).to_numpy()
    a_units = (lines["quantity"] + lines["quantity_short"])[tier_of == "A"].sum()
    assert panel.demand[0, 0, 0] == a_units
    short_days = ds.orders.loc[
        ds.orders["quantity_short"] > 0, ["sku_id", "date"]
    ].drop_duplicates()
    assert panel.censored.sum() == len(short_days)


def test_weekly_panel_sums_days_and_ends_on_the_last_day(tiny_world: GeneratedWorld) -> None:
    daily = build_panel(tiny_world.dataset)
    weekly = build_panel(tiny_world.dataset, freq="W")
    assert daily.segments == (TOTAL,)
    assert weekly.total.sum() == daily.total.sum()
    assert weekly.last_day == daily.last_day
    assert np.allclose(weekly.total[:, -1], daily.total[:, -7:].sum(axis=1))
    assert weekly.dates()[0] == weekly.start


def test_censored_days_are_replaced_by_the_recent_level() -> None:
    y = np.full((1, 60), 10.0)
    censored = np.zeros((1, 60), dtype=bool)
    y[0, [30, 31, 45]] = [0.0, 2.0, 25.0]
    censored[0, [30, 31, 45]] = True
    out = uncensor(y, censored)
    assert np.allclose(out, 10.0)
    assert np.array_equal(uncensor(y, np.zeros_like(censored)), y)


def _uncensor_by_hand(y: np.ndarray, censored: np.ndarray, window: int) -> np.ndarray:
    """The docstring's rule, period by period."""
    out = y.copy()
    for r, t in zip(*np.nonzero(censored), strict=True):
        for span in (window, 4 * window, y.shape[1]):
            past = slice(max(t - span, 0), t)
            seen = y[r, past][~censored[r, past]]
            if seen.size:
                out[r, t] = seen.mean()
                break
        else:
            whole = y[r][~censored[r]]
            if whole.size:
                out[r, t] = whole.mean()
    return out


@given(
    y=hnp.arrays(np.float64, (3, 40), elements=st.sampled_from([0.0, 1.0, 2.0, 5.0, 30.0])),
    censored=hnp.arrays(np.bool_, (3, 40)),
    window=st.integers(1, 12),
)
def test_uncensor_follows_its_rule_period_by_period(
    y: np.ndarray, censored: np.ndarray, window: int
) -> None:
    assert np.allclose(uncensor(y, censored, window), _uncensor_by_hand(y, censored, window))


def test_anonymous_lines_get_their_own_segment(tiny_world: GeneratedWorld) -> None:
    ds = tiny_world.dataset
    orders = ds.orders.copy()
    orders.loc[:9, "customer_id"] = pd.NA
    tiers = tiny_world.customer_truth.set_index("customer_id")["tier"]
    panel = build_panel(type(ds)(ds.suppliers, ds.skus, orders, ds.customers), tiers)
    assert panel.segments[-1] == "anon"
    assert (
        panel.demand[:, -1, :].sum() == (orders["quantity"] + orders["quantity_short"])[:10].sum()
    )


@given(
    y=hnp.arrays(np.float64, (3, 70), elements=st.sampled_from([0.0, 1.0, 2.0, 5.0, 30.0])),
    censored=hnp.arrays(np.bool_, (3, 70)),
    history=st.integers(1, 69),
    window=st.integers(1, 12),
)
def test_days_appended_to_a_history_uncensor_as_the_whole_series_does(
    y: np.ndarray, censored: np.ndarray, history: int, window: int
) -> None:
    """A simulated policy's replans append days to the history: uncensoring only the new
    days (and the days before each row's first uncensored one) is `uncensor` of it all."""
    kept = Uncensoring.of(y[:, :history], censored[:, :history], window)
    extended = kept.extend(y[:, history:], censored[:, history:])
    assert np.allclose(extended, uncensor(y, censored, window), rtol=1e-12, atol=1e-12)
