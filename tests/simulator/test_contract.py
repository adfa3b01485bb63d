"""The written data honours docs/data-contracts.md: schemas, partitions, value ranges."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from simulator.traffic import LABEL_SCHEMA, LOG_SCHEMA
from tests.simulator.conftest import END


def logs(data, signal="*"):
    return pl.scan_parquet(
        data / "predictions" / f"signal={signal}" / "**" / "*.parquet", hive_partitioning=True
    )


def test_every_signal_has_one_partition_per_day(simulated, registry):
    data, _ = simulated
    for signal in registry:
        folder = data / "predictions" / f"signal={signal.name}"
        dates = sorted(p.name for p in folder.iterdir())
        assert dates == [f"date={(END - timedelta(days=d)):%Y-%m-%d}" for d in range(7, 0, -1)]
        for day in folder.iterdir():
            assert [f.name for f in day.iterdir()] == ["part-0.parquet"]


def test_log_files_have_exactly_the_contract_schema(simulated, registry):
    data, _ = simulated
    for path in (data / "predictions").rglob("*.parquet"):
        assert dict(pl.read_parquet_schema(path)) == LOG_SCHEMA, path


def test_log_values_are_in_range(simulated, registry):
    data, result = simulated
    frame = logs(data).collect()
    assert len(frame) == sum(result.rows.values())
    assert frame["event_time"].min() >= result.start
    assert frame["event_time"].max() < result.end
    assert (frame["event_time"].dt.date() == frame["date"]).all()
    assert set(frame["status"].unique()) == {"ok", "abstain", "error", "timeout"}
    assert set(frame["served_by"].unique()) == {"in_house", "external_api"}
    assert set(frame["item_kind"].unique()) <= {"post", "comment"}
    assert (frame["latency_ms"] > 0).all() and (frame["cost_usd"] >= 0).all()
    assert (frame["text_len"] > 0).all()
    failed = frame.filter(pl.col("status").is_in(["error", "timeout"]))
    assert failed["score"].null_count() == len(failed)
    assert failed["label"].null_count() == len(failed)
    served = frame.filter(pl.col("status") == "ok")
    assert served["score"].is_between(0, 1).all()
    for signal in registry:
        rows = frame.filter(pl.col("signal") == signal.name)
        assert rows["item_id"].n_unique() == len(rows)
        ok = rows.filter(pl.col("status") == "ok")
        assert (ok["score"] >= signal.serving_threshold).all()
        if signal.task == "multiclass":
            assert set(ok["label"].unique()) <= set(signal.classes)
            assert ok["labels"].null_count() == len(ok)
            _class_vectors_agree(ok, signal)
        elif signal.task == "entities":
            types = ok["labels"].explode().drop_nulls().str.split(":").list.first().unique()
            assert set(types) <= set(signal.classes)
            # a confidence per predicted label, in [0, 1]
            assert (ok["labels"].list.len() == ok["label_scores"].list.len()).all()
            assert ok["label_scores"].explode().drop_nulls().is_between(0, 1).all()
        else:
            assert ok["label"].null_count() == len(ok)
            assert ok["scores"].null_count() == len(ok)  # P(positive) is the score itself
    assert failed["scores"].null_count() == len(failed)
    assert failed["label_scores"].null_count() == len(failed)


def _class_vectors_agree(ok: pl.DataFrame, signal) -> None:
    """A multiclass row's probability vector (from the real model) sums to 1, gives the logged
    label the logged confidence, and has that label on top on every healthy row."""
    vectors = np.array(ok["scores"].to_list(), dtype=float)
    assert vectors.shape == (len(ok), len(signal.classes))
    np.testing.assert_allclose(vectors.sum(axis=1), 1.0, atol=1e-4)
    column = np.array([signal.classes.index(c) for c in ok["label"]])
    np.testing.assert_allclose(
        vectors[np.arange(len(ok)), column], ok["score"].to_numpy(), atol=1e-5
    )
    healthy = ok.filter(pl.col("model_version") == signal.model.version)
    top = np.array(healthy["scores"].to_list()).argmax(axis=1)
    agree = top == np.array([signal.classes.index(c) for c in healthy["label"]])
    assert agree.mean() > 0.97  # a row an incident relabels keeps its confidence, not its top


def test_traffic_is_diurnal(simulated):
    data, _ = simulated
    hourly = (
        logs(data, "sentiment")
        .group_by(pl.col("event_time").dt.hour().alias("hour"))
        .len()
        .collect()
        .sort("hour")
    )
    counts = dict(zip(hourly["hour"], hourly["len"], strict=True))
    assert counts[16] > 2.5 * counts[4]  # busiest mid-afternoon UTC, quietest before dawn


def test_labels_arrive_late_for_items_that_exist(simulated, registry):
    data, result = simulated
    for signal in registry:
        labels = pl.read_parquet(data / "labels" / f"signal={signal.name}" / "part-0.parquet")
        assert dict(labels.schema) == LABEL_SCHEMA
        assert len(labels) == result.labels[signal.name] > 100
        joined = labels.join(
            logs(data, signal.name).select("item_id", "event_time").collect(), on="item_id"
        )
        assert len(joined) == len(labels), "every label names a logged item"
        delay = (joined["labeled_at"] - joined["event_time"]).dt.total_hours()
        assert delay.min() >= 1 and delay.max() > 48 and 8 < delay.median() < 40
        assert (joined["labeled_at"] < result.end).all()
        assert set(labels["source"].unique()) == {"human"}
        if signal.task == "multiclass":
            assert set(labels["label"].unique()) <= set(signal.classes)
        elif signal.task == "score":
            assert set(labels["label"].unique()) == {"0", "1"}
        else:
            assert labels["labels"].explode().drop_nulls().str.starts_with("brand:").all()


def test_manifest_lists_each_incident_with_the_slos_it_breaks(simulated, registry):
    data, result = simulated
    manifest = json.loads((data / "incidents.json").read_text())
    assert manifest["incidents"] == result.incidents
    kinds = {i["kind"] for i in manifest["incidents"]}
    assert kinds == {
        "coverage_drop",
        "latency_regression",
        "cost_spike",
        "input_drift",
        "quality_regression",
        "outage",
        "slice_coverage_drop",
        "canary_latency",
        "slice_quality_regression",
        "concept_shift",
    }
    for incident in manifest["incidents"]:
        signal = registry.get(incident["signal"])
        assert incident["slos"], incident
        if incident["where"]:  # a slice incident breaks only the SLOs grouped by its column
            [column] = incident["where"]
            for name in incident["slos"]:
                assert column in signal.slo(name).grouping.by, (incident, name)
        assert incident["slo"] == incident["slos"][0]
        assert {s.name for s in signal.slos} >= set(incident["slos"])
        for name in incident["estimated"]:  # an estimate it may move, not an SLO it breaks
            assert signal.slo(name).sli.estimate is not None and name not in incident["slos"]
        assert set(incident["seen_by"]) <= {"cbpe", "judge"}
        assert manifest["start"] <= incident["start"] < incident["end"] <= manifest["end"]


def test_promtool_accepts_the_openmetrics_history(simulated, tmp_path):
    data, result = simulated
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make test` installs Debian's prometheus package"
    path = data / "metrics" / "sigwatch.om"
    text = path.read_text()
    assert text.endswith("# EOF\n")
    for family in (
        "sigwatch_inference_latency_seconds_bucket",
        "sigwatch_inference_requests_total",
        "sigwatch_inference_cost_usd_total",
    ):
        assert f"\n{family}{{" in text
    assert 'le="0.15"' in text and 'le="0.08"' in text  # the latency SLO thresholds
    out = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(path), str(tmp_path / "tsdb")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    blocks = [p for p in (tmp_path / "tsdb").iterdir() if (p / "meta.json").exists()]
    assert blocks
    assert result.metric_samples > 0


@pytest.mark.parametrize("signal", ["content_type", "commercial_intent"])
def test_request_counters_match_the_logs(simulated, signal):
    data, _ = simulated
    text = (data / "metrics" / "sigwatch.om").read_text().splitlines()
    prefix = f'sigwatch_inference_requests_total{{signal="{signal}",status="ok"}} '
    last = [line for line in text if line.startswith(prefix)][-1]
    counted = float(last.split()[-2])
    ok = logs(data, signal).filter(pl.col("status") == "ok").select(pl.len()).collect().item()
    assert counted == ok
