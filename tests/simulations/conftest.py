"""The tiny generated world as the simulator sees it."""

from __future__ import annotations

import pytest

from simulations.estimate import from_generated
from simulations.model import Behaviour, SimWorld
from simulations.world import GeneratedWorld


@pytest.fixture(scope="session")
def sim(tiny_world: GeneratedWorld) -> tuple[SimWorld, Behaviour]:
    return from_generated(tiny_world)
