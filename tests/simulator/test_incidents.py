"""Incidents show in the data inside their windows and nowhere else; healthy traffic is
healthy; the same seed writes the same data."""

from __future__ import annotations

import hashlib
from datetime import datetime

import polars as pl
import pytest

from simulator.run import simulate
from tests.simulator.conftest import END, RATE


def window(data, signal, incident=None):
    frame = pl.scan_parquet(
        data / "predictions" / f"signal={signal}" / "**" / "*.parquet", hive_partitioning=True
    )
    if incident is None:
        return frame
    start = datetime.fromisoformat(incident["start"])
    end = datetime.fromisoformat(incident["end"])
    inside = pl.col("event_time").is_between(start, end, closed="left")
    return frame.filter(inside), frame.filter(~inside)


def incident_of(result, kind):
    return next(i for i in result.incidents if i["kind"] == kind)


def share(frame, condition) -> float:
    return frame.select(condition.mean()).collect().item()


def test_coverage_drop_is_abstentions_of_a_new_version_inside_the_window(simulated):
    data, result = simulated
    incident = incident_of(result, "coverage_drop")
    inside, outside = window(data, incident["signal"], incident)
    served = pl.col("status") == "ok"
    assert share(inside, served) < 0.6
    assert share(outside, served) > 0.97
    assert share(inside, pl.col("model_version") == incident["model_version"]) == 1.0
    assert share(outside, pl.col("model_version") == incident["model_version"]) == 0.0


def test_latency_regression_only_slows_its_window(simulated, registry):
    data, result = simulated
    incident = incident_of(result, "latency_regression")
    threshold = registry.get(incident["signal"]).slo("latency").sli.threshold_ms
    inside, outside = window(data, incident["signal"], incident)
    slow = pl.col("latency_ms") > threshold
    assert share(inside, slow) > 0.3
    assert share(outside, slow) < 0.01


def test_cost_spike_falls_back_to_the_external_api(simulated):
    data, result = simulated
    incident = incident_of(result, "cost_spike")
    inside, outside = window(data, incident["signal"], incident)
    external = pl.col("served_by") == "external_api"
    assert share(inside, external) > 0.35
    assert share(outside, external) < 0.01
    per_1k = pl.col("cost_usd").sum() / pl.len() * 1000
    assert inside.select(per_1k).collect().item() > 0.40  # the cost SLO's target
    assert outside.select(per_1k).collect().item() < 0.10


def test_input_drift_brings_a_new_community_only_inside_the_window(simulated):
    data, result = simulated
    incident = incident_of(result, "input_drift")
    inside, outside = window(data, incident["signal"], incident)
    health = pl.col("community") == "health"
    assert share(inside, health) > 0.4
    assert share(outside, health) == 0.0


def test_quality_regression_breaks_precision_against_labels(simulated):
    data, result = simulated
    incident = incident_of(result, "quality_regression")
    signal = incident["signal"]
    labels = pl.scan_parquet(data / "labels" / f"signal={signal}" / "*.parquet").select(
        "item_id", pl.col("label").alias("truth")
    )
    inside, outside = window(data, signal, incident)
    review = pl.col("label") == "review"

    def precision(frame):
        joined = frame.join(labels, on="item_id").filter(review)
        return share(joined, pl.col("truth") == "review")

    assert precision(inside) < 0.75
    assert precision(outside) > 0.85
    assert share(outside, pl.col("model_version") == incident["model_version"]) == 0.0


def test_outage_fails_every_call_of_its_signal_and_nothing_else(simulated, registry):
    data, result = simulated
    incident = incident_of(result, "outage")
    inside, outside = window(data, incident["signal"], incident)
    assert share(inside, pl.col("status") == "error") == 1.0
    assert share(outside, pl.col("status") == "error") < 0.005
    for other in registry.names:
        if other != incident["signal"]:
            _, rest = window(data, other, incident)
            assert share(rest, pl.col("status") == "error") < 0.005


def test_signals_without_incidents_of_a_kind_stay_healthy(simulated, registry):
    data, result = simulated
    hit = {(i["signal"], i["kind"]) for i in result.incidents}
    for signal in registry:
        frame = window(data, signal.name)
        if (signal.name, "coverage_drop") not in hit and (signal.name, "outage") not in hit:
            assert share(frame, pl.col("status") == "ok") > 0.97, signal.name
        if (signal.name, "latency_regression") not in hit and (
            signal.name,
            "cost_spike",
        ) not in hit:
            threshold = signal.slo("latency").sli.threshold_ms
            assert share(frame, pl.col("latency_ms") > threshold) < 0.01, signal.name


def digest(folder) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "cache" not in path.parts:
            h.update(str(path.relative_to(folder)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_the_same_seed_writes_identical_data_and_another_seed_does_not(
    registry, corpus_cache, tmp_path
):
    def run(folder, seed):
        simulate(
            registry, folder, days=7, seed=seed, end=END, rate=RATE / 3, cache_dir=corpus_cache
        )
        return digest(folder)

    first, again, other = (
        run(tmp_path / "a", 5),
        run(tmp_path / "b", 5),
        run(tmp_path / "c", 6),
    )
    assert first == again
    assert first != other


@pytest.mark.parametrize("days", [7, 14])
@pytest.mark.parametrize("end_hour", [0, 16])
def test_the_default_scenario_fits_any_week_or_more_in_whole_days(registry, days, end_hour):
    from datetime import timedelta

    from simulator.scenario import default_scenario

    end = END.replace(hour=end_hour, minute=20 if end_hour else 0)
    start = end - timedelta(days=days)
    incidents = default_scenario(start, days, registry)
    assert len(incidents) == 6
    assert len({i.signal for i in incidents}) == 5
    for incident in incidents:
        assert start <= incident.start < incident.end <= end
        if incident.kind in ("cost_spike", "input_drift", "quality_regression"):
            # judged per UTC day: the incident covers whole days
            assert (incident.start.hour, incident.start.minute) == (0, 0)
            assert (incident.end - incident.start) % timedelta(days=1) == timedelta(0)
