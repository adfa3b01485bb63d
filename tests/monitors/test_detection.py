"""On the simulator's default scenario (reduced rate), every incident in incidents.json is
detected inside its window, and no SLO that no incident touches ever leaves ok for an
alerting state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sigwatch.clock import FixedClock
from sigwatch.store import Store

END = datetime(2026, 11, 26, tzinfo=UTC)
ALERTING = ("warning", "breach")


@pytest.fixture(scope="module")
def evaluated(default_scenario):
    result, path = default_scenario
    store = Store.open(path, clock=FixedClock(END))
    yield result, store
    store.close()


def test_every_incident_is_detected_inside_its_window(evaluated):
    result, store = evaluated
    for incident in result.incidents:
        start = datetime.fromisoformat(incident["start"])
        end = datetime.fromisoformat(incident["end"])
        for slo in incident["slos"]:
            history = store.status_history(incident["signal"], slo, start, end)
            states = {h.state for h in history}
            assert states & set(ALERTING), (
                f"{incident['kind']} on {incident['signal']}/{slo}: {states}"
            )


def test_no_untouched_slo_ever_alerts(evaluated, registry):
    result, store = evaluated
    touched = {(i["signal"], slo) for i in result.incidents for slo in i["slos"]}
    for signal in registry:
        for slo in signal.slos:
            if (signal.name, slo.name) in touched:
                continue
            alerts = [
                (h.at.isoformat(), h.state)
                for h in store.status_history(signal.name, slo.name)
                if h.state in ALERTING
            ]
            assert alerts == [], f"false alarm on {signal.name}/{slo.name}: {alerts[:3]}"


def test_no_incident_slo_alerts_before_its_incident(evaluated):
    result, store = evaluated
    first = {}
    for incident in result.incidents:
        for slo in incident["slos"]:
            key = (incident["signal"], slo)
            first[key] = min(first.get(key, incident["start"]), incident["start"])
    for (signal, slo), start in first.items():
        before = store.status_history(signal, slo, end=datetime.fromisoformat(start))
        assert not [h for h in before if h.state in ALERTING], (signal, slo)
