"""Building a `SimWorld` and its `Behaviour`: from a generated world, or from a dataset.

From a dataset, every customer's purchase rate, basket size and category preference
are estimated from their own order history (the last `window_days`), stock comes from
the inventory table, lead times and review periods from the suppliers table, so a
planner simulates their own business. Churn per stockout is fitted on the history
(a hazard model shrunk toward the sector preset, `simulations.churn`) when it can be, else the
sector preset's annual loss is turned into a per-event probability given each
customer's observed stockout exposure.

Reaction shares default to the worldwide out-of-stock study of Gruen, Corsten and
Bharadwaj (2002): 15% wait (backorder), 45% substitute, 31% buy elsewhere, 9% do not
buy; every number is overridable by the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from contract.dataset import Dataset
from forecast.bulk_orders import outsize_lines
from forecast.engine import DatasetForecast, ForecastConfig, ForecastResult, refit_panel
from forecast.panel import TOTAL, Panel, Uncensoring
from forecast.segments import (
    SegmentConfig,
    Segments,
    clv_factor,
    customer_clv,
    segment_customers,
)
from simulations.calibration import per_event_churn_exposure
from simulations.churn import churn_from_history, exposure_days
from simulations.engine import DemandEstimate
from simulations.model import Behaviour, SimWorld
from simulations.world import PRESETS, TIERS, GeneratedWorld

DEFAULT_REACTIONS = (0.15, 0.45, 0.31, 0.09)  # in the order of REACTIONS


def daily_hazard(annual: float) -> float:
    """Daily probability that loses `annual` of a population over 365.25 days."""
    return float(1.0 - (1.0 - annual) ** (1.0 / 365.25))


def _suppliers(dataset: Dataset) -> dict[str, np.ndarray]:
    """SimWorld's supplier arrays (and each SKU's supplier index) from the dataset."""
    sup = dataset.suppliers
    skus = dataset.skus
    review = np.maximum(np.round(sup["review_period_days"].to_numpy(dtype=float)), 1)
    return {
        "supplier": pd.Index(sup["supplier_id"]).get_indexer(skus["supplier_id"]).astype(np.int64),
        "lead_mean": sup["lead_time_days"].to_numpy(dtype=float),
        "lead_sd": sup["lead_time_sd_days"].fillna(0.0).to_numpy(dtype=float),
        "review": review.astype(np.int64),
        "order_cost": sup["order_cost"].fillna(0.0).to_numpy(dtype=float),
    }


def _skus(dataset: Dataset) -> dict[str, np.ndarray]:
    skus = dataset.skus
    index = pd.Index(skus["sku_id"])
    subs = skus["substitutes"].astype("string").fillna("").str.split(";").str[0]
    substitute = index.get_indexer(pd.Index(subs.fillna("")))
    inv = (
        dataset.inventory.set_index("sku_id")
        if dataset.inventory is not None
        else pd.DataFrame({"on_hand": [], "on_order": []}, dtype=np.int64)
    )
    category = pd.factorize(skus["category"].astype("string").fillna(""), sort=True)[0]
    return {
        "sku_ids": skus["sku_id"].to_numpy(dtype=object),
        "category": category.astype(np.int64),
        "unit_cost": skus["unit_cost"].to_numpy(dtype=float),
        "unit_price": skus["unit_price"].to_numpy(dtype=float),
        "pack_size": skus["pack_size"].to_numpy(dtype=np.int64),
        "moq": skus["moq"].to_numpy(dtype=np.int64),
        "substitute": substitute.astype(np.int64),
        "on_hand": inv["on_hand"].reindex(index).fillna(0).to_numpy(dtype=np.int64),
        "on_order": inv["on_order"].reindex(index).fillna(0).to_numpy(dtype=np.int64),
    }


def from_generated(world: GeneratedWorld) -> tuple[SimWorld, Behaviour]:
    """The generator's own truth, picked up where its history ends."""
    p = world.params
    truth, sku_truth, data = world.customer_truth, world.sku_truth, world.dataset
    skus = _skus(data)
    categories = sorted(data.skus["category"].astype(str).unique())
    favourite = pd.Index(categories).get_indexer(truth["favourite_category"].astype(str))
    # Demand mix on the last day of the history: season, trend and launches included.
    t = (p.days - 1) / 365.25
    weight = (
        sku_truth["popularity"].to_numpy()
        * (1 + sku_truth["season_amplitude"] * np.sin(2 * np.pi * t + sku_truth["season_phase"]))
        * np.exp(sku_truth["trend_per_year"] * (t - p.days / 730.5))
        * (p.days - 1 >= sku_truth["launch_day"])
    ).to_numpy(dtype=float)
    segment = truth["tier"].cat.codes.to_numpy().astype(np.int64)
    rate = truth["orders_per_year"].to_numpy(dtype=float) / 365.25
    lines = truth["lines_per_order"].to_numpy(dtype=float)
    mean_qty = sku_truth["mean_quantity"].to_numpy(dtype=float)
    margin_per_line = float(
        (weight / weight.sum()) @ (mean_qty * (skus["unit_price"] - skus["unit_cost"]))
    )
    preset = p.preset
    retention = 1.0 - preset.base_churn_annual
    clv = rate * 365.25 * lines * margin_per_line * clv_factor(retention)
    sim = SimWorld(
        segments=TIERS,
        customer_ids=truth["customer_id"].to_numpy(dtype=object),
        segment=segment,
        rate=rate,
        lines=np.maximum(lines, 1.0),
        favourite=favourite.astype(np.int64),
        affinity=truth["affinity"].to_numpy(dtype=float),
        active=~truth["churned"].to_numpy(dtype=bool),
        clv=clv,
        popularity=weight / weight.sum(),
        mean_quantity=mean_qty,
        weekly=np.asarray(preset.weekly_profile, dtype=float),
        start_weekday=(p.end_date.weekday() + 1) % 7,
        **skus,
        **_suppliers(data),
    )
    return_probability = p.return_probability
    if return_probability is None:
        return_probability = preset.return_probability
    behaviour = Behaviour(
        reactions=np.tile(DEFAULT_REACTIONS, (3, 1)),
        churn_per_stockout=np.array([world.churn_per_stockout[t] for t in TIERS]),
        return_probability=np.full(3, return_probability),
        base_churn_daily=np.full(3, daily_hazard(preset.base_churn_annual)),
        mean_days_to_return=p.mean_days_to_return,
    )
    return sim, behaviour


