"""Charts of an experiment (PNG): active customers over time, profit against fill rate,
customers lost per segment. One panel per scenario, one colour per policy. And a
backtest's net value and fill rate per review period."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from runtime.figures import pyplot, save_figure
from simulations.experiments import ExperimentResult
from simulations.metrics import ALL, lookup

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _colours(policies: tuple[str, ...]) -> dict[str, tuple[float, ...]]:
    cmap = pyplot().get_cmap("tab10")
    return {p: cmap(i % 10) for i, p in enumerate(policies)}


def _panels(n: int, width: float = 5.0, height: float = 3.8) -> tuple[Figure, np.ndarray]:
    fig, axes = pyplot().subplots(1, n, figsize=(width * n, height), squeeze=False, sharey=False)
    return fig, axes[0]


def _finish(fig: Figure, axes: np.ndarray, ylabel: str, title: str, path: str | Path) -> Path:
    """Label the first panel, add the legend and title, save the PNG."""
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def active_customers(result: ExperimentResult, path: str | Path) -> Path:
    """Customers who stopped buying since day 0 (mean over replications; stockouts and
    baseline churn, less those who came back), per policy, one panel per scenario. Drawn
    from 0: active customers themselves (say 1,996 to 2,000 of 2,000) on a cropped axis
    would make a difference of four customers look like a collapse."""
    colours = _colours(result.policies)
    fig, axes = _panels(len(result.scenarios))
    for ax, scenario in zip(axes, result.scenarios, strict=True):
        for policy in result.policies:
            series = result.active[(scenario, policy)].to_numpy(dtype=float)
            gone = series[0] - series
            ax.plot(np.arange(series.size), gone, label=policy, color=colours[policy], lw=1.4)
        ax.set_title(scenario)
        ax.set_xlabel("day")
        ax.set_ylim(bottom=0)
    ylabel = "customers gone since day 0 (mean over replications)"
    return _finish(fig, axes, ylabel, "Customers who stopped buying, per policy", path)


def profit_vs_fill(result: ExperimentResult, path: str | Path) -> Path:
    """Profit against fill rate per policy, with 95% CIs on both, one panel per scenario."""
    colours = _colours(result.policies)
    stats = lookup(result.summary)
    fig, axes = _panels(len(result.scenarios))
    for ax, scenario in zip(axes, result.scenarios, strict=True):
        for policy in result.policies:
            fill, _, fill_high = stats[(scenario, policy, ALL, "fill_rate")]
            profit, _, profit_high = stats[(scenario, policy, ALL, "profit")]
            xerr = 100 * np.nan_to_num(fill_high - fill)
            yerr = np.nan_to_num(profit_high - profit)
            ax.errorbar(
                100 * fill, profit, xerr=xerr, yerr=yerr, fmt="o",
                color=colours[policy], label=policy, capsize=3,
            )  # fmt: skip
        ax.set_title(scenario)
        ax.set_xlabel("fill rate (%)")
    return _finish(fig, axes, "profit over the run (95% CI)", "Profit against fill rate", path)


def customers_lost(result: ExperimentResult, path: str | Path) -> Path:
    """Customers lost to stockouts per segment and policy (95% CI), one panel per scenario."""
    colours = _colours(result.policies)
    stats = lookup(result.summary)
    segments = [str(s) for s in dict.fromkeys(result.summary["segment"]) if s != ALL]
    fig, axes = _panels(len(result.scenarios))
    width = 0.8 / max(len(result.policies), 1)
    x = np.arange(len(segments))
    for ax, scenario in zip(axes, result.scenarios, strict=True):
        for j, policy in enumerate(result.policies):
            est = np.array([stats[(scenario, policy, s, "customers_lost")] for s in segments])
            err = np.nan_to_num(est[:, 2] - est[:, 0])
            ax.bar(
                x + (j - (len(result.policies) - 1) / 2) * width, est[:, 0], width,
                yerr=err, color=colours[policy], label=policy, capsize=2,
            )  # fmt: skip
        ax.set_xticks(x, [f"tier {s}" for s in segments])
        ax.set_title(scenario)
    ylabel = "customers lost to stockouts (mean, 95% CI)"
    return _finish(fig, axes, ylabel, "Who each policy loses", path)


def draw_all(result: ExperimentResult, folder: str | Path) -> list[Path]:
    """The three charts into `folder`."""
    out = Path(folder)
    return [
        active_customers(result, out / "active_customers.png"),
        profit_vs_fill(result, out / "profit_vs_fill_rate.png"),
        customers_lost(result, out / "customers_lost.png"),
    ]


def backtest_chart(periods: pd.DataFrame, path: str | Path, highlight: str) -> Path:
    """Net value and fill rate per review period of a backtest, one line per policy
    (`highlight`, the product's, drawn thicker). `periods`: policy, review,
    net_value, served_units, demand_units per row."""
    fig, axes = pyplot().subplots(1, 2, figsize=(12, 4.2))
    for policy, group in periods.groupby("policy", sort=False):
        width = 2.4 if policy == highlight else 1.2
        x = pd.to_datetime(group["review"])
        axes[0].plot(x, group["net_value"], marker="o", lw=width, label=policy)
        fill = group["served_units"] / group["demand_units"].where(group["demand_units"] > 0)
        axes[1].plot(x, 100 * fill, marker="o", lw=width, label=policy)
    axes[0].set_title("Net value per review period (currency)")
    axes[0].axhline(0.0, color="#999", lw=0.8)
    axes[1].set_title("Fill rate per review period (% of units asked)")
    axes[1].set_ylim(0, 100)
    for ax in axes:
        ax.tick_params(axis="x", rotation=30)
        ax.grid(alpha=0.3)
    axes[1].legend(loc="lower left", fontsize=8)
    return save_figure(fig, path)
