"""Service settings, from the environment (twelve-factor): one place that reads it.

REPLENISH_DATABASE_URL (default: a SQLite file `replenish.db`), REPLENISH_DASK_ADDRESS
(compute on a Dask cluster when set), REPLENISH_WEBHOOK_URL and REPLENISH_WEBHOOK_SECRET
(push approved purchase orders), REPLENISH_MAX_UPLOAD_BYTES (default 200 MB).
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
    webhook_backoff_seconds: float = 1.0  # first retry delay; doubles up to 5 minutes

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from REPLENISH_* variables; ValueError names a malformed one."""
        raw = os.environ.get("REPLENISH_MAX_UPLOAD_BYTES", "200000000")
        try:
            max_upload = int(raw)
        except ValueError:
            raise ValueError(
                f"REPLENISH_MAX_UPLOAD_BYTES must be a whole number, got {raw!r}"
            ) from None
        if max_upload <= 0:
            raise ValueError("REPLENISH_MAX_UPLOAD_BYTES must be positive")
        return cls(
            database_url=os.environ.get("REPLENISH_DATABASE_URL", DEFAULT_URL),
            dask_address=os.environ.get("REPLENISH_DASK_ADDRESS") or None,
            webhook_url=os.environ.get("REPLENISH_WEBHOOK_URL") or None,
            webhook_secret=os.environ.get("REPLENISH_WEBHOOK_SECRET") or None,
            max_upload_bytes=max_upload,
        )
