"""Customers let down by a recent stockout, ranked by the value their next one puts at risk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from contract.dataset import Dataset
from forecast.segments import segment_customers
from replenish.care import recently_let_down
from replenish.planning import fitted_churn

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


def test_each_customer_short_in_the_window_is_listed_with_the_closed_form_risk() -> None:
    data = Dataset.read(EXAMPLE)
    segments = segment_customers(data)
    churn, _ = fitted_churn(data, segments)
    days = 60
    listed = recently_let_down(data, segments, churn, days=days)
    orders = data.orders
    window = orders[orders["date"] > orders["date"].max() - pd.Timedelta(days=days)]
    short = window[window["quantity_short"] > 0].groupby("customer_id").size()
    assert sorted(listed["customer_id"]) == sorted(short.index)
    assert listed["value_at_risk"].is_monotonic_decreasing
    clv = segments.customers.set_index("customer_id")["clv"]
    for row in listed.to_dict(orient="records"):
        who, n = str(row["customer_id"]), int(short[row["customer_id"]])
        assert row["short_lines"] == n
        expected = max(float(clv[who]), 0.0) * (1 - (1 - churn.of(str(row["tier"]))) ** n)
        assert np.isclose(float(row["value_at_risk"]), expected)
        assert 0 <= float(row["value_at_risk"]) <= float(row["clv"])


def test_nobody_is_listed_without_customers_or_without_short_lines() -> None:
    data = Dataset.read(EXAMPLE)
    segments = segment_customers(data)
    churn, _ = fitted_churn(data, segments)
    assert recently_let_down(data, None, churn).empty
    served = data.orders.assign(quantity_short=0)
    from dataclasses import replace

    assert recently_let_down(replace(data, orders=served), segments, churn).empty
