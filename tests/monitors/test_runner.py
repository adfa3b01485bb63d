"""Monitor runs over hand-built logs in the data contract: exact SLI values, states, burn
rates, idempotency, and bad input that fails one signal while the others go on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from monitors.partials import BUCKET
from monitors.runner import Monitor
from sigwatch.clock import FixedClock
from sigwatch.store import Store
from simulator.traffic import LABEL_SCHEMA, REQUIRED_LOG_SCHEMA
from tests.sql import query

DAY = datetime(2026, 11, 25, tzinfo=UTC)
TEN = DAY + timedelta(hours=10)
ELEVEN = DAY + timedelta(hours=11)


def content_type_hour() -> pl.DataFrame:
    """1,000 items between 10:00 and 11:00: 20 errors, 10 timeouts, 30 abstentions,
    50 slow (200 ms) answers; 600 predicted "review"."""
    n = 1000
    status = ["error"] * 20 + ["timeout"] * 10 + ["abstain"] * 30 + ["ok"] * 940
    score = [None] * 30 + [0.1] * 30 + [0.9] * 940
    label = [None] * 30 + ["other"] * 30 + ["review"] * 600 + ["question"] * 340
    latency = [5.0] * 20 + [1000.0] * 10 + [40.0] * 30 + [200.0] * 20 + [40.0] * 920
    times = [TEN + timedelta(seconds=3.6 * i) for i in range(n)]
    return pl.DataFrame(
        {
            "event_time": times,
            "item_id": [f"ct-{i}" for i in range(n)],
            "item_kind": ["post"] * n,
            "community": ["laptops"] * n,
            "language": ["en"] * n,
            "text_len": [120] * n,
            "model_version": ["2026.11"] * n,
            "status": status,
            "label": label,
            "labels": [None] * n,
            "score": score,
            "latency_ms": latency,
            "cost_usd": [0.0001] * n,
            "served_by": ["in_house"] * n,
        }
    ).cast(REQUIRED_LOG_SCHEMA)


def write_logs(data, signal, frame, day=DAY):
    folder = data / "predictions" / f"signal={signal}" / f"date={day:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / "part-0.parquet")
    return folder / "part-0.parquet"


@pytest.fixture
def data(tmp_path):
    return content_type_folder(tmp_path)


def content_type_folder(tmp_path):
    """The content_type hour's logs and labels in ``tmp_path``."""
    frame = content_type_hour()
    write_logs(tmp_path, "content_type", frame)
    # 200 labels on "review" predictions: 170 right, 30 wrong; 50 more arrive after 11:00.
    items = [f"ct-{i}" for i in range(60, 310)]
    truth = ["review"] * 170 + ["other"] * 30 + ["question"] * 50
    labeled = [ELEVEN - timedelta(minutes=5)] * 200 + [ELEVEN + timedelta(hours=2)] * 50
    labels = pl.DataFrame(
        {
            "item_id": items,
            "label": truth,
            "labels": [None] * 250,
            "source": ["human"] * 250,
            "labeled_at": labeled,
            "rater_id": ["r01"] * 250,
        }
    ).cast(LABEL_SCHEMA)
    folder = tmp_path / "labels" / "signal=content_type"
    folder.mkdir(parents=True)
    labels.write_parquet(folder / "part-0.parquet")
    return tmp_path


def run(registry, data, at, signals=("content_type",)):
    store = Store.open(data / "sigwatch.db", clock=FixedClock(at))
    monitor = Monitor(registry, data, store, FixedClock(at))
    outcomes = monitor.run(at, signals=list(signals))
    return store, {o.signal: o for o in outcomes}


def by_slo(outcome):
    return {s.slo: s for s in outcome.statuses}


