"""The rules that turn an export's order lines into lines the contract accepts.

Every source row ends with one fate: kept (alone, or summed into a repeated line), or
one of the rules below that took it out. Nothing leaves without its fate being counted,
so the report adds up: rows read = rows kept + the rows of every rule.

In order: blank rows; cells missing or unreadable in a required column; dates in the
future; non-product codes (postage, fees, discounts, manual adjustments); negative
prices; cancellations (an order id with a cancellation prefix, or unmarked negatives
when so configured), netted against the line of the order they name, else the
customer's earlier lines of the SKU; returns
(other negative lines), recorded apart and never as negative demand; lines of zero
units; SKUs that never sold at a positive price (the contract needs one). Repeated
lines of one SKU in one order are then summed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from replenish.importing.mapping import ImportRules

KEPT = "kept"
#: What each fate does to its rows, for the report.
ACTIONS = {
    "blank_row": "dropped: every cell empty",
    "missing_order_id": "dropped: no order id",
    "missing_sku_id": "dropped: no SKU code",
    "missing_date": "dropped: no date",
    "missing_quantity": "dropped: no quantity",
    "unreadable_date": "dropped: the date cannot be read",
    "unreadable_quantity": "dropped: the quantity is not a whole number",
    "unreadable_unit_price": "dropped: the price is not a number",
    "unreadable_quantity_short": "dropped: the short quantity is not a whole number >= 0",
    "future_date": "dropped: dated after today",
    "non_product": "dropped: not a product (postage, fees, discounts, adjustments)",
    "negative_price": "dropped: negative price (a credit or a write-off, not a sale)",
    "cancellation": "netted against the line it cancels (its order, else the customer's last)",
    "cancellation_unmatched": "dropped: a cancellation with no earlier line to cancel",
    "cancelled": "dropped: wholly cancelled by a later cancellation",
    "return": "recorded as a return (returns.csv), not as negative demand",
    "zero_quantity": "dropped: no units asked for",
    "sku_without_price": "dropped: the SKU never sold at a positive price",
}


@dataclass(frozen=True)
class Cleaned:
    """Order lines (one per order and SKU), the returns, each source row's fate (aligned
    with the input rows), and counts that kept their rows but changed a value."""

    lines: pd.DataFrame
    returns: pd.DataFrame
    fate: np.ndarray  # object array of fate names
    units_netted: float
    units_unmatched: float
    changes: dict[str, int]


def clean_lines(lines: pd.DataFrame, rules: ImportRules, today: pd.Timestamp) -> Cleaned:
    """Apply the rules. `lines`: one row per source row with typed columns order_id,
    sku_id, customer_id, sku_name (text, "" when empty), date (NaT when unreadable),
    quantity, unit_price, quantity_short (float, NaN when unreadable), and the fates
    found while parsing in column `fate` (KEPT otherwise)."""
    fate = lines["fate"].to_numpy(dtype=object).copy()

    def take(mask: np.ndarray | pd.Series, name: str) -> None:
        hit = np.asarray(mask, dtype=bool) & (fate == KEPT)
        fate[hit] = name

    take(lines["date"] > today, "future_date")
    code = lines["sku_id"].str.fullmatch(rules.code_pattern().pattern, case=False)
    name = lines["sku_name"].str.fullmatch(rules.name_pattern().pattern, case=False)
    take(code.fillna(False) | name.fillna(False), "non_product")
    take(lines["unit_price"] < 0, "negative_price")

    qty = lines["quantity"].to_numpy(dtype=float)
    marked = np.zeros(len(lines), dtype=bool)
    for prefix in rules.cancellation_prefix:
        marked |= lines["order_id"].str.startswith(prefix).fillna(False).to_numpy()
    if rules.negatives == "cancellations":
        marked |= qty < 0
    take(marked & (qty != 0), "cancellation")
    take(qty < 0, "return")
    short = lines["quantity_short"].fillna(0.0).to_numpy(dtype=float)
    take((qty == 0) & (short == 0), "zero_quantity")

    quantity = np.where(fate == KEPT, qty, 0.0)
    cancel = fate == "cancellation"
    quantity, netted, unmatched = _net_cancellations(
        lines, quantity, cancel, rules.cancellation_prefix
    )
    fate[unmatched] = "cancellation_unmatched"
    cancelled_units = np.abs(qty[cancel]).sum()
    fate[(fate == KEPT) & (quantity <= 0) & (short == 0)] = "cancelled"

    price = lines["unit_price"].to_numpy(dtype=float)
    kept = fate == KEPT
    priced = pd.Series(np.where(kept & (price > 0), price, np.nan)).groupby(
        lines["sku_id"].to_numpy()
    ).max()  # fmt: skip
    has_price = lines["sku_id"].map(priced.notna()).fillna(False).to_numpy(dtype=bool)
    take(~has_price, "sku_without_price")

    returns_rows = fate == "return"
    returns = pd.DataFrame(
        {
            "order_id": lines["order_id"][returns_rows].to_numpy(),
            "date": lines["date"][returns_rows].to_numpy(),
            "customer_id": lines["customer_id"][returns_rows].to_numpy(),
            "sku_id": lines["sku_id"][returns_rows].to_numpy(),
            "units": -qty[returns_rows],
        }
    )
    kept = fate == KEPT
    changes = {
        "zero_price_kept_without_price": int((kept & (price == 0)).sum()),
        "lines_partly_cancelled": int((kept & (quantity < qty)).sum()),
    }
    merged, repeats = _merge_repeats(lines[kept], quantity[kept], short[kept])
    changes["repeated_lines_summed"] = repeats
    return Cleaned(merged, returns, fate, float(netted), float(cancelled_units - netted), changes)


def _allocate(keys: np.ndarray, amounts: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Per row, its share of its key's `budget`, rows taken in the given order: the
    first rows of a key are served in full until the budget runs out."""
    if keys.size == 0:
        return np.zeros(0)
    cum = np.cumsum(amounts)
    start = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1]
    sizes = np.diff(np.r_[start, keys.size])
    before = cum - amounts - np.repeat(np.r_[0.0, cum[start[1:] - 1]], sizes)
    return np.asarray(np.clip(budget[keys] - before, 0.0, amounts))


