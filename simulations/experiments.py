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

from runtime.parallel import pool
from simulations.calibration import per_event_churn_exposure
from simulations.engine import Conditions, DemandEstimate, RunResult, planning_view, run_policy
from simulations.metrics import care_list, paired, run_metrics, summarize
from simulations.model import Behaviour, SimWorld
from simulations.policies import OptimizerPolicy, Policy
from simulations.scenario_file import Experiment

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
MATCH_ITERATIONS = 4
MATCH_TOLERANCE = 0.01
#: The replication pilot runs use (tuning stock to a target): one no experiment evaluates
#: (they number theirs from 0 and run at most 1,000), so no evaluated run is also the
#: run a policy was tuned on.
PILOT_REPLICATION = 1_000_003


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


def _match_cell(
    policy: OptimizerPolicy,
    world: SimWorld,
    behaviour: Behaviour,
    target: float,
    conditions: Conditions,
    seed: int,
    planning: DemandEstimate | None = None,
) -> tuple[OptimizerPolicy, float]:
    return match_investment(world, behaviour, policy, target, conditions, seed, planning)


def _run_cell(
    cell: tuple[int, int, int],
    world: SimWorld,
    behaviour: Behaviour,
    policies: tuple[Policy, ...],
    conditions: tuple[Conditions, ...],
    seed: int,
    planning: DemandEstimate | None = None,
) -> RunResult:
    scenario, policy, replication = cell
    return run_policy(
        world, behaviour, policies[policy], conditions[scenario], seed, replication, planning
    )


def match_investment(
    world: SimWorld,
    behaviour: Behaviour,
    policy: OptimizerPolicy,
    target_value: float,
    conditions: Conditions,
    seed: int = 0,
    planning: DemandEstimate | None = None,
) -> tuple[OptimizerPolicy, float]:
    """The policy tuned to hold `target_value` of average inventory; and what it held.

    Pilot runs (`PILOT_REPLICATION`, never evaluated). If the uncapped policy holds
    more than the target, its investment cap is rescaled by target / achieved (inventory
    grows with the cap about in proportion); if it holds less, its holding-cost factor
    is bisected on a log scale until it holds enough. Stops within 1% or after
    `MATCH_ITERATIONS` (cap) or twice that (factor) pilots.
    """

    def pilot(p: OptimizerPolicy) -> float:
        run = run_policy(world, behaviour, p, conditions, seed, PILOT_REPLICATION, planning)
        return float(run.totals["inventory_value"])

    def close(value: float) -> bool:
        return abs(value - target_value) <= MATCH_TOLERANCE * target_value

    free = replace(policy, investment=None)
    achieved = pilot(free)
    if close(achieved):
        return free, achieved
    if achieved < target_value:
        # Bisect x in [-6, 0], factor = the policy's own x e^x (e^0 holds too little).
        lo, hi = -6.0, 0.0
        cheapest = replace(free, holding_factor=free.holding_factor * float(np.exp(lo)))
        best = max((free, achieved), (cheapest, pilot(cheapest)), key=lambda pv: pv[1])
        if best[1] <= target_value:
            return best  # even near-free stock is not worth holding that much
        for _ in range(2 * MATCH_ITERATIONS):
            mid = 0.5 * (lo + hi)
            trial = replace(free, holding_factor=free.holding_factor * float(np.exp(mid)))
            value = pilot(trial)
            if abs(value - target_value) < abs(best[1] - target_value):
                best = (trial, value)
            if close(value):
                break
            lo, hi = (mid, hi) if value > target_value else (lo, mid)
        return best
    estimate = planning or DemandEstimate.oracle(world)
    view = planning_view(
        world, behaviour, estimate.daily_mean, estimate.daily_var, conditions.holding_rate
    )
    investment = float(free.levels(view).order_up_to @ world.unit_cost)
    current = free
    for _ in range(MATCH_ITERATIONS):
        investment *= target_value / max(achieved, 1e-9)
        current = replace(policy, investment=investment)
        achieved = pilot(current)
        if close(achieved):
            break
    return current, achieved


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
) -> ExperimentResult:
    """Run every cell of `experiment` on `world`; see the module docstring. `planning`:
    the demand every policy plans with at the start (None: the world's true rates)."""
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
    with pool(engine, address, len(cells) + len(to_match)) as runner:
        if to_match:
            ref = policies[names.index(str(experiment.match_inventory))]
            base = conditions[0]
            target = run_policy(
                world, behaviour, ref, base, experiment.seed, PILOT_REPLICATION, planning
            ).totals["inventory_value"]
            fits = runner.map(
                _match_cell,
                [policies[i] for i in to_match],
                shared={"world": world, "behaviour": behaviour, "target": target,
                        "conditions": base, "seed": experiment.seed, "planning": planning},
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
        log.info("running %d cells (%d scenarios x %d policies x %d replications)",
                 len(cells), len(conditions), len(policies), experiment.replications)  # fmt: skip
        runs = runner.map(
            _run_cell,
            cells,
            progress=progress,
            shared={
                "world": world,
                "behaviour": behaviour,
                "policies": policies,
                "conditions": conditions,
                "seed": experiment.seed,
                "planning": planning,
            },
        )
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
    )
