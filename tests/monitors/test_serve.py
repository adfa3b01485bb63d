"""The scheduler (a job per signal, resumable) and the /metrics collector over the store."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from monitors.exporter import StatusCollector
from monitors.scheduler import build_scheduler
from sigwatch.clock import FixedClock, SystemClock
from sigwatch.states import GroupSummary, SloState
from sigwatch.store import Run, SloStatus, Store
from tests.conftest import DEFINITIONS

T0 = datetime(2026, 11, 25, 11, tzinfo=UTC)


def test_every_signal_gets_one_resumable_job_that_runs_and_is_recorded(registry, tmp_path):
    # The scheduler fires on the wall clock, so its jobs get the wall clock (no data: each run
    # is recorded whatever the date).
    scheduler = build_scheduler(registry, tmp_path, DEFINITIONS, SystemClock())
    scheduler.start()
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {f"monitor:{name}" for name in registry.names}
        job = jobs["monitor:content_type"]
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 120)
        assert job.trigger.interval.total_seconds() == 300
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Store.open(tmp_path / "sigwatch.db", clock=FixedClock(T0)) as store:
                ran = {r.signal for r in store.runs()}
            if ran == set(registry.names):
                break
            time.sleep(0.5)
    finally:
        scheduler.shutdown(wait=True)
    assert ran == set(registry.names)
    # A restart replaces the stored jobs instead of adding copies.
    again = build_scheduler(registry, tmp_path, DEFINITIONS, SystemClock(), start_now=False)
    again.start(paused=True)
    try:
        assert sorted(j.id for j in again.get_jobs()) == sorted(jobs)
        assert all(j.next_run_time is not None for j in again.get_jobs())
    finally:
        again.shutdown(wait=False)


def test_collector_exports_state_value_budget_burn_and_last_run(tmp_path):
    path = tmp_path / "sigwatch.db"
    coverage = SloStatus(
        signal="sentiment",
        slo="coverage",
        at=T0,
        sli="coverage",
        state=SloState.BREACH,
        objective=0.95,
        evaluated_at=T0,
        window_end=T0,
        value=0.8,
        budget_remaining=-3.0,
        burn_rates={"1h": 4.0, "5m": None},
    )
    latency = replace(  # budget left: not exhausted
        coverage,
        slo="latency",
        sli="latency",
        state=SloState.OK,
        value=0.995,
        budget_remaining=0.5,
        burn_rates={},
    )
    with Store.open(path, clock=FixedClock(T0)) as store:
        store.put_status([coverage, latency])
        store.record_run(Run("sentiment", T0, T0, 10.0, "ok"))
    registry = CollectorRegistry()
    registry.register(StatusCollector(path, FixedClock(T0)))
    get = registry.get_sample_value
    labels = {"signal": "sentiment", "slo": "coverage"}
    assert get("sigwatch_slo_state", {**labels, "state": "breach"}) == 1.0
    assert get("sigwatch_slo_state", {**labels, "state": "ok"}) == 0.0
    assert get("sigwatch_sli_value", labels) == 0.8
    assert get("sigwatch_slo_error_budget_remaining", labels) == -3.0
    assert get("sigwatch_slo_error_budget_exhausted", labels) == 1.0
    other = {"signal": "sentiment", "slo": "latency"}
    assert get("sigwatch_slo_error_budget_exhausted", other) == 0.0
    assert get("sigwatch_slo_burn_rate", {**labels, "window": "1h"}) == 4.0
    assert get("sigwatch_slo_burn_rate", {**labels, "window": "5m"}) is None
    last = get(
        "sigwatch_monitor_last_run_timestamp_seconds", {"signal": "sentiment", "status": "ok"}
    )
    assert last == T0.timestamp()


def test_runs_are_counted_by_outcome_and_the_count_survives_pruning(tmp_path):
    """``sigwatch_monitor_runs_total`` is a counter: pruning the runs table must not lower it
    (Prometheus would read a reset); the last good run is the dead-man's switch."""
    from datetime import timedelta

    path = tmp_path / "sigwatch.db"
    with Store.open(path, clock=FixedClock(T0)) as store:
        for k, status in enumerate(["ok", "ok", "error", "ok", "error", "error"]):
            at = T0 + timedelta(minutes=5 * k)
            store.record_run(
                Run("sentiment", at, at, 10.0, status, "x" if status == "error" else None)
            )
        store.retention.prune(T0 + timedelta(hours=1))  # every run is older: all pruned
        assert store.runs("sentiment") == []
    registry = CollectorRegistry()
    registry.register(StatusCollector(path, FixedClock(T0)))
    get = registry.get_sample_value
    assert get("sigwatch_monitor_runs_total", {"signal": "sentiment", "outcome": "ok"}) == 3
    assert get("sigwatch_monitor_runs_total", {"signal": "sentiment", "outcome": "error"}) == 3
    last_ok = get("sigwatch_monitor_last_success_timestamp_seconds", {"signal": "sentiment"})
    assert last_ok == (T0 + timedelta(minutes=15)).timestamp()


def test_collector_without_a_store_exports_nothing(tmp_path):
    registry = CollectorRegistry()
    registry.register(StatusCollector(tmp_path / "missing.db", FixedClock(T0)))
    assert registry.get_sample_value("sigwatch_sli_value", {"signal": "x", "slo": "y"}) is None


def test_collector_exports_each_group_with_its_columns_as_labels(tmp_path):
    path = tmp_path / "sigwatch.db"
    row = SloStatus(
        signal="content_type",
        slo="coverage-by-community",
        at=T0,
        sli="coverage",
        state=SloState.BREACH,
        objective=0.97,
        evaluated_at=T0,
        window_end=T0,
        value=0.6,
        budget_remaining=-1.0,
        burn_rates={"1h": 14.0},
        grouped=GroupSummary(by=("community",), counts={}),
    )
    bad = replace(row, group={"community": "<!channel>"})
    fine = replace(
        row,
        state=SloState.OK,
        value=0.99,
        budget_remaining=0.7,
        burn_rates={"1h": 0.3},
        group={"community": "cars"},
    )
    with Store.open(path, clock=FixedClock(T0)) as store:
        store.put_status([row, bad, fine])
    registry = CollectorRegistry()
    registry.register(StatusCollector(path, FixedClock(T0)))
    get = registry.get_sample_value
    empty = {"language": "", "item_kind": "", "model_version": "", "served_by": ""}
    labels = {"signal": "content_type", "slo": "coverage-by-community", **empty}
    odd = {**labels, "community": "<!channel>"}
    assert get("sigwatch_group_slo_state", {**odd, "state": "breach"}) == 1.0
    assert get("sigwatch_group_sli_value", odd) == 0.6
    assert get("sigwatch_group_burn_rate", {**odd, "window": "1h"}) == 14.0
    cars = {**labels, "community": "cars"}
    assert get("sigwatch_group_error_budget_remaining", cars) == 0.7
    # the SLO's own row keeps its families and labels
    own = {"signal": "content_type", "slo": "coverage-by-community"}
    assert get("sigwatch_sli_value", own) == 0.6
    from prometheus_client import generate_latest

    text = generate_latest(registry).decode()
    assert 'community="<!channel>"' in text and text.count("sigwatch_group_sli_value{") == 2