def _net_stage(
    line_key: np.ndarray,
    cancel_key: np.ndarray,
    quantity: np.ndarray,
    wanted: np.ndarray,
    cancel: np.ndarray,
    days: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """One round of netting: cancellation rows (`cancel`, `wanted` units each) take units
    off the lines sharing their key, latest first; with `days`, only lines dated on or
    before the key's last cancellation. Returns the lines' reduced quantities and each
    cancellation's units still wanted."""
    both, codes = np.unique(np.r_[line_key, cancel_key], return_inverse=True)
    lk, ck = codes[: line_key.size], codes[line_key.size :]
    want = np.bincount(ck[cancel], weights=wanted[cancel], minlength=both.size)
    eligible = (~cancel) & (quantity > 0) & (want[lk] > 0)
    if days is not None:
        last = np.full(both.size, np.iinfo(np.int64).min)
        np.maximum.at(last, ck[cancel], days[cancel])
        eligible &= days <= last[lk]
    rows = np.flatnonzero(eligible)
    order = np.lexsort((-(days[rows] if days is not None else rows), lk[rows]))
    rows = rows[order]
    out = quantity.copy()
    taken = _allocate(lk[rows], quantity[rows], want)
    out[rows] = quantity[rows] - taken
    got = np.bincount(lk[rows], weights=taken, minlength=both.size)
    c_rows = np.flatnonzero(cancel)
    c_rows = c_rows[np.argsort(ck[c_rows], kind="stable")]
    served = np.zeros(quantity.size)
    served[c_rows] = _allocate(ck[c_rows], wanted[c_rows], got)
    return out, np.where(cancel, wanted - served, 0.0)


def _net_cancellations(
    lines: pd.DataFrame, quantity: np.ndarray, cancel: np.ndarray, prefixes: tuple[str, ...]
) -> tuple[np.ndarray, float, np.ndarray]:
    """Take each cancellation's units off the lines it cancels: first the line of the
    SKU in the order it names (its id less the cancellation prefix), then the same
    customer's lines of the SKU dated on or before it, latest first. Returns the reduced
    quantities, the units netted, and per row whether it is a cancellation that found
    nothing to cancel."""
    sku = lines["sku_id"].astype(str).to_numpy()
    order = lines["order_id"].astype(str)
    named = order
    for prefix in prefixes:
        named = named.where(~named.str.startswith(prefix), named.str.slice(len(prefix)))
    sep = "\x1f"
    units = np.where(cancel, np.abs(lines["quantity"].to_numpy(dtype=float)), 0.0)
    days = lines["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    out, left = _net_stage(
        (order + sep + sku).to_numpy(), (named + sep + sku).to_numpy(), quantity, units, cancel,
        None,
    )  # fmt: skip
    who = (lines["customer_id"].astype(str) + sep + lines["sku_id"].astype(str)).to_numpy()
    out, left = _net_stage(who, who, out, left, cancel & (left > 0), days)
    netted = float((quantity - out).sum())
    return out, netted, cancel & (left >= units)


def _merge_repeats(
    lines: pd.DataFrame, quantity: np.ndarray, short: np.ndarray
) -> tuple[pd.DataFrame, int]:
    """One line per (order, SKU): units and short units summed, the price weighted by
    units, the earliest date, the first customer named. Returns the lines and how many
    rows were summed into another."""
    frame = pd.DataFrame(
        {
            "order_id": lines["order_id"].to_numpy(),
            "sku_id": lines["sku_id"].to_numpy(),
            "date": lines["date"].to_numpy(),
            "customer_id": lines["customer_id"].replace("", None).to_numpy(),
            "quantity": quantity,
            "quantity_short": short,
            "value": quantity * np.where(lines["unit_price"] > 0, lines["unit_price"], np.nan),
            "priced": np.where(lines["unit_price"] > 0, quantity, 0.0),
        }
    )
    grouped = frame.groupby(["order_id", "sku_id"], sort=False)
    out = grouped.agg(
        date=("date", "min"),
        customer_id=("customer_id", "first"),
        quantity=("quantity", "sum"),
        quantity_short=("quantity_short", "sum"),
        value=("value", "sum"),
        priced=("priced", "sum"),
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["unit_price"] = np.where(out["priced"] > 0, out["value"] / out["priced"], np.nan)
    out = out.drop(columns=["value", "priced"])
    out["quantity"] = out["quantity"].round().astype("int64")
    out["quantity_short"] = out["quantity_short"].round().astype("int64")
    return out, len(frame) - len(out)
