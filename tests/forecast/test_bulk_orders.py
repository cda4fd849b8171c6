"""One-off bulk orders: found by a robust rule, kept out of the forecast, listed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from contract import Dataset
from forecast.bulk_orders import bulk_table, outsize_lines
from forecast.engine import ForecastConfig, forecast_dataset, plausible
from simulations.world import generate, params_for

H = 28


def _lines(sku: list[str], size: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(len(sku))],
            "date": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(len(sku)), "D"),
            "customer_id": ["K1"] * len(sku),
            "sku_id": sku,
            "quantity": size,
            "quantity_short": [0] * len(sku),
        }
    )


def test_a_line_far_above_the_usual_is_outsize_and_ordinary_spread_is_not() -> None:
    sizes = [2, 3, 1, 4, 2, 6, 3, 2, 2000, 5]
    flags = outsize_lines(_lines(["A"] * len(sizes), sizes))
    assert flags.tolist() == [s == 2000 for s in sizes]


def test_a_new_sku_is_judged_against_the_catalogue() -> None:
    """One line of 80,995 units is the SKU's only line: no usual of its own to compare."""
    sku = ["A"] * 20 + ["B"] * 20 + ["NEW"]
    sizes = [3] * 20 + [10] * 20 + [80_995]
    flags = outsize_lines(_lines(sku, sizes))
    assert flags.tolist() == [False] * 40 + [True]


@given(st.lists(st.integers(1, 50), min_size=1, max_size=60))
def test_lines_within_twenty_times_the_smallest_are_never_outsize(sizes: list[int]) -> None:
    """Whatever the mix, a line is only outsize when it is at least 20 times the usual
    line (the median), so a SKU whose lines span less than that has none."""
    small = [s for s in sizes if s <= 20 * min(sizes) - 1] or sizes[:1]
    assert not outsize_lines(_lines(["A"] * len(small), small)).any()


def test_the_table_lists_each_outsize_line_with_the_usual_line() -> None:
    orders = _lines(["A"] * 6, [2, 3, 2, 2, 3000, 2])
    table = bulk_table(orders, outsize_lines(orders))
    assert table[["order_id", "sku_id", "units", "usual_line"]].values.tolist() == [
        ["O4", "A", 3000, 2.0]
    ]


def test_generated_bulk_lines_are_found() -> None:
    world = generate(params_for("small", seed=5, bulk_lines_per_year=40))
    orders = world.dataset.orders
    flags = outsize_lines(orders)
    truth = orders.set_index(["order_id", "sku_id"]).index.isin(
        world.bulk_lines.set_index(["order_id", "sku_id"]).index
    )
    assert truth.sum() >= 40
    assert (flags & truth).sum() / truth.sum() > 0.9  # found
    assert (flags & ~truth).sum() <= 0.1 * flags.sum()  # and few ordinary lines taken


def _forecast_total(dataset: Dataset, sku: str) -> float:
    run = forecast_dataset(dataset, ForecastConfig(horizon=H), engine="inline")
    fc = run.result.forecasts
    return float(fc[(fc["sku_id"] == sku) & (fc["segment"] == "ALL")]["mean"].sum())


def test_a_one_off_order_a_thousand_times_the_usual_line_barely_moves_the_forecast() -> None:
    """The order is left out, so the SKU's 28-day forecast moves by no more than one
    usual line would (its share of a robust mean), and the buyer is told of it."""
    ds = generate(params_for("tiny", seed=4)).dataset
    orders = ds.orders
    sku = orders["sku_id"].value_counts().index[0]
    usual = float((orders.loc[orders["sku_id"] == sku, "quantity"]).median())
    big = (
        orders[orders["sku_id"] == sku]
        .tail(1)
        .assign(order_id="BULK-1", quantity=int(1000 * usual), quantity_short=0)
    )
    with_bulk = replace(ds, orders=pd.concat([orders, big], ignore_index=True))
    before, after = _forecast_total(ds, sku), _forecast_total(with_bulk, sku)
    assert abs(after - before) <= usual
    run = forecast_dataset(with_bulk, ForecastConfig(horizon=H), engine="inline")
    assert "BULK-1" in run.bulk_orders["order_id"].tolist()


def test_a_new_sku_is_never_forecast_from_one_outsize_order() -> None:
    ds = generate(params_for("tiny", seed=4)).dataset
    last = ds.orders.tail(1)
    new_sku = ds.skus.tail(1).assign(sku_id="NEW-1")
    line = last.assign(order_id="BULK-2", sku_id="NEW-1", quantity=80_995, quantity_short=0)
    ds = replace(
        ds,
        skus=pd.concat([ds.skus, new_sku], ignore_index=True),
        orders=pd.concat([ds.orders, line], ignore_index=True),
    )
    assert _forecast_total(ds, "NEW-1") < 1.0


def test_no_forecast_exceeds_three_times_the_most_asked_for_over_as_long() -> None:
    y = np.zeros((2, 60))
    y[0, 10:17] = 5.0  # at most 35 units over any 7 days
    y[1, :] = 1.0
    mean = np.stack([np.full(H, 100.0), np.full(H, 1.5)])
    capped = plausible(mean, y, np.array([7, 7]))
    assert capped[0, :7].sum() == np.float64(3 * 35)
    assert np.allclose(capped[1], 1.5)  # within bounds: left as it was
