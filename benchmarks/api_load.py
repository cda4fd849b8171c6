"""Service load: 50 concurrent clients on loopback, and the ingest of 1 million order lines.

For each database (a SQLite file, and PostgreSQL when `--postgres URL` is given, in a
fresh schema) and each process count (`--workers`, default 1 and 2), a real `replenish
serve` answers 50 concurrent clients reading a plan of 1,000 lines (`GET /v1/plans/{id}`)
and the purchase-order feed (`GET /v1/purchase-orders`), then 20 concurrent browsers
(`--page-clients`, signed in by cookie) reading the web app's review page of that plan
and its home page, for `--seconds` each: throughput, p50/p95/p99 latency and failed
requests. Each line carries reasons shaped and sized as a real plan's (about 1 KB: steps,
three tiers' service, exposed customers, warnings). The peer, in the same run, is uvicorn
serving the same response bytes with no app work (benchmarks/api_peer.py) at the same process count:
the ratios say what the service adds over the HTTP stack. The clients are wrk when it is
on PATH (a C load generator, so the clients take little of the CPU they measure), else
httpx. Then a generated world of about a million order lines is uploaded table by table
through `POST /v1/datasets/{table}` (validated whole, as in production): seconds.
Goals (the issues): p95 under 100 ms for API reads and under 200 ms for pages, 1M lines
ingested in under 30 s.

    python -m benchmarks.api_load [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--clients 50] [--page-clients 20] [--seconds 10] [--workers 1 2]
        [--clients-tool auto|wrk|httpx] [--skip-ingest]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.orm import Session

from api import migrate
from api.accounts import create_user
from api.auth import Role
from api.database import make_engine
from api.models import Plan, PlanLine, PurchaseOrder
from api.web.signin import set_password
from simulations.world import WorldParams, generate

#: name: table label. Reads under /app are pages (signed in by cookie, --page-clients).
READS = {
    "plan": "plan, 1,000 lines", "feed": "PO feed, 100 orders",
    "page-plan": "app: plan review page (1,000 lines, 100 shown)", "page-home": "app: home page",
}  # fmt: skip
#: p95 goals (ms): API reads, pages.
GOALS = {"plan": 100, "feed": 100, "page-plan": 200, "page-home": 200}
PASSWORD = "benchmark password"
# wrk hands its summary to done(); latencies are in microseconds.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %f %f %f %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class Measured:
    """One load run: requests per second, latency percentiles (ms), failed requests."""

    per_second: float
    p50: float
    p95: float
    p99: float
    failed: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reasons(rng: np.random.Generator, i: int, quantity: int) -> dict[str, object]:
    """A line's reasons as `optimize.reasons.LineReasons` writes them (about 1 KB)."""
    segments = {
        tier: {
            "demand_mean": float(rng.uniform(0, 40)),
            "demand_q90": float(rng.integers(0, 90)),
            "service_without_order": float(rng.uniform()),
            "service_with_order": float(rng.uniform()),
            "fill_rate_with_order": float(rng.uniform()),
            "stockout_cost": float(rng.uniform(5, 400)),
        }
        for tier in ("A", "B", "C")
    }  # fmt: skip
    return {
        "sku_id": f"SKU{i:05d}",
        "steps": {"forecast": float(rng.uniform(0, quantity)),
                  "safety_stock": float(rng.uniform(0, 50)),
                  "priority_uplift": float(rng.uniform(-20, 20)), "pack_moq_rounding": 0.0,
                  "constraint_cut": float(-rng.uniform(0, 10))},
        "segments": segments,
        "marginal_value_last_pack": float(rng.uniform(0, 200)), "binding": "budget",
        "cover_intervals": float(rng.uniform(0.5, 3)), "warnings": [],
        "exposed_customers": [f"C{int(c):06d}" for c in rng.integers(0, 10**6, 5)],
        "reservation": float(rng.integers(0, 20)),
    }  # fmt: skip


