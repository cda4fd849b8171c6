"""Jobs: long work run by a worker pool inside the service, its state in the database.

A plan job loads the stored dataset (restricted to the suppliers and categories asked
for), forecasts it, solves the plan and writes the plan's lines, its record and the
job's success in one transaction, so a plan is either pending or complete, never half
written. A job found queued or running when the service starts was interrupted by a
restart: it is marked failed with that reason and can be retried. With several worker
processes (`replenish serve --workers N`) each job records its owner process, and the
others mark failed the jobs of one that died.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api import datasets
from api.config import Settings
from api.models import AuditEntry, Job, Plan, PlanLine, Simulation, SimulationChart, utcnow
from replenish.dataset import Dataset
from replenish.planning import json_default

log = logging.getLogger("replenish.api")
INTERRUPTED = "interrupted by a restart of the service; retry it"
ORPHANED = "its service process ({owner}) stopped while it ran; retry it"


def jsonable(value: Any) -> Any:
    """`value` with numpy scalars and arrays made plain (JSON columns need it)."""
    return json.loads(json.dumps(value, default=json_default, allow_nan=False))


def restrict(
    dataset: Dataset, suppliers: list[str] | None, categories: list[str] | None
) -> Dataset:
    """The dataset cut to the SKUs of these suppliers and categories (None: all)."""
    skus = dataset.skus
    keep = np.ones(len(skus), dtype=bool)
    if suppliers:
        keep &= skus["supplier_id"].isin(suppliers).to_numpy()
    if categories:
        keep &= skus["category"].isin(categories).to_numpy()
    if keep.all():
        return dataset
    if not keep.any():
        raise ValueError("no SKU matches the suppliers and categories asked for")
    ids = set(skus.loc[keep, "sku_id"])
    inventory = dataset.inventory
    return replace(
        dataset,
        skus=skus[keep].reset_index(drop=True),
        orders=dataset.orders[dataset.orders["sku_id"].isin(ids)].reset_index(drop=True),
        inventory=None if inventory is None else inventory[inventory["sku_id"].isin(ids)],
    )


def _mark_failed(db: Session, job: Job, reason: str) -> None:
    """`job` failed for `reason`; its pending plan or simulation fails with it."""
    job.status, job.error, job.updated_at = "failed", reason, utcnow()
    plan = db.get(Plan, job.plan_id) if job.plan_id is not None else None
    if plan is not None and plan.state == "pending":
        plan.state, plan.version = "failed", plan.version + 1
    sim = db.scalar(select(Simulation).where(Simulation.job_id == job.id))
    if sim is not None and sim.state != "succeeded":
        sim.state = "failed"


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
        stale = db.scalars(select(Job).where(Job.status.in_(("queued", "running")))).all()
        for job in stale:
            _mark_failed(db, job, INTERRUPTED)
        db.commit()
        return len(stale)


class Workers:
    """The pool that runs jobs; `submit` queues a job id and records this process as
    its owner ("host:pid"), so a sibling process can tell when the owner has died."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, size: int = 2) -> None:
        self.sessions, self.settings = sessions, settings
        self.pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="replenish-job")
        self.host = socket.gethostname()[:80]
        self.owner = f"{self.host}:{os.getpid()}"
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None

    def reap_orphans(self) -> int:
        """Mark failed the jobs whose owning process on this host has died (a worker
        process that crashed while its siblings serve on); returns how many."""
        with self.sessions() as db:
            active = db.scalars(
                select(Job).where(
                    Job.status.in_(("queued", "running")),
                    Job.owner.startswith(f"{self.host}:", autoescape=True),
                )
            ).all()
            orphans = [j for j in active if not _alive(int((j.owner or ":0").rsplit(":", 1)[1]))]
            for job in orphans:
                _mark_failed(db, job, ORPHANED.format(owner=job.owner))
            db.commit()
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

    def submit(self, job_id: str) -> None:
        with self.sessions() as db:
            db.execute(update(Job).where(Job.id == job_id).values(owner=self.owner))
            db.commit()
        self.pool.submit(self._run, job_id)

    def shutdown(self) -> None:
        self._stop.set()
        if self._reaper is not None:
            self._reaper.join(timeout=10)
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _progress(self, job_id: str, status: str, progress: int) -> None:
        with self.sessions() as db:
            db.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status=status, progress=progress, updated_at=utcnow())
            )
            db.commit()

    def _run(self, job_id: str) -> None:
        try:
            with self.sessions() as db:
                job = db.get(Job, job_id)
                kind = job.kind if job is not None else "plan"
            if kind == "simulation":
                self._simulate(job_id)
            else:
                self._plan(job_id)
        except Exception as exc:  # the job fails; the service goes on
            log.exception("job %s failed", job_id)
            with self.sessions() as db:
                job = db.get(Job, job_id)
                if job is not None:
                    _mark_failed(db, job, str(exc))
                db.commit()

    def _simulate(self, job_id: str) -> None:
        import tempfile
        from pathlib import Path

        from simulations.charts import draw_all
        from simulations.estimate import from_dataset
        from simulations.experiments import run_experiment
        from simulations.scenario_file import parse

        self._progress(job_id, "running", 5)
        with self.sessions() as db:
            sim = db.scalar(select(Simulation).where(Simulation.job_id == job_id))
            assert sim is not None
            sim_id, scenario = sim.id, dict(sim.scenario)
            _, dataset = datasets.load(db, self.settings.max_upload_bytes)
        if dataset is None:
            raise ValueError("the dataset is incomplete: upload the required tables first")
        experiment = parse(scenario, "scenario")
        world, behaviour, source = from_dataset(dataset, churn="fitted")
        self._progress(job_id, "running", 20)
        engine = "dask" if self.settings.dask_address else "inline"
        result = run_experiment(
            world, behaviour, experiment, engine=engine, address=self.settings.dask_address
        )
        with tempfile.TemporaryDirectory() as tmp:
            charts = {p.stem: p.read_bytes() for p in draw_all(result, Path(tmp))}
        with self.sessions() as db:  # results, charts and job in one transaction
            sim = db.get(Simulation, sim_id)
            assert sim is not None
            sim.state = "succeeded"
            sim.result = {**_simulation_result(result), "churn_source": source}
            for name, png in charts.items():
                db.add(SimulationChart(simulation_id=sim_id, name=name, png=png))
            job = db.get(Job, job_id)
            assert job is not None
            job.status, job.progress, job.updated_at = "succeeded", 100, utcnow()
            db.commit()

    def _plan(self, job_id: str) -> None:
        from forecast.engine import ForecastConfig, forecast_dataset
        from optimize.inputs import PlanSettings
        from replenish.planning import fitted_churn, make_plan

        self._progress(job_id, "running", 5)
        with self.sessions() as db:
            job = db.get(Job, job_id)
            assert job is not None
            params, plan_id = dict(job.params), job.plan_id
            _, dataset = datasets.load(db, self.settings.max_upload_bytes)
        if dataset is None:
            raise ValueError("the dataset is incomplete: upload the required tables first")
        dataset = restrict(dataset, params.get("suppliers"), params.get("categories"))
        self._progress(job_id, "running", 15)
        engine = "dask" if self.settings.dask_address else "inline"
        config = ForecastConfig(horizon=int(params.get("horizon_days") or 28))
        run = forecast_dataset(dataset, config, engine=engine, address=self.settings.dask_address)
        self._progress(job_id, "running", 70)
        churn, source = fitted_churn(dataset, run.segments)
        settings = PlanSettings(
            budget=params["budget"], capacity=params.get("capacity"), churn=churn
        )
        result = make_plan(dataset, run, settings, "up", source).plan
        with self.sessions() as db:  # lines, plan and job in one transaction
            for row, why in zip(
                result.lines.to_dict(orient="records"), result.reasons, strict=True
            ):
                db.add(
                    PlanLine(
                        plan_id=plan_id, sku_id=str(row["sku_id"]),
                        supplier_id=str(row["supplier_id"]), pack_size=int(row["pack_size"]),
                        packs=int(row["packs"]), quantity=int(row["quantity"]),
                        unit_cost=float(row["unit_cost"]), reasons=jsonable(asdict(why)),
                    )
                )  # fmt: skip
            plan = db.get(Plan, plan_id)
            assert plan is not None
            plan.state, plan.record, plan.updated_at = "draft", jsonable(result.record), utcnow()
            plan.version += 1
            job = db.get(Job, job_id)
            assert job is not None
            job.status, job.progress, job.updated_at = "succeeded", 100, utcnow()
            db.add(
                AuditEntry(
                    actor_id=job.created_by, action="compute", entity="plan",
                    entity_id=str(plan_id), before={"state": "pending"},
                    after={"state": "draft", "lines": len(result.lines)},
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
    return str(uuid.uuid4())
