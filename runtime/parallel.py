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
    """Maps functions over chunks on one engine; several maps share one cluster (and the
    `shared` values they pass: each object goes to the workers once per pool)."""

    def __init__(self, client: Any = None) -> None:
        self.client = client
        # id(value) -> (value, its future): the value is kept so its id stays its own.
        self._scattered: dict[int, tuple[Any, Any]] = {}

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
        return _gather(self, fn, chunks, progress, shared)

    def _scatter(self, value: Any) -> Any:
        """`value` on every worker (a future), once per pool."""
        known = self._scattered.get(id(value))
        if known is None or known[0] is not value:
            # hash=False: several maps on one pool may scatter equal data; with content
            # keys a later scatter can name data an earlier map is releasing, and its
            # tasks are cancelled (dask/distributed#4612).
            future = self.client.scatter(value, broadcast=True, hash=False)
            known = self._scattered[id(value)] = (value, future)
        return known[1]


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


def local_workers(chunks: int) -> int:
    """Workers of a local cluster for `chunks` chunks: one per core, at most one a chunk."""
    return max(1, min(os.cpu_count() or 1, max(chunks, 1)))


@contextmanager
def pool(
    engine: str = "auto", address: str | None = None, chunks: int = 0, workers: int | None = None
) -> Iterator[Runner]:
    """A Runner on `engine` (see `run_chunks`; "auto" decides by the `chunks` expected
    over the pool's life), its cluster closed on exit. `workers`: a local cluster's size
    (default `local_workers`; what fits in memory, say)."""
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
    workers = workers or local_workers(chunks)
    log.info("running %d chunks on a local Dask cluster of %d workers", chunks, workers)
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield Runner(client)


#: The level of Dask's own loggers in this process (`set_engine_verbosity`).
_engine_level = logging.WARNING


def set_engine_verbosity(chatty: bool) -> None:
    """Dask's own messages (workers starting and stopping, connections, the scheduler)
    at INFO when `chatty` (the CLI's -vv), else only its warnings and errors."""
    global _engine_level
    _engine_level = logging.INFO if chatty else logging.WARNING
    _quiet_distributed()


def _quiet_distributed() -> None:
    """Importing distributed sets its loggers to INFO with a handler of its own, so a
    user would see every worker start and stop ("Worker process ... killed by signal
    9" as a cluster closes). They log at `_engine_level` instead."""
    for name in ("distributed", "distributed.nanny", "distributed.scheduler",
                 "distributed.worker", "distributed.core", "distributed.http.proxy"):  # fmt: skip
        logging.getLogger(name).setLevel(_engine_level)


class ParallelError(RuntimeError):
    """The parallel engine lost work it could not get back: a worker died or the
    cluster went away, twice for the same map (one loss is retried). The message is one
    line a person can act on."""


#: A map whose chunks are lost (a worker killed, the cluster gone) submits them again
#: this many times before it gives up with a ParallelError.
RETRIES = 1


def _gather(
    runner: Runner,
    fn: Callable[..., R],
    chunks: Sequence[T],
    progress: Callable[[int, int], None] | None,
    shared: dict[str, Any],
) -> list[R]:
    """`fn(chunk, **shared)` on the cluster, in chunk order. A chunk whose task was lost
    (its worker died, its data was forgotten, the connection dropped) is submitted again
    with its inputs sent anew, `RETRIES` times; an error raised by `fn` itself is raised
    here as it would be inline."""
    from distributed import as_completed

    results: list[Any] = [None] * len(chunks)
    todo = list(range(len(chunks)))
    done = 0
    for attempt in range(RETRIES + 1):
        try:
            lost = []
            # Scatter the chunks first: arrays go to the workers once, not inside the
            # task graph (`shared` values through the runner, once per pool).
            common = {k: runner._scatter(v) for k, v in shared.items()}
            data = runner.client.scatter([chunks[i] for i in todo], hash=False)
            futures = runner.client.map(fn, data, pure=False, **common)
            index = {f.key: i for i, f in zip(todo, futures, strict=True)}
            for future in as_completed(futures, raise_errors=False):
                i = index[future.key]
                try:
                    results[i] = future.result()
                except Exception as exc:
                    if not _lost(exc):
                        raise  # the function's own error, as inline
                    lost.append((i, f"{type(exc).__name__}: {exc}".splitlines()[0]))
                    continue
                done += 1
                if progress:
                    progress(done, len(chunks))
        except (OSError, TimeoutError) as exc:  # the scheduler went away mid-map
            lost = [(i, f"{type(exc).__name__}: {exc}") for i in todo if results[i] is None]
        if not lost:
            return results
        todo = sorted(i for i, _ in lost)
        cause = lost[0][1]
        if attempt < RETRIES:
            log.warning(
                "%d of %d chunks were lost on the Dask cluster (%s); submitting them again",
                len(todo), len(chunks), cause,
            )  # fmt: skip
            runner._scattered.clear()  # their copies may have died with the worker
            continue
        raise ParallelError(
            f"{len(todo)} of {len(chunks)} chunks were lost on the Dask cluster twice ({cause})"
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _lost(exc: BaseException) -> bool:
    """Whether a task's error says its work was lost (a worker killed, its data
    forgotten, a connection dropped), not that the function failed."""
    from concurrent.futures import CancelledError

    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    return isinstance(exc, (CancelledError, KilledWorker, CommClosedError, OSError, TimeoutError))
