"""Running an experiment: scenarios x policies x replications with common random numbers.

Every cell (scenario, policy, replication) is one `run_policy` run seeded by (seed,
replication), so within a scenario all policies meet the same customers, baskets and
reactions, and paired differences between policies are tight. Cells fan out with
`runtime.parallel.run_chunks` (inline, a local Dask cluster, or a cluster by address);
each cell is a pure function of its inputs, so every engine gives identical results.

`match_inventory`: optimizer policies get the stock investment (sum of unit cost x
order-up-to level) at which their average inventory value equals the named policy's,
found by a few pilot runs, so policies are compared at equal inventory investment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from runtime.memory import available, gigabytes
from runtime.parallel import choose_engine, dask_address, local_workers, pool
from simulations.calibration import per_event_churn_exposure
from simulations.engine import (
    Conditions,
    DemandEstimate,
    RunResult,
    first_levels,
    planning_view,
    run_policy,
)
from simulations.footprint import simulation_footprint, size_workers
from simulations.metrics import care_list, paired, run_metrics, summarize
from simulations.model import Behaviour, SimWorld
from simulations.policies import Levels, OptimizerPolicy, Policy
from simulations.scenario_file import Experiment

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: Pilots a match may run beyond the uncapped policy's own.
MATCH_ITERATIONS = 4
MATCH_TOLERANCE = 0.01
#: The replication pilot runs use (tuning stock to a target): one no experiment evaluates
#: (they number theirs from 0 and run at most 1,000), so no evaluated run is also the
#: run a policy was tuned on.
PILOT_REPLICATION = 1_000_003


#: Pilots a match takes, as the experiment's progress counts them (typically 2-3).
MATCH_STEPS = 3


class Steps:
    """An experiment's progress over its maps: each map's chunks count `weight` steps
    of the `total`, one map after another."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def of(self, weight: int) -> Progress | None:
        """The progress callback of the next map, whose chunks weigh `weight` each."""
        if self.progress is None:
            return None
        report, start = self.progress, self.done

        def step(done: int, _chunks: int) -> None:
            self.done = start + done * weight
            report(min(self.done, self.total), self.total)

        return step


@dataclass(frozen=True)
class ExperimentResult:
    """Everything an experiment produced.

    `cells`: one row per (scenario, policy, replication, segment) with the metrics;
    `summary`: means and 95% CIs; `paired`: differences against `reference`;
    `active`: mean active customers per day (rows) per (scenario, policy) (columns);
    `care`: the care list per (scenario, policy); `matched`: the investment each
    optimizer policy got and the pilot inventory values, when inventory was matched.
    """

    policies: tuple[str, ...]
    scenarios: tuple[str, ...]
    reference: str
    cells: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame
    active: pd.DataFrame
    care: dict[tuple[str, str], pd.DataFrame]
    matched: pd.DataFrame
    notes: tuple[str, ...] = ()


def _pilot_cell(
    policy: Policy,
    world: SimWorld,
    behaviour: Behaviour,
    conditions: Conditions,
    seed: int,
    planning: DemandEstimate | None = None,
    first: Levels | None = None,
) -> float:
    """The average inventory value `policy` holds in the pilot run (currency); `first`:
    its first levels when already planned."""
    run = run_policy(world, behaviour, policy, conditions, seed, PILOT_REPLICATION, planning, first)
    return float(run.totals["inventory_value"])


def _match_cell(
    policy_free: tuple[OptimizerPolicy, float],
    world: SimWorld,
    behaviour: Behaviour,
    target: float,
    conditions: Conditions,
    seed: int,
    planning: DemandEstimate | None = None,
) -> tuple[OptimizerPolicy, float]:
    policy, free = policy_free
    return match_investment(world, behaviour, policy, target, conditions, seed, planning, free)


def _levels_cell(
    key: tuple[int, int],
    world: SimWorld,
    behaviour: Behaviour,
    policies: tuple[Policy, ...],
    conditions: tuple[Conditions, ...],
    planning: DemandEstimate | None = None,
) -> Levels:
    scenario, policy = key
    return first_levels(world, behaviour, policies[policy], conditions[scenario], planning)


def _run_cell(
    cell: tuple[int, int, int],
    world: SimWorld,
    behaviour: Behaviour,
    policies: tuple[Policy, ...],
    conditions: tuple[Conditions, ...],
    seed: int,
    planning: DemandEstimate | None = None,
    first: dict[tuple[int, int], Levels] | None = None,
) -> RunResult:
    scenario, policy, replication = cell
    start = None if first is None else first.get((scenario, policy))
    return run_policy(
        world, behaviour, policies[policy], conditions[scenario], seed, replication, planning,
        start,
    )  # fmt: skip


