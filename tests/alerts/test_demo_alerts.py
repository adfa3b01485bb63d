"""What on-call sees over the demo's own data (``make demo``: the default scenario over 14 days
at 20,000 items a day per signal, 5% labelled, seed 1, backfilled with 3-hour slice steps, its
alerts replayed): every incident gives exactly one alert per SLO it breaks, every alert belongs
to an incident, each alert ends soon after its incident, and nothing fires at the end."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from alerts.delivery import Delivery
from alerts.lifecycle import Lifecycle
from alerts.model import Policy
from alerts.records import Records
from alerts.service import Alerting
from monitors.runner import Monitor
from sigwatch.clock import FixedClock, floor_time
from sigwatch.model import Budgeting
from sigwatch.store import Store
from simulator.run import simulate
from tests.alerts.test_scenario import _incident_of

END = datetime.fromisoformat("2026-11-30T03:00:00+00:00")  # a demo run at 03:00
STEP = timedelta(hours=3)  # the demo's --slice-step
POLICY = Policy()


@pytest.fixture(scope="module")
def demo(registry, corpus_cache, tmp_path_factory):
    data = tmp_path_factory.mktemp("demo-14d")
    result = simulate(registry, data, days=14, seed=1, end=END, rate=20_000,
                      cache_dir=corpus_cache)  # fmt: skip
    clock = FixedClock(END)
    with Store.open(data / "sigwatch.db", clock=clock) as store:
        outcomes = Monitor(registry, data, store, clock).backfill(
            result.start, END, slice_step=STEP
        )
        assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
        records = Records(store)
        Alerting(Lifecycle(records, registry, POLICY), Delivery(records, None, clock)).replay(
            result.start, END
        )
        alerts = [a for a in records.alerts(include_resolved=True, limit=10_000)
                  if a.resolution != "superseded by a page"]  # fmt: skip
    return result, alerts, data


def test_every_alert_belongs_to_an_incident_and_nothing_fires_at_the_end(demo):
    result, alerts, _ = demo
    assert alerts
    stray = [(a.key, a.started_at) for a in alerts if _incident_of(a, result.incidents) is None]
    assert stray == []
    assert [a.key for a in alerts if a.open] == []


def test_every_incident_gives_exactly_one_alert_per_slo_it_breaks(demo):
    result, alerts, _ = demo
    for incident in result.incidents:
        mine = [a for a in alerts if _incident_of(a, [incident]) is incident]
        per_slo = {slo: [a.key for a in mine if a.slo == slo] for slo in incident["slos"]}
        assert all(len(keys) == 1 for keys in per_slo.values()), (incident["kind"], per_slo)


def test_each_alert_ends_soon_after_its_incident(demo, registry):
    result, alerts, data = demo
    for alert in alerts:
        incident = _incident_of(alert, result.incidents)
        end = datetime.fromisoformat(incident["end"])
        slo = registry.get(alert.signal).slo(alert.slo)
        late = alert.resolved_at - end
        if slo.objective.budgeting is Budgeting.OCCURRENCES:
            assert late <= timedelta(hours=1), (alert.key, late)
        elif not slo.sli.labelled:  # drift, cost: the day after the incident is judged good
            assert late <= timedelta(hours=26), (alert.key, late)
        else:
            # A quality slice is judged once it has min_labels labels, which arrive late
            # (median 20 h after the prediction): the alert ends at the first evaluation after
            # the day after the incident could be judged, plus the hold (one more step).
            judgeable = _judgeable(data, registry.get(alert.signal), slo, end)
            assert alert.resolved_at <= judgeable + 2 * STEP, (alert.key, judgeable)
            assert late > timedelta(hours=26)  # with this label lag the 26 h are out of reach


def _judgeable(data, signal, slo, day: datetime) -> datetime:
    """When the slice ``[day, day + 1d)`` of a precision SLO first has ``min_labels`` labelled
    predictions of its class: an oracle from the logs and label files."""
    sli = slo.sli
    assert sli.kind == "precision" and sli.cls, "the oracle counts precision's labels only"
    predicted = (
        pl.scan_parquet(data / "predictions" / f"signal={signal.name}" / f"date={day.date()}")
        .filter((pl.col("status") == "ok") & (pl.col("label") == sli.cls))
        .select("item_id")
        .collect()
    )
    labels = pl.read_parquet(data / "labels" / f"signal={signal.name}").filter(
        pl.col("source") == "human"
    )
    first = (
        predicted.join(labels, on="item_id")
        .group_by("item_id")
        .agg(pl.col("labeled_at").min())
        .sort("labeled_at")
    )
    assert len(first) >= sli.min_labels, "the slice never gets min_labels labels"
    known = first["labeled_at"][sli.min_labels - 1]  # known at the end of its 5 minutes
    return floor_time(known - timedelta(microseconds=1), timedelta(minutes=5)) + timedelta(
        minutes=5
    )
