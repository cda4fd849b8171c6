"""Jobs: long work run by a worker pool inside the service, its state in the database.

A plan job loads the stored dataset, forecasts the SKUs of the suppliers and categories
asked for (customers tiered on the whole history), solves the plan and writes the
plan's lines, its record and the job's success in one transaction, so a plan is either
pending or complete, never half written. Every run of a job is one `attempt` (a retry
starts the next), and each of its writes is conditional on that attempt still being
current and the plan still pending: a stale run (retried meanwhile, failed by a restart
or by a sibling) writes nothing, so no plan gets its lines twice.

A job found queued or running when the service starts was interrupted by a restart: it
is marked failed with that reason and can be retried. With several worker processes
(`replenish serve --workers N`) each job records its owner process, and the others mark
failed the jobs of one that died. When the service stops (SIGTERM), its unfinished jobs
are marked failed and retriable at once, and the worker threads (daemons) are given a
bounded grace period to notice: stopping never waits for a forecast to finish.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, sessionmaker

from api import datasets
from api.config import Settings
from api.models import (
    AuditEntry,
    Job,
    Plan,
    PlanForecast,
    PlanLine,
    Simulation,
    SimulationChart,
    utcnow,
)
from api.plans import totals
from contract.dataset import Dataset
from replenish.planning import json_default, restrict

log = logging.getLogger("replenish.api")
INTERRUPTED = "interrupted by a restart of the service; retry it"
ORPHANED = "its service process ({owner}) stopped while it ran; retry it"
STOPPED = "the service stopped while it ran; retry it"
UNFINISHED = ("queued", "running")
#: Seconds `Workers.shutdown` waits for job threads to notice the stop (they are daemons:
#: a forecast that does not reach its next checkpoint in time dies with the process).
STOP_GRACE_SECONDS = 5.0
#: Days of recent demand stored with each line's forecast fan (the review page's chart).
FAN_HISTORY_DAYS = 84


class Stopped(Exception):
    """The service is stopping: the job ends here (it was marked failed, retriable)."""


class Superseded(Exception):
    """This run of the job is no longer current (retried, or failed meanwhile by a
    restart, a sibling or a stop): it writes nothing, and the job is left to the run
    that is current."""


def jsonable(value: Any) -> Any:
    """`value` with numpy scalars and arrays made plain (JSON columns need it)."""
    return json.loads(json.dumps(value, default=json_default, allow_nan=False))


def scope_errors(
    dataset: Dataset, suppliers: list[str] | None, categories: list[str] | None
) -> list[dict[str, Any]]:
    """What is wrong with a plan's scope, as validation errors naming each place: ids
    the dataset does not have, or a combination that leaves no SKU. Empty when fine."""
    skus = dataset.skus
    errors = []
    for field, column, asked in (
        ("suppliers", "supplier_id", suppliers), ("categories", "category", categories)
    ):  # fmt: skip
        known = set(skus[column].astype(str))
        errors += [
            {"loc": ["body", field, str(i)], "msg": f"no SKU has {column} {value!r}",
             "type": "unknown_id"}
            for i, value in enumerate(asked or []) if value not in known
        ]  # fmt: skip
    if not errors and (suppliers or categories):
        try:
            restrict(dataset, suppliers or (), categories or ())
        except ValueError as exc:
            errors.append({"loc": ["body"], "msg": str(exc), "type": "empty_scope"})
    return errors


#: What a client reads of a job that failed on something other than its input.
INTERNAL = "the job failed on an internal error; the service log has the details under job {job}"

#: The packages whose ValueErrors are refusals written for the user.
OWN_PACKAGES = frozenset(
    {"api", "contract", "forecast", "optimize", "replenish", "runtime", "simulations"}
)


def public_error(exc: BaseException, job_id: str) -> str:
    """What a failed job tells its client. This code refuses bad input with a
    ValueError whose message is written for the user (no SKU matches, tables
    missing...): that is kept. Anything else, a ValueError from inside numpy or pandas
    included, is a fault of the service, whose text (paths, SQL, library internals)
    stays in the server log with its traceback."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    raised_in = "" if tb is None else str(tb.tb_frame.f_globals.get("__name__", ""))
    if isinstance(exc, ValueError) and raised_in.split(".")[0] in OWN_PACKAGES and str(exc):
        return str(exc)
    return INTERNAL.format(job=job_id)