def match_investment(
    world: SimWorld,
    behaviour: Behaviour,
    policy: OptimizerPolicy,
    target_value: float,
    conditions: Conditions,
    seed: int = 0,
    planning: DemandEstimate | None = None,
    held: float | None = None,
) -> tuple[OptimizerPolicy, float]:
    """The policy tuned to hold `target_value` of average inventory; and what it held.
    `held`: what the uncapped policy held in its pilot, when it ran already.

    Pilot runs (`PILOT_REPLICATION`, never evaluated) measure what a policy holds. The
    knob is the investment cap (sum of unit cost x order-up-to level) when the uncapped
    policy holds more than the target, else its holding-cost factor (down to e^-6 of
    its own: stock that costs next to nothing). The first setting comes from levels
    alone: the investment that holds the target at the uncapped pilot's inventory per
    currency invested (for the factor, `_levels_search`); then secant steps on the
    logarithms through the pilots (`_search`). Stops within 1% or after
    `MATCH_ITERATIONS` pilots beyond the first, with the nearest.
    """
    estimate = planning or DemandEstimate.oracle(world)
    view = planning_view(
        world, behaviour, estimate.daily_mean, estimate.daily_var, conditions.holding_rate
    )

    planned: dict[OptimizerPolicy, Levels] = {}  # each setting's levels, planned once

    def levels(p: OptimizerPolicy) -> Levels:
        if p not in planned:
            planned[p] = p.levels(view)
        return planned[p]

    def invests(p: OptimizerPolicy) -> float:
        return float(levels(p).order_up_to @ world.unit_cost)

    free = replace(policy, investment=None)
    achieved = held
    if achieved is None:
        achieved = _pilot_cell(free, world, behaviour, conditions, seed, planning, levels(free))
    if abs(achieved - target_value) <= MATCH_TOLERANCE * target_value:
        return free, achieved
    spent = invests(free)
    if spent <= 0:
        return free, achieved  # it holds nothing whatever the knob
    want = target_value * spent / achieved if achieved > 0 else spent * np.exp(CHEAPEST)
    if achieved > target_value:
        # x = log(investment); the free policy's own levels invest log(spent).
        def knob(x: float) -> OptimizerPolicy:
            return free if x >= top else replace(policy, investment=float(np.exp(x)))

        top = float(np.log(spent))
        lo, hi, first = top - 12.0, top, float(np.log(want))
    else:
        # x = -log(factor / the policy's own), in [0, CHEAPEST]: stock looks cheaper.
        def knob(x: float) -> OptimizerPolicy:
            return replace(free, holding_factor=free.holding_factor * float(np.exp(-x)))

        lo, hi, first = 0.0, CHEAPEST, _levels_search(knob, invests, want)

    def pilot(x: float) -> float:
        p = knob(x)
        return _pilot_cell(p, world, behaviour, conditions, seed, planning, levels(p))

    start = hi if achieved > target_value else lo
    x, value = _search(pilot, [(start, achieved)], lo, hi, target_value, first)
    return knob(x), value


#: How much cheaper than its own holding cost a policy may plan its stock (e^-6).
CHEAPEST = 6.0
#: Levels-only steps of the holding factor's first setting.
LEVELS_STEPS = 4


def _levels_search(
    knob: Callable[[float], OptimizerPolicy],
    invests: Callable[[OptimizerPolicy], float],
    want: float,
) -> float:
    """The x in [0, CHEAPEST] at which `knob(x)`'s levels invest `want` (currency),
    investment growing with x, from levels alone: secant steps on log(investment) inside
    the bracket (a bisection where a step would leave it), to 2% or LEVELS_STEPS; an end
    where even that end invests too much or too little. (The pilot that follows checks
    what the setting holds; this only has to land near.)"""
    lo = (0.0, float(np.log(max(invests(knob(0.0)), 1e-9) / want)))
    if lo[1] >= 0:
        return 0.0
    hi = (CHEAPEST, float(np.log(max(invests(knob(CHEAPEST)), 1e-9) / want)))
    if hi[1] <= 0:
        return CHEAPEST
    for _ in range(LEVELS_STEPS):
        x = lo[0] - lo[1] * (hi[0] - lo[0]) / (hi[1] - lo[1])
        if not lo[0] < x < hi[0]:
            x = 0.5 * (lo[0] + hi[0])
        gap = float(np.log(max(invests(knob(x)), 1e-9) / want))
        if abs(gap) <= np.log1p(2 * MATCH_TOLERANCE):
            return x
        lo, hi = ((x, gap), hi) if gap < 0 else (lo, (x, gap))
    return lo[0] if abs(lo[1]) < abs(hi[1]) else hi[0]


