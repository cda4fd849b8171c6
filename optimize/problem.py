"""The replenishment problem as plain data: SKUs, demand pmfs per segment, constraints.

Units: quantities in units, money in the dataset's currency, volume in the unit of
`unit_volume`. Demand is over each SKU's protection interval (lead time + review
period): one pmf per (SKU, segment), P(demand = k units) for k = 0, 1, ...

The stockout cost of one unit of unmet demand from segment s for SKU i (DESIGN.md):

    stockout_cost[i, s] = unit_margin[i] + P(churn | stockout, s) * CLV_s / units_per_purchase_s

Segments with a higher stockout cost are served first when stock is short.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

PMF_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ReorderProblem:
    """One reorder decision for every SKU, sharing a budget and a warehouse volume.

    Arrays are aligned with `sku_ids`; `pmfs[i][s]` is SKU i's demand pmf for segment s.
    `holding_cost[i]`: cost of one unit left over at the end of the interval.
    `max_units[i]`: most units that may be ordered (shelf life / cover; inf if none).
    `supplier[i]` indexes `supplier_ids`; suppliers have a minimum order value and a
    fixed cost per order. `budget` (currency) and `capacity` (volume) may be None.
    `interval_mean` and `interval_var` (n_skus, n_segments): the mean and variance the
    pmfs were made from, when known (else the pmfs' own moments); `protection_days`:
    each SKU's protection interval (days), when known.
    """

    sku_ids: np.ndarray
    segments: tuple[str, ...]
    pmfs: tuple[tuple[np.ndarray, ...], ...]
    stockout_cost: np.ndarray  # (n_skus, n_segments)
    position: np.ndarray  # on hand + on order - backorders, units
    unit_cost: np.ndarray
    holding_cost: np.ndarray
    pack_size: np.ndarray
    moq: np.ndarray
    unit_volume: np.ndarray
    max_units: np.ndarray
    supplier: np.ndarray
    supplier_ids: tuple[str, ...]
    supplier_min_value: np.ndarray
    supplier_order_cost: np.ndarray
    budget: float | None = None
    capacity: float | None = None
    interval_mean: np.ndarray | None = None
    interval_var: np.ndarray | None = None
    protection_days: np.ndarray | None = None

    @property
    def n_skus(self) -> int:
        return len(self.sku_ids)

    @cached_property
    def demand_means(self) -> np.ndarray:
        """Mean demand over the interval per (SKU, segment), units."""
        if self.interval_mean is not None:
            return np.asarray(self.interval_mean, dtype=float)
        return self._moment(1)

    @cached_property
    def demand_vars(self) -> np.ndarray:
        """Variance of demand over the interval per (SKU, segment), units squared."""
        if self.interval_var is not None:
            return np.asarray(self.interval_var, dtype=float)
        return np.asarray(np.maximum(self._moment(2) - self._moment(1) ** 2, 0.0))

    def _moment(self, order: int) -> np.ndarray:
        """sum_k k^order P(k) of every pmf, shape (n_skus, n_segments)."""
        return np.array(
            [[float((np.arange(p.size) ** order) @ p) for p in row] for row in self.pmfs]
        ).reshape(self.n_skus, len(self.segments))

    @property
    def segment_mix(self) -> np.ndarray:
        """Each segment's share of the catalogue's demand (equal shares if there is none)."""
        return catalogue_mix(self.demand_means)

    def validate(self) -> None:
        """Raise ValueError naming the first contradiction in the inputs."""
        n, k = self.n_skus, len(self.segments)
        for name in (
            "position",
            "unit_cost",
            "holding_cost",
            "pack_size",
            "moq",
            "unit_volume",
            "max_units",
            "supplier",
        ):
            arr = getattr(self, name)
            if np.shape(arr) != (n,):
                raise ValueError(f"{name} needs one value per SKU ({n}), got shape {np.shape(arr)}")
            if name != "max_units" and not np.isfinite(np.asarray(arr, dtype=float)).all():
                raise ValueError(f"{name} holds NaN or infinite values")
        if np.shape(self.stockout_cost) != (n, k):
            raise ValueError(
                f"stockout_cost needs shape ({n}, {k}), got {np.shape(self.stockout_cost)}"
            )
        if (self.stockout_cost < 0).any() or not np.isfinite(self.stockout_cost).all():
            raise ValueError("stockout costs must be finite and non-negative")
        if (
            (self.unit_cost < 0).any()
            or (self.holding_cost < 0).any()
            or (self.unit_volume < 0).any()
        ):
            raise ValueError("unit costs, holding costs and volumes must be non-negative")
        if (self.pack_size < 1).any() or (self.moq < 0).any():
            raise ValueError("pack sizes must be at least 1 and MOQs non-negative")
        if (np.asarray(self.max_units) < 0).any():
            raise ValueError("max_units must be non-negative")
        if self.budget is not None and (not np.isfinite(self.budget) or self.budget < 0):
            raise ValueError(f"the budget must be a non-negative amount, got {self.budget}")
        if self.capacity is not None and (not np.isfinite(self.capacity) or self.capacity < 0):
            raise ValueError(f"the capacity must be a non-negative volume, got {self.capacity}")
        if len(self.pmfs) != n or any(len(row) != k for row in self.pmfs):
            raise ValueError(f"pmfs needs {k} pmf(s) for each of the {n} SKUs")
        # All pmfs checked as one flat array: a catalogue has thousands of them.
        flat = [np.asarray(pmf) for row in self.pmfs for pmf in row]
        sizes = np.array([p.size if p.ndim == 1 else 0 for p in flat], dtype=np.int64)
        values = np.concatenate(flat) if (sizes > 0).all() else np.zeros(0)
        bad = np.zeros(len(flat), dtype=bool)
        bad[sizes == 0] = True
        if values.size:
            starts = np.cumsum(sizes) - sizes
            broken = (values < 0) | ~np.isfinite(values)
            bad |= np.add.reduceat(broken, starts) > 0
            off = np.abs(np.add.reduceat(np.where(broken, 0.0, values), starts) - 1.0)
            off = np.where(bad, 0.0, off)
        else:
            off = np.zeros(len(flat))
        for which, reason in ((bad, None), (off > PMF_TOLERANCE, "sum")):
            if which.any():
                first = int(np.flatnonzero(which)[0])
                i, seg = divmod(first, k)
                name = f"pmf of {self.sku_ids[i]}, segment {self.segments[seg]}"
                if reason is None:
                    raise ValueError(f"{name}: not a probability vector")
                raise ValueError(f"{name} sums to {float(flat[first].sum()):.6f}, not 1")
        if self.supplier.size and (
            self.supplier.min() < 0 or self.supplier.max() >= len(self.supplier_ids)
        ):
            raise ValueError("supplier indices out of range")
        if np.shape(self.supplier_min_value) != (len(self.supplier_ids),) or np.shape(
            self.supplier_order_cost
        ) != (len(self.supplier_ids),):
            raise ValueError("supplier terms need one value per supplier")


def catalogue_mix(demand_means: np.ndarray) -> np.ndarray:
    """Each segment's share of the demand of all SKUs together, from mean demands per
    (SKU, segment) (equal shares if there is none)."""
    mix = np.asarray(demand_means, dtype=float).sum(axis=0)
    total = float(mix.sum())
    return mix / total if total > 0 else np.full(mix.size, 1.0 / mix.size)
