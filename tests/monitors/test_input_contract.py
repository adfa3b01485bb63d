"""The input contract as a team writes it: files with exactly the columns their signal's task
needs, written by hand here (not by the simulator), are measured; a column the task needs
but the file lacks fails that signal with the file and the column named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from monitors.runner import Monitor
from sigwatch.clock import FixedClock
from sigwatch.store import Store

DAY = datetime(2026, 11, 25, tzinfo=UTC)
AT = DAY + timedelta(hours=11)
N = 300


def predictions(**prediction: list) -> pl.DataFrame:
    """N served items between 10:00 and 11:00 with the prediction column(s) given."""
    return pl.DataFrame(
        {
            "event_time": [DAY + timedelta(hours=10, seconds=12 * i) for i in range(N)],
            "item_id": [f"i-{i}" for i in range(N)],
            "item_kind": ["post"] * N,
            "community": ["laptops"] * N,
            "language": ["en"] * N,
            "text_len": [120] * N,
            "model_version": ["2026.11"] * N,
            "status": ["ok"] * N,
            **prediction,
            "score": [0.9] * N,
            "latency_ms": [30.0] * N,
            "cost_usd": [0.0001] * N,
            "served_by": ["in_house"] * N,
        },
        schema_overrides={
            "event_time": pl.Datetime("us", "UTC"),
            "text_len": pl.Int32,
            "score": pl.Float32,
            "latency_ms": pl.Float32,
            "label": pl.Utf8,
            "labels": pl.List(pl.Utf8),
        },
    )


def labels(n: int, **truth: list) -> pl.DataFrame:
    """Human labels of the first ``n`` items, known at 10:55."""
    return pl.DataFrame(
        {
            "item_id": [f"i-{i}" for i in range(n)],
            **truth,
            "source": ["human"] * n,
            "labeled_at": [AT - timedelta(minutes=5)] * n,
        },
        schema_overrides={"labeled_at": pl.Datetime("us", "UTC"), "label": pl.Utf8},
    )


def write(data, kind: str, signal: str, frame: pl.DataFrame):
    folder = data / kind / f"signal={signal}"
    if kind == "predictions":
        folder = folder / f"date={DAY:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / "part-0.parquet")
    return folder / "part-0.parquet"


def evaluate(registry, data, signal: str):
    clock = FixedClock(AT)
    with Store.open(data / "sigwatch.db", clock=clock) as store:
        (outcome,) = Monitor(registry, data, store, clock).run(AT, signals=[signal])
    return outcome


def test_a_multiclass_signal_is_measured_from_files_with_only_label(registry, tmp_path):
    logs = predictions(label=["review"] * N)
    assert "labels" not in logs.columns
    write(tmp_path, "predictions", "content_type", logs)
    truth = labels(200, label=["review"] * 170 + ["other"] * 30)  # no labels, no rater_id
    assert set(truth.columns) == {"item_id", "label", "source", "labeled_at"}
    write(tmp_path, "labels", "content_type", truth)
    outcome = evaluate(registry, tmp_path, "content_type")
    assert outcome.ok, outcome.error
    status = {s.slo: s for s in outcome.statuses}
    precision = status["review-precision"]
    assert (precision.value, precision.samples) == (pytest.approx(170 / 200), 200)
    assert status["coverage"].value == 1.0 and status["coverage"].samples == N


def test_an_entity_signal_is_measured_from_files_with_only_labels(registry, tmp_path):
    predicted = [["brand:Sony"]] * 150 + [["brand:Bose", "product:QC45"]] * 150
    logs = predictions(labels=predicted)
    assert "label" not in logs.columns
    write(tmp_path, "predictions", "product_entities", logs)
    # 60 items labelled Sony (right), 40 Bose items labelled Apple (Bose is a false positive)
    truth = labels(100, labels=[["brand:Sony"]] * 60 + [["brand:Apple"]] * 40)
    truth = truth.with_columns(
        pl.Series("item_id", [f"i-{i}" for i in [*range(60), *range(150, 190)]])
    )
    write(tmp_path, "labels", "product_entities", truth)
    outcome = evaluate(registry, tmp_path, "product_entities")
    assert outcome.ok, outcome.error
    precision = {s.slo: s for s in outcome.statuses}["brand-precision"]
    assert (precision.value, precision.samples) == (pytest.approx(60 / 100), 100)


def test_a_column_the_task_does_not_use_may_be_present_and_null(registry, tmp_path):
    # written carelessly: `labels` all null (Polars types it Null), `label` as the task needs
    logs = predictions(label=["review"] * N).with_columns(labels=None)
    assert logs.schema["labels"] == pl.Null
    write(tmp_path, "predictions", "content_type", logs)
    truth = labels(100, label=["review"] * 100).with_columns(labels=None, rater_id=pl.lit("r1"))
    write(tmp_path, "labels", "content_type", truth)
    outcome = evaluate(registry, tmp_path, "content_type")
    assert outcome.ok, outcome.error
    precision = {s.slo: s for s in outcome.statuses}["review-precision"]
    assert (precision.value, precision.samples) == (1.0, 100)


@pytest.mark.parametrize(
    ("signal", "kind", "frame", "missing"),
    [
        ("content_type", "labels", labels(60, labels=[["review"]] * 60), "label"),
        ("product_entities", "labels", labels(60, label=["brand:Sony"] * 60), "labels"),
        ("content_type", "predictions", predictions(labels=[["review"]] * N), "label"),
        ("product_entities", "predictions", predictions(label=["brand"] * N), "labels"),
    ],
    ids=[
        "multiclass labels without label",
        "entity labels without labels",
        "multiclass predictions without label",
        "entity predictions without labels",
    ],
)
def test_a_column_the_task_needs_is_named_when_missing(
    registry, tmp_path, signal, kind, frame, missing
):
    other = "predictions" if kind == "labels" else "labels"
    good = {
        "content_type": (predictions(label=["review"] * N), labels(60, label=["review"] * 60)),
        "product_entities": (
            predictions(labels=[["brand:Sony"]] * N),
            labels(60, labels=[["brand:Sony"]] * 60),
        ),
    }[signal]
    write(tmp_path, other, signal, good[0] if other == "predictions" else good[1])
    path = write(tmp_path, kind, signal, frame)
    outcome = evaluate(registry, tmp_path, signal)
    assert not outcome.ok
    expected = "String" if missing == "label" else "List(String)"
    assert f"{path}: column {missing!r} is missing; expected {expected}" in outcome.error


def test_the_optional_scores_are_read_where_a_file_has_them(registry, tmp_path):
    """``scores`` (multiclass) is optional: a file without it gives nulls for its rows, one with
    it gives the vectors; a score signal never reads it; a wrong type names file and column."""
    from monitors.logs import LogError, scan_logs

    signal = registry.get("content_type")
    vector = [0.7, 0.1, 0.1, 0.05, 0.05]
    with_scores = predictions(label=["review"] * N).with_columns(
        pl.Series("scores", [vector] * N, dtype=pl.List(pl.Float32))
    )
    folder = tmp_path / "predictions" / "signal=content_type" / f"date={DAY:%Y-%m-%d}"
    folder.mkdir(parents=True)
    with_scores.write_parquet(folder / "a.parquet")
    predictions(label=["review"] * N).write_parquet(folder / "b.parquet")  # an older writer
    got = scan_logs(tmp_path, signal, DAY, DAY + timedelta(days=1), ["item_id", "scores"])
    rows = got.collect()
    assert len(rows) == 2 * N
    assert rows["scores"].null_count() == N
    assert rows.drop_nulls("scores")["scores"][0].to_list() == pytest.approx(vector)
    assert evaluate(registry, tmp_path, "content_type").ok  # the other SLIs do without it
    score_signal = registry.get("commercial_intent")
    assert not score_signal.classes or score_signal.task == "score"
    folder = tmp_path / "predictions" / "signal=commercial_intent" / f"date={DAY:%Y-%m-%d}"
    folder.mkdir(parents=True)
    with_scores.write_parquet(folder / "a.parquet")
    nulls = scan_logs(tmp_path, score_signal, DAY, DAY + timedelta(days=1), ["scores"])
    assert nulls.collect()["scores"].null_count() == N  # not its task's: never read
    bad = predictions(label=["review"] * N).with_columns(pl.lit("0.7").alias("scores"))
    bad.write_parquet(
        tmp_path / "predictions" / "signal=content_type" / f"date={DAY:%Y-%m-%d}" / "b.parquet"
    )
    with pytest.raises(LogError, match=r"b\.parquet: column 'scores' is String, expected List"):
        scan_logs(tmp_path, signal, DAY, DAY + timedelta(days=1), ["scores"])
