"""The store: migrations from empty and on re-open, idempotent measurement writes."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sigwatch.clock import FixedClock
from sigwatch.migrations import MIGRATIONS, Migration
from sigwatch.states import SloState
from sigwatch.store import Measurement, Store
from tests.sql import columns_of, query

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url):
    with Store.open(store_url, clock=FixedClock(T0)) as s:
        yield s


def db_errors(name: str) -> tuple[type[Exception], ...]:
    """The DB-API exception class ``name`` of both drivers."""
    import psycopg

    return (getattr(sqlite3, name), getattr(psycopg, name))


def measurement(start: datetime, good: float, total: float, **kw) -> Measurement:
    return Measurement(
        signal="content_type",
        slo="coverage",
        start=start,
        end=start + timedelta(minutes=5),
        sli="coverage",
        evaluated_at=kw.pop("evaluated_at", T0),
        good=good,
        total=total,
        value=good / total,
        **kw,
    )


def test_a_new_store_is_migrated_to_the_latest_version(store_url):
    with Store.open(store_url, clock=FixedClock(T0)) as store:
        assert store.schema_version == max(m.version for m in MIGRATIONS)
        assert {"schema_version", "measurements", "slo_status", "runs"} <= set(store.tables())
        assert "partials" not in store.tables()  # partials are Parquet tables (monitors.partials)
        rows = query(store, "SELECT version, name, applied_at FROM schema_version ORDER BY 1")
    assert rows == [(m.version, m.name, int(T0.timestamp())) for m in MIGRATIONS]
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_both_databases_hold_the_same_tables_and_columns(postgres, tmp_path):
    """The migrations give PostgreSQL the schema they give SQLite: the same tables, columns and
    column order (``sigwatch store copy`` and every query rely on it)."""
    columns = {}
    for url in (str(tmp_path / "s.db"), postgres.new_database()):
        with Store.open(url, clock=FixedClock(T0)) as store:
            columns[store.dialect] = {table: columns_of(store, table) for table in store.tables()}
    assert columns["sqlite"] == columns["postgresql"]
    assert "seq" in columns["sqlite"]["alert_events"]


def test_a_new_sqlite_store_is_in_wal_mode(tmp_path):
    path = tmp_path / "nested" / "sigwatch.db"
    Store.open(path, clock=FixedClock(T0)).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_reopening_applies_nothing_and_keeps_data(store_url):
    path = store_url
    with Store.open(path, clock=FixedClock(T0)) as store:
        store.put_measurements([measurement(T0, 9, 10)])
    with Store.open(path, clock=FixedClock(T0), migrate=False) as store:
        assert store.migrate() == []
        assert len(store.measurements("content_type", "coverage")) == 1


def test_a_store_up_to_date_is_opened_without_taking_the_write_lock(tmp_path):
    """Every scheduled job opens the store: one already migrated is read (its version), never
    written, so a job does not queue behind another's write transaction for nothing."""
    path = tmp_path / "sigwatch.db"
    Store.open(path, clock=FixedClock(T0)).close()
    with Store.open(path, clock=FixedClock(T0), migrate=False) as store:
        said: list[str] = []
        store._conn.set_trace_callback(said.append)
        assert store.migrate() == []
    assert said and not [s for s in said if s.split()[0].upper() in ("BEGIN", "CREATE", "INSERT")]
    assert len(said) <= 2  # is there a schema_version table, and its version


def test_later_migrations_are_applied_in_order_once(store_url):
    with Store.open(store_url, clock=FixedClock(T0)) as store:
        base = max(m.version for m in MIGRATIONS)
        extra = (
            Migration(base + 2, "second", ("CREATE TABLE b (x INTEGER)",)),
            Migration(base + 1, "first", ("CREATE TABLE a (x INTEGER)",)),
        )
        assert store.migrate((*MIGRATIONS, *extra)) == [base + 1, base + 2]
        assert store.migrate((*MIGRATIONS, *extra)) == []
        assert store.schema_version == base + 2


def test_a_failing_migration_rolls_back_entirely(store):
    base = store.schema_version
    broken = Migration(base + 1, "broken", ("CREATE TABLE c (x INTEGER)", "CREATE TABLE oops ("))
    with pytest.raises(db_errors("DatabaseError")):
        store.migrate((*MIGRATIONS, broken))
    assert store.schema_version == base
    assert "c" not in store.tables()


