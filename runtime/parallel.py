"""Running independent chunks of work inline, on a local Dask cluster, or on a remote one.

The same function runs on every chunk whatever the engine, and results come back in
chunk order, so a run gives identical numbers inline, on a `LocalCluster` or on a
cluster given by address (`REPLENISH_DASK_ADDRESS=tcp://host:8786`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
    (a configured address if there is one, else local for many chunks on a machine
    with more than one core, else inline). `shared` values (a large world, say) go to
    every worker once, not with each chunk.
    """
    with pool(engine, address, len(chunks)) as runner:
        return runner.map(fn, chunks, progress, shared)


class Runner:
    """Maps functions over chunks on one engine; several maps share one cluster."""

    def __init__(self, client: Any = None) -> None:
        self.client = client

    def map(
        self,
        fn: Callable[..., R],
        chunks: Sequence[T],
        progress: Callable[[int, int], None] | None = None,
        shared: dict[str, Any] | None = None,
    ) -> list[R]:
        """`fn(chunk, **shared)` for every chunk, in chunk order."""
        shared = shared or {}
        if self.client is None:
            results = []
            for i, chunk in enumerate(chunks):
                results.append(fn(chunk, **shared))
                if progress:
                    progress(i + 1, len(chunks))
            return results
        return _gather(self.client, fn, chunks, progress, shared)


def choose_engine(engine: str, address: str | None, chunks: int) -> str:
    """The engine "auto" stands for with `chunks` chunks of work: the configured
    cluster, else a local one when there is enough work for several cores, else inline
    (a local cluster's start-up costs seconds a small catalogue does not repay)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: inline, local, dask or auto")
    if engine != "auto":
        return engine
    if address:
        return "dask"
    return "local" if chunks >= 8 and (os.cpu_count() or 1) > 1 else "inline"


@contextmanager
def pool(engine: str = "auto", address: str | None = None, chunks: int = 0) -> Iterator[Runner]:
    """A Runner on `engine` (see `run_chunks`; "auto" decides by the `chunks` expected
    over the pool's life), its cluster closed on exit."""
    address = address or dask_address()
    engine = choose_engine(engine, address, chunks)
    if engine == "inline":
        yield Runner()
        return
    from distributed import Client, LocalCluster

    _quiet_distributed()
    if engine == "dask":
        if not address:
            raise ValueError(f"engine 'dask' needs an address (or {ADDRESS_ENV})")
        log.info("running %d chunks on the Dask cluster at %s", chunks, address)
        with Client(address) as client:
            yield Runner(client)
        return
    workers = max(1, min(os.cpu_count() or 1, max(chunks, 1)))
    log.info("running %d chunks on a local Dask cluster of %d workers", chunks, workers)
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield Runner(client)


def _quiet_distributed() -> None:
    """Importing distributed sets its loggers to INFO with a handler of its own, so a
    user would see every worker start and stop ("Worker process ... killed by signal
    9" as a cluster closes). They follow the application's level instead: INFO when it
    logs INFO (a `-v` run), WARNING otherwise."""
    level = max(logging.getLogger().getEffectiveLevel(), logging.INFO)
    for name in ("distributed", "distributed.nanny", "distributed.scheduler",
                 "distributed.worker", "distributed.core", "distributed.http.proxy"):  # fmt: skip
        logging.getLogger(name).setLevel(level)


def _gather(
    client: Any,
    fn: Callable[..., R],
    chunks: Sequence[T],
    progress: Callable[[int, int], None] | None,
    shared: dict[str, Any],
) -> list[R]:
    from distributed import as_completed

    # Scatter the chunks first: arrays go to the workers once, not inside the task graph.
    # hash=False: several maps on one pool may scatter equal data; with content keys a
    # later map's scatter can name data an earlier map is releasing, and its tasks are
    # cancelled (dask/distributed#4612).
    data = client.scatter(list(chunks), hash=False)
    common = {k: client.scatter(v, broadcast=True, hash=False) for k, v in shared.items()}
    futures = client.map(fn, data, pure=False, **common)
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    for done, future in enumerate(as_completed(futures), start=1):
        results[index[future.key]] = future.result()
        if progress:
            progress(done, len(futures))
    return results