def from_dataset(
    dataset: Dataset,
    segments: Segments | None = None,
    sector: str = "retail",
    churn: str = "fitted",
    window_days: int = 365,
) -> tuple[SimWorld, Behaviour, str]:
    """Estimate the world behind a dataset; also says where churn per stockout came from.

    `churn`: "fitted" (logit on the history, falling back to the preset when it cannot
    be fitted) or "preset" (the sector's annual loss given each customer's exposure).
    Raises ValueError when the orders carry no customers to simulate.
    """
    if sector not in PRESETS:
        raise ValueError(f"unknown sector {sector!r}; choose one of {sorted(PRESETS)}")
    if churn not in ("fitted", "preset"):
        raise ValueError("churn must be 'fitted' or 'preset'")
    if dataset.customers is None:
        raise ValueError("the simulator needs customers: the dataset has no customers table")
    segs = segments or segment_customers(dataset, config=SegmentConfig())
    # One-off bulk lines are not the demand to simulate, as they are not the demand the
    # forecast plans for (`forecast.bulk_orders`): they would make a SKU's every line
    # thousands of units.
    named = dataset.orders["customer_id"].notna().to_numpy()
    orders = dataset.orders[named & ~outsize_lines(dataset.orders)]
    if orders.empty:
        raise ValueError("the simulator needs order lines with a customer_id")
    end = orders["date"].max()
    recent = orders[orders["date"] > end - pd.Timedelta(days=window_days)]
    skus = _skus(dataset)
    ids = pd.Index(dataset.customers["customer_id"])
    m, n = len(ids), len(skus["sku_ids"])
    cust = ids.get_indexer(recent["customer_id"])
    sku = pd.Index(dataset.skus["sku_id"]).get_indexer(recent["sku_id"])
    asked = (recent["quantity"] + recent["quantity_short"]).to_numpy(dtype=float)

    # Per customer: orders, lines, days observed (since they joined, within the window).
    n_lines = np.bincount(cust, minlength=m).astype(float)
    order_keys = pd.DataFrame({"c": cust, "o": recent["order_id"].to_numpy()}).drop_duplicates()
    n_orders = np.bincount(order_keys["c"].to_numpy(), minlength=m).astype(float)
    since = pd.to_datetime(dataset.customers["since"]).to_numpy()
    window_start = np.datetime64((end - pd.Timedelta(days=window_days - 1)).to_datetime64())
    first_day = np.maximum(since.astype("datetime64[ns]"), window_start)
    observed = (np.datetime64(end.to_datetime64()) - first_day) / np.timedelta64(1, "D") + 1
    observed = np.clip(observed, 30.0, float(window_days))
    rate = n_orders / observed
    lines = np.where(n_orders > 0, n_lines / np.maximum(n_orders, 1), 1.0)

    # Favourite category, shrunk toward the catalogue's mix for customers with few lines.
    n_cat = int(skus["category"].max()) + 1
    line_cat = skus["category"][sku]
    # Lines per (customer, category) pair seen, not a dense customers x categories table.
    pairs = pd.Series(cust * n_cat + line_cat).value_counts(sort=False)
    pair_customer, pair_category = pairs.index.to_numpy() // n_cat, pairs.index.to_numpy() % n_cat
    best = np.lexsort((pair_category, -pairs.to_numpy(), pair_customer))  # most lines first
    first = best[np.r_[True, pair_customer[best][1:] != pair_customer[best][:-1]]]
    favourite = np.zeros(m, dtype=np.int64)
    fav_lines = np.zeros(m)
    favourite[pair_customer[first]] = pair_category[first]
    fav_lines[pair_customer[first]] = pairs.to_numpy()[first]
    cat_share = np.bincount(line_cat, minlength=n_cat) / max(line_cat.size, 1)
    prior = 2.0
    affinity = (fav_lines + prior * cat_share[favourite]) / (n_lines + prior)

    popularity = np.bincount(sku, minlength=n).astype(float)
    if popularity.sum() <= 0:
        raise ValueError(f"no order lines in the last {window_days} days to estimate demand from")
    line_units = np.bincount(sku, weights=asked, minlength=n)
    mean_qty = np.where(popularity > 0, line_units / np.maximum(popularity, 1), 1.0)
    popularity /= popularity.sum()

    last = pd.Series(recent["date"].to_numpy()).groupby(cust).max()
    recency = np.full(m, np.inf)
    recency[last.index.to_numpy()] = (end - last).dt.days.to_numpy(dtype=float)
    interval = np.where(rate > 0, 1.0 / np.maximum(rate, 1e-12), np.inf)
    active = (n_orders > 0) & (recency <= np.maximum(90.0, 3.0 * interval))

    tier = segs.customers.set_index("customer_id")["tier"].astype(str).reindex(ids)
    segment = pd.Index(TIERS).get_indexer(pd.Index(tier.fillna("C"))).astype(np.int64)
    clv = customer_clv(segs, ids)

    weekday = recent["date"].dt.weekday.to_numpy()
    weekly = np.bincount(weekday, minlength=7).astype(float)
    weekly = weekly / weekly.mean() if weekly.sum() > 0 else np.ones(7)
    sim = SimWorld(
        segments=TIERS,
        customer_ids=ids.to_numpy(dtype=object),
        segment=segment,
        rate=rate,
        lines=np.maximum(lines, 1.0),
        favourite=favourite.astype(np.int64),
        affinity=np.clip(affinity, 0.0, 1.0),
        active=active,
        clv=clv,
        popularity=popularity,
        mean_quantity=np.maximum(mean_qty, 1.0),
        weekly=weekly,
        start_weekday=(end.weekday() + 1) % 7,
        **skus,
        **_suppliers(dataset),
    )
    sim.validate()

    preset = PRESETS[sector]
    per_event, source = None, ""
    if churn == "fitted":
        try:
            out, start = exposure_days(dataset)
            fit = churn_from_history(dataset, tier.dropna(), out, start, sector)
            per_event = np.array([fit.means().get(t, 0.0) for t in TIERS])
            sources = "/".join(sorted({c.source for c in fit.per_tier.values()}))
            source = f"{sources}: {fit.note}, shrunk toward the {sector} preset"
        except (ValueError, np.linalg.LinAlgError) as exc:
            source = f"could not fit ({exc}); "
    if per_event is None:
        short = np.bincount(cust, weights=(recent["quantity_short"] > 0).to_numpy(), minlength=m)
        exposure = short / observed * 365.25
        # A tier that met no stockout in the history gets the whole base's exposure, and
        # a history without stockouts one event per customer-year.
        if not exposure.any():
            exposure = np.ones(m)
        per_event = np.array(
            [
                per_event_churn_exposure(
                    preset.stockout_churn_annual,
                    exposure[segment == g] if exposure[segment == g].any() else exposure,
                )
                for g in range(len(TIERS))
            ]
        )
        source += f"{sector} preset ({preset.stockout_churn_annual:.1%} a year lost to stockouts)"
    behaviour = Behaviour(
        reactions=np.tile(DEFAULT_REACTIONS, (len(TIERS), 1)),
        churn_per_stockout=np.clip(per_event, 0.0, 1.0),
        return_probability=np.full(len(TIERS), preset.return_probability),
        base_churn_daily=np.full(len(TIERS), daily_hazard(preset.base_churn_annual)),
    )
    return sim, behaviour, source