def test_repeated_migration_versions_are_refused(store):
    twice = (Migration(7, "a", ()), Migration(7, "b", ()))
    with pytest.raises(ValueError, match="repeat"):
        store.migrate(twice)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_several_openers_of_a_new_store_at_once_all_succeed_and_migrate_once(
    dialect, tmp_path, request
):
    """The scheduler's first jobs open one new store together: switching a new file to WAL
    takes a lock the busy timeout does not wait for (this failed 4 times in 30 rounds); on
    PostgreSQL the migrations' advisory lock is what keeps them from applying twice."""
    for round_ in range(20 if dialect == "sqlite" else 5):
        if dialect == "sqlite":
            path = str(tmp_path / f"sigwatch-{round_}.db")
        else:
            path = request.getfixturevalue("postgres").new_database()
        errors: list[BaseException] = []
        barrier = threading.Barrier(6)

        def open_and_close(path=path, errors=errors, barrier=barrier):
            barrier.wait()
            try:
                Store.open(path, clock=FixedClock(T0)).close()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_and_close) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        (applied,) = query(path, "SELECT COUNT(*) FROM schema_version")
        assert applied == (len(MIGRATIONS),)


def test_writing_the_same_window_twice_replaces_the_row(store):
    store.put_measurements([measurement(T0, 90, 100)])
    later = T0 + timedelta(minutes=30)
    store.put_measurements(
        [measurement(T0, 95, 100, evaluated_at=later, samples=100, details={"why": "late"})]
    )
    (row,) = store.measurements("content_type", "coverage")
    assert (row.good, row.total, row.value) == (95, 100, 0.95)
    assert row.evaluated_at == later
    assert row.samples == 100 and row.details == {"why": "late"}


def test_measurements_read_back_in_window_order_and_filter_by_range(store):
    starts = [T0 + timedelta(minutes=5 * i) for i in (3, 0, 2, 1)]
    store.put_measurements(measurement(s, 1, 2) for s in starts)
    rows = store.measurements("content_type", "coverage")
    assert [r.start for r in rows] == sorted(starts)
    assert all(r.start.tzinfo is UTC for r in rows)
    window = store.measurements(
        "content_type", "coverage", start=T0 + timedelta(minutes=5), end=T0 + timedelta(minutes=15)
    )
    assert [r.start for r in window] == [T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]
    assert store.measurements("content_type", "latency") == []


def test_a_window_that_ends_before_it_starts_is_refused(store):
    bad = Measurement("s", "o", T0, T0, "coverage", T0)
    with pytest.raises(db_errors("IntegrityError")):
        store.put_measurements([bad])
    assert store.measurements("s", "o") == []


def test_naive_times_are_refused(store):
    naive = datetime(2026, 11, 26)
    with pytest.raises(ValueError, match="no time zone"):
        store.put_measurements([measurement(naive, 1, 2)])


def test_status_and_runs_round_trip_and_replace(store):
    from sigwatch.store import Run, SloStatus

    status = SloStatus(
        signal="s",
        slo="coverage",
        at=T0,
        sli="coverage",
        state=SloState.OK,
        objective=0.99,
        evaluated_at=T0,
        window_end=T0,
        value=0.995,
        burn_rates={"1h": 0.5, "5m": None},
        fired=[],
        details={"good": 995},
    )
    later = replace(status, at=T0 + timedelta(minutes=5), state=SloState.BREACH)
    store.put_status([status, later])
    store.put_status([status])  # the same evaluation again replaces, never duplicates
    assert [s.state for s in store.status_history("s", "coverage")] == [
        SloState.OK,
        SloState.BREACH,
    ]
    (latest,) = store.latest_status()
    assert latest == later
    assert latest.burn_rates == {"1h": 0.5, "5m": None}
    assert store.status_before("s", "coverage", later.at) == status  # strictly before
    assert store.status_before("s", "coverage", later.at + timedelta(days=9)) == later
    assert store.status_before("s", "coverage", T0) is None

    store.record_run(Run("s", T0, T0, 12.5, "ok"))
    store.record_run(Run("t", T0, T0 + timedelta(seconds=1), 3.0, "error", "boom"))
    assert [(r.signal, r.status, r.error) for r in store.runs()] == [
        ("t", "error", "boom"),
        ("s", "ok", None),
    ]