def _search(
    pilot: Callable[[float], float],
    points: list[tuple[float, float]],
    lo: float,
    hi: float,
    target: float,
    first: float,
) -> tuple[float, float]:
    """The x in [lo, hi] whose pilot value (inventory, growing with x) is nearest
    `target`, among `points` (pilots run already), a pilot at `first`, and at most
    MATCH_ITERATIONS - 1 more: secant steps on log(value) through the two points nearest
    the target on either side once it is bracketed (a bisection where the secant would
    land outside), else through the two nearest, clipped to [lo, hi]; a step onto a
    point already tried stops the search (the target is out of reach there)."""

    def gap(value: float) -> float:
        return float(np.log(max(value, 1e-9) / target))

    x = float(np.clip(first, lo, hi))
    for _ in range(MATCH_ITERATIONS):
        if any(abs(x - p[0]) < 1e-9 for p in points):
            break
        points.append((x, pilot(x)))
        if abs(points[-1][1] - target) <= MATCH_TOLERANCE * target:
            break
        below = [p for p in points if gap(p[1]) < 0]
        above = [p for p in points if gap(p[1]) > 0]
        if below and above:
            a, b = max(below, key=lambda p: p[0]), min(above, key=lambda p: p[0])
        else:
            a, b = sorted(points, key=lambda p: abs(gap(p[1])))[:2]
        ga, gb = gap(a[1]), gap(b[1])
        x = a[0] - ga * (b[0] - a[0]) / (gb - ga) if gb != ga else 0.5 * (a[0] + b[0])
        if below and above and not min(a[0], b[0]) < x < max(a[0], b[0]):
            x = 0.5 * (a[0] + b[0])
        x = float(np.clip(x, lo, hi))
    return min(points, key=lambda p: abs(gap(p[1])))


def calibrate_preset(
    world: SimWorld,
    behaviour: Behaviour,
    policy: Policy,
    annual: float,
    conditions: Conditions | None = None,
    seed: int = 0,
) -> Behaviour:
    """`behaviour` with churn per stockout set so each segment loses `annual` a year.

    A pilot run with no stockout churn measures every customer's exposure (stockout
    events a year under `policy`); each segment's per-event probability then solves
    mean 1 - (1 - q)^e_i = annual (`per_event_churn_exposure`). Segments that met no
    stockout get the whole base's exposure.
    """
    cond = conditions or Conditions()
    calm = replace(behaviour, churn_per_stockout=np.zeros(len(world.segments)))
    pilot = run_policy(world, calm, policy, cond, seed, 0)
    exposed = world.active
    events = pilot.hits.astype(float) * 365.25 / cond.days
    if not events[exposed].any():
        raise ValueError("no customer met a stockout in the pilot: nothing to calibrate on")
    q = np.zeros(len(world.segments))
    for g in range(len(world.segments)):
        mine = events[exposed & (world.segment == g)]
        q[g] = per_event_churn_exposure(annual, mine if mine.any() else events[exposed])
    return replace(behaviour, churn_per_stockout=q)