def test_occurrence_slis_states_and_burn_rates(registry, data):
    _, outcomes = run(registry, data, ELEVEN)
    status = by_slo(outcomes["content_type"])
    coverage = status["coverage"]
    assert coverage.value == pytest.approx(940 / 1000)
    assert coverage.samples == 1000
    # 6% bad against a 3% budget burns at 2x: the 3d/6h ticket rule (0.93x at 28d) fires only.
    assert coverage.burn_rates["1h"] == pytest.approx(2.0)
    assert [f.rule for f in coverage.fired] == ["3d/6h"]
    assert coverage.state == "warning"
    assert coverage.budget_remaining == pytest.approx(-1.0)
    # 3% errors against a 0.5% budget burn at 6x over 6h, but all of them in the first two
    # minutes: the 30m short window is clean, so the 6h/30m page does not fire; tickets do.
    errors = status["errors"]
    assert errors.value == pytest.approx(0.97)
    assert errors.burn_rates["6h"] == pytest.approx(6.0)
    assert errors.burn_rates["30m"] == 0.0
    assert [f.rule for f in errors.fired] == ["1d/2h", "3d/6h"]
    assert errors.state == "warning"
    # 20 answers at 200 ms and 10 timeouts are over 150 ms: 3% against 1% burns at 3x, just
    # over the 1d/2h factor (2.8x), but 30 of 1,000 has a Wilson interval down to 2.1%: only
    # the 3d/6h rule (0.93%) is sure enough to fire.
    latency = status["latency"]
    assert latency.value == pytest.approx(0.97)
    assert latency.burn_rates["1d"] == pytest.approx(3.0)
    assert [f.rule for f in latency.fired] == ["3d/6h"]
    assert latency.state == "warning"


def test_quality_uses_only_labels_known_at_evaluation_time(registry, data):
    _, outcomes = run(registry, data, ELEVEN)
    precision = by_slo(outcomes["content_type"])["review-precision"]
    assert precision.value == pytest.approx(170 / 200)
    assert precision.samples == 200
    assert precision.ci_low == pytest.approx(0.7943, abs=1e-3)  # Wilson, as statsmodels
    assert precision.state == "ok"  # the interval reaches the 0.85 target: not bad


def test_cost_per_1k(registry, data):
    _, outcomes = run(registry, data, ELEVEN)
    cost = by_slo(outcomes["content_type"])["cost"]
    assert cost.value == pytest.approx(0.1)
    assert cost.state == "ok"


def test_no_rows_in_the_last_30_minutes_is_no_data(registry, data):
    _, outcomes = run(registry, data, ELEVEN + timedelta(hours=1))
    status = by_slo(outcomes["content_type"])
    assert status["coverage"].state == "no_data"
    assert status["latency"].state == "no_data"


def test_logs_gone_since_the_last_run_are_no_data_not_a_failed_run(registry, data):
    import shutil

    run(registry, data, ELEVEN)
    shutil.rmtree(data / "predictions")  # retention, or a logging pipeline that stopped
    _, outcomes = run(registry, data, ELEVEN + timedelta(hours=1))
    assert outcomes["content_type"].ok, outcomes["content_type"].error
    status = by_slo(outcomes["content_type"])
    assert status["coverage"].state == "no_data" and status["latency"].state == "no_data"


def test_a_signal_without_partitions_is_no_data_not_ok(registry, data):
    _, outcomes = run(registry, data, ELEVEN, signals=["commercial_intent"])
    states = {s.slo: s.state for s in outcomes["commercial_intent"].statuses}
    assert set(states.values()) <= {"no_data", "insufficient_labels"}
    assert states["coverage"] == "no_data" and states["cost"] == "no_data"


def test_running_the_same_time_twice_writes_no_duplicates(registry, data):
    store, _ = run(registry, data, ELEVEN)
    first = (
        len(store.latest_status()),
        query(store, "SELECT COUNT(*) FROM slo_status"),
    )
    measured = query(store, "SELECT COUNT(*) FROM measurements")
    store.close()
    store, _ = run(registry, data, ELEVEN)
    assert (
        len(store.latest_status()),
        query(store, "SELECT COUNT(*) FROM slo_status"),
    ) == first
    assert query(store, "SELECT COUNT(*) FROM measurements") == measured


