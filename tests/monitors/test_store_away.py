"""A store that goes away: a lost PostgreSQL connection is ``StoreUnavailable`` naming the store
(other database errors stay themselves), a job tries again on a new connection and records the
runs that failed once the store answers, and /metrics says the store is away instead of failing.
The real server is stopped and started again; the retry loop's timing is a fake clock's."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from monitors.exporter import StatusCollector
from monitors.scheduler import BACKLOG, failed_run, with_store
from sigwatch.clock import FixedClock
from sigwatch.store import Run, Store
from sigwatch.store.connection import StoreUnavailable, StoreURL

AT = datetime(2026, 11, 27, 11, 2, tzinfo=UTC)


@dataclass
class Opens:
    """A runtime whose store fails to open ``fails`` times, then opens (an in-memory fake of
    the retry loop's world; the real store is below)."""

    fails: int
    clock: FixedClock = field(default_factory=lambda: FixedClock(AT))
    recorded: list = field(default_factory=list)
    attempts: int = 0

    @contextmanager
    def open_store(self):
        self.attempts += 1
        if self.attempts <= self.fails:
            raise StoreUnavailable("cannot connect to the store at postgresql://sw@db:5432/x")
        yield self

    def record_run(self, run: Run) -> None:
        self.recorded.append(run)


class Time:
    def __init__(self) -> None:
        self.now, self.waits = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def test_a_job_tries_again_on_a_new_connection_until_the_store_answers(caplog):
    world, time = Opens(fails=4), Time()
    done = with_store(
        world,
        "monitor content_type",
        lambda store: "evaluated",
        within=290,
        failed=failed_run("content_type"),
        sleep=time.sleep,
        monotonic=time.monotonic,
    )
    assert done == "evaluated" and world.attempts == 5
    assert time.waits == [5, 10, 20, 30]  # backing off, at most 30 s
    # the four failed attempts are one failed run, on record as soon as the store answered
    [run] = world.recorded
    assert (run.signal, run.at, run.started, run.status) == (
        "content_type",
        AT.replace(minute=0),
        AT,
        "error",
    )
    assert run.error == (
        "StoreUnavailable: cannot connect to the store at postgresql://sw@db:5432/x"
        " (tried 4 times over 65 s)"
    )
    assert len(BACKLOG) == 0
    lines = [r.getMessage() for r in caplog.records]
    assert sum("trying again in" in line for line in lines) == 4
    assert not any(r.exc_info for r in caplog.records)  # a line each, no traceback


def test_a_job_gives_up_before_its_next_run_and_its_failed_run_waits_for_the_store(caplog):
    world, time = Opens(fails=100), Time()
    done = with_store(
        world,
        "monitor content_type",
        lambda store: "evaluated",
        within=50,
        failed=failed_run("content_type"),
        sleep=time.sleep,
        monotonic=time.monotonic,
    )
    assert done is None and time.waits == [5, 10, 20] and time.now <= 50
    assert world.recorded == [] and len(BACKLOG) == 1
    assert "its next scheduled run tries again" in caplog.records[-1].getMessage()
    # the next job (any signal's) that reaches the store writes it first
    world.fails = 0
    world.attempts = 0
    assert with_store(world, "the outbox", lambda store: len(world.recorded), within=0) == 1
    assert world.recorded[0].error.endswith("(tried 4 times over 35 s)")
    assert len(BACKLOG) == 0


def test_a_lost_connection_names_the_store_and_other_errors_stay_themselves(restartable):
    import psycopg

    url = restartable.new_database().replace("sw@", "sw:pg-secret@")
    store = Store.open(url, clock=FixedClock(AT))
    store.record_run(Run("content_type", AT, AT, 1.0, "ok"))
    with pytest.raises(psycopg.errors.UndefinedTable):  # not the store going away
        store._conn.execute("SELECT * FROM no_such_table")
    assert store.runs()[0].signal == "content_type"  # the connection is still good
    restartable.halt()
    try:
        with pytest.raises(StoreUnavailable) as lost:
            store.runs()
        where = f"postgresql://sw:***@127.0.0.1:{restartable.port}/"
        assert str(lost.value).startswith(f"lost the store at {where}")
        assert "pg-secret" not in str(lost.value)
        with pytest.raises(StoreUnavailable) as refused:
            Store.open(url, clock=FixedClock(AT))
        assert str(refused.value).startswith(f"cannot connect to the store at {where}")
        store.close()
    finally:
        restartable.resume()
    with Store.open(url, clock=FixedClock(AT)) as again:  # a new connection: as before
        assert [r.status for r in again.runs()] == ["ok"]


def test_metrics_say_the_store_is_away_and_answer_all_the_same(restartable):
    url = restartable.new_database()
    with Store.open(url, clock=FixedClock(AT)) as store:
        store.record_run(Run("content_type", AT, AT, 1.0, "ok"))
    metrics = CollectorRegistry()
    metrics.register(StatusCollector(StoreURL.parse(url), FixedClock(AT)))
    text = generate_latest(metrics).decode()
    assert "sigwatch_store_up 1.0" in text
    assert 'sigwatch_monitor_last_success_timestamp_seconds{signal="content_type"}' in text
    restartable.halt()
    try:
        text = generate_latest(metrics).decode()  # answers, instead of failing the scrape
    finally:
        restartable.resume()
    assert "sigwatch_store_up 0.0" in text
    assert "sigwatch_monitor_last_success_timestamp_seconds{" not in text
    assert "sigwatch_store_up 1.0" in generate_latest(metrics).decode()
