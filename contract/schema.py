"""The data contract: the tables of a replenish dataset, their columns and rules.

This module only *declares* the contract (plain frozen dataclasses); reading files lives
in `contract.sources` and checking values in `contract.validation`. Units: days for
lead times, currency (the dataset's one currency) for prices and costs, units for
quantities, cubic metres (or any consistent volume unit) for `unit_volume`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd


class Kind(Enum):
    """The logical type of a column; each maps to one pandas dtype in a loaded Dataset."""

    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    DATE = "date"

    @property
    def dtype(self) -> pd.api.extensions.ExtensionDtype | np.dtype:
        """Text is Arrow-backed (compact for millions of ids); dates are day-precision."""
        if self is Kind.TEXT:
            return pd.StringDtype("pyarrow")
        return np.dtype({"int": "int64", "float": "float64", "date": "datetime64[ns]"}[self.value])


@dataclass(frozen=True)
class Column:
    """One column of a table.

    `required`: the column must be present in the file. `nullable`: cells may stay empty.
    `default`: value for an absent column and for empty cells. `inherit`: (foreign-key
    column, column of the referenced table) giving the default per row, e.g. a SKU's lead
    time defaults to its supplier's. `minimum`/`maximum` bound numeric values
    (`strict_minimum` makes the minimum exclusive). `not_future`: dates after the
    validation day are rejected.
    """

    name: str
    kind: Kind
    description: str
    required: bool = True
    nullable: bool = False
    default: str | int | float | None = None
    inherit: tuple[str, str] | None = None
    minimum: float | None = None
    strict_minimum: bool = False
    maximum: float | None = None
    not_future: bool = False

    @property
    def fillable(self) -> bool:
        """True when an empty cell can be filled instead of rejected."""
        return self.default is not None or self.inherit is not None or self.nullable


@dataclass(frozen=True)
class ForeignKey:
    """`column` of this table must name an existing `table.column` (empty cells excepted)."""

    column: str
    table: str
    target: str
    list_separator: str | None = None  # the cell holds a separated list of ids


@dataclass(frozen=True)
class Table:
    """One table of the contract: columns, primary key, references, whether it must exist."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool
    description: str
    foreign_keys: tuple[ForeignKey, ...] = ()

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


SUPPLIERS = Table(
    name="suppliers",
    description="Who we buy from, how long they take, and what an order costs.",
    key=("supplier_id",),
    required=True,
    columns=(
        Column("supplier_id", Kind.TEXT, "Unique supplier id."),
        Column("name", Kind.TEXT, "Supplier name.", required=False, default=""),
        Column("lead_time_days", Kind.FLOAT, "Mean lead time, days.", minimum=0),
        Column(
            "lead_time_sd_days",
            Kind.FLOAT,
            "Standard deviation of the lead time, days.",
            required=False,
            default=0.0,
            minimum=0,
        ),
        Column(
            "review_period_days",
            Kind.FLOAT,
            "Days between two orders to this supplier.",
            required=False,
            default=7.0,
            minimum=0,
            strict_minimum=True,
        ),
        Column(
            "min_order_value",
            Kind.FLOAT,
            "Smallest order the supplier accepts, currency.",
            required=False,
            default=0.0,
            minimum=0,
        ),
        Column(
            "order_cost",
            Kind.FLOAT,
            "Fixed cost of placing one order, currency.",
            required=False,
            default=0.0,
            minimum=0,
        ),
    ),
)

