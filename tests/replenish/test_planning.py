"""The one planning path on messy data: a runaway forecast never stalls the plan, and
every line respects packs, MOQs, the cover cap, budget, capacity and supplier minimums."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from contract import Dataset
from replenish.planning import PlanRequest, json_default, plan_dataset
from simulations.world import GeneratedWorld


def test_one_off_bulk_orders_leave_a_plan_that_keeps_every_rule(
    tiny_world: GeneratedWorld,
) -> None:
    """Two one-off orders of 80,995 and 30,000 units (one below cost) on the last days:
    the forecast runs away for those SKUs, the plan does not."""
    ds = tiny_world.dataset
    orders = ds.orders
    last = orders["date"].max()
    skus = ds.skus["sku_id"].tolist()
    bulk = pd.DataFrame(
        {
            "order_id": ["BULK1", "BULK2"],
            "date": [last, last - pd.Timedelta(days=3)],
            "customer_id": [orders["customer_id"].iloc[0]] * 2,
            "sku_id": [skus[5], skus[-1]],
            "quantity": [80_995, 30_000],
            "unit_price": [1.0, 1.0],
            "quantity_short": [0, 0],
        }
    ).astype(orders.dtypes.to_dict())
    messy = Dataset.from_frames({**ds.tables(), "orders": pd.concat([orders, bulk])})
    request = PlanRequest(budget=50_000.0, capacity=5.0)
    planned = plan_dataset(messy, request, engine="inline")
    plan, problem = planned.run.plan, planned.run.problem
    lines = plan.lines.set_index("sku_id")
    assert (lines["quantity"] % lines["pack_size"] == 0).all()
    assert ((lines["quantity"] == 0) | (lines["quantity"] >= lines["moq"])).all()
    assert plan.record["total_cost"] <= 50_000.0 + 1e-6
    assert plan.record["total_volume"] <= 5.0 + 1e-9
    cap = pd.Series(np.maximum(problem.max_units, problem.moq), index=problem.sku_ids)
    assert (lines["quantity"] <= cap.reindex(lines.index) + lines["pack_size"]).all()
    spend = plan.suppliers.set_index("supplier_id")
    assert (spend["cost"] >= spend["min_order_value"] - 1e-6).all()
    # The buyer is told which lines were kept out of the forecast, in the plan's record.
    told = plan.record["assumptions"]["demand_history"]
    assert {"BULK1", "BULK2"} <= {row["order_id"] for row in told["bulk_orders"]}
    json.dumps(plan.to_json(), default=json_default)  # the record stays writable


def test_the_plan_record_counts_the_days_out_of_stock(tiny_world: GeneratedWorld) -> None:
    planned = plan_dataset(tiny_world.dataset, PlanRequest(budget=10_000.0), engine="inline")
    told = planned.run.plan.record["assumptions"]["demand_history"]
    lost = planned.forecast.lost_sales
    assert told["days_out_of_stock"] == int(lost["days_out"].sum()) > 0
    assert told["lost_sales"][0]["sku_id"] == lost["sku_id"].iloc[0]
    assert told["units_lost"] == round(float(lost["units_lost"].sum()), 1)


def test_the_plan_record_gives_churn_per_stockout_with_its_interval(
    tiny_world: GeneratedWorld,
) -> None:
    planned = plan_dataset(tiny_world.dataset, PlanRequest(budget=10_000.0), engine="inline")
    told = planned.run.plan.record["assumptions"]["churn_per_stockout"]
    assert set(told) == {"A", "B", "C"}
    for tier, figure in told.items():
        assert figure["low"] <= figure["mean"] <= figure["high"]
        assert figure["source"] in ("fitted", "prior", "mixed")
        assert figure["events"] >= 0
        # The plan prices stockouts with the posterior mean it reports.
        assert planned.churn.of(tier) == pytest.approx(figure["mean"], abs=1e-5)
    json.dumps(planned.run.plan.to_json(), default=json_default)  # the record serializes


def test_preset_churn_is_recorded_as_the_preset(tiny_world: GeneratedWorld) -> None:
    request = PlanRequest(budget=10_000.0, churn="preset")
    planned = plan_dataset(tiny_world.dataset, request, engine="inline")
    told = planned.run.plan.record["assumptions"]["churn_per_stockout"]
    assert {f["source"] for f in told.values()} == {"preset"}
    assert all(f["low"] == f["mean"] == f["high"] for f in told.values())


def test_a_history_that_never_ran_out_plans_with_the_prior_and_says_so(
    tiny_world: GeneratedWorld,
) -> None:
    """Stock counted every day and never zero, no shortage recorded: no stockout was
    met, so churn per stockout is the prior in every tier, never a fitted 0%."""
    ds = tiny_world.dataset
    orders = ds.orders.assign(quantity=ds.orders["quantity"] + ds.orders["quantity_short"])
    orders["quantity_short"] = 0
    days = pd.date_range(orders["date"].min(), orders["date"].max(), freq="D")
    counted = pd.DataFrame(
        {
            "sku_id": np.repeat(ds.skus["sku_id"].to_numpy(), len(days)),
            "date": np.tile(days.to_numpy(), len(ds.skus)),
            "on_hand": 5,
        }
    )
    history = replace(ds, orders=orders, stock_history=counted)
    planned = plan_dataset(history, PlanRequest(budget=10_000.0), engine="inline")
    told = planned.run.plan.record["assumptions"]["churn_per_stockout"]
    assert {f["source"] for f in told.values()} == {"prior"}
    assert all(f["events"] == 0 and f["estimate"] is None for f in told.values())
    assert all(f["mean"] > 0.01 for f in told.values())
    assert planned.forecast.lost_sales.empty


def test_a_plan_for_one_category_tiers_customers_on_the_whole_history(
    tiny_world: GeneratedWorld,
) -> None:
    """Only that category's SKUs are forecast and planned, but tiers (and so churn and
    customer value) come from every order: cut to one category's orders, the tiers
    would differ."""
    from forecast.segments import segment_customers
    from replenish.planning import restrict

    data = tiny_world.dataset
    category = str(data.skus["category"].iloc[0])
    request = PlanRequest(budget=5_000.0, categories=(category,))
    planned = plan_dataset(data, request, engine="inline")
    ours = set(data.skus.loc[data.skus["category"] == category, "sku_id"])
    assert set(planned.forecast.panel.sku_ids) == ours
    assert set(planned.run.plan.lines["sku_id"]) <= ours
    tiers = planned.forecast.segments.customers.set_index("customer_id")["tier"]  # type: ignore[union-attr]
    whole = segment_customers(data).customers.set_index("customer_id")["tier"]
    part = segment_customers(restrict(data, (), (category,))).customers
    part_tiers = part.set_index("customer_id")["tier"]
    pd.testing.assert_series_equal(tiers, whole)
    shared = part_tiers.index.intersection(whole.index)
    assert (part_tiers[shared].astype(str) != whole[shared].astype(str)).any()
    with pytest.raises(ValueError, match="no SKU matches"):
        plan_dataset(data, PlanRequest(budget=1.0, categories=("no such category",)))
