from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "slo_definitions"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "definitions"


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def registry():
    from sigwatch.registry import load_registry

    return load_registry(DEFINITIONS)


@pytest.fixture(scope="session")
def corpus_cache(tmp_path_factory):
    """One scored replay corpus for the whole session (embedding it is the slow part)."""
    return tmp_path_factory.mktemp("corpus-cache")


SCENARIO_END = "2026-11-26T00:00:00+00:00"


@pytest.fixture(scope="session")
def default_scenario(registry, corpus_cache, tmp_path_factory):
    """The simulator's default scenario over 7 days at a reduced rate, backfilled by the
    monitors: (simulation result, path of its store). Tests that write open a copy."""
    from datetime import datetime, timedelta

    from monitors.runner import Monitor
    from sigwatch.clock import FixedClock
    from sigwatch.store import Store
    from simulator.run import simulate

    end = datetime.fromisoformat(SCENARIO_END)
    data = tmp_path_factory.mktemp("default-scenario")
    # 6,000 items a day per signal with 20% of labellable items labelled: the label volume of
    # the default 20,000 a day at 5%, so quality slices can be judged.
    result = simulate(
        registry, data, days=7, seed=2, end=end, rate=6000, label_rate=0.2, cache_dir=corpus_cache
    )
    with Store.open(data / "sigwatch.db", clock=FixedClock(end)) as store:
        monitor = Monitor(registry, data, store, FixedClock(end))
        outcomes = monitor.backfill(result.start, end, slice_step=timedelta(hours=3))
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    return result, data / "sigwatch.db"


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server on 127.0.0.1 for the session (started when a test first asks)."""
    from tests.postgres import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def restartable():
    """A PostgreSQL server of the test's own, to stop (``halt``) and start again (``resume``):
    the session's is shared with every other test."""
    from tests.postgres import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spark_cluster():
    """A Spark standalone cluster (a master, two workers) on 127.0.0.1 for the session."""
    from tests.spark import SparkCluster

    cluster = SparkCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """Where a test's store lives, once per database: a SQLite file in the test's folder, or a
    new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "sigwatch.db")
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture(scope="session")
def console_data(default_scenario, registry, tmp_path_factory):
    """A data folder as the console sees it after a demo: the default scenario's logs and
    monitors' store, with its alerts replayed (the still-open ones in the outbox)."""
    import sqlite3
    from datetime import datetime

    from alerts.delivery import Delivery
    from alerts.lifecycle import Lifecycle
    from alerts.model import Policy
    from alerts.service import Alerting
    from sigwatch.clock import FixedClock
    from sigwatch.store import Store

    result, path = default_scenario
    folder = tmp_path_factory.mktemp("console-data")
    with sqlite3.connect(path) as source, sqlite3.connect(folder / "sigwatch.db") as target:
        source.backup(target)
    for part in ("predictions", "labels", "reports", "partials"):
        if (path.parent / part).exists():
            (folder / part).symlink_to(path.parent / part)
    clock = FixedClock(datetime.fromisoformat(SCENARIO_END))
    with Store.open(folder / "sigwatch.db", clock=clock) as store:
        records = store.alerts
        alerting = Alerting(Lifecycle(records, registry, Policy()), Delivery(records, None, clock))
        alerting.replay(result.start, clock.now())
    return folder