def test_a_bad_log_file_fails_its_signal_only(registry, data):
    broken = content_type_hour().drop("latency_ms")
    path = write_logs(data, "sentiment", broken)
    corrupt = write_logs(data, "product_category", content_type_hour())
    corrupt.write_bytes(b"PAR1 this is not parquet")
    store, outcomes = run(
        registry, data, ELEVEN, signals=["content_type", "sentiment", "product_category"]
    )
    assert outcomes["content_type"].ok
    assert not outcomes["sentiment"].ok
    assert f"{path}: column 'latency_ms' is missing" in outcomes["sentiment"].error
    assert not outcomes["product_category"].ok
    assert f"{corrupt}: not a readable Parquet file" in outcomes["product_category"].error
    runs = {r.signal: r for r in store.runs()}
    assert runs["sentiment"].status == "error" and "latency_ms" in runs["sentiment"].error
    assert runs["content_type"].status == "ok"


def test_a_mistyped_column_names_file_column_and_types(registry, data):
    bad = content_type_hour().with_columns(pl.col("score").cast(pl.Utf8))
    path = write_logs(data, "sentiment", bad)
    _, outcomes = run(registry, data, ELEVEN, signals=["sentiment"])
    assert f"{path}: column 'score' is String, expected Float32" in outcomes["sentiment"].error


def test_backfill_evaluates_every_bucket_and_matches_a_single_run(registry, data):
    store = Store.open(data / "sigwatch.db", clock=FixedClock(ELEVEN))
    monitor = Monitor(registry, data, store, FixedClock(ELEVEN))
    (_,) = monitor.backfill(TEN, ELEVEN, signals=["content_type"], slice_step=timedelta(hours=1))
    history = store.status_history("content_type", "coverage")
    assert [h.at for h in history] == [TEN + timedelta(minutes=5 * k) for k in range(1, 13)]
    single = by_slo(run(registry, data, ELEVEN)[1]["content_type"])["coverage"]
    assert history[-1].value == pytest.approx(single.value)
    assert np.isclose(history[-1].burn_rates["1h"], single.burn_rates["1h"])


def test_latency_status_carries_quantiles_for_display(registry, data):
    _, outcomes = run(registry, data, ELEVEN)
    details = by_slo(outcomes["content_type"])["latency"].details
    # 920 + 30 answers at 40 ms, 20 at 200 ms, 20 errors at 5 ms, 10 timeouts at 1 s; bins are
    # 12% wide and report their upper edge.
    assert 40 <= details["p50_ms"] < 45
    assert 200 <= details["p99_ms"] < 225
    assert details["quantiles_over"] == "1h"


def test_each_bucket_is_measured_for_every_occurrence_slo(registry, data):
    from monitors.history import occurrence_counts

    run(registry, data, ELEVEN)
    signal = registry.get("content_type")
    coverage = occurrence_counts(data, signal, [signal.slo("coverage")], TEN, ELEVEN, BUCKET)
    assert len(coverage) == 12  # 5-minute buckets of the hour
    assert coverage["good"].sum() == 940 and coverage["total"].sum() == 1000
    latency = occurrence_counts(data, signal, [signal.slo("latency")], TEN, ELEVEN, BUCKET)
    assert latency["good"].sum() == 970
    slos = [signal.slo("coverage"), signal.slo("latency")]
    hourly = occurrence_counts(data, signal, slos, TEN, ELEVEN, 12 * BUCKET)
    assert hourly.rows() == [("coverage", TEN, 940.0, 1000.0), ("latency", TEN, 970.0, 1000.0)]