def test_alerts_announced_resolved_before_migration_11_are_not_announced_again(tmp_path):
    """Migration 11 turns the JSON text of what was last announced into a column; an alert
    announced resolved stays announced, one announced firing and since resolved is behind."""
    import json

    path = tmp_path / "s.db"
    with Store.open(path, clock=FixedClock(T0), migrate=False) as store:
        store.migrate(MIGRATIONS[:10])
    columns = (
        "alert_key, signal, slo, severity, state, started_at, updated_at, burn_rates, details,"
        " channel, silenced, notified"
    )
    with sqlite3.connect(path) as conn:
        for key, notified in (("done", "resolved"), ("behind", "firing")):
            conn.execute(
                f"INSERT INTO alerts ({columns}) VALUES (?, 's', 'x', 'page', 'resolved', 0, 0,"
                " '{}', '{}', '#c', 0, ?)",
                (key, json.dumps({"state": notified, "severity": "page", "burn": 20.0})),
            )
    with Store.open(path, clock=FixedClock(T0)) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert [a.key for a in store.alerts.unannounced()] == ["behind"]


def test_the_latest_status_of_each_slo_is_kept_as_statuses_are_written(store_url):
    """``slo_latest`` moves forward only: a late write of an older time (a backfill) leaves the
    latest status where it was, and counts as the latest evaluation."""
    from sigwatch.store import SloStatus

    t0 = datetime(2026, 11, 20, 12, tzinfo=UTC)

    def status(slo: str, at: datetime, evaluated: datetime, value: float) -> SloStatus:
        return SloStatus(
            signal="content_type",
            slo=slo,
            at=at,
            sli="coverage",
            state=SloState.OK,
            objective=0.99,
            evaluated_at=evaluated,
            window_end=at,
            value=value,
            samples=10,
        )

    with Store.open(store_url, clock=FixedClock(t0)) as store:
        hour = timedelta(hours=1)
        first = [
            status("coverage", t0, t0, 0.9),
            status("coverage", t0 + hour, t0 + hour, 0.8),
            status("latency", t0, t0, 0.7),
        ]
        store.put_status(first)
        store.put_status([status("coverage", t0 - hour, t0 + 2 * hour, 0.5)])  # a backfill
        latest = {s.slo: (s.at, s.value) for s in store.latest_status()}
        assert latest == {"coverage": (t0 + hour, 0.8), "latency": (t0, 0.7)}
        assert store.history.data_time() == t0 + hour
        assert store.history.last_evaluation() == t0 + 2 * hour
        assert [s.at for s in store.latest_status(as_of=t0)] == [t0, t0]
        # the same as reading the history for each SLO's latest
        scanned = query(store, "SELECT slo, MAX(at) FROM slo_status GROUP BY slo ORDER BY slo")
        assert [(slo, at) for slo, (at, _) in sorted(latest.items())] == [
            (slo, datetime.fromtimestamp(at, UTC)) for slo, at in scanned
        ]


def test_run_totals_are_counted_by_the_database_as_the_store_counted_them(store_url, tmp_path):
    """From migration 16 a trigger counts the runs (and an outcome changed on a run recorded
    again): the totals equal those a store at version 15 counts itself, and pruning the runs
    takes nothing from them (a counter never goes down)."""
    from sigwatch.store import Run

    runs = [
        Run("s", T0, T0, 12.5, "ok"),
        Run("s", T0 + timedelta(minutes=5), T0 + timedelta(minutes=5), 9.0, "error", "boom"),
        Run("t", T0, T0 + timedelta(seconds=1), 3.0, "error", "boom"),
        Run("t", T0, T0 + timedelta(seconds=1), 3.5, "ok"),  # the same run, recorded again
    ]
    old = tmp_path / "v15.db"
    with Store.open(old, clock=FixedClock(T0), migrate=False) as store:
        store.migrate(MIGRATIONS[:15])
        for run in runs:
            store.record_run(run)
        by_store = store.run_totals()
    with Store.open(store_url, clock=FixedClock(T0)) as store:
        for run in runs:
            store.record_run(run)
        assert store.run_totals() == by_store
        assert [(s, o, n) for s, o, n, _ in by_store] == [
            ("s", "error", 1),
            ("s", "ok", 1),
            ("t", "error", 1),
            ("t", "ok", 1),
        ]
        store._conn.execute("DELETE FROM runs")  # retention prunes the runs
        assert store.run_totals() == by_store
