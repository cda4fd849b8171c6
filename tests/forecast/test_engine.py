"""The engine end to end: consistent segments, honest fallbacks, identical on Dask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from distributed import LocalCluster

from forecast.engine import ForecastConfig, forecast_dataset, forecast_panel
from forecast.panel import Panel
from simulations.world import GeneratedWorld

RNG = np.random.default_rng(3)


def panel_of(
    demand: np.ndarray, segments: tuple[str, ...] = ("A", "B"), censored: np.ndarray | None = None
) -> Panel:
    """A daily panel of demand[sku, segment, day] starting 2025-01-01."""
    n, _, t = demand.shape
    return Panel(
        sku_ids=np.array([f"S{i}" for i in range(n)], dtype=object),
        segments=segments,
        start=pd.Timestamp("2025-01-01"),
        freq="D",
        demand=demand.astype(np.float32),
        censored=np.zeros((n, t), dtype=bool) if censored is None else censored,
    )


def mixed_panel(t: int = 200) -> Panel:
    smooth = RNG.poisson(20, (1, 2, t))
    sparse = (RNG.random((1, 2, t)) < 0.1) * RNG.poisson(3, (1, 2, t))
    nothing = np.zeros((1, 2, t))
    return panel_of(np.concatenate([smooth, sparse, nothing]).astype(float))


def test_segments_sum_to_the_sku_forecast() -> None:
    result = forecast_panel(mixed_panel(), np.array([10.0, 21.0, 7.0]))
    f = result.forecasts.pivot_table(index=["sku_id", "date"], columns="segment", values="mean")
    assert np.allclose(f["A"] + f["B"], f["ALL"])
    p = result.protection.pivot_table(index="sku_id", columns="segment", values="mean")
    assert np.allclose(p["A"] + p["B"], p["ALL"])
    assert result.forecasts["date"].min() == pd.Timestamp("2025-01-01") + pd.Timedelta(days=200)
    assert set(result.protection["segment"]) == {"ALL", "A", "B"}


def test_protection_mean_is_the_path_summed_over_the_interval() -> None:
    result = forecast_panel(mixed_panel(), np.array([10.0, 21.0, 7.0]), ForecastConfig(horizon=30))
    daily = result.forecasts[result.forecasts["segment"] == "ALL"]
    for sku, days in (("S0", 10), ("S1", 21)):
        path = daily[daily["sku_id"] == sku]["mean"].to_numpy()
        row = result.protection[
            (result.protection["sku_id"] == sku) & (result.protection["segment"] == "ALL")
        ]
        assert row["mean"].iloc[0] == pytest.approx(path[:days].sum())
        assert row["days"].iloc[0] == days
        q = row[["q50", "q80", "q90", "q95", "q99"]].to_numpy()[0]
        assert (np.diff(q) >= 0).all()


def test_censored_stockout_days_do_not_pull_the_forecast_down() -> None:
    demand = np.full((1, 1, 120), 10.0)
    demand[0, 0, -14:] = 0.0  # out of stock for the last two weeks: nothing recorded
    censored = np.zeros((1, 120), dtype=bool)
    censored[0, -14:] = True
    honest = forecast_panel(panel_of(demand, ("A",), censored), np.array([7.0]))
    naive = forecast_panel(panel_of(demand, ("A",)), np.array([7.0]))
    mean = honest.forecasts.query("segment == 'ALL'")["mean"].mean()
    assert mean == pytest.approx(10.0, rel=0.05)
    assert naive.forecasts.query("segment == 'ALL'")["mean"].mean() < 8.0


def test_fallbacks_never_fail_or_give_nan() -> None:
    zero = forecast_panel(panel_of(np.zeros((2, 2, 90))), np.array([5.0, 5.0]))
    assert (zero.protection[["mean", "q99"]].to_numpy() == 0).all()
    assert set(zero.selection["model"]) == {"zero"}
    one_day = forecast_panel(panel_of(np.full((1, 2, 1), 3.0)), np.array([4.0]))
    assert one_day.selection["model"].iloc[0] == "new_sku_mean"
    assert one_day.protection.query("segment == 'ALL'")["mean"].iloc[0] == pytest.approx(4 * 6.0)
    launched = np.zeros((1, 2, 200))
    launched[0, :, -20:] = 2.0  # first sold 20 days ago
    new = forecast_panel(panel_of(launched), np.array([10.0]))
    assert new.selection["model"].iloc[0] == "new_sku_mean"
    assert new.protection.query("segment == 'ALL'")["mean"].iloc[0] == pytest.approx(40.0)
    for result in (zero, one_day, new):
        assert np.isfinite(
            result.protection.drop(columns=["sku_id", "segment", "model"]).to_numpy(float)
        ).all()


def test_bad_input_gets_a_clear_error() -> None:
    with pytest.raises(ValueError, match="horizon"):
        ForecastConfig(horizon=0)
    bad = np.ones((1, 2, 60))
    bad[0, 0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        forecast_panel(panel_of(bad), np.array([7.0]))
    with pytest.raises(ValueError, match="one value per SKU"):
        forecast_panel(mixed_panel(), np.array([7.0]))


@pytest.mark.slow
def test_dask_cluster_gives_identical_numbers() -> None:
    panel = mixed_panel(150)
    days = np.array([9.0, 15.0, 3.0])
    config = ForecastConfig(chunk_size=1)
    inline = forecast_panel(panel, days, config, engine="inline")
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        remote = forecast_panel(
            panel, days, config, engine="dask", address=cluster.scheduler_address
        )
    pd.testing.assert_frame_equal(inline.forecasts, remote.forecasts)
    pd.testing.assert_frame_equal(inline.protection, remote.protection)
    pd.testing.assert_frame_equal(inline.selection, remote.selection)


def test_a_generated_world_forecasts_every_sku_and_segment(tiny_world: GeneratedWorld) -> None:
    run = forecast_dataset(tiny_world.dataset, ForecastConfig(horizon=14))
    prot = run.result.protection
    assert len(prot) == len(tiny_world.dataset.skus) * 4
    assert set(prot["segment"]) == {"ALL", "A", "B", "C"}
    assert prot.drop(columns=["sku_id", "segment", "model"]).notna().all().all()
    demand = run.result.demand()
    sku = str(prot.sort_values("mean").iloc[-1]["sku_id"])
    probs = demand.pmf(sku, "A")
    assert probs.sum() == pytest.approx(1.0) and (probs >= 0).all()
    with pytest.raises(KeyError):
        demand.pmf("nope")


def test_protection_longer_than_the_history_falls_back_instead_of_failing() -> None:
    # 58 days: older than a new SKU (56), shorter than one 45-day origin + 2 weeks (59).
    demand = RNG.poisson(5, (2, 2, 58)).astype(float) + 1.0
    result = forecast_panel(panel_of(demand), np.array([45.0, 3.0]))
    assert set(result.selection["model"]) == {"short_history_mean"}
    assert np.isfinite(result.protection["q99"]).all()


def test_a_refit_on_the_same_history_reproduces_the_forecast() -> None:
    """Same panel, same chosen models, same calibration: the same numbers, each SKU
    keeping its model (the zero SKU goes through the fallback again)."""
    from forecast.engine import refit_panel

    panel, days = mixed_panel(150), np.array([9.0, 15.0, 3.0])
    first = forecast_panel(panel, days)
    again = refit_panel(panel, days, first)
    pd.testing.assert_frame_equal(again.protection, first.protection)
    assert list(again.selection["model"]) == list(first.selection["model"])
    assert again.calibration == first.calibration


def test_a_refit_follows_the_demand_appended_with_the_models_chosen_before() -> None:
    """Four more weeks at twice the level lift the smooth SKU's forecast; no model is
    re-selected, and a SKU that starts selling is forecast from its first sales."""
    from dataclasses import replace

    from forecast.engine import refit_panel

    panel, days = mixed_panel(150), np.array([9.0, 15.0, 3.0])
    first = forecast_panel(panel, days)
    more = np.zeros((3, 2, 28))
    more[0] = RNG.poisson(40, (2, 28))
    more[2] = RNG.poisson(2, (2, 28))  # the SKU that never sold
    longer = replace(
        panel,
        demand=np.concatenate([panel.demand, more.astype(np.float32)], axis=2),
        censored=np.zeros((3, 178), dtype=bool),
    )
    after = refit_panel(longer, days, first)
    total = {
        name: frame[frame["segment"] == "ALL"].set_index("sku_id")["mean"]
        for name, frame in (("first", first.protection), ("after", after.protection))
    }
    assert total["after"]["S0"] > 1.3 * total["first"]["S0"]
    assert total["first"]["S2"] == 0 and total["after"]["S2"] > 0
    chosen = dict(zip(after.selection["sku_id"], after.selection["model"], strict=True))
    assert chosen["S0"] == first.selection.set_index("sku_id")["model"]["S0"]
    assert chosen["S2"] == "new_sku_mean"
