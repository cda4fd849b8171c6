"""How much memory this process and its children hold, and how much the machine has.

The main job runs on a parent process and its Dask workers, so what a person (or a
machine's out-of-memory killer) sees is the resident memory of the whole process tree:
`tree_rss` adds it up, `PeakMemory` samples it in a thread while a stage runs, and
`available` is what the operating system could still hand out (bytes throughout).
"""

from __future__ import annotations

import threading
from types import TracebackType

import psutil

#: Seconds between two samples of the process tree's memory.
SAMPLE_SECONDS = 0.25


def tree_rss(pid: int | None = None) -> int:
    """Resident bytes of process `pid` (default: this one) and all its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += int(proc.memory_info().rss)
        except psutil.Error:  # a child that ended between the listing and the reading
            continue
    return total


def available() -> int:
    """Bytes the machine could still give processes without swapping."""
    return int(psutil.virtual_memory().available)


def total() -> int:
    """The machine's memory, bytes."""
    return int(psutil.virtual_memory().total)


class PeakMemory:
    """The most the process tree held while the context was open (`peak`, bytes),
    sampled every SAMPLE_SECONDS in a daemon thread (and once at entry and exit)."""

    def __init__(self, interval: float = SAMPLE_SECONDS) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        self.peak = max(self.peak, tree_rss())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._sample()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()


def gigabytes(n_bytes: float) -> str:
    """Bytes as a person reads them: '3.1 GB', '640 MB'."""
    if n_bytes >= 1e9:
        return f"{n_bytes / 1e9:.1f} GB"
    return f"{n_bytes / 1e6:.0f} MB"