def _prepare(url: str) -> tuple[str, str, int]:
    """Migrate, add a user (key and password), a draft plan of 1,000 lines with real-sized
    reasons, and 50 purchase orders."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as db:
        user, key = create_user(db, f"bench-{time.time_ns()}", Role.admin)
        set_password(db, user, PASSWORD, None)
        plan = Plan(requested_by=user.id, params={"budget": 1e6}, state="draft", version=3,
                    record={"total_cost": 1.0, "lines": 1000, "flags": []})  # fmt: skip
        db.add(plan)
        db.flush()
        rng = np.random.default_rng(0)
        quantities, costs = rng.integers(1, 50, 1000), rng.uniform(1, 40, 1000)
        lines = [
            PlanLine(
                plan_id=plan.id, sku_id=f"SKU{i:05d}", supplier_id=f"SUP{i % 50:03d}",
                pack_size=1, packs=int(q), quantity=int(q), unit_cost=float(c),
                reasons=_reasons(rng, i, int(q)),
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
        plan_id, name = plan.id, user.name
    engine.dispose()
    return key, name, plan_id


def _session_cookie(base: str, name: str) -> str:
    """Sign in to the web app as `name`; the session cookie's value."""
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/app/signin").text
        token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = client.post("/app/signin", data={"name": name, "password": PASSWORD,
                                             "csrf_token": token})  # fmt: skip
        assert r.status_code == 303, r.text
        return str(r.cookies["replenish_session"])


def _start(cmd: list[str], env: dict[str, str], port: int) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server process on `port`, its output in a temporary log; wait for /health."""
    log = open(Path(tempfile.gettempdir()) / f"replenish-bench-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"the server did not start: {' '.join(cmd)} (see {log.name})")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # uvicorn's supervisor stops its workers on SIGINT
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _serve(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "cli", "serve", "--port", str(port),
           "--workers", str(workers)]  # fmt: skip
    env = {"REPLENISH_DATABASE_URL": url, "REPLENISH_MAX_UPLOAD_BYTES": str(2**31)}
    return _start(cmd, env, port)


def _peer(bodies: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", "benchmarks.api_peer:app", "--port", str(port),
           "--workers", str(workers), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    return _start(cmd, {"REPLENISH_PEER_DIR": str(bodies)}, port)


def _wrk(url: str, header: str, clients: int, seconds: float) -> Measured:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        out = subprocess.run(
            ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "30s",
             "-H", header, "-s", script.name, url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    row = next(line for line in out.splitlines() if line.startswith("RESULT "))
    requests, duration_us, p50, p95, p99, failed = row.split()[1:]
    return Measured(
        per_second=int(requests) / (int(duration_us) / 1e6),
        p50=float(p50) / 1000, p95=float(p95) / 1000, p99=float(p99) / 1000,
        failed=int(failed),
    )  # fmt: skip


def _httpx(url: str, header: str, clients: int, seconds: float) -> Measured:
    latencies: list[float] = []
    failed = 0
    stop = time.monotonic() + seconds

    async def run() -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def one() -> None:
                nonlocal failed
                name, _, value = header.partition(": ")
                headers = {name: value}
                while time.monotonic() < stop:
                    t0 = time.perf_counter()
                    try:
                        r = await client.get(url, headers=headers)
                        failed += not r.is_success
                    except httpx.HTTPError:
                        failed += 1
                    latencies.append(time.perf_counter() - t0)

            await asyncio.gather(*(one() for _ in range(clients)))

    asyncio.run(run())
    ms = np.percentile(np.array(latencies) * 1000, [50, 95, 99])
    return Measured(len(latencies) / seconds, float(ms[0]), float(ms[1]), float(ms[2]), failed)


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


def _run(
    measure: Callable[[str, str, int, float], Measured],
    url: str,
    header: str,
    clients: int,
    seconds: float,
) -> Measured:
    """`measure` after one discarded second of the same load: every process has then
    opened its connections and filled its caches, as in a service that has been up."""
    measure(url, header, clients, 1.0)
    return measure(url, header, clients, seconds)


def _paths(plan_id: int) -> dict[str, str]:
    return {
        "plan": f"/v1/plans/{plan_id}", "feed": "/v1/purchase-orders?limit=100",
        "page-plan": f"/app/plans/{plan_id}", "page-home": "/app/",
    }  # fmt: skip


def _header(read: str, key: str, cookie: str) -> str:
    """How a client of `read` proves who it is: an API key, or a browser's session."""
    if read.startswith("page-"):
        return f"Cookie: replenish_session={cookie}"
    return f"Authorization: Bearer {key}"


