"""Tables for people: headers in words with their units, numbers formatted by kind.

pandas' defaults print `budget 6832.135`, fill rates as `0.96` and the index name on a
row of its own. Every table of the report goes through `html_table`: the index becomes
the first column, each known column gets its header and its format (money without
cents, percentages, thousands separators), and an unknown one its name in words.
Money is in the dataset's currency, which the data does not name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

Format = Callable[[Any], str]


def N_(message: str) -> str:
    """Marks a header for the report's catalog; `html_table` translates it."""
    return message


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not np.isfinite(value))


def money(value: Any) -> str:
    """Currency, whole units: 6,832."""
    return "—" if _missing(value) else f"{float(value):,.0f}"


def cents(value: Any) -> str:
    """Currency with cents, for unit prices and small amounts: 12.45."""
    return "—" if _missing(value) else f"{float(value):,.2f}"


def percent(value: Any) -> str:
    """A share as a percentage: 0.963 -> 96.3%."""
    return "—" if _missing(value) else f"{100 * float(value):.1f}%"


def count(value: Any) -> str:
    """Whole things, thousands separated: 1,204."""
    return "—" if _missing(value) else f"{float(value):,.0f}"


def tenths(value: Any) -> str:
    """Expected counts and averages: 0.7, 1,204.5."""
    return "—" if _missing(value) else f"{float(value):,.1f}"


def text(value: Any) -> str:
    return "—" if _missing(value) or value is pd.NA else str(value)


def day(value: Any) -> str:
    return "—" if _missing(value) or value is pd.NaT else f"{pd.Timestamp(value):%Y-%m-%d}"


#: Column -> (header, format), for every column a report table shows.
COLUMNS: dict[str, tuple[str, Format]] = {
    "supplier_id": (N_("supplier"), text),
    "sku_id": (N_("SKU"), text),
    "order_id": (N_("order"), text),
    "customer_id": (N_("customer"), text),
    "plan": (N_("plan"), text),
    "policy": (N_("policy"), text),
    "tier": (N_("tier"), text),
    "date": (N_("date"), day),
    "lines": (N_("lines"), count),
    "units": (N_("units"), count),
    "packs": (N_("packs"), count),
    "quantity": (N_("units ordered"), count),
    "cost": (N_("cost"), money),
    "line_cost": (N_("line cost"), money),
    "volume": (N_("volume"), tenths),
    "order_cost": (N_("cost per order"), cents),
    "min_order_value": (N_("minimum order value"), money),
    "binding": (N_("what limits the line"), text),
    "budget": (N_("budget"), money),
    "spend": (N_("spent"), money),
    "objective": (N_("plan value"), money),
    "bound": (N_("best possible value (bound)"), money),
    "customers_lost": (N_("customers expected lost"), tenths),
    "value_lost": (N_("value lost to stockouts"), money),
    "value_added": (N_("value the order adds"), money),
    "days_out": (N_("days out of stock"), count),
    "units_lost": (N_("units asked, not recorded"), tenths),
    "days_snapshot": (N_("days: stock count at 0"), count),
    "days_short": (N_("days: shortage recorded"), count),
    "days_inferred": (N_("days: inferred from no sales"), count),
    "usual_line": (N_("its usual line (units)"), tenths),
    "customers": (N_("customers"), count),
    "active": (N_("active customers"), count),
    "margin_per_year": (N_("margin per customer a year"), money),
    "retention": (N_("kept a year"), percent),
    "clv": (N_("CLV (3 years)"), money),
    "units_per_line": (N_("units per line"), tenths),
    "expected_stockouts": (N_("stockouts expected to meet"), tenths),
    "value_at_risk": (N_("CLV at risk"), money),
    "skus": (N_("SKUs they buy"), text),
    "metric": (N_("measure"), text),
    "difference": (N_("difference"), text),
    "95% CI": (N_("95% CI"), text),
}


def _fallback(
    column: str, series: pd.Series, words: Callable[[str], str] | None = None
) -> tuple[str, Format]:
    """Header and format of a column `COLUMNS` does not name: fill rates per tier
    (`fill_A`) as percentages, other numbers by their type."""
    if column.startswith("fill_"):
        pattern = (words or str)(N_("fill rate %(tier)s"))
        return pattern % {"tier": column.removeprefix("fill_")}, percent
    if pd.api.types.is_float_dtype(series):
        return column.replace("_", " "), tenths
    if pd.api.types.is_integer_dtype(series):
        return column.replace("_", " "), count
    return column.replace("_", " "), text


def html_table(
    frame: pd.DataFrame,
    columns: dict[str, tuple[str, Format]] | None = None,
    words: Callable[[str], str] | None = None,
) -> str:
    """`frame` as an HTML table for people: the index (when named) as the first column,
    headers and formats from `columns` (default `COLUMNS`), one header row; headers
    through gettext `words` (the report's language)."""
    known = COLUMNS if columns is None else {**COLUMNS, **columns}
    shown = frame.reset_index() if any(n is not None for n in frame.index.names) else frame
    out = {}
    for column in shown.columns:
        label, fmt = known.get(str(column)) or _fallback(str(column), shown[column], words)
        out[words(label) if words is not None else label] = [fmt(v) for v in shown[column].tolist()]
    table: str = pd.DataFrame(out).to_html(border=0, index=False, escape=True)
    return table
