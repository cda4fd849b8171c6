"""How tests wait for things that take a while: until they are ready, within one
generous bound.

A shared 2-core CI machine may run the suite next to other CPU-bound work, so nothing
here waits for a fixed time: a test polls for readiness (a server answers, a job ends,
a worker restarts) and fails only when `PATIENCE` seconds pass without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
#: Seconds a test waits for something to become ready before it fails.
PATIENCE = 240.0


def eventually(
    check: Callable[[], T | None], what: str, seconds: float = PATIENCE, every: float = 0.1
) -> T:
    """Poll `check()` until it returns something truthy, and return that; AssertionError
    naming `what` (and the last value seen) when `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value is not None and value:
            return value
        assert time.monotonic() < deadline, f"{what}: not ready after {seconds:.0f} s ({value!r})"
        time.sleep(every)
