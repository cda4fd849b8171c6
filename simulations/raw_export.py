"""A generated history written as a raw ERP export, with the quirks of real ones.

The layout is an online retailer's invoice-line export (InvoiceNo, StockCode,
Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country). On top of the
clean order lines it adds, each from its own random stream and in known numbers:
lines of one SKU split over repeated rows of an order; cancellations (invoice "C" +
the order's number, negative units) of extra units added to a line, and orders
cancelled whole the same day; returns (negative units, no marker); non-product lines
(postage, bank charges, manual adjustments) and bad-debt write-offs at a negative
price; customer ids written as spreadsheet floats ("17850.0"); day-first dates with a
time. `replenish import` must give back the clean lines; tests and benchmarks check it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from contract.dataset import Dataset

NON_PRODUCTS = (("POST", "POSTAGE"), ("BANK CHARGES", "Bank Charges"), ("M", "Manual"))
COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
           "CustomerID", "Country")  # fmt: skip


@dataclass(frozen=True)
class MessyExport:
    """The export (text cells, in COLUMNS), and what was put in: rows per quirk and the
    units the cancellations and returns carry."""

    frame: pd.DataFrame
    quirks: dict[str, int]
    units_cancelled: int
    units_returned: int


def messy_export(
    dataset: Dataset,
    seed: int = 0,
    repeat_share: float = 0.04,
    cancel_share: float = 0.02,
    cancel_whole_share: float = 0.005,
    return_share: float = 0.01,
    non_product_share: float = 0.003,
) -> MessyExport:
    """The dataset's order lines as a messy export (shares are per clean line)."""
    rng = np.random.default_rng([seed, 16])
    o = dataset.orders
    n = len(o)
    names = dataset.skus.set_index("sku_id")["name"]
    qty = o["quantity"].to_numpy(np.int64) + o["quantity_short"].to_numpy(np.int64)
    keep = qty > 0  # lines asking for nothing are no invoice line
    base = pd.DataFrame(
        {
            "order": o["order_id"].astype(str).to_numpy(),
            "sku": o["sku_id"].astype(str).to_numpy(),
            "qty": qty,
            "date": o["date"].to_numpy(),
            "price": o["unit_price"]
            .fillna(o["sku_id"].map(dataset.skus.set_index("sku_id")["unit_price"]))
            .to_numpy(float),
            "customer": o["customer_id"].astype(object).to_numpy(),
        }
    )[keep].reset_index(drop=True)
    n = len(base)
    parts = []
    # Cancellations of extra units: the line is written larger, a "C" line takes it back.
    cancel = rng.random(n) < cancel_share
    named = pd.notna(base["customer"]).to_numpy()
    cancel &= named
    extra = rng.integers(1, 4, n) * cancel
    lines = base.assign(qty=base["qty"] + extra)
    # Repeated rows: a line split in two within its order.
    split = (rng.random(n) < repeat_share) & (lines["qty"].to_numpy() >= 2)
    first = np.where(split, lines["qty"] // 2, lines["qty"])
    parts.append(lines.assign(qty=first))
    parts.append(lines[split].assign(qty=(lines["qty"] - first)[split]))
    later = base["date"] + pd.to_timedelta(rng.integers(0, 3, n), "D")
    last_day = base["date"].max()
    later = later.where(later <= last_day, base["date"])
    parts.append(
        lines[cancel].assign(
            order="C" + lines["order"][cancel], qty=-extra[cancel], date=later[cancel]
        )
    )
    # Orders cancelled whole the same day: a new line and its cancellation.
    whole = np.flatnonzero((rng.random(n) < cancel_whole_share) & named & ~cancel)
    ghost = base.iloc[whole].assign(order="X" + base["order"].iloc[whole])
    parts.append(ghost)
    parts.append(ghost.assign(order="C" + ghost["order"], qty=-ghost["qty"]))
    # Returns: unmarked negative lines a few days after a sale, never more than it.
    back = np.flatnonzero((rng.random(n) < return_share) & named & ~cancel)
    returned = np.minimum(base["qty"].to_numpy()[back], rng.integers(1, 3, back.size))
    parts.append(
        base.iloc[back].assign(
            order="R" + base["order"].iloc[back], qty=-returned, date=later.iloc[back]
        )
    )
    # Non-products, and bad debt written off at a negative price.
    extra_rows = np.flatnonzero(rng.random(n) < non_product_share)
    which = rng.integers(0, len(NON_PRODUCTS), extra_rows.size)
    codes = np.array([c for c, _ in NON_PRODUCTS], dtype=object)[which]
    non_product = base.iloc[extra_rows].assign(
        sku=codes, qty=1, price=rng.uniform(1, 40, extra_rows.size).round(2)
    )
    parts.append(non_product)
    debt = base.iloc[: max(1, n // 20_000)].assign(
        order="A" + base["order"].iloc[: max(1, n // 20_000)], sku="B", qty=1, price=-1234.5,
        customer=None,
    )  # fmt: skip
    parts.append(debt)

    raw = pd.concat(parts, ignore_index=True)
    raw = raw.sort_values(["date", "order"], kind="stable").reset_index(drop=True)
    code_names = dict(NON_PRODUCTS) | {"B": "Adjust bad debt"}
    description = raw["sku"].map(names).fillna(raw["sku"].map(code_names)).fillna("")
    customer = raw["customer"].map(lambda c: f"{c}.0" if isinstance(c, str) and c.isdigit() else c)
    stamp = pd.to_datetime(raw["date"]) + pd.to_timedelta(
        rng.integers(8 * 60, 18 * 60, len(raw)), "m"
    )
    frame = pd.DataFrame(
        {
            "InvoiceNo": raw["order"].astype(str),
            "StockCode": raw["sku"].astype(str),
            "Description": description.astype(str),
            "Quantity": raw["qty"].astype(np.int64),
            "InvoiceDate": stamp.dt.strftime("%d/%m/%Y %H:%M"),
            "UnitPrice": raw["price"].round(2),
            "CustomerID": customer.fillna(""),
            "Country": "United Kingdom",
        }
    )
    quirks = {
        "repeated_rows": int(split.sum()),
        "cancellations": int(cancel.sum()) + len(whole),
        "cancelled_whole": len(whole),
        "returns": int(back.size),
        "non_products": int(extra_rows.size) + len(debt),
        "negative_price": len(debt),
    }
    return MessyExport(
        frame,
        quirks,
        units_cancelled=int(extra.sum() + ghost["qty"].sum()),
        units_returned=int(returned.sum()),
    )