def _save_bodies(base: str, key: str, cookie: str, plan_id: int, into: Path) -> None:
    """The service's responses, for the peer to serve byte for byte."""
    for name, path in _paths(plan_id).items():
        header, _, value = _header(name, key, cookie).partition(": ")
        r = httpx.get(f"{base}{path}", headers={header: value}, timeout=30)
        r.raise_for_status()
        (into / f"{name}.json").write_bytes(r.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL to test as well.")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--page-clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients-tool", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    tool = args.clients_tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "httpx"
    measure = _wrk if tool == "wrk" else _httpx
    console = Console(width=max(Console().width, 150))  # the table is wide
    console.print(f"clients: {tool}, {args.clients} connections, {args.seconds:g} s per row")
    targets: list[tuple[str, str]] = []
    results: dict[tuple[str, int, str], Measured] = {}
    ingested: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp) / "bodies"
        bodies.mkdir()
        targets.append(("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}"))
        if args.postgres:
            schema = f"bench_{os.getpid()}"
            admin = make_engine(args.postgres)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.postgres else "?"
            targets.append(("PostgreSQL", f"{args.postgres}{sep}options=-csearch_path%3D{schema}"))
        try:
            for name, url in targets:
                key, user, plan_id = _prepare(url)
                for workers in args.workers:
                    proc, base = _serve(url, workers)
                    try:
                        cookie = _session_cookie(base, user)
                        if not (bodies / "plan.json").exists():
                            _save_bodies(base, key, cookie, plan_id, bodies)
                        for read in READS:
                            path = _paths(plan_id)[read]
                            page = read.startswith("page-")
                            clients = args.page_clients if page else args.clients
                            console.print(f"{name}, {workers} process(es): {read}")
                            results[name, workers, read] = _run(
                                measure, base + path, _header(read, key, cookie), clients,
                                args.seconds,
                            )  # fmt: skip
                        if not args.skip_ingest and workers == args.workers[0]:
                            lines, seconds = _ingest(base, key, console)
                            ingested.append((name, lines, seconds))
                    finally:
                        _stop(proc)
            for workers in args.workers:
                proc, base = _peer(bodies, workers)
                try:
                    for read in READS:
                        console.print(f"peer, {workers} process(es): {read}")
                        path = _paths(1)[read]
                        clients = args.page_clients if read.startswith("page-") else args.clients
                        results["peer", workers, read] = _run(
                            measure, base + path, "X-Peer: 1", clients, args.seconds
                        )
                finally:
                    _stop(proc)
        finally:
            if args.postgres:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    console.print(_load_table(results, args.clients, args.page_clients, args.seconds, tool))
    peer_bound = [
        key
        for key, m in results.items()
        if key[0] != "peer" and m.per_second >= 0.8 * results["peer", key[1], key[2]].per_second
    ]
    if peer_bound:
        console.print(
            f"[yellow]{len(peer_bound)} row(s) run within 80% of the peer's throughput: the "
            f"clients ({tool}), not the service, set those figures. Install wrk.[/]"
        )
    if ingested:
        console.print(_ingest_table(ingested))


def _load_table(
    results: dict[tuple[str, int, str], Measured],
    clients: int,
    page_clients: int,
    seconds: float,
    tool: str,
) -> Table:
    table = Table(
        title=f"{clients} concurrent API clients, {page_clients} browsers ({tool}) on "
        f"loopback, {seconds:g} s each; peer: uvicorn serving the same bytes with no app work"
    )
    for col in ("server", "processes", "read", "requests/s", "p50 ms", "p95 ms", "p99 ms",
                "failed", "req/s / peer", "p95 / peer", "p95 goal"):  # fmt: skip
        table.add_column(col, justify="right")
    for (server, workers, read), m in results.items():
        peer = results.get(("peer", workers, read))
        is_peer = server == "peer"
        table.add_row(
            server, str(workers), READS[read],
            f"{m.per_second:,.0f}", f"{m.p50:.1f}", f"{m.p95:.1f}", f"{m.p99:.1f}",
            f"{m.failed:,}",
            "" if is_peer or peer is None else f"{m.per_second / peer.per_second:.2f}",
            "" if is_peer or peer is None else f"{m.p95 / peer.p95:.2f}",
            "" if is_peer else (
                f"< {GOALS[read]} ms " + ("met" if m.p95 < GOALS[read] and m.failed == 0
                                          else "missed")
            ),
        )  # fmt: skip
    return table


def _ingest_table(ingested: list[tuple[str, int, float]]) -> Table:
    table = Table(title="Ingest through POST /v1/datasets/{table} (Parquet, validated whole)")
    for col in ("database", "order lines", "seconds", "lines/s", "goal < 30 s"):
        table.add_column(col, justify="right")
    for name, lines, seconds in ingested:
        table.add_row(
            name, f"{lines:,}", f"{seconds:.1f}", f"{lines / seconds:,.0f}",
            "met" if seconds < 30 else "missed",
        )  # fmt: skip
    return table


if __name__ == "__main__":
    main()