def mark_failed(db: Session, job_id: str, reason: str, attempt: int | None = None) -> bool:
    """Fail the job if it is unfinished (and at `attempt`, if given); its pending plan or
    simulation fails with it. One conditional UPDATE; False if it did not match. The
    caller commits."""
    where: list[ColumnElement[bool]] = [Job.id == job_id, Job.status.in_(UNFINISHED)]
    if attempt is not None:
        where.append(Job.attempt == attempt)
    failed = db.execute(
        update(Job).where(*where).values(status="failed", error=reason, updated_at=utcnow())
    )
    if failed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    plan_id = db.scalar(select(Job.plan_id).where(Job.id == job_id))
    if plan_id is not None:
        db.execute(
            update(Plan)
            .where(Plan.id == plan_id, Plan.state == "pending")
            .values(state="failed", version=Plan.version + 1, updated_at=utcnow())
        )
    db.execute(
        update(Simulation)
        .where(Simulation.job_id == job_id, Simulation.state != "succeeded")
        .values(state="failed")
    )
    return True


def _fail_all(db: Session, *where: ColumnElement[bool], reason: str | None = None) -> list[Job]:
    """Fail every unfinished job matching `where` (reason: INTERRUPTED, or ORPHANED with
    its owner when None); the jobs failed."""
    jobs = db.scalars(select(Job).where(Job.status.in_(UNFINISHED), *where)).all()
    failed = [
        j for j in jobs
        if mark_failed(db, j.id, reason or ORPHANED.format(owner=j.owner), j.attempt)
    ]  # fmt: skip
    db.commit()
    return failed


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead but not yet waited for, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:  # Linux: the state letter follows the parenthesised command name
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def recover(sessions: sessionmaker[Session]) -> int:
    """Mark every job left queued or running as failed; returns how many. Call it only
    where no other service process runs on the database (the start of `replenish serve`)."""
    with sessions() as db:
        return len(_fail_all(db, reason=INTERRUPTED))


