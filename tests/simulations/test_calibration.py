"""Churn per stockout from a sector preset: the per-event formula and its calibration."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from simulations.calibration import per_event_churn, per_event_churn_exposure
from simulations.engine import Conditions, run_policy
from simulations.estimate import from_generated
from simulations.experiments import calibrate_preset
from simulations.policies import MinMaxPolicy
from simulations.world import PRESETS, generate, params_for


def test_per_event_churn_inverts_the_yearly_loss() -> None:
    q = per_event_churn(0.185, 4.0)
    assert 1 - (1 - q) ** 4 == pytest.approx(0.185)
    assert per_event_churn(0.0, 3.0) == 0.0
    with pytest.raises(ValueError):
        per_event_churn(1.0, 3.0)
    with pytest.raises(ValueError):
        per_event_churn(0.1, 0.0)


def test_exposure_calibration_matches_the_formula_for_equal_exposure() -> None:
    q = per_event_churn_exposure(0.185, np.full(50, 4.0))
    assert q == pytest.approx(per_event_churn(0.185, 4.0), rel=1e-9)


def test_uneven_exposure_needs_a_higher_per_event_churn() -> None:
    uneven = np.array([0.5, 1.0, 2.0, 12.5])  # mean 4, as above
    q = per_event_churn_exposure(0.185, uneven)
    assert float(np.mean(1 - (1 - q) ** uneven)) == pytest.approx(0.185, abs=1e-9)
    assert q > per_event_churn(0.185, 4.0)


def test_exposure_calibration_refuses_what_it_cannot_reach() -> None:
    with pytest.raises(ValueError, match="too few customers"):
        per_event_churn_exposure(0.5, np.array([0.0, 0.0, 3.0]))  # at most 1/3 can leave
    with pytest.raises(ValueError):
        per_event_churn_exposure(0.1, np.array([-1.0]))
    with pytest.raises(ValueError):
        per_event_churn_exposure(1.0, np.array([1.0]))


def test_a_calibrated_preset_loses_the_presets_share_in_a_year() -> None:
    """Calibrate on a pilot's exposure, then simulate a year: each tier loses ~18.5%."""
    world, behaviour = from_generated(generate(params_for("small", seed=11)))
    annual = PRESETS["retail"].stockout_churn_annual
    k = len(world.segments)
    no_other = replace(behaviour, return_probability=np.zeros(k), base_churn_daily=np.zeros(k))
    policy = MinMaxPolicy(min_factor=0.8, max_factor=1.6)
    cond = Conditions(days=365)
    calibrated = calibrate_preset(world, no_other, policy, annual, cond, seed=1)
    lost = np.zeros(k)
    for r in range(2):
        run = run_policy(world, calibrated, policy, cond, seed=1, replication=r)
        lost += run.segment["customers_lost"] / run.segment["active_start"]
    lost /= 2
    assert lost.mean() == pytest.approx(annual, abs=0.03)
    assert lost == pytest.approx(np.full(k, annual), abs=0.06)
