"""Spec -> model mapping, round trips, and the JSON Schema editors use."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from sigwatch import kinds as k
from sigwatch import model as m
from sigwatch.registry import load_registry, to_model, to_spec, to_spec_dict
from sigwatch.spec import Document, json_schema
from sigwatch.units import Target
from sigwatch.yamlsource import read_yaml
from tests.conftest import DEFINITIONS, FIXTURES, ROOT

ALL_VALID = sorted(DEFINITIONS.glob("*.yaml")) + sorted((FIXTURES / "good").glob("*.yaml"))


def load(path) -> Document:
    return Document.model_validate(read_yaml(path).data)


def test_content_type_maps_to_the_model_with_timedeltas_and_targets():
    signal = load_registry(DEFINITIONS).get("content_type")
    assert signal.schedule == timedelta(minutes=5)
    assert signal.serving_threshold == 0.33
    assert signal.model == m.ModelRef(id="content-type", version="2026.11")
    assert signal.source == DEFINITIONS / "content_type.yaml"

    coverage = signal.slo("coverage")
    assert isinstance(coverage.sli, k.CoverageSLI)
    assert coverage.objective == m.Objective(
        ratio=0.97, window=timedelta(days=28), budgeting=m.Budgeting.OCCURRENCES
    )
    assert coverage.objective.error_budget == pytest.approx(0.03)
    assert coverage.key == "content_type/coverage"

    latency = signal.slo("latency")
    assert latency.sli == k.LatencySLI(threshold_ms=150)

    precision = signal.slo("review-precision")
    assert precision.sli == k.QualitySLI(
        metric="precision",
        cls="review",
        min_labels=50,
        estimate=k.Estimate("cbpe", k.DriftReference(previous=timedelta(days=28))),
    )
    assert precision.objective.budgeting is m.Budgeting.TIMESLICES
    assert precision.objective.target == Target(">=", 0.85)
    assert precision.objective.timeslice == timedelta(days=1)
    assert precision.alerting.page is False and precision.alerting.ticket is True
    assert precision.alerting.runbook.endswith("runbooks.md#quality")

    drift = signal.slo("input-drift")
    assert drift.sli == k.DriftSLI(
        columns=("community", "item_kind", "text_len", "label"),
        reference=k.DriftReference(previous=timedelta(days=7)),
        sample_size=5000,
    )
    assert str(drift.objective) == "<= 0.3 in 90% of 1d slices over 28d"
    assert str(coverage.objective) == "97% of events over 28d"


def test_a_fixed_drift_reference_is_kept_in_utc():
    signal = to_model(load(FIXTURES / "good" / "every_kind.yaml"))
    ref = signal.slo("drift-fixed").sli.reference
    assert ref.is_fixed
    assert ref.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert ref.end == datetime(2026, 11, 8, tzinfo=UTC)
    assert signal.slo("drift-fixed").sli.method == "psi"


def test_defaults_fill_what_a_minimal_file_leaves_out():
    signal = to_model(load(FIXTURES / "good" / "minimal.yaml"))
    assert signal.schedule == timedelta(minutes=5)
    assert signal.serving_threshold == 0.5
    assert signal.consumers == ()
    assert signal.slos[0].alerting == m.SloAlerting(page=True, ticket=True, runbook=None)


@pytest.mark.parametrize("path", ALL_VALID, ids=lambda p: f"{p.name} round-trips")
def test_spec_to_model_to_spec_round_trips(path):
    doc = load(path)
    signal = to_model(doc)
    again = to_spec(signal)
    assert to_model(again) == signal
    # And the plain data is stable: a second trip gives the same dict.
    assert to_spec_dict(to_model(again)) == to_spec_dict(signal)


def test_models_are_frozen():
    signal = load_registry(DEFINITIONS).get("sentiment")
    with pytest.raises(AttributeError):
        signal.owner = "someone-else"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        signal.slos[0].objective.ratio = 0.5  # type: ignore[misc]


def test_registry_lookup_errors_name_what_exists():
    registry = load_registry(DEFINITIONS)
    with pytest.raises(KeyError, match="known: commercial_intent, content_type"):
        registry.get("content-type")
    with pytest.raises(KeyError, match="it has: coverage, latency"):
        registry.get("sentiment").slo("precision")
    assert len(registry.slos) == sum(len(s.slos) for s in registry)


def test_committed_json_schema_matches_the_spec():
    committed = json.loads((ROOT / "sigwatch-v1.schema.json").read_text())
    assert committed == json_schema(), "regenerate: sigwatch schema > sigwatch-v1.schema.json"


@pytest.mark.parametrize("path", ALL_VALID, ids=lambda p: f"schema accepts {p.name}")
def test_json_schema_accepts_valid_files(path):
    data = json.loads(json.dumps(read_yaml(path).data, default=str))
    jsonschema.validate(data, json_schema())


def test_json_schema_refuses_an_unknown_key_and_an_unknown_kind():
    data = json.loads(json.dumps(read_yaml(FIXTURES / "good" / "minimal.yaml").data))
    data["slos"][0]["objectve"] = 0.9
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json_schema())
    data["slos"][0].pop("objectve")
    data["slos"][0]["sli"]["kind"] = "accuracy"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json_schema())