def run_experiment(
    world: SimWorld,
    behaviour: Behaviour,
    experiment: Experiment,
    engine: str = "auto",
    address: str | None = None,
    progress: Progress | None = None,
    care_top: int = 100,
    planning: DemandEstimate | None = None,
    memory: float | None = None,
) -> ExperimentResult:
    """Run every cell of `experiment` on `world`; see the module docstring. `planning`:
    the demand every policy plans with at the start (None: the world's true rates).
    `memory`: bytes a local cluster may take (None: what the machine has free now); it
    gets as many workers as fit (`simulations.footprint`), or runs here, or the
    simulation is refused (SimulationTooLarge) before any work."""
    world.validate()
    if planning is not None:
        planning.fits(world)
    behaviour = experiment.apply(behaviour, world.segments)
    policies = experiment.policies
    names = tuple(p.name for p in policies)
    conditions = tuple(c for _, c in experiment.scenarios)
    cells = [
        (s, p, r)
        for s in range(len(conditions))
        for p in range(len(policies))
        for r in range(experiment.replications)
    ]
    to_match = [
        i for i, p in enumerate(policies)
        if experiment.match_inventory is not None
        and isinstance(p, OptimizerPolicy) and p.investment is None
    ]  # fmt: skip
    matched_rows = []
    # One pool for the pilots and the cells: a local cluster starts once.
    chunks = len(cells) + len(to_match)
    footprint = simulation_footprint(world, planning, max(conditions, key=lambda c: c.days))
    workers, notes = None, []
    if choose_engine(engine, address or dask_address(), chunks) == "local":
        free = memory if memory is not None else available()
        sizing = size_workers(footprint, local_workers(chunks), free)
        log.info(
            "simulation: about %s a worker (%s shared, %s a cell), %s free: %d worker(s)",
            gigabytes(footprint.worker), gigabytes(footprint.shared), gigabytes(footprint.cell),
            gigabytes(free), sizing.workers,
        )  # fmt: skip
        workers = sizing.workers
        if sizing.note:
            notes.append(sizing.note)
            log.warning("%s", sizing.note)
        if workers == 0:
            engine = "inline"
    n_levels = len({(c.holding_rate, p) for c in conditions for p in range(len(policies))})
    # Progress in steps of about one run: the reference's pilot, a match's few pilots
    # (MATCH_STEPS), each policy's first levels, then the cells.
    steps = Steps(progress, (1 + MATCH_STEPS * len(to_match) if to_match else 0) + n_levels
                  + len(cells))  # fmt: skip
    with pool(engine, address, chunks, workers or None) as runner:
        world_shared = {"world": world, "behaviour": behaviour, "planning": planning}
        if to_match:
            ref = policies[names.index(str(experiment.match_inventory))]
            base = conditions[0]
            # The reference's pilot and the uncapped pilots of the policies to match at
            # once; then each match from there.
            matching = [
                p for p in (policies[i] for i in to_match) if isinstance(p, OptimizerPolicy)
            ]
            uncapped: list[Policy] = [replace(p, investment=None) for p in matching]
            target, *held = runner.map(
                _pilot_cell, [ref, *uncapped], progress=steps.of(1),
                shared={**world_shared, "conditions": base, "seed": experiment.seed},
            )  # fmt: skip
            fits = runner.map(
                _match_cell,
                list(zip(matching, held, strict=True)),
                progress=steps.of(MATCH_STEPS - 1),
                shared={**world_shared, "target": target, "conditions": base,
                        "seed": experiment.seed},
            )  # fmt: skip
            tuned = list(policies)
            for i, (fit, value) in zip(to_match, fits, strict=True):
                matched_rows.append(
                    {"policy": fit.name, "investment": fit.investment,
                     "holding_factor": fit.holding_factor, "pilot_inventory": value,
                     "target_inventory": target}
                )  # fmt: skip
                log.info("%s: investment %s for inventory %.0f", fit.name, fit.investment, value)
                tuned[i] = fit
            policies = tuple(tuned)
        scenario_policy = {"policies": policies, "conditions": conditions}
        # The first levels are the same for every replication: planned once per policy
        # and holding rate (the optimizers' take a solve each).
        rates = [c.holding_rate for c in conditions]
        keys = {
            (s, p): (rates.index(rates[s]), p)
            for s in range(len(conditions))
            for p in range(len(policies))
        }
        distinct = sorted(set(keys.values()))
        planned = runner.map(
            _levels_cell, distinct, progress=steps.of(1),
            shared={**world_shared, **scenario_policy},
        )  # fmt: skip
        first = dict(zip(distinct, planned, strict=True))
        by_cell = {cell: first[key] for cell, key in keys.items()}
        log.info("running %d cells (%d scenarios x %d policies x %d replications)",
                 len(cells), len(conditions), len(policies), experiment.replications)  # fmt: skip
        runs = runner.map(
            _run_cell,
            cells,
            progress=steps.of(1),
            shared={**world_shared, **scenario_policy, "seed": experiment.seed,
                    "first": by_cell},
        )  # fmt: skip
    scenario_names = tuple(name for name, _ in experiment.scenarios)
    frames = []
    for (si, pi, r), run in zip(cells, runs, strict=True):
        frame = run_metrics(run).reset_index()
        frame.insert(0, "replication", r)
        frame.insert(0, "policy", names[pi])
        frame.insert(0, "scenario", scenario_names[si])
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    active = {}
    care = {}
    for si, scenario in enumerate(scenario_names):
        for pi, name in enumerate(names):
            mine = [
                run for (cs, cp, _), run in zip(cells, runs, strict=True) if (cs, cp) == (si, pi)
            ]
            active[(scenario, name)] = np.mean([run.active for run in mine], axis=0)
            care[(scenario, name)] = care_list(world, behaviour, mine, care_top)
    return ExperimentResult(
        policies=names,
        scenarios=scenario_names,
        reference=experiment.reference,
        cells=table,
        summary=summarize(table),
        paired=paired(table, experiment.reference),
        active=pd.DataFrame(active),
        care=care,
        matched=pd.DataFrame(
            matched_rows,
            columns=[
                "policy",
                "investment",
                "holding_factor",
                "pilot_inventory",
                "target_inventory",
            ],
        ),
        notes=tuple(notes),
    )