class Workers:
    """The threads that run jobs. `submit` queues one attempt of a job and records this
    process as its owner ("host:pid"), so a sibling process can tell when the owner has
    died; `shutdown` fails this process's unfinished jobs and stops within a bound."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, size: int = 2) -> None:
        self.sessions, self.settings = sessions, settings
        self.host = socket.gethostname()[:80]
        self.owner = f"{self.host}:{os.getpid()}"
        self._stop = threading.Event()
        self._queue: queue.SimpleQueue[tuple[str, int] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"replenish-job-{i}", daemon=True)
            for i in range(size)
        ]
        for thread in self._threads:
            thread.start()
        self._reaper: threading.Thread | None = None

    def reap_orphans(self) -> int:
        """Mark failed the jobs whose owning process on this host has died (a worker
        process that crashed while its siblings serve on); returns how many."""
        with self.sessions() as db:
            active = db.scalars(
                select(Job).where(
                    Job.status.in_(UNFINISHED),
                    Job.owner.startswith(f"{self.host}:", autoescape=True),
                )
            ).all()
            dead = {j.owner for j in active if not _alive(int((j.owner or ":0").rsplit(":", 1)[1]))}
            orphans = _fail_all(db, Job.owner.in_(dead)) if dead else []
        if orphans:
            log.warning("%d job(s) of a stopped worker process were marked failed", len(orphans))
        return len(orphans)

    def start_reaper(self, every_seconds: float = 10.0) -> None:
        """Check for orphaned jobs every `every_seconds` in a background thread."""

        def loop() -> None:
            while not self._stop.wait(every_seconds):
                try:
                    self.reap_orphans()
                except Exception:  # a database hiccup: try again next round
                    log.exception("reaping orphaned jobs failed")

        self._reaper = threading.Thread(target=loop, name="replenish-reaper", daemon=True)
        self._reaper.start()

    def submit(self, job_id: str, attempt: int) -> None:
        """Run `attempt` of the job (the attempt the caller just committed as queued)."""
        with self.sessions() as db:
            db.execute(
                update(Job)
                .where(Job.id == job_id, Job.attempt == attempt, Job.status == "queued")
                .values(owner=self.owner)
            )
            db.commit()
        self._queue.put((job_id, attempt))

    def shutdown(self, grace_seconds: float = STOP_GRACE_SECONDS) -> int:
        """Stop: fail this process's unfinished jobs (retriable), then give the job
        threads `grace_seconds` to notice. Returns how many jobs were failed."""
        self._stop.set()
        with self.sessions() as db:
            stopped = _fail_all(db, Job.owner == self.owner, reason=STOPPED)
        if stopped:
            log.warning("%d unfinished job(s) were marked failed: the service stops", len(stopped))
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + grace_seconds
        for thread in [*self._threads, *([self._reaper] if self._reaper else [])]:
            thread.join(timeout=max(deadline - time.monotonic(), 0.0))
        return len(stopped)

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None and not self._stop.is_set():
            self._run(*item)

    def _progress(self, job_id: str, attempt: int, progress: int) -> None:
        """Record progress of the current attempt; Stopped if the service is stopping,
        Superseded if this attempt is no longer the job's running one."""
        if self._stop.is_set():
            raise Stopped(STOPPED)
        with self.sessions() as db:
            moved = db.execute(
                update(Job)
                .where(Job.id == job_id, Job.attempt == attempt, Job.status == "running")
                .values(progress=progress, updated_at=utcnow())
            )
            db.commit()
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise Superseded(f"job {job_id} attempt {attempt} is no longer running")

    def _finish(self, db: Session, job_id: str, attempt: int) -> Job:
        """In the results' transaction: running -> succeeded for this attempt, or
        Superseded (rolled back). The caller commits."""
        done = db.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempt == attempt, Job.status == "running")
            .values(status="succeeded", progress=100, updated_at=utcnow())
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            db.rollback()
            raise Superseded(f"job {job_id} attempt {attempt} is no longer running")
        job = db.get(Job, job_id)
        assert job is not None
        return job

    def _run(self, job_id: str, attempt: int) -> None:
        with self.sessions() as db:
            claimed = db.execute(
                update(Job)
                .where(Job.id == job_id, Job.attempt == attempt, Job.status == "queued")
                .values(status="running", progress=5, owner=self.owner, updated_at=utcnow())
            )
            db.commit()
            kind = db.scalar(select(Job.kind).where(Job.id == job_id))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            log.info("job %s attempt %d is not queued any more: skipped", job_id, attempt)
            return
        try:
            if kind == "simulation":
                self._simulate(job_id, attempt)
            else:
                self._plan(job_id, attempt)
        except Superseded as exc:
            log.warning("%s: its results were not written", exc)
        except Stopped:
            with self.sessions() as db:
                mark_failed(db, job_id, STOPPED, attempt)
                db.commit()
        except Exception as exc:  # the job fails; the service goes on
            log.exception("job %s failed", job_id)
            with self.sessions() as db:
                mark_failed(db, job_id, public_error(exc, job_id), attempt)
                db.commit()

    def _simulate(self, job_id: str, attempt: int) -> None:
        import tempfile
        from pathlib import Path

        from simulations.charts import draw_all
        from simulations.estimate import from_dataset
        from simulations.experiments import run_experiment
        from simulations.scenario_file import parse

        with self.sessions() as db:
            sim = db.scalar(select(Simulation).where(Simulation.job_id == job_id))
            assert sim is not None
            sim_id, scenario = sim.id, dict(sim.scenario)
            _, dataset = datasets.load(db, self.settings.max_upload_bytes)
        if dataset is None:
            raise ValueError("the dataset is incomplete: upload the required tables first")
        experiment = parse(scenario, "scenario")
        world, behaviour, source = from_dataset(dataset, churn="fitted")
        self._progress(job_id, attempt, 20)
        engine = "dask" if self.settings.dask_address else "inline"
        result = run_experiment(
            world, behaviour, experiment, engine=engine, address=self.settings.dask_address,
            progress=lambda done, total: self._check(),
        )  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            charts = {p.stem: p.read_bytes() for p in draw_all(result, Path(tmp))}
        self._check()
        with self.sessions() as db:  # results, charts and job in one transaction
            self._finish(db, job_id, attempt)
            sim = db.get(Simulation, sim_id)
            assert sim is not None
            sim.state = "succeeded"
            sim.result = {**_simulation_result(result), "churn_source": source}
            for name, png in charts.items():
                db.add(SimulationChart(simulation_id=sim_id, name=name, png=png))
            db.commit()

    def _check(self) -> None:
        """A checkpoint inside long work: Stopped if the service is stopping."""
        if self._stop.is_set():
            raise Stopped(STOPPED)

    def _plan(self, job_id: str, attempt: int) -> None:
        from forecast.fan import fans
        from replenish.comparison import compare_plans, plan_frontier
        from replenish.planning import PlanRequest, plan_dataset

        with self.sessions() as db:
            job = db.get(Job, job_id)
            assert job is not None
            params, plan_id = dict(job.params), job.plan_id
            _, dataset = datasets.load(db, self.settings.max_upload_bytes)
        if dataset is None:
            raise ValueError("the dataset is incomplete: upload the required tables first")
        request = PlanRequest(
            budget=params["budget"], capacity=params.get("capacity"),
            horizon_days=int(params.get("horizon_days") or 28),
            suppliers=tuple(params.get("suppliers") or ()),
            categories=tuple(params.get("categories") or ()),
        )  # fmt: skip
        at = {"forecast": 15, "plan": 70}

        @contextmanager
        def stage(name: str) -> Iterator[None]:
            self._progress(job_id, attempt, at[name])
            yield

        planned = plan_dataset(
            dataset, request, engine="dask" if self.settings.dask_address else "inline",
            address=self.settings.dask_address, stage=stage,
            forecast_progress=lambda done, total: self._check(),
        )  # fmt: skip
        result = planned.run.plan
        # What the approver weighs the plan against: the ERP rule and the other peers;
        # and what other budgets would buy (the review page's chart).
        comparison = compare_plans(planned).reset_index().to_dict(orient="records")
        frontier = plan_frontier(planned).to_dict(orient="records")
        self._check()
        rows = result.lines.to_dict(orient="records")
        lines = [
            PlanLine(
                plan_id=plan_id, sku_id=str(row["sku_id"]), supplier_id=str(row["supplier_id"]),
                pack_size=int(row["pack_size"]), packs=int(row["packs"]),
                quantity=int(row["quantity"]), unit_cost=float(row["unit_cost"]),
                unit_volume=float(row["unit_volume"]), moq=int(row["moq"]),
                reasons=jsonable(asdict(why)),
            )
            for row, why in zip(rows, result.reasons, strict=True)
        ]  # fmt: skip
        # Each line's forecast fan, for the chart beside its reasons on the review page.
        drawn = fans(planned.forecast.panel, planned.forecast.result,
                     [line.sku_id for line in lines], FAN_HISTORY_DAYS)  # fmt: skip
        forecasts = [PlanForecast(plan_id=plan_id, sku_id=f.sku_id, fan=f.record()) for f in drawn]
        record = jsonable(
            {**result.record, "suppliers": result.suppliers.to_dict(orient="records"),
             "comparison": comparison, "frontier": frontier}
        )  # fmt: skip
        with self.sessions() as db:  # lines, plan and job in one transaction
            job = self._finish(db, job_id, attempt)
            drafted = db.execute(
                update(Plan)
                .where(Plan.id == plan_id, Plan.state == "pending")
                .values(
                    state="draft", record=totals(record, params, lines),
                    version=Plan.version + 1, updated_at=utcnow(),
                )
            )  # fmt: skip
            if drafted.rowcount != 1:  # type: ignore[attr-defined]
                db.rollback()  # nothing of this run is kept; the job fails with the reason
                raise ValueError(f"plan {plan_id} is no longer pending: its lines stay as they are")
            db.add_all(lines)
            db.add_all(forecasts)
            db.add(
                AuditEntry(
                    actor_id=job.created_by, action="compute", entity="plan",
                    entity_id=str(plan_id), before={"state": "pending"},
                    after={"state": "draft", "lines": len(lines), "attempt": attempt},
                )
            )  # fmt: skip
            db.commit()


def _simulation_result(result: Any) -> dict[str, Any]:
    """The experiment's tables as JSON records (summary with CIs, paired differences)."""
    return {
        "policies": list(result.policies),
        "scenarios": list(result.scenarios),
        "reference": result.reference,
        "summary": jsonable(result.summary.to_dict(orient="records")),
        "paired": jsonable(result.paired.to_dict(orient="records")),
        "matched": jsonable(result.matched.to_dict(orient="records")),
    }


def new_job_id() -> str:
    """A job's id: a random UUID (api.plans makes plan jobs' ids the same way)."""
    return str(uuid.uuid4())
