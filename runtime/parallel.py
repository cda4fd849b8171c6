"""Running independent chunks of work inline, on a local Dask cluster, or on a remote one.

The same function runs on every chunk whatever the engine, and results come back in
chunk order, so a run gives identical numbers inline, on a `LocalCluster` or on a
cluster given by address (`REPLENISH_DASK_ADDRESS=tcp://host:8786`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

ADDRESS_ENV = "REPLENISH_DASK_ADDRESS"
#: The engines `run_chunks` knows, as command options spell them.
ENGINES = ["auto", "inline", "local", "dask"]


def dask_address() -> str | None:
    """The configured Dask scheduler address, if any."""
    return os.environ.get(ADDRESS_ENV) or None


def run_chunks(
    fn: Callable[..., R],
    chunks: Sequence[T],
    engine: str = "auto",
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    shared: dict[str, Any] | None = None,
) -> list[R]:
    """Apply `fn(chunk, **shared)` to every chunk; results in chunk order.

    engine: "inline" (this process), "local" (a Dask LocalCluster with one process per
    core), "dask" (the scheduler at `address` or REPLENISH_DASK_ADDRESS), or "auto"
    (a configured address if there is one, else local for many chunks, else inline).
    `shared` values (a large world, say) go to every worker once, not with each chunk.
    """
    shared = shared or {}
    address = address or dask_address()
    if engine == "auto":
        engine = "dask" if address else ("local" if len(chunks) >= 8 else "inline")
    if engine == "inline":
        results = []
        for i, chunk in enumerate(chunks):
            results.append(fn(chunk, **shared))
            if progress:
                progress(i + 1, len(chunks))
        return results
    from distributed import Client, LocalCluster

    if engine == "dask":
        if not address:
            raise ValueError(f"engine 'dask' needs an address (or {ADDRESS_ENV})")
        log.info("running %d chunks on the Dask cluster at %s", len(chunks), address)
        with Client(address) as client:
            return _gather(client, fn, chunks, progress, shared)
    if engine == "local":
        workers = max(1, min(os.cpu_count() or 1, len(chunks)))
        log.info("running %d chunks on a local Dask cluster of %d workers", len(chunks), workers)
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            return _gather(client, fn, chunks, progress, shared)
    raise ValueError(f"unknown engine {engine!r}: inline, local, dask or auto")


def _gather(
    client: Any,
    fn: Callable[..., R],
    chunks: Sequence[T],
    progress: Callable[[int, int], None] | None,
    shared: dict[str, Any],
) -> list[R]:
    from distributed import as_completed

    # Scatter the chunks first: arrays go to the workers once, not inside the task graph.
    data = client.scatter(list(chunks))
    common = {k: client.scatter(v, broadcast=True) for k, v in shared.items()}
    futures = client.map(fn, data, pure=False, **common)
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    for done, future in enumerate(as_completed(futures), start=1):
        results[index[future.key]] = future.result()
        if progress:
            progress(done, len(futures))
    return results
