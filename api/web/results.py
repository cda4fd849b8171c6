"""A simulation's results as the planner's page shows them: per what-if, each policy's
mean with its 95% CI, its paired difference against the reference, and the geometry of
a bar chart of net value with CI whiskers (drawn as SVG by the template: no script, an
axis that starts at zero and says its unit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: The metrics the results page shows, and how each is written: money (currency), a
#: count (customers), a share (0-1).
KINDS = (("net_value", "money"), ("customers_lost", "count"), ("fill_rate", "percent"),
         ("inventory_value", "money"))  # fmt: skip
ALL = "ALL"
#: The chart's drawing area (SVG user units).
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640.0, 260.0, 90.0, 40.0, 12.0


@dataclass(frozen=True)
class Cell:
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Bar:
    """One policy's bar: its box and its CI whisker, in SVG units."""

    policy: str
    x: float
    width: float
    y: float
    height: float
    whisker_low: float
    whisker_high: float
    cell: Cell


@dataclass(frozen=True)
class Tick:
    y: float
    value: float


@dataclass(frozen=True)
class ScenarioView:
    name: str
    rows: dict[str, dict[str, Cell]]  # policy -> metric -> cell
    paired: dict[str, dict[str, Any]]  # policy -> {diff, ci_low, ci_high, better}
    bars: list[Bar]
    ticks: list[Tick]
    zero: float  # y of the zero line


@dataclass(frozen=True)
class SimulationView:
    policies: list[str]
    reference: str
    scenarios: list[ScenarioView]


def _nice_step(span: float) -> float:
    """A round tick step giving about five ticks over `span`."""
    if span <= 0:
        return 1.0
    raw = span / 5
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if magnitude * factor >= raw:
            return magnitude * factor
    return magnitude * 10


def _chart(cells: dict[str, Cell], policies: list[str]) -> tuple[list[Bar], list[Tick], float]:
    """Bars from zero to each mean, whiskers over each CI, ticks on round values."""
    shown = [p for p in policies if p in cells]
    if not shown:
        return [], [], HEIGHT - BOTTOM
    top = max(0.0, *(cells[p].high for p in shown))
    bottom = min(0.0, *(cells[p].low for p in shown))
    step = _nice_step(top - bottom)
    top = step * math.ceil(top / step)
    bottom = step * math.floor(bottom / step)
    span = (top - bottom) or 1.0

    def y(value: float) -> float:
        return TOP + (top - value) / span * (HEIGHT - BOTTOM - TOP)

    slot = (WIDTH - LEFT) / len(shown)
    bars = []
    for k, policy in enumerate(shown):
        cell = cells[policy]
        y0, y1 = y(0.0), y(cell.mean)
        bars.append(Bar(policy, LEFT + k * slot + slot * 0.2, slot * 0.6, min(y0, y1),
                        abs(y1 - y0), y(cell.high), y(cell.low), cell))  # fmt: skip
    ticks, value = [], bottom
    while value <= top + step / 2:
        ticks.append(Tick(y(value), value))
        value += step
    return bars, ticks, y(0.0)


def simulation_view(result: dict[str, Any]) -> SimulationView:
    """The page's view of a stored result (`api.jobs._simulation_result`)."""
    policies = [str(p) for p in result.get("policies", [])]
    reference = str(result.get("reference", ""))
    summary = [r for r in result.get("summary", []) if r.get("segment") == ALL]
    paired = [
        r for r in result.get("paired", [])
        if r.get("segment") == ALL and r.get("metric") == "net_value"
    ]  # fmt: skip
    views = []
    for scenario in result.get("scenarios", []):
        rows: dict[str, dict[str, Cell]] = {}
        for r in summary:
            if r.get("scenario") == scenario:
                rows.setdefault(str(r["policy"]), {})[str(r["metric"])] = Cell(
                    float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])
                )
        diffs = {str(r["policy"]): r for r in paired if r.get("scenario") == scenario}
        net = {p: m["net_value"] for p, m in rows.items() if "net_value" in m}
        bars, ticks, zero = _chart(net, policies)
        views.append(ScenarioView(str(scenario), rows, diffs, bars, ticks, zero))
    return SimulationView(policies, reference, views)
