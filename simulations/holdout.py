"""A censored hold-out: a generated world whose history, like most ERPs', never wrote
the order lines nothing was delivered on, cut `horizon` days before its end.

Used to judge forecasts of demand nobody recorded against the world's true demand
(the acceptance test and `benchmarks/forecast_accuracy.py --censored-only`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from contract import Dataset
from simulations.world import GeneratedWorld, generate, params_for


@dataclass(frozen=True)
class CensoredHoldout:
    """world: the generated truth. history: the orders before the cut-off (no
    stock_history, so every day out of stock must be inferred from sales). rows: the
    positions (in `world.dataset.skus`) of the SKUs out of stock on at least
    `share_out` of the days before the cut-off. truth: their true daily demand over
    the `horizon` days after it (units, SKUs x days)."""

    world: GeneratedWorld
    history: Dataset
    rows: np.ndarray
    truth: np.ndarray


def censored_holdout(
    seed: int, horizon: int = 28, size: str = "small", share_out: float = 0.2
) -> CensoredHoldout:
    """The hold-out of one seed; `service_z=0.0` keeps stock tight so stockouts are
    common, `snapshot_days=1` so the truth of which days were out is known."""
    world = generate(
        params_for(size, seed=seed, record_unserved=False, snapshot_days=1, service_z=0.0)
    )
    ds = world.dataset
    cut = ds.orders["date"].max() - pd.Timedelta(days=horizon - 1)
    history = Dataset(
        ds.suppliers, ds.skus, ds.orders[ds.orders["date"] < cut].reset_index(drop=True),
        ds.customers,
    )  # fmt: skip
    assert ds.stock_history is not None  # only to choose the SKUs; no forecast sees it
    before = ds.stock_history[ds.stock_history["date"] < cut]
    share = (before["on_hand"] == 0).groupby(before["sku_id"]).mean()
    rows = pd.Index(ds.skus["sku_id"]).get_indexer(share[share >= share_out].index)
    rows = np.sort(rows[rows >= 0])
    truth = world.true_demand[rows, world.params.days - horizon :]
    return CensoredHoldout(world=world, history=history, rows=rows, truth=truth)