def _per_day(
    sku_ids: tuple[str, ...], segments: tuple[str, ...], protection: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Forecast mean and variance over each protection interval divided by its days
    (units per day), per (SKU, segment) in the world's order; 0 where the forecast has
    no row (a SKU or segment it never saw)."""
    per_day = protection.assign(
        daily_mean=protection["mean"] / protection["days"].clip(lower=1e-9),
        daily_var=protection["variance"] / protection["days"].clip(lower=1e-9),
    ).set_index(["sku_id", "segment"])
    keys = pd.MultiIndex.from_product([list(sku_ids), list(segments)])
    shape = (len(sku_ids), len(segments))
    mean = per_day["daily_mean"].reindex(keys).fillna(0.0).to_numpy(dtype=float)
    var = per_day["daily_var"].reindex(keys).fillna(0.0).to_numpy(dtype=float)
    return np.maximum(mean.reshape(shape), 0.0), np.maximum(var.reshape(shape), 0.0)


@dataclass(frozen=True)
class ForecastRefresh:
    """The product's forecast engine fed with what a simulated policy observed.

    At a replan the policy's own days (units asked per SKU and segment, days with a
    short line censored, as `forecast.panel` censors a recorded history) are appended
    to the history before the run, and every SKU is refit with the model the engine
    chose on that history (`forecast.engine.refit_panel`). `history`: the panel the
    first forecast was made on, its segments extended by any world segment it lacked;
    `segment_index[g]`: world segment g's row in it.
    """

    world_sku_ids: tuple[str, ...]
    world_segments: tuple[str, ...]
    history: Panel = field(repr=False)
    segment_index: np.ndarray
    protection_days: np.ndarray
    lead_time_sd: np.ndarray
    previous: ForecastResult = field(repr=False)
    #: The history's uncensoring, which the run's days extend (a replan redoes no day).
    uncensoring: Uncensoring = field(repr=False)
    #: Units per history segment and day, all SKUs (the catalogue's recent mix).
    segment_days: np.ndarray = field(repr=False)

    def __call__(
        self,
        demand: np.ndarray,
        censored: np.ndarray,
        changed: np.ndarray | None = None,
        previous: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Daily (mean, variance) per (SKU, world segment) after the run's days so far:
        `demand` (SKUs, world segments, days) units asked, `censored` (SKUs, days). With
        `changed` and `previous`, only the SKUs `changed` are refit (each as a refit of
        all would have it); the others keep `previous`."""
        h = self.history
        n, _, t = demand.shape
        days = np.zeros((n, len(h.segments), t), dtype=np.float32)
        days[:, self.segment_index, :] = demand
        rows = np.arange(n) if changed is None or previous is None else np.flatnonzero(changed)
        if rows.size == 0 and previous is not None:
            return previous
        whole = rows.size == n
        part = slice(None) if whole else rows
        panel = replace(
            h,
            sku_ids=h.sku_ids[part],
            demand=np.concatenate([h.demand[part], days[part]], axis=2),
            censored=np.concatenate([h.censored[part], censored[part].astype(bool)], axis=1),
        )
        uncensored = self.uncensoring.extend(
            days.sum(axis=1)[part], censored[part], None if whole else rows
        )
        result = refit_panel(
            panel, self.protection_days[part], self.previous,
            lead_time_sd=self.lead_time_sd[part], detail=False, uncensored=uncensored,
            mix=None if whole else self._recent_mix(days),
        )  # fmt: skip
        ids = tuple(self.world_sku_ids[i] for i in rows)
        mean, var = _per_day(ids, self.world_segments, result.protection)
        if whole or previous is None:
            return mean, var
        out_mean, out_var = previous[0].copy(), previous[1].copy()
        out_mean[rows], out_var[rows] = mean, var
        return out_mean, out_var

    def _recent_mix(self, days: np.ndarray) -> np.ndarray:
        """Units per history segment over the forecast's share window, all SKUs: the
        history's last days and the run's (`days`: SKUs, segments, days)."""
        window = ForecastConfig().share_days
        t = days.shape[2]
        from_history = self.segment_days[:, self.segment_days.shape[1] - max(window - t, 0) :]
        return np.asarray(
            from_history.sum(axis=1) + days[:, :, max(t - window, 0) :].sum(axis=(0, 2)),
            dtype=float,
        )


