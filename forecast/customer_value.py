"""Value per customer from a buy-till-you-die model: P(alive), expected purchases, CLV.

BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way", Marketing
Science 24(2)): while alive a customer buys as a Poisson process with their own rate
(gamma across customers) and after every purchase leaves for good with their own
probability (beta across customers). Gamma-Gamma (Fader, Hardie and Lee 2005, "RFM and
CLV", JMR 42(4)) gives the expected margin of a purchase, shrinking a customer's own
mean toward the population's. Both are fitted by maximum a posteriori with
PyMC-Marketing's CLV module (a full posterior by MCMC costs minutes on 50,000
customers; MAP costs seconds and the plan needs point values).

A purchase is a customer's day with an order (the model's unit; several orders on one
day are one purchase). Its value is the gross margin of the lines delivered that day
(currency). Times are in days. CLV = expected discounted margin over
`horizon_years`, the discount rate per year.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Below this many customers with a repeat purchase the models are not fitted.
MIN_REPEAT_CUSTOMERS = 20


@dataclass(frozen=True)
class CustomerValue:
    """Per customer (index customer_id): frequency (repeat purchase days), recency and
    T (days), margin_per_purchase (currency, Gamma-Gamma), p_alive, purchases_next_year,
    clv (currency). `parameters`: the fitted BG/NBD and Gamma-Gamma parameters."""

    customers: pd.DataFrame
    parameters: dict[str, float]


def rfm(orders: pd.DataFrame, unit_cost: pd.Series, end: pd.Timestamp) -> pd.DataFrame:
    """Frequency, recency, T (days) and mean margin of repeat purchases per customer
    (PyMC-Marketing's `rfm_summary` on the lines' margins; index customer_id).

    `orders`: lines with customer_id, date, sku_id, quantity, unit_price; `unit_cost`
    per sku_id. The first purchase day counts in T but not in frequency or the mean
    margin (as the models define them): a customer with no repeat has no mean (NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ announces its refactor on import
        from pymc_marketing.clv.utils import rfm_summary

    lines = orders[orders["customer_id"].notna() & (orders["date"] <= end)]
    qty = lines["quantity"].to_numpy(dtype=float)
    cost = unit_cost.reindex(lines["sku_id"]).to_numpy(dtype=float)
    transactions = pd.DataFrame(
        {
            "customer_id": lines["customer_id"].astype(str).to_numpy(),
            "date": lines["date"].to_numpy(),
            "margin": qty * (lines["unit_price"].to_numpy(dtype=float) - cost),
        }
    )
    summary = rfm_summary(
        transactions, "customer_id", "date", "margin", observation_period_end=end
    ).set_index("customer_id")
    summary["monetary_value"] = summary["monetary_value"].where(summary["frequency"] > 0)
    return summary[["frequency", "recency", "T", "monetary_value"]].astype(float)


def fit_customer_value(
    summary: pd.DataFrame, horizon_years: int = 3, discount_rate: float = 0.10
) -> CustomerValue:
    """Fit BG/NBD and Gamma-Gamma on `rfm(...)` and value every customer of it.

    Raises ValueError when too few customers came back to fit on."""
    repeaters = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeaters) < MIN_REPEAT_CUSTOMERS:
        raise ValueError(
            f"only {len(repeaters)} customers bought on more than one day "
            f"(at least {MIN_REPEAT_CUSTOMERS} are needed to fit a buy-till-you-die model)"
        )
    with warnings.catch_warnings():
        # PyTensor warns about BLAS and ArviZ about its refactor on import: not ours.
        warnings.simplefilter("ignore")
        logging.getLogger("pymc").setLevel(logging.ERROR)
        logging.getLogger("pytensor").setLevel(logging.ERROR)
        from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

        data = summary[["frequency", "recency", "T"]].rename_axis("customer_id").reset_index()
        data["customer_id"] = np.arange(len(data))
        # T = 0 (a first purchase on the last day) is outside the model: half a day.
        data["T"] = np.maximum(data["T"], 0.5)
        bgnbd = BetaGeoModel(data=data)
        bgnbd.fit(method="map", progressbar=False)
        p_alive = _values(bgnbd.expected_probability_alive(data=data))
        next_year = _values(bgnbd.expected_purchases(data=data, future_t=365))

        spend = repeaters[["frequency", "recency", "T", "monetary_value"]]
        spend = spend.rename_axis("customer_id").reset_index()
        spend["customer_id"] = np.arange(len(spend))
        gamma = GammaGammaModel(data=spend)
        gamma.fit(method="map", progressbar=False)
        # Every customer's expected margin per purchase: their own mean shrunk toward the
        # population's (the population's for those with no repeat purchase yet).
        everyone = data.assign(
            monetary_value=summary["monetary_value"].fillna(0.0).clip(lower=0.0).to_numpy(),
            frequency=np.where(summary["monetary_value"].fillna(0.0) > 0, data["frequency"], 0),
        )
        per_purchase = _values(gamma.expected_customer_spend(data=everyone))
        months = 12 * horizon_years
        monthly = (1.0 + discount_rate) ** (1.0 / 12.0) - 1.0
        clv = _values(
            gamma.expected_customer_lifetime_value(
                transaction_model=bgnbd,
                data=everyone.assign(T=data["T"]),
                future_t=months,
                discount_rate=monthly,
                time_unit="D",
            )
        )
    parameters = {
        **{f"bgnbd_{k}": float(v) for k, v in _point(bgnbd).items()},
        **{f"gamma_gamma_{k}": float(v) for k, v in _point(gamma).items()},
    }
    customers = summary[["frequency", "recency", "T"]].assign(
        margin_per_purchase=per_purchase,
        p_alive=np.clip(p_alive, 0.0, 1.0),
        purchases_next_year=np.maximum(next_year, 0.0),
        clv=np.maximum(clv, 0.0),
    )
    log.info(
        "customer value: BG/NBD and Gamma-Gamma on %d customers (%d repeat buyers)",
        len(summary),
        len(repeaters),
    )
    return CustomerValue(customers, parameters)


def _values(array: object) -> np.ndarray:
    """A MAP prediction (chain x draw x customer) as one value per customer."""
    values = np.asarray(array, dtype=float)
    return values.reshape(-1, values.shape[-1]).mean(axis=0) if values.ndim > 1 else values


def _point(model: object) -> dict[str, float]:
    """The MAP point of a fitted model's scalar parameters."""
    posterior = model.idata.posterior  # type: ignore[attr-defined]
    return {
        str(name): float(np.asarray(posterior[name]).mean())
        for name in posterior.data_vars
        if np.asarray(posterior[name]).size <= 2
    }
