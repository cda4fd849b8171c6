"""Service settings, from the environment (twelve-factor): one place that reads it.

REPLENISH_DATABASE_URL (default: a SQLite file `replenish.db`), REPLENISH_DASK_ADDRESS
(compute on a Dask cluster when set), REPLENISH_WEBHOOK_URL and REPLENISH_WEBHOOK_SECRET
(push approved purchase orders), REPLENISH_MAX_UPLOAD_BYTES (default 200 MB: one
uploaded table file), REPLENISH_MAX_JSON_BYTES (default 1 MB: any other request body),
REPLENISH_AUTH_CACHE_SECONDS (default 5: a user changed in the database is seen by every
process within that time; 0 looks every key and app session up on every request), REPLENISH_THREADS
(default 2: threads per process for the routes' database work).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from api.database import DEFAULT_URL


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    dask_address: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    max_upload_bytes: int = 200_000_000
    max_json_bytes: int = 1_000_000
    webhook_backoff_seconds: float = 1.0  # first retry delay; doubles up to 5 minutes
    auth_cache_seconds: float = 5.0  # how long a process remembers who holds a key
    # Threads per process for routes' database work. They share one GIL, so more than a
    # few only adds contention (measured in benchmarks/api_load.py); more processes
    # (`replenish serve --workers`) add throughput instead.
    threads: int = 2
    # Set by `replenish serve --workers N` for its worker processes (REPLENISH_SUPERVISED):
    # the parent recovers interrupted jobs and sends webhooks, not each worker.
    supervised: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from REPLENISH_* variables; ValueError names a malformed one."""
        max_upload = int(_number("REPLENISH_MAX_UPLOAD_BYTES", "200000000", int, 1, 10**12))
        max_json = int(_number("REPLENISH_MAX_JSON_BYTES", "1000000", int, 1024, 10**9))
        threads = int(_number("REPLENISH_THREADS", "2", int, 1, 256))
        auth_cache = _number("REPLENISH_AUTH_CACHE_SECONDS", "5", float, 0, 3600)
        return cls(
            database_url=os.environ.get("REPLENISH_DATABASE_URL", DEFAULT_URL),
            dask_address=os.environ.get("REPLENISH_DASK_ADDRESS") or None,
            webhook_url=os.environ.get("REPLENISH_WEBHOOK_URL") or None,
            webhook_secret=os.environ.get("REPLENISH_WEBHOOK_SECRET") or None,
            max_upload_bytes=max_upload,
            max_json_bytes=max_json,
            auth_cache_seconds=auth_cache,
            threads=threads,
            supervised=os.environ.get("REPLENISH_SUPERVISED", "") == "1",
        )


def _number(
    name: str, default: str, kind: type[int] | type[float], low: float, high: float
) -> float:
    """The number in environment variable `name` (`kind` int: a whole one), in [low, high]."""
    raw = os.environ.get(name, default)
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{name} must be {what}, got {raw!r}") from None
    if not low <= value <= high:  # also refuses nan
        raise ValueError(f"{name} must be between {low} and {high}, got {raw!r}")
    return value