SKUS = Table(
    name="skus",
    description="The catalogue: what each item costs, sells for, and how it is bought.",
    key=("sku_id",),
    required=True,
    foreign_keys=(
        ForeignKey("supplier_id", "suppliers", "supplier_id"),
        ForeignKey("substitutes", "skus", "sku_id", list_separator=";"),
    ),
    columns=(
        Column("sku_id", Kind.TEXT, "Unique SKU id."),
        Column("name", Kind.TEXT, "Item name.", required=False, default=""),
        Column("category", Kind.TEXT, "Category name.", required=False, default=""),
        Column("supplier_id", Kind.TEXT, "The supplier this SKU is bought from."),
        Column("unit_cost", Kind.FLOAT, "Purchase cost per unit, currency.", minimum=0),
        Column(
            "unit_price",
            Kind.FLOAT,
            "Selling price per unit, currency.",
            minimum=0,
            strict_minimum=True,
        ),
        Column(
            "pack_size", Kind.INT, "Units per pack ordered.", required=False, default=1, minimum=1
        ),
        Column(
            "moq", Kind.INT, "Minimum order quantity, units.", required=False, default=0, minimum=0
        ),
        Column(
            "unit_volume", Kind.FLOAT, "Volume of one unit.", required=False, default=0.0, minimum=0
        ),
        Column(
            "lead_time_days",
            Kind.FLOAT,
            "Lead time, days; empty means the supplier's.",
            required=False,
            inherit=("supplier_id", "lead_time_days"),
            minimum=0,
        ),
        Column(
            "substitutes",
            Kind.TEXT,
            "';'-separated sku_ids a customer accepts instead.",
            required=False,
            nullable=True,
        ),
    ),
)

CUSTOMERS = Table(
    name="customers",
    description="Known customers; optional (anonymous sales get one segment).",
    key=("customer_id",),
    required=False,
    columns=(
        Column("customer_id", Kind.TEXT, "Unique customer id."),
        Column("since", Kind.DATE, "First day as a customer.", not_future=True),
        Column(
            "strategic",
            Kind.FLOAT,
            "Strategic fit score in [0, 1].",
            required=False,
            nullable=True,
            minimum=0,
            maximum=1,
        ),
        Column(
            "reputation",
            Kind.FLOAT,
            "Reputation score in [0, 1].",
            required=False,
            nullable=True,
            minimum=0,
            maximum=1,
        ),
    ),
)

ORDERS = Table(
    name="orders",
    description="Order lines: what was asked for, what was delivered, what was short.",
    key=("order_id", "sku_id"),
    required=True,
    foreign_keys=(
        ForeignKey("sku_id", "skus", "sku_id"),
        ForeignKey("customer_id", "customers", "customer_id"),
    ),
    columns=(
        Column("order_id", Kind.TEXT, "Order id; one line per (order_id, sku_id)."),
        Column("date", Kind.DATE, "Order day.", not_future=True),
        Column(
            "customer_id",
            Kind.TEXT,
            "Customer id; empty for an anonymous sale.",
            required=False,
            nullable=True,
        ),
        Column("sku_id", Kind.TEXT, "The SKU ordered."),
        Column("quantity", Kind.INT, "Units delivered.", minimum=0),
        Column(
            "unit_price",
            Kind.FLOAT,
            "Price per unit paid, currency; empty means the SKU's list price.",
            required=False,
            inherit=("sku_id", "unit_price"),
            minimum=0,
        ),
        Column(
            "quantity_short",
            Kind.INT,
            "Units requested but not delivered (a stockout).",
            required=False,
            default=0,
            minimum=0,
        ),
    ),
)

INVENTORY = Table(
    name="inventory",
    description="Stock position per SKU at one day.",
    key=("sku_id",),
    required=False,
    foreign_keys=(ForeignKey("sku_id", "skus", "sku_id"),),
    columns=(
        Column("sku_id", Kind.TEXT, "The SKU."),
        Column("on_hand", Kind.INT, "Units in the warehouse.", minimum=0),
        Column(
            "on_order",
            Kind.INT,
            "Units ordered, not yet received.",
            required=False,
            default=0,
            minimum=0,
        ),
        Column("as_of", Kind.DATE, "Day of the count.", not_future=True),
    ),
)

STOCK_HISTORY = Table(
    name="stock_history",
    description="Stock on hand per SKU at past days (snapshots at any cadence): with it, "
    "days out of stock are known rather than inferred.",
    key=("sku_id", "date"),
    required=False,
    foreign_keys=(ForeignKey("sku_id", "skus", "sku_id"),),
    columns=(
        Column("sku_id", Kind.TEXT, "The SKU."),
        Column("date", Kind.DATE, "Day of the snapshot.", not_future=True),
        Column("on_hand", Kind.INT, "Units on hand that day.", minimum=0),
    ),
)

#: Tables in dependency order: a table's references point to tables before it.
TABLES: tuple[Table, ...] = (SUPPLIERS, SKUS, CUSTOMERS, ORDERS, INVENTORY, STOCK_HISTORY)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
