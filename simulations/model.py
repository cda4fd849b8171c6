"""What the simulator simulates, as plain arrays: the business (`SimWorld`) and how
customers react to stockouts (`Behaviour`).

A `SimWorld` is built from a generated world or estimated from a dataset's history
(`simulations.estimate`); the engine never looks at anything else. Units: days, units
of stock, currency; rates per customer per day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: How a customer reacts to a stockout, in the order of `Behaviour.reactions` columns.
REACTIONS = ("backorder", "substitute", "lost_sale", "no_purchase")


@dataclass(frozen=True)
class SimWorld:
    """Customers, SKUs and suppliers of one business, at the start of a simulation.

    Customers (arrays of length m): `segment` indexes `segments`; `rate` orders per day;
    `lines` mean lines per order (>= 1); a line comes from the customer's `favourite`
    category with probability `affinity`, else from the whole catalogue, by
    `popularity`; `active` whether they buy at the start; `clv` what keeping them is
    worth (currency). SKUs (length n): category, popularity (sums to 1),
    `mean_quantity` units per line (>= 1), cost, price, pack, MOQ, supplier, one
    `substitute` (-1 if none), stock on hand and on order. Suppliers (length j): lead
    time mean and sd (days), review period (days), fixed cost per order. `weekly`:
    relative order traffic per weekday (mean 1), day 0 falls on `start_weekday`.
    """

    segments: tuple[str, ...]
    customer_ids: np.ndarray
    segment: np.ndarray
    rate: np.ndarray
    lines: np.ndarray
    favourite: np.ndarray
    affinity: np.ndarray
    active: np.ndarray
    clv: np.ndarray
    sku_ids: np.ndarray
    category: np.ndarray
    popularity: np.ndarray
    mean_quantity: np.ndarray
    unit_cost: np.ndarray
    unit_price: np.ndarray
    pack_size: np.ndarray
    moq: np.ndarray
    supplier: np.ndarray
    substitute: np.ndarray
    on_hand: np.ndarray
    on_order: np.ndarray
    lead_mean: np.ndarray
    lead_sd: np.ndarray
    review: np.ndarray
    order_cost: np.ndarray
    weekly: np.ndarray
    start_weekday: int = 0

    @property
    def n_customers(self) -> int:
        return int(self.segment.size)

    @property
    def n_skus(self) -> int:
        return int(self.sku_ids.size)

    @property
    def n_categories(self) -> int:
        return int(self.category.max()) + 1 if self.category.size else 0

    def validate(self) -> None:
        """Raise ValueError naming the first array that contradicts the others."""
        m, n, j = self.n_customers, self.n_skus, self.lead_mean.size
        for name, size in (
            ("customer_ids", m), ("rate", m), ("lines", m), ("favourite", m),
            ("affinity", m), ("active", m), ("clv", m), ("category", n),
            ("popularity", n), ("mean_quantity", n), ("unit_cost", n), ("unit_price", n),
            ("pack_size", n), ("moq", n), ("supplier", n), ("substitute", n),
            ("on_hand", n), ("on_order", n), ("lead_sd", j), ("review", j),
            ("order_cost", j),
        ):  # fmt: skip
            shape = np.shape(getattr(self, name))
            if shape != (size,):
                raise ValueError(f"{name} needs {size} values, got shape {shape}")
        if m and (self.segment.min() < 0 or self.segment.max() >= len(self.segments)):
            raise ValueError("segment indices out of range")
        if (self.rate < 0).any() or not np.isfinite(self.rate).all():
            raise ValueError("purchase rates must be finite and non-negative")
        if (self.lines < 1).any() or (self.mean_quantity < 1).any():
            raise ValueError("lines per order and units per line must be at least 1")
        if ((self.affinity < 0) | (self.affinity > 1)).any():
            raise ValueError("affinities must lie in [0, 1]")
        if n and abs(float(self.popularity.sum()) - 1.0) > 1e-6:
            raise ValueError("SKU popularity must sum to 1")
        if (self.on_hand < 0).any() or (self.on_order < 0).any():
            raise ValueError("stock on hand and on order must be non-negative")
        if (self.pack_size < 1).any() or (self.review < 1).any():
            raise ValueError("pack sizes and review periods must be at least 1")
        if n and (self.supplier.min() < 0 or self.supplier.max() >= j):
            raise ValueError("supplier indices out of range")
        if n and (self.substitute.max() >= n or self.substitute.min() < -1):
            raise ValueError("substitute indices out of range")
        if self.weekly.shape != (7,) or (self.weekly < 0).any():
            raise ValueError("weekly needs 7 non-negative weights")

    def expected_daily_demand(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of units per day per (SKU, segment) from the active customers.

        Lines of segment g hit SKU i at rate sum over g's customers of rate x lines x
        (affinity x P(i | favourite) + (1 - affinity) x popularity_i); units per line are
        1 + Poisson(mean_quantity - 1), so the compound-Poisson variance is
        line_rate x E[Q^2] = line_rate x (mean - 1 + mean^2).
        """
        k, c = len(self.segments), max(self.n_categories, 1)
        weight = self.rate * self.lines * self.active
        fav = np.zeros((k, c))
        np.add.at(fav, (self.segment, self.favourite), weight * self.affinity)
        spread = np.bincount(self.segment, weights=weight * (1 - self.affinity), minlength=k)
        cat_pop = np.bincount(self.category, weights=self.popularity, minlength=c)
        within = self.popularity / np.maximum(cat_pop[self.category], 1e-300)
        line_rate = (
            fav[:, self.category].T * within[:, None] + spread[None, :] * (self.popularity[:, None])
        )
        mu = self.mean_quantity[:, None]
        return line_rate * mu, line_rate * (mu - 1.0 + mu**2)