def test_a_backfill_writes_the_statuses_single_runs_write(registry, tmp_path):
    """Run and backfill are one evaluation: over the same logs and labels (some arriving
    after the span starts), every field of every status is the same whether the times were
    evaluated one run at a time or in one backfill, latency quantiles, burn rates, fired rules
    and slice details included."""
    import dataclasses
    import shutil

    source = tmp_path / "source"
    write_logs(source, "content_type", content_type_hour())
    labels = pl.DataFrame(
        {
            "item_id": [f"ct-{i}" for i in range(60, 310)],
            "label": ["review"] * 170 + ["other"] * 30 + ["question"] * 50,
            "source": ["human"] * 250,
            "labeled_at": [TEN + timedelta(minutes=20)] * 200 + [ELEVEN] * 50,
        },
        schema_overrides={"labeled_at": pl.Datetime("us", "UTC")},
    )
    (source / "labels" / "signal=content_type").mkdir(parents=True)
    labels.write_parquet(source / "labels" / "signal=content_type" / "part-0.parquet")
    copies = {name: tmp_path / name for name in ("runs", "backfill")}
    for copy in copies.values():
        shutil.copytree(source, copy)
    start, end = TEN - timedelta(minutes=30), ELEVEN + timedelta(minutes=30)
    clock = FixedClock(end)
    times = [start + timedelta(minutes=5 * k) for k in range(1, 25)]
    with Store.open(copies["runs"] / "sigwatch.db", clock=clock) as store:
        monitor = Monitor(registry, copies["runs"], store, clock)
        for t in times:
            (outcome,) = monitor.run(t, signals=["content_type"])
            assert outcome.ok, outcome.error
        single = {s.slo: store.status_history("content_type", s.slo) for s in outcome.statuses}
    with Store.open(copies["backfill"] / "sigwatch.db", clock=clock) as store:
        monitor = Monitor(registry, copies["backfill"], store, clock)
        (outcome,) = monitor.backfill(
            start, end, signals=["content_type"], slice_step=timedelta(minutes=5)
        )
        assert outcome.ok, outcome.error
        backfilled = {slo: store.status_history("content_type", slo) for slo in single}
    assert "p99_ms" in single["latency"][-1].details
    for slo, rows in single.items():
        assert [r.at for r in rows] == times, slo
        for ran, filled in zip(rows, backfilled[slo], strict=True):
            assert same(dataclasses.asdict(filled), dataclasses.asdict(ran)), (slo, ran.at)


def same(a, b) -> bool:
    """Equal, floats to 1e-9 (sums of float costs come out of Polars in any order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-12)
    return a == b


class Ticking:
    """A clock that moves 2 minutes at every read: a slow machine, seen in fast motion."""

    def __init__(self, at: datetime) -> None:
        self.at, self.ticking = at, False

    def now(self) -> datetime:
        if self.ticking:
            self.at += timedelta(minutes=2)
        return self.at


def test_a_scheduled_run_evaluates_the_time_it_checked(registry, tmp_path):
    """One "now" per run: the time a scheduled job checks (is it evaluated already? by
    another scheduler?) is the time it evaluates, however late the evaluation starts. Read
    twice, 11:04 and then 11:06 would check 11:00 and evaluate 11:05."""
    from monitors.scheduler import evaluate_once
    from sigwatch.runtime import Runtime
    from sigwatch.settings import Settings
    from tests.conftest import DEFINITIONS

    data = content_type_folder(tmp_path)
    clock = Ticking(ELEVEN + timedelta(minutes=2))  # its first read: 11:04
    runtime = Runtime.from_env(
        data=data, definitions=DEFINITIONS, clock=clock, settings=Settings.from_env({})
    )
    with runtime.open_store() as store:
        clock.ticking = True
        [outcome] = evaluate_once(runtime, store, "content_type")
        assert outcome.ok and outcome.at == ELEVEN
        assert [r.at for r in store.runs("content_type")] == [ELEVEN]
        assert {s.at for s in outcome.statuses} == {ELEVEN}