def planning_demand(
    world: SimWorld, forecast: DatasetForecast, refresh: bool = True
) -> DemandEstimate:
    """The product's forecast as the demand the simulated policies plan with: per (SKU,
    segment), in the world's order, the forecast mean and variance over the protection
    interval divided by its days (units per day). What the forecast does not cover
    (a SKU or segment it never saw) is 0: the policies know only what the history
    showed. With `refresh`, their replans refit the engine on the history they observe
    (`ForecastRefresh`); without, they smooth the demand they observe."""
    if [str(s) for s in forecast.panel.sku_ids] != [str(s) for s in world.sku_ids]:
        raise ValueError("the forecast and the world list different SKUs")
    sku_ids, segments = tuple(str(s) for s in world.sku_ids), tuple(world.segments)
    mean, var = _per_day(sku_ids, segments, forecast.result.protection)
    if not refresh:
        return DemandEstimate(mean, var, "forecast")
    history = forecast.panel
    missing = [g for g in world.segments if g not in history.segments]
    if missing:
        n, _, t = history.demand.shape
        history = replace(
            history,
            segments=(*history.segments, *missing),
            demand=np.concatenate(
                [history.demand, np.zeros((n, len(missing), t), dtype=history.demand.dtype)],
                axis=1,
            ),
        )
    result = forecast.result
    total = result.protection[result.protection["segment"] == TOTAL].set_index("sku_id")
    days = total["days"].reindex(pd.Index(history.sku_ids)).to_numpy(dtype=float)
    updater = ForecastRefresh(
        world_sku_ids=sku_ids,
        world_segments=segments,
        history=history,
        segment_index=pd.Index(history.segments).get_indexer(pd.Index(segments)),
        protection_days=days,
        lead_time_sd=world.lead_sd[world.supplier].astype(float),
        # Refits need the chosen models and the calibration, not the forecast paths.
        previous=replace(result, forecasts=result.forecasts.iloc[:0]),
        uncensoring=Uncensoring.of(history.total, history.censored),
        segment_days=history.demand.sum(axis=0, dtype=np.float64),
    )
    return DemandEstimate(mean, var, "forecast", refresh=updater)
