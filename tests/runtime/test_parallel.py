"""The parallel engine on a real local Dask cluster: a worker killed mid-run costs a
retry, never a traceback or a wrong number; work lost twice is one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from runtime.parallel import ParallelError, Runner
from simulations.estimate import from_generated
from simulations.experiments import run_experiment
from simulations.scenario_file import parse
from simulations.world import GeneratedWorld

pytestmark = pytest.mark.slow

EXPERIMENT = {
    "run": {"days": 30, "replications": 3, "seed": 4, "reference": "min/max"},
    "policies": [
        {"name": "min/max", "kind": "min_max"},
        {"name": "base-stock", "kind": "base_stock", "service_level": 0.9},
    ],
    "scenarios": [{"name": "base"}],
}


@pytest.fixture
def cluster() -> Iterator[tuple[LocalCluster, Client]]:
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        as local,
        Client(local) as client,
    ):  # fmt: skip
        yield local, client


def _kill_one(client: Client) -> int:
    """SIGKILL one worker process (its nanny starts another); returns its pid."""
    pid = int(sorted(client.run(os.getpid).values())[0])
    os.kill(pid, signal.SIGKILL)
    return pid


def test_a_worker_killed_mid_simulation_costs_a_retry_not_a_result(
    cluster: tuple[LocalCluster, Client], tiny_world: GeneratedWorld
) -> None:
    world, behaviour = from_generated(tiny_world)
    local, client = cluster
    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if done == 1 and not killed:  # a run has finished: others are under way
            killed.append(_kill_one(client))

    experiment = parse(EXPERIMENT)
    on_cluster = run_experiment(
        world, behaviour, experiment, engine="dask", address=local.scheduler_address,
        progress=progress,
    )  # fmt: skip
    inline = run_experiment(world, behaviour, experiment, engine="inline")
    assert killed
    pd.testing.assert_frame_equal(on_cluster.cells, inline.cells)


def _die(chunk: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return chunk


def test_work_lost_twice_is_one_line_that_names_the_cause(
    cluster: tuple[LocalCluster, Client],
) -> None:
    """Every attempt kills its worker: the chunk is submitted again once, then the map
    stops with a ParallelError of one line."""
    _, client = cluster
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        client.run_on_scheduler(_no_retries_on_the_scheduler)
        with pytest.raises(ParallelError) as caught:
            Runner(client).map(_die, [1, 2])
    message = str(caught.value)
    assert "lost on the Dask cluster twice" in message and "\n" not in message


def _no_retries_on_the_scheduler(dask_scheduler: object) -> None:
    """A worker's death fails its task at once (the scheduler read its config at start)."""
    dask_scheduler.allowed_failures = 0  # type: ignore[attr-defined]


def test_a_functions_own_error_is_raised_as_it_would_be_inline(
    cluster: tuple[LocalCluster, Client],
) -> None:
    _, client = cluster
    with pytest.raises(ZeroDivisionError):
        Runner(client).map(_divide, [1, 0, 2])


def _divide(chunk: int) -> float:
    return 1 / chunk


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


def test_the_main_job_survives_a_worker_killed_in_its_simulation(
    cluster: tuple[LocalCluster, Client], tmp_path: Path
) -> None:
    """`replenish run` (a real process) on a cluster by address: a worker is killed once
    the simulation's runs are on it; the job retries them, finishes, and prints no
    traceback."""
    local, client = cluster
    out = tmp_path / "run"
    env = {**os.environ, "REPLENISH_DASK_ADDRESS": local.scheduler_address}
    args = [sys.executable, "-m", "cli", "-v", "run", str(EXAMPLE), "--out", str(out),
            "--days", "365", "--replications", "4", "--engine", "dask"]  # fmt: skip
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = []
    for _ in range(20_000):  # wait for the simulation's runs to reach the cluster
        if proc.poll() is not None:
            break
        if client.run_on_scheduler(_runs_under_way):
            killed.append(_kill_one(client))
            break
        time.sleep(0.01)
    _, err = proc.communicate(timeout=600)
    assert killed, "the job ended before its runs reached the cluster"
    assert proc.returncode == 0, err.decode()[-3000:]
    assert b"Traceback" not in err
    assert (out / "report.html").is_file()


def _runs_under_way(dask_scheduler: object) -> bool:
    tasks = dask_scheduler.tasks  # type: ignore[attr-defined]
    return any("_run_cell" in str(key) for key in tasks)


def test_a_lost_engine_ends_the_main_job_in_one_line_and_keeps_the_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    out = tmp_path / "run"
    out.mkdir()
    (out / "report.html").write_text("the previous report", encoding="utf-8")

    def lost(*args: object, **kwargs: object) -> None:
        raise ParallelError("3 of 40 chunks were lost on the Dask cluster twice (KilledWorker)")

    monkeypatch.setattr("replenish.pipeline.run_experiment", lost)
    result = CliRunner().invoke(
        app, ["run", str(EXAMPLE), "--out", str(out), "--days", "20", "--engine", "inline"]
    )
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error")]
    assert errors == [
        "error: the simulation stage stopped: 3 of 40 chunks were lost on the Dask cluster "
        "twice (KilledWorker); the outputs of earlier runs stay as they were"
    ]
    assert "Traceback" not in result.output
    assert (out / "report.html").read_text(encoding="utf-8") == "the previous report"
