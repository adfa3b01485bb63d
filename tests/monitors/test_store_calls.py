"""A quiet 5-minute cycle of one signal inside ``sigwatch serve`` (its scheduled job: evaluate,
then alert) visits the store rarely: the statements it sends are counted on SQLite and on
PostgreSQL, and the budget pinned (docs/architecture.md, "One cycle, job to Slack")."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import polars as pl
import pytest

import sigwatch.store as store_module
from alerts.jobs import monitor_and_alert_job
from sigwatch.clock import FixedClock
from sigwatch.store import Store
from tests.conftest import ROOT
from tests.monitors.test_runner import ELEVEN, content_type_hour, write_logs

# What one quiet cycle may send: the statements other than a transaction's framing (BEGIN,
# COMMIT and the write lock), an executemany counting once; and its write transactions.
CALLS = 10
WRITES = 2
# PostgreSQL adds a statement to take and one to release each named lock (``Store.exclusive``:
# the evaluation's and the outbox's); SQLite holds them as file locks.
LOCK_CALLS = 4
# ... and a statement for the write lock of each transaction
PG_EXTRA = LOCK_CALLS + WRITES
FRAMING = ("BEGIN", "COMMIT", "ROLLBACK", "SELECT pg_advisory_xact_lock")


class Counting:
    """A store connection that keeps the statements sent through it."""

    def __init__(self, conn, sent: list[str]) -> None:
        self._conn, self._sent = conn, sent

    def execute(self, sql, *args):
        self._sent.append(" ".join(sql.split()))
        return self._conn.execute(sql, *args)

    def executemany(self, sql, rows):
        self._sent.append(" ".join(sql.split()))
        return self._conn.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self._conn, name)


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    statements: list[str] = []
    connect = store_module.connect

    def counting(url):
        conn, dialect = connect(url)
        return Counting(conn, statements), dialect

    monkeypatch.setattr(store_module, "connect", counting)
    return statements


def quiet_folder(tmp_path):
    """content_type's hour of logs with every item answered, fast and served: nothing burns."""
    quiet = content_type_hour().with_columns(
        status=pl.lit("ok"),
        score=pl.lit(0.9, pl.Float32),
        latency_ms=pl.lit(40.0, pl.Float32),
        label=pl.lit("review"),
    )
    write_logs(tmp_path, "content_type", quiet)
    return tmp_path


def test_a_quiet_cycle_in_serve_visits_the_store_rarely(store_url, tmp_path, monkeypatch, sent):
    monkeypatch.delenv("SIGWATCH_SLACK_BOT_TOKEN", raising=False)
    if "://" in store_url:
        monkeypatch.setenv("SIGWATCH_STORE_URL", store_url)
    data = quiet_folder(tmp_path / "data")
    definitions = str(ROOT / "slo_definitions")
    # the process's first job composes (settings, definitions, the schema) and evaluates
    monitor_and_alert_job("content_type", str(data), definitions, FixedClock(ELEVEN))
    sent.clear()
    later = ELEVEN + timedelta(minutes=5)
    monitor_and_alert_job("content_type", str(data), definitions, FixedClock(later))
    cycle = list(sent)

    where = store_url if "://" in store_url else data / "sigwatch.db"
    with Store.open(where, clock=FixedClock(later)) as store:
        # the cycle did its work...
        assert store.evaluated("content_type", later), store.runs("content_type")
        assert store.alerts.open_alerts() == []  # ... and it was quiet
    writes = sum(s.startswith("BEGIN") for s in cycle)
    calls = [s for s in cycle if not s.startswith(FRAMING)]
    locks = [s for s in calls if "advisory_lock" in s or "advisory_unlock" in s]
    shown = "\n".join(f"{n} x {s[:100]}" for s, n in Counter(cycle).most_common())
    assert writes <= WRITES, shown
    assert len(calls) - len(locks) <= CALLS, shown
    assert len(locks) <= (LOCK_CALLS if "://" in store_url else 0), shown
    # nothing of the composition is done again: no migration, no schema look-up
    schema = ("schema_version", "sqlite_master", "information_schema")
    assert not [s for s in cycle if any(word in s for word in schema)], shown


ONE_SHOT = 25  # statements of a one-shot `sigwatch monitor -s S`, composition included


def test_a_one_shot_monitor_of_a_quiet_signal_sends_few_statements(
    store_url, tmp_path, monkeypatch, sent
):
    from typer.testing import CliRunner

    from sigwatch.cli import app

    monkeypatch.delenv("SIGWATCH_SLACK_BOT_TOKEN", raising=False)
    if "://" in store_url:
        monkeypatch.setenv("SIGWATCH_STORE_URL", store_url)
    data = quiet_folder(tmp_path / "data")
    command = ["monitor", "-s", "content_type", "--data", str(data)]
    command += ["--definitions", str(ROOT / "slo_definitions")]
    first = CliRunner().invoke(app, [*command, "--at", "2026-11-25T11:00:00Z"])
    assert first.exit_code == 0, first.output
    sent.clear()
    again = CliRunner().invoke(app, [*command, "--at", "2026-11-25T11:05:00Z"])
    assert again.exit_code == 0, again.output
    assert "alerts: 0 open" in again.output
    shown = "\n".join(f"{n} x {s[:100]}" for s, n in Counter(sent).most_common())
    assert sum(s.startswith("BEGIN") for s in sent) <= WRITES, shown
    assert len(sent) <= ONE_SHOT + (PG_EXTRA if "://" in store_url else 0), shown