@dataclass(frozen=True)
class Behaviour:
    """How customers of each segment react to a stockout (arrays of one value per segment).

    `reactions[g]`: shares of (backorder, substitute, lost_sale, no_purchase), summing to
    1; a substitute is only taken when the SKU has one with stock, else the sale is lost.
    `churn_per_stockout[g]`: probability a customer stops buying after an order line of
    theirs falls short (each short line is one event). `return_probability[g]`: chance a
    customer lost that way comes back, after an exponential wait of `mean_days_to_return`
    days. `base_churn_daily[g]`: hazard of leaving for other reasons (no return).
    Compensation (a coupon worth `coupon_cost` per stockout event) multiplies the churn
    probability by 1 - `coupon_effect` when switched on by the scenario.
    """

    reactions: np.ndarray  # (k, 4)
    churn_per_stockout: np.ndarray
    return_probability: np.ndarray
    base_churn_daily: np.ndarray
    mean_days_to_return: float = 90.0
    coupon_cost: float = 5.0
    coupon_effect: float = 0.5

    def validate(self, n_segments: int) -> None:
        if self.reactions.shape != (n_segments, len(REACTIONS)):
            raise ValueError(f"reactions need shape ({n_segments}, {len(REACTIONS)})")
        if (self.reactions < 0).any() or not np.allclose(self.reactions.sum(axis=1), 1.0):
            raise ValueError(f"reaction shares ({', '.join(REACTIONS)}) must sum to 1 per segment")
        for name in ("churn_per_stockout", "return_probability", "base_churn_daily"):
            value = getattr(self, name)
            if value.shape != (n_segments,):
                raise ValueError(f"{name} needs one value per segment ({n_segments})")
            if ((value < 0) | (value > 1)).any():
                raise ValueError(f"{name} must lie in [0, 1]")
        if self.mean_days_to_return <= 0 or self.coupon_cost < 0:
            raise ValueError("mean_days_to_return must be positive and coupon_cost non-negative")
        if not 0 <= self.coupon_effect <= 1:
            raise ValueError("coupon_effect must lie in [0, 1]")
