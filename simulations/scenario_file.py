"""Scenario files (TOML): which policies, under which what-ifs, for how long, how often.

    [run]
    days = 180              # simulated days per replication
    replications = 10
    seed = 1
    reference = "min/max"   # paired differences are taken against this policy
    match_inventory = "min/max"  # optional: optimizer policies hold as much stock as it

    [behaviour]             # optional overrides, per segment where a table is given
    return_probability = 0.35
    coupon_cost = 5.0
    reactions = { A = [0.3, 0.4, 0.2, 0.1] }   # backorder, substitute, lost_sale, no_purchase

    [[policies]]
    name = "min/max"
    kind = "min_max"        # ss, base_stock, min_max, segment_blind, churn_aware
    max_factor = 2.0
    z = 1.645               # safety stock, sd of protection demand (min_max and ss)

    [[scenarios]]
    name = "lead times x2"
    lead_time_factor = 2.0  # also demand_factor, churn_multiplier, compensation, budget_factor

Anything unknown, mistyped or out of range is refused with every problem named by its
place in the file (`policies[2].kind: ...`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulations.engine import Conditions
from simulations.model import Behaviour
from simulations.policies import (
    BaseStockPolicy,
    MinMaxPolicy,
    OptimizerPolicy,
    Policy,
    SsPolicy,
)

MAX_FILE_BYTES = 1_000_000


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names each problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class RunSpec(_Strict):
    days: int = Field(default=180, ge=1, le=3650)
    replications: int = Field(default=10, ge=1, le=1000)
    seed: int = Field(default=0, ge=0)
    reference: str | None = None
    match_inventory: str | None = None
    replan_days: int = Field(default=28, ge=1)
    holding_rate: float = Field(default=0.25, ge=0, allow_inf_nan=False)


PerSegment = float | dict[str, float]


class BehaviourSpec(_Strict):
    reactions: dict[str, tuple[float, float, float, float]] | None = None
    churn_per_stockout: PerSegment | None = None
    return_probability: PerSegment | None = None
    base_churn_annual: PerSegment | None = None
    mean_days_to_return: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    coupon_cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    coupon_effect: float | None = Field(default=None, ge=0, le=1)


_KIND_FIELDS = {
    "ss": {"z"},
    "base_stock": {"service_level"},
    "min_max": {"min_factor", "max_factor", "z"},
    "segment_blind": {"investment"},
    "churn_aware": {"investment", "reserve"},
}


class PolicySpec(_Strict):
    name: str = Field(min_length=1, max_length=60)
    kind: Literal["ss", "base_stock", "min_max", "segment_blind", "churn_aware"]
    z: float | None = Field(default=None, ge=-3, le=5)
    service_level: float | None = Field(default=None, gt=0, lt=1)
    min_factor: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    max_factor: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    investment: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    reserve: bool | None = None

    @model_validator(mode="after")
    def _fields_of_kind(self) -> PolicySpec:
        given = {k for k, v in self.__dict__.items() if v is not None} - {"name", "kind"}
        stray = given - _KIND_FIELDS[self.kind]
        if stray:
            raise ValueError(
                f"{', '.join(sorted(stray))} do(es) not apply to kind {self.kind!r} "
                f"(it takes {', '.join(sorted(_KIND_FIELDS[self.kind])) or 'nothing'})"
            )
        if (
            self.min_factor is not None
            and self.max_factor is not None
            and self.max_factor < self.min_factor
        ):
            raise ValueError("max_factor must be at least min_factor")
        return self

    def build(self) -> Policy:
        extra = {k: v for k, v in self.__dict__.items() if v is not None and k != "kind"}
        if self.kind == "ss":
            return SsPolicy(**extra)
        if self.kind == "base_stock":
            return BaseStockPolicy(**extra)
        if self.kind == "min_max":
            return MinMaxPolicy(**extra)
        return OptimizerPolicy(churn_aware=self.kind == "churn_aware", **extra)


class ScenarioSpec(_Strict):
    name: str = Field(min_length=1, max_length=60)
    lead_time_factor: float = Field(default=1.0, gt=0, le=20, allow_inf_nan=False)
    demand_factor: float = Field(default=1.0, ge=0, le=20, allow_inf_nan=False)
    churn_multiplier: float = Field(default=1.0, ge=0, le=100, allow_inf_nan=False)
    compensation: bool = False
    budget_factor: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)


class ExperimentSpec(_Strict):
    run: RunSpec = RunSpec()
    behaviour: BehaviourSpec = BehaviourSpec()
    policies: list[PolicySpec] = Field(min_length=1, max_length=20)
    scenarios: list[ScenarioSpec] = Field(
        default_factory=lambda: [ScenarioSpec(name="baseline")], min_length=1, max_length=50
    )

    @model_validator(mode="after")
    def _names(self) -> ExperimentSpec:
        for label, names in (
            ("policies", [p.name for p in self.policies]),
            ("scenarios", [s.name for s in self.scenarios]),
        ):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{label} named more than once: {', '.join(twice)}")
        known = {p.name for p in self.policies}
        for key in ("reference", "match_inventory"):
            value = getattr(self.run, key)
            if value is not None and value not in known:
                raise ValueError(f"run.{key} {value!r} is not one of the policies")
        return self


@dataclass(frozen=True)
class Experiment:
    """A validated scenario file: policies x scenarios x replications."""

    policies: tuple[Policy, ...]
    scenarios: tuple[tuple[str, Conditions], ...]
    replications: int
    seed: int
    reference: str
    match_inventory: str | None
    behaviour: BehaviourSpec

    def apply(self, behaviour: Behaviour, segments: tuple[str, ...]) -> Behaviour:
        """The world's behaviour with this file's overrides; ScenarioError on bad segments."""
        spec = self.behaviour

        def per_segment(value: PerSegment | None, base: np.ndarray, name: str) -> np.ndarray:
            if value is None:
                return base
            if isinstance(value, dict):
                unknown = sorted(set(value) - set(segments))
                if unknown:
                    raise ScenarioError(
                        f"behaviour.{name}: unknown segment(s) {', '.join(unknown)}; "
                        f"segments are {', '.join(segments)}"
                    )
                return np.array([value.get(s, base[i]) for i, s in enumerate(segments)])
            return np.full(len(segments), float(value))

        reactions = behaviour.reactions.copy()
        for seg, shares in (spec.reactions or {}).items():
            if seg not in segments:
                raise ScenarioError(f"behaviour.reactions: unknown segment {seg!r}")
            reactions[segments.index(seg)] = shares
        base_daily = behaviour.base_churn_daily
        if spec.base_churn_annual is not None:
            annual = per_segment(
                spec.base_churn_annual, np.zeros(len(segments)), "base_churn_annual"
            )
            if ((annual < 0) | (annual >= 1)).any():
                raise ScenarioError("behaviour.base_churn_annual must lie in [0, 1)")
            base_daily = 1.0 - (1.0 - annual) ** (1.0 / 365.25)
        out = Behaviour(
            reactions=reactions,
            churn_per_stockout=per_segment(
                spec.churn_per_stockout, behaviour.churn_per_stockout, "churn_per_stockout"
            ),
            return_probability=per_segment(
                spec.return_probability, behaviour.return_probability, "return_probability"
            ),
            base_churn_daily=base_daily,
            mean_days_to_return=spec.mean_days_to_return or behaviour.mean_days_to_return,
            coupon_cost=behaviour.coupon_cost if spec.coupon_cost is None else spec.coupon_cost,
            coupon_effect=(
                behaviour.coupon_effect if spec.coupon_effect is None else spec.coupon_effect
            ),
        )
        try:
            out.validate(len(segments))
        except ValueError as exc:
            raise ScenarioError(f"behaviour: {exc}") from None
        return out


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def parse(data: dict[str, Any], source: str = "scenario") -> Experiment:
    """Validate a decoded scenario (a dict as TOML gives it) into an Experiment."""
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-after"))
            problems.append(f"  {_where(loc)}: {err['msg']}")
        header = f"{source}: {len(problems)} problem(s)"
        raise ScenarioError("\n".join([header, *problems])) from None
    run = spec.run
    scenarios = tuple(
        (
            s.name,
            Conditions(
                days=run.days,
                lead_time_factor=s.lead_time_factor,
                demand_factor=s.demand_factor,
                churn_multiplier=s.churn_multiplier,
                compensation=s.compensation,
                budget_factor=s.budget_factor,
                holding_rate=run.holding_rate,
                replan_days=run.replan_days,
            ),
        )
        for s in spec.scenarios
    )
    return Experiment(
        policies=tuple(p.build() for p in spec.policies),
        scenarios=scenarios,
        replications=run.replications,
        seed=run.seed,
        reference=run.reference or spec.policies[0].name,
        match_inventory=run.match_inventory,
        behaviour=spec.behaviour,
    )


def load(path: str | Path) -> Experiment:
    """Read and validate a scenario file; ScenarioError says what is wrong and where."""
    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise ScenarioError(f"{file}: cannot read it ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise ScenarioError(f"{file}: {size:,} bytes, more than the {MAX_FILE_BYTES:,} allowed")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{file}: not UTF-8 text") from None
    except OSError as exc:  # a folder, a file that vanished or may not be read
        raise ScenarioError(f"{file}: cannot read it ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{file}: not valid TOML: {exc}") from None
    return parse(data, str(file))


DEFAULT = {
    "run": {"days": 180, "replications": 5, "seed": 1, "reference": "min/max",
            "match_inventory": "min/max"},
    "policies": [
        {"name": "min/max", "kind": "min_max"},
        {"name": "base-stock", "kind": "base_stock"},
        {"name": "(s,S)", "kind": "ss"},
        {"name": "segment-blind", "kind": "segment_blind"},
        {"name": "churn-aware", "kind": "churn_aware"},
    ],
    "scenarios": [
        {"name": "baseline"},
        {"name": "budget -20%", "budget_factor": 0.8},
        {"name": "lead times x2", "lead_time_factor": 2.0},
    ],
}  # fmt: skip
"""The comparison the demo runs: five policies, three what-ifs, at equal inventory."""
