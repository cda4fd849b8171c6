"""The cleaning rules' invariants, on random exports (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from replenish.importing.cleaning import KEPT, clean_lines
from replenish.importing.mapping import ImportRules

line = st.tuples(
    st.sampled_from(["1", "2", "3", "C1", "C2", "C9"]),  # orders, some cancellations
    st.sampled_from(["A", "B"]),
    st.sampled_from(["K1", "K2", ""]),
    st.integers(-5, 8),
    st.integers(0, 4),  # day
)


def _frame(rows: list[tuple[str, str, str, int, int]]) -> pd.DataFrame:
    order, sku, customer, qty, day = (list(c) for c in zip(*rows, strict=True))
    text = "string[pyarrow]"
    return pd.DataFrame(
        {
            "order_id": pd.Series(order, dtype=text),
            "sku_id": pd.Series(sku, dtype=text),
            "customer_id": pd.Series(customer, dtype=text),
            "sku_name": pd.Series([""] * len(rows), dtype=text),
            "date": pd.Timestamp("2026-01-01") + pd.to_timedelta(day, "D"),
            "quantity": np.array(qty, dtype=float),
            "unit_price": np.full(len(rows), 2.0),
            "quantity_short": np.zeros(len(rows)),
            "fate": np.full(len(rows), KEPT, dtype=object),
        }
    )


@settings(max_examples=200)
@given(st.lists(line, min_size=1, max_size=30))
def test_netting_conserves_units_and_never_goes_negative(
    rows: list[tuple[str, str, str, int, int]],
) -> None:
    lines = _frame(rows)
    out = clean_lines(lines, ImportRules(), pd.Timestamp("2026-12-01"))
    qty = lines["quantity"].to_numpy()
    cancel = out.fate == "cancellation"
    cancel |= out.fate == "cancellation_unmatched"
    sold = qty[~lines["order_id"].str.startswith("C").to_numpy() & (qty > 0)].sum()
    # Units sold = units kept + units netted; cancellations take no more than they carry.
    assert out.lines["quantity"].sum() == sold - out.units_netted
    assert out.units_netted + out.units_unmatched == np.abs(qty[cancel]).sum()
    assert (out.lines["quantity"] >= 0).all()
    # One line per order and SKU; returns carry positive units.
    assert not out.lines.duplicated(["order_id", "sku_id"]).any()
    assert (out.returns["units"] > 0).all()
    # Every row has exactly one fate, and only kept rows feed the lines.
    assert len(out.fate) == len(lines)
    kept_units = qty[out.fate == KEPT].sum()
    assert out.lines["quantity"].sum() <= kept_units
