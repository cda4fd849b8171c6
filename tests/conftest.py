"""Shared fixtures: the databases every database test runs on, and small worlds.

Database tests run on SQLite always and on PostgreSQL when `REPLENISH_TEST_DATABASE_URL`
is set (CI sets it). Under CI=true that variable is required and an unreachable server
fails the tests: nothing is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from sqlalchemy import Engine, event, text

from api.database import make_engine
from contract import Dataset
from replenish.pipeline import Outcome
from simulations.world import GeneratedWorld, generate, params_for
from tests.datasets import GOOD, WriteDataset

POSTGRES_ENV = "REPLENISH_TEST_DATABASE_URL"

# CI explores the same examples every run (a red build must be reproducible); a
# developer's run explores new ones and prints the seed of any failure. Neither has a
# deadline: examples do real work (validation, solves, requests), and a busy machine
# must not turn a slow example into a failure.
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("dev", print_blob=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") == "true" and not os.environ.get(POSTGRES_ENV):
        raise pytest.UsageError(
            f"CI=true but {POSTGRES_ENV} is not set: database tests must run on PostgreSQL in CI"
        )


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium for the browser tests. Without it they are skipped on a
    developer's machine but fail under CI=true: the browser checks are never lost."""
    from tests.browser import find_chromium

    found = find_chromium()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no Chromium: .ci/run must install Debian's chromium")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    return found


def _database_params() -> list[str]:
    params = ["sqlite"]
    if os.environ.get(POSTGRES_ENV):
        params.append("postgresql")
    return params


@pytest.fixture(params=_database_params())
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        yield eng
        eng.dispose()
        return
    url = os.environ[POSTGRES_ENV]
    schema = f"t_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    admin = make_engine(url)
    with admin.begin() as conn:  # an unreachable server raises here: the test fails
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(url)

    @event.listens_for(eng, "connect")
    def _search_path(dbapi_connection: Any, _record: Any) -> None:
        # Outside a transaction, so a later rollback of the first one cannot undo it.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        dbapi_connection.autocommit = autocommit

    yield eng
    eng.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def tiny_world() -> GeneratedWorld:
    """A small generated world (60 SKUs, 400 customers, one year), shared by tests."""
    return generate(params_for("tiny", seed=7))


@pytest.fixture
def write_dataset(tmp_path: Path) -> WriteDataset:
    """Write the good dataset to a new folder, with table texts replaced or dropped.

    `write_dataset(orders="...")` replaces a table's CSV text; `None` drops the table.
    """
    counter = iter(range(1_000))

    def write(**tables: str | None) -> Path:
        folder = tmp_path / f"dataset{next(counter)}"
        folder.mkdir()
        for name, csv in {**GOOD, **tables}.items():
            if csv is not None:
                (folder / f"{name}.csv").write_text(csv, encoding="utf-8")
        return folder

    return write


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny generated world ending 2025-06-30, written once as a CSV dataset folder."""
    from typer.testing import CliRunner

    from cli.main import app

    data = tmp_path_factory.mktemp("world")
    args = ["generate", str(data), "--size", "tiny", "--end-date", "2025-06-30", "--overwrite"]
    assert CliRunner().invoke(app, args).exit_code == 0
    return data


@pytest.fixture(scope="session")
def generated_dataset(generated: Path) -> Dataset:
    return Dataset.read(generated)


@pytest.fixture(scope="session")
def outcome(generated_dataset: Dataset) -> Outcome:
    """The main job on the tiny generated world (short simulation, inline)."""
    from replenish.pipeline import RunSettings, run

    return run(generated_dataset, RunSettings(days=60, replications=6, engine="inline"))
