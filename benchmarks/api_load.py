"""Service load: 50 concurrent clients on loopback, and the ingest of 1 million order lines.

For each database (a SQLite file, and PostgreSQL when `--postgres URL` is given, in a
fresh schema), a real `replenish serve` process answers 50 concurrent httpx clients
reading a plan of 1,000 lines (`GET /v1/plans/{id}`) and the purchase-order feed
(`GET /v1/purchase-orders`), for `--seconds` each: throughput and p50/p95/p99 latency.
Then a generated world with about a million order lines is uploaded table by table
through `POST /v1/datasets/{table}` (validated whole, as in production): seconds.
Goals (the issue): p95 under 100 ms for reads, 1M lines ingested in under 30 s.

    python -m benchmarks.api_load [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--clients 50] [--seconds 10] [--skip-ingest]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.orm import Session

from api import migrate
from api.auth import Role, create_user
from api.database import make_engine
from api.models import Plan, PlanLine, PurchaseOrder
from simulations.world import WorldParams, generate


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(url: str) -> tuple[str, int]:
    """Migrate, add a key, a submitted-and-approved plan of 1,000 lines and its orders."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as db:
        user, key = create_user(db, f"bench-{time.time_ns()}", Role.admin)
        plan = Plan(requested_by=user.id, params={"budget": 1e6}, state="approved", version=3)
        db.add(plan)
        db.flush()
        rng = np.random.default_rng(0)
        quantities, costs = rng.integers(1, 50, 1000), rng.uniform(1, 40, 1000)
        lines = [
            PlanLine(
                plan_id=plan.id, sku_id=f"SKU{i:05d}", supplier_id=f"SUP{i % 50:03d}",
                pack_size=1, packs=int(q), quantity=int(q), unit_cost=float(c),
                reasons={"steps": {"forecast": float(q)}, "binding": "budget"},
            )
            for i, (q, c) in enumerate(zip(quantities, costs, strict=True))
        ]  # fmt: skip
        db.add_all(lines)
        for s in range(50):
            items = [{"sku_id": ln.sku_id, "quantity": ln.quantity} for ln in lines[s::50]]
            db.add(
                PurchaseOrder(plan_id=plan.id, supplier_id=f"SUP{s:03d}", total=1.0, lines=items)
            )
        db.commit()
        plan_id = plan.id
    engine.dispose()
    return key, plan_id


def _serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "REPLENISH_DATABASE_URL": url, "REPLENISH_MAX_UPLOAD_BYTES": str(2**31)}
    log = open(Path(tempfile.gettempdir()) / f"replenish-bench-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "replenish.cli", "serve", "--port", str(port)],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the server did not start")
        time.sleep(0.2)


async def _load(base: str, path: str, key: str, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one() -> None:
            headers = {"Authorization": f"Bearer {key}"}
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                r = await client.get(path, headers=headers)
                latencies.append(time.perf_counter() - t0)
                r.raise_for_status()

        await asyncio.gather(*(one() for _ in range(clients)))
    return latencies


def _ingest(base: str, key: str, console: Console) -> tuple[int, float]:
    world = generate(WorldParams(n_skus=2_000, n_customers=14_000, days=730, seed=3))
    lines = len(world.dataset.orders)
    console.print(f"ingest world: {lines:,} order lines")
    headers = {"Authorization": f"Bearer {key}"}
    with tempfile.TemporaryDirectory() as tmp:
        world.dataset.write(tmp, "parquet")
        t0 = time.perf_counter()
        for table in ("suppliers", "skus", "customers", "orders", "inventory"):
            content = (Path(tmp) / f"{table}.parquet").read_bytes()
            files = {"file": (f"{table}.parquet", content, "application/octet-stream")}
            r = httpx.post(f"{base}/v1/datasets/{table}", files=files, headers=headers, timeout=600)
            r.raise_for_status()
        return lines, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL to test as well.")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    console = Console()
    targets: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        targets.append(("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}"))
        if args.postgres:
            schema = f"bench_{os.getpid()}"
            admin = make_engine(args.postgres)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.postgres else "?"
            targets.append(("PostgreSQL", f"{args.postgres}{sep}options=-csearch_path%3D{schema}"))
        table = Table(
            title=f"{args.clients} concurrent clients on loopback, {args.seconds:.0f} s each"
        )
        for col in (
            "database",
            "read",
            "requests/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "goal p95 < 100 ms",
        ):
            table.add_column(col, justify="right")
        ingest = Table(title="Ingest through POST /v1/datasets/{table} (Parquet, validated whole)")
        for col in ("database", "order lines", "seconds", "lines/s", "goal < 30 s"):
            ingest.add_column(col, justify="right")
        try:
            for name, url in targets:
                key, plan_id = _prepare(url)
                proc, base = _serve(url)
                try:
                    for label, path in (
                        ("plan of 1,000 lines", f"/v1/plans/{plan_id}"),
                        ("purchase-order feed", "/v1/purchase-orders?limit=100"),
                    ):
                        lat = asyncio.run(_load(base, path, key, args.clients, args.seconds))
                        ms = np.percentile(np.array(lat) * 1000, [50, 95, 99])
                        table.add_row(
                            name, label, f"{len(lat) / args.seconds:,.0f}", f"{ms[0]:.1f}",
                            f"{ms[1]:.1f}", f"{ms[2]:.1f}", "met" if ms[1] < 100 else "missed",
                        )  # fmt: skip
                    if not args.skip_ingest:
                        lines, seconds = _ingest(base, key, console)
                        ingest.add_row(
                            name, f"{lines:,}", f"{seconds:.1f}", f"{lines / seconds:,.0f}",
                            "met" if seconds < 30 else "missed",
                        )  # fmt: skip
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
        finally:
            if args.postgres:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        console.print(table)
        if not args.skip_ingest:
            console.print(ingest)


if __name__ == "__main__":
    main()
