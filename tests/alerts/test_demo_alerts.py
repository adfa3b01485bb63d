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
from alerts.service import Alerting
from evaluation.jobs import JOB_TIME
from monitors.runner import Monitor
from sigwatch.clock import FixedClock, floor_time
from sigwatch.model import Budgeting
from sigwatch.states import Outcome
from sigwatch.store import Store
from simulator.run import simulate
from tests.alerts.test_scenario import _incident_of

END = datetime.fromisoformat("2026-11-30T03:00:00+00:00")  # a demo run at 03:00
STEP = timedelta(hours=3)  # the demo's --slice-step
POLICY = Policy()


@pytest.fixture(scope="module")
def demo(registry, corpus_cache, tmp_path_factory):
    data = tmp_path_factory.mktemp("demo-14d")
    result = simulate(
        registry, data, days=14, seed=1, end=END, rate=20_000, cache_dir=corpus_cache, judged=True
    )
    _judge_history(registry, data, corpus_cache, result.start)
    clock = FixedClock(END)
    with Store.open(data / "sigwatch.db", clock=clock) as store:
        outcomes = Monitor(registry, data, store, clock).backfill(
            result.start, END, slice_step=STEP
        )
        assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
        records = store.alerts
        Alerting(Lifecycle(records, registry, POLICY), Delivery(records, None, clock)).replay(
            result.start, END
        )
        alerts = [
            a
            for a in records.alerts(include_resolved=True, limit=10_000)
            if a.resolution != "superseded by a page"
        ]
    return result, alerts, data


def _judge_history(registry, data, corpus_cache, start) -> None:
    """As ``sigwatch demo`` does: the simulated judge labels each day's sample at 02:00."""
    from sigwatch.cli.demo import judge_days
    from simulator.corpus import load_corpus
    from simulator.judge import SimulatedJudge

    judge = SimulatedJudge(registry, load_corpus(registry, corpus_cache))
    try:
        runs = judge_days(registry, data, data / "sigwatch.db", judge.url, start, END)
    finally:
        judge.stop()
    assert runs and all(r.errors == 0 and r.judged > 0 for r in runs), runs


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
        if alert.estimate is not None and alert.estimate.outcome is not Outcome.CONFIRMED:
            # an estimated ticket the labels do not confirm ends when they settle it: withdrawn,
            # or unconfirmed two slices on (one they confirm goes on as the labels')
            assert alert.estimate.outcome in (Outcome.WITHDRAWN, Outcome.UNCONFIRMED), alert.key
            settled = alert.estimate.slice + 2 * slo.objective.timeslice
            assert alert.resolved_at <= settled + STEP, (alert.key, alert.resolved_at)
            continue
        if slo.objective.budgeting is Budgeting.OCCURRENCES:
            assert late <= timedelta(hours=1), (alert.key, late)
        elif not slo.sli.labelled:  # drift, cost: the day after the incident is judged good
            assert late <= timedelta(hours=26), (alert.key, late)
        elif getattr(slo.sli, "labels", None) == "judge":
            # the judge labels the first whole day after the incident at 02:00 the next day;
            # the alert ends by the first evaluation after that, plus the hold (one more step)
            clean = floor_time(end - timedelta(microseconds=1), timedelta(days=1))
            judged = clean + timedelta(days=2) + JOB_TIME
            assert end < alert.resolved_at <= judged + 2 * STEP, (alert.key, judged)
        else:
            # A quality slice is judged once it has min_labels labels, which arrive late
            # (median 20 h after the prediction): the alert ends at the first evaluation after
            # the day after the incident could be judged, plus the hold (one more step).
            where = incident["where"] or None
            judgeable = _judgeable(data, registry.get(alert.signal), slo, end, where)
            assert alert.resolved_at <= judgeable + 2 * STEP, (alert.key, judgeable)
            assert late > timedelta(hours=26)  # with this label lag the 26 h are out of reach


def _judgeable(data, signal, slo, day: datetime, where: dict | None = None) -> datetime:
    """When the slice ``[day, day + 1d)`` of a precision or recall SLO (of one group: the
    rows ``where`` holds) first has ``min_labels`` labelled predictions that it counts (its
    class predicted, or true): an oracle from the logs and label files."""
    sli = slo.sli
    assert sli.kind in ("precision", "recall") and sli.cls, "the oracle counts one class's labels"
    rows = pl.scan_parquet(
        data / "predictions" / f"signal={signal.name}" / f"date={day.date()}"
    ).filter(pl.col("status") == "ok")
    for column, value in (where or {}).items():
        rows = rows.filter(pl.col(column) == value)
    labels = pl.read_parquet(data / "labels" / f"signal={signal.name}").filter(
        pl.col("source") == "human"
    )
    joined = (
        rows.select("item_id", "label")
        .collect()
        .join(labels.select("item_id", "labeled_at", truth="label"), on="item_id")
    )
    side = "label" if sli.kind == "precision" else "truth"
    first = (
        joined.filter(pl.col(side) == sli.cls)
        .group_by("item_id")
        .agg(pl.col("labeled_at").min())
        .sort("labeled_at")
    )
    assert len(first) >= sli.min_labels, "the slice never gets min_labels labels"
    known = first["labeled_at"][sli.min_labels - 1]  # known at the end of its 5 minutes
    return floor_time(known - timedelta(microseconds=1), timedelta(minutes=5)) + timedelta(
        minutes=5
    )


def _slice_events(data, signal, slo, incident) -> tuple[float, pl.Series]:
    """The burn rate of the slice's own events during the incident, and the times of its
    events from 3 days before to the end: an oracle from the logs (the kind's ``bad_rows``,
    as the monitors count them)."""
    from monitors import slis

    start = datetime.fromisoformat(incident["start"])
    end = datetime.fromisoformat(incident["end"])
    [(column, value)] = incident["where"].items()
    bad, counted = slis.calculation(slo.sli).bad_rows(slo.sli, signal)
    rows = (
        pl.scan_parquet(data / "predictions" / f"signal={signal.name}" / "**" / "*.parquet")
        .filter(pl.col("event_time").is_between(start - timedelta(days=3), end, closed="left"))
        .filter((pl.col(column) == value) & counted)
        .select("event_time", bad.alias("bad"))
        .collect()
        .sort("event_time")
    )
    inside = rows.filter(pl.col("event_time") >= start)
    return inside["bad"].mean() / slo.objective.error_budget, rows["event_time"]


def _counted_by(times: pl.Series, start: datetime, window: timedelta, needed: int) -> timedelta:
    """How long after ``start`` a window of ``window`` ending then first holds ``needed``
    events of ``times`` (sorted)."""
    for t in times.filter(times >= start):
        if ((times > t - window) & (times <= t)).sum() >= needed:
            return t - start
    return timedelta(days=365)


def test_a_slice_incident_alerts_within_the_workbooks_detection_time(demo, registry):
    """The workbook's detection time for a rule is ``long window x factor / burn rate``. A rule
    also waits for ``MIN_EVENTS`` of the group in its long window, and the group for its
    ``min_events`` over the SLO window (a canary starts from none), and the lower end of the
    Wilson interval must clear the factor, a little later than the point estimate: the grouped
    SLO opens its alert within the soonest rule's time, with a quarter more for the interval
    and 10 minutes for the evaluation step. The signal-level SLO of the same kind never
    alerts."""
    from monitors.windows import MIN_EVENTS, RULES

    result, alerts, data = demo
    checked = 0
    for incident in result.incidents:
        if not incident["where"] or incident["kind"] == "slice_quality_regression":
            continue
        signal = registry.get(incident["signal"])
        start = datetime.fromisoformat(incident["start"])
        [name] = incident["slos"]
        slo = signal.slo(name)
        burn, times = _slice_events(data, signal, slo, incident)
        group_ready = _counted_by(times, start, timedelta(days=3), slo.grouping.min_events)
        bounds = [
            max(
                rule.long * rule.factor(slo.objective.window) / burn,
                _counted_by(times, start, rule.long, MIN_EVENTS),
                group_ready,
            )
            for rule in RULES
            if burn >= rule.factor(slo.objective.window)
        ]
        assert bounds, (incident["kind"], burn)
        [alert] = [a for a in alerts if _incident_of(a, [incident]) is incident]
        assert alert.slo == name
        assert alert.started_at - start <= 1.25 * min(bounds) + timedelta(minutes=10), (
            incident["kind"],
            alert.started_at - start,
            min(bounds),
        )
        signal_level = [
            a
            for a in alerts
            if a.signal == signal.name
            and signal.slo(a.slo).grouping is None
            and signal.slo(a.slo).sli.kind == slo.sli.kind
            and start <= a.started_at <= datetime.fromisoformat(incident["end"])
        ]
        assert signal_level == [], [a.key for a in signal_level]
        checked += 1
    assert checked == 2


def test_each_slice_incident_is_one_slack_message(demo, registry, tmp_path):
    """Each slice incident's statuses, evaluation by evaluation through the lifecycle to the
    local Slack server: one message for the incident (not one per group), edited as it
    resolves, and nothing else posted for the signal meanwhile."""
    from alerts.notifiers.slack import SlackNotifier
    from sigwatch.settings import Secret
    from tests.alerts.slack_server import TOKEN, FakeSlack

    result, alerts, data = demo
    for incident in result.incidents:
        if not incident["where"]:
            continue
        start = datetime.fromisoformat(incident["start"]) - timedelta(hours=1)
        # until the incident's alert resolved (a quality slice's: once late labels judge the
        # day after)
        [replayed] = [a for a in alerts if _incident_of(a, [incident]) is incident]
        end = replayed.resolved_at + timedelta(minutes=5)
        signal = registry.get(incident["signal"])
        clock = FixedClock(start)
        slack = FakeSlack().start()
        try:
            with (
                Store.open(data / "sigwatch.db", clock=clock) as source,
                Store.open(tmp_path / f"{incident['kind']}.db", clock=clock) as store,
            ):
                by_time: dict[datetime, list] = {}
                for slo in signal.slos:
                    for row in source.status_history(signal.name, slo.name, start, end):
                        by_time.setdefault(row.at, []).append(row)
                records = store.alerts
                notifier = SlackNotifier(Secret(TOKEN), slack.api_url, timeout=5, backoff=0.05)
                lifecycle = Lifecycle(records, registry, POLICY)
                delivery = Delivery(records, notifier, clock, [Secret(TOKEN)])
                for at in sorted(by_time):
                    clock.set(at)
                    lifecycle.evaluate(by_time[at])
                    assert delivery.flush().error is None
            posted = [m for m in slack.top_level() if f"/ {incident['slos'][0]}:" in m["text"]]
            assert len(posted) == 1, (incident["kind"], [m["text"] for m in slack.top_level()])
            # nothing at the signal level: the incident is diluted below its thresholds
            kind = signal.slo(incident["slos"][0]).sli.kind
            level = [s.name for s in signal.slos if s.grouping is None and s.sli.kind == kind]
            others = [m["text"] for m in slack.top_level() if m not in posted]
            assert not [t for t in others if any(f"/ {n}:" in t for n in level)], others
            [message] = posted
            assert message["edits"], incident["kind"]
            assert message["text"].startswith(":white_check_mark: RESOLVED"), message["text"]
        finally:
            slack.stop()


def test_cbpe_bands_hold_the_labels_value_on_the_healthy_days(demo, registry):
    """The simulator as an oracle of the estimates: on every day without an incident on its
    signal, each estimated SLO's CBPE band holds the value its labels give later (the audit's
    rule), on at least 90% of the days with both."""
    from monitors.audit import audit, slice_rows

    result, _, data = demo
    with Store.open(data / "sigwatch.db", clock=FixedClock(END)) as store:
        for signal in registry:
            spans = [
                (datetime.fromisoformat(i["start"]), datetime.fromisoformat(i["end"]))
                for i in result.incidents
                if i["signal"] == signal.name
            ]
            for slo in signal.slos:
                if getattr(slo.sli, "estimate", None) is None or slo.grouping is not None:
                    continue
                healthy = [
                    r
                    for r in slice_rows(store, slo, END)
                    if not any(r.start < end and r.end > start for start, end in spans)
                ]
                checked = audit(healthy)
                assert checked.audited >= 5, (slo.name, checked)
                assert checked.share >= 0.9, (signal.name, slo.name, checked)


def test_cbpe_sees_the_unsure_rc_model_and_not_the_concept_shift(demo, registry):
    """CBPE reads the model's confidence: the rc model's collapsed confidence moves its estimate
    below every healthy day's on both days of that incident, while the confidently wrong days
    of the concept shift are estimated as any healthy day."""
    from monitors.audit import slice_rows

    result, _, data = demo
    with Store.open(data / "sigwatch.db", clock=FixedClock(END)) as store:
        for kind in ("quality_regression", "concept_shift"):
            [incident] = [i for i in result.incidents if i["kind"] == kind]
            signal = registry.get(incident["signal"])
            start, end = (datetime.fromisoformat(incident[k]) for k in ("start", "end"))
            for name in incident["slos"]:
                slo = signal.slo(name)
                if getattr(getattr(slo.sli, "estimate", None), "method", None) != "cbpe":
                    continue
                rows = [
                    r
                    for r in slice_rows(store, slo, END)
                    if r.estimated is not None and r.estimated.value is not None
                ]
                inside = [r.estimated.value for r in rows if start <= r.start < end]
                healthy = [r.estimated for r in rows if not _quality_day(r, result, signal)]
                assert len(inside) == 2 and healthy, (name, rows)
                if "cbpe" in incident["seen_by"]:  # under every healthy day's estimate
                    assert max(inside) < min(e.value for e in healthy), (name, inside, healthy)
                else:  # inside every healthy day's band
                    assert min(inside) > min(e.lower for e in healthy), (name, inside, healthy)


def _quality_day(row, result, signal) -> bool:
    """Whether the slice is a day of one of the signal's quality incidents."""
    return any(
        i["signal"] == signal.name
        and i["seen_by"]
        and datetime.fromisoformat(i["start"]) <= row.start < datetime.fromisoformat(i["end"])
        for i in result.incidents
    )


def test_a_concept_shift_is_missed_by_cbpe_and_flagged_by_its_audit(demo, registry):
    """Confidently wrong: no estimate of the shifted days is bad (CBPE opens nothing), the
    labels alert, and the audit of the latest slices warns that the estimate no longer explains
    quality."""
    from monitors.audit import audit, slice_rows

    result, alerts, data = demo
    [incident] = [i for i in result.incidents if i["kind"] == "concept_shift"]
    signal = registry.get(incident["signal"])
    start, end = (datetime.fromisoformat(incident[k]) for k in ("start", "end"))
    estimated = [
        name
        for name in incident["slos"]
        if getattr(signal.slo(name).sli.estimate, "method", None) == "cbpe"
    ]
    assert estimated and incident["seen_by"] == ["judge"]
    with Store.open(data / "sigwatch.db", clock=FixedClock(END)) as store:
        for name in estimated:
            rows = slice_rows(store, signal.slo(name), END)
            shifted = [r for r in rows if start <= r.start < end]
            assert shifted and all(r.band_held is False for r in shifted), (name, shifted)
            assert not [a for a in alerts if a.slo == name and a.estimate is not None]
            assert [a for a in alerts if a.slo == name], name  # the labels' alert
            assert audit(rows).warning is not None, (name, audit(rows))


def test_the_judges_estimate_sees_the_concept_shift_that_cbpe_misses(demo, registry):
    """On both days of the concept shift, the judge's estimate of review precision (the
    simulated judge's daily sample, rectified by the people's labels) is under the target and
    holds the labels' value, where CBPE's band of the same days stood above the target and
    missed it. The estimate says how it was made."""
    from monitors.audit import audit, slice_rows

    result, _, data = demo
    [incident] = [i for i in result.incidents if i["kind"] == "concept_shift"]
    signal = registry.get(incident["signal"])
    start, end = (datetime.fromisoformat(incident[k]) for k in ("start", "end"))
    by_method = {
        slo.sli.estimate.method: slo
        for slo in signal.slos
        if slo.name in incident["slos"] and getattr(slo.sli, "estimate", None) is not None
    }
    assert set(by_method) == {"cbpe", "judge"}, incident["slos"]
    with Store.open(data / "sigwatch.db", clock=FixedClock(END)) as store:
        rows = {m: slice_rows(store, slo, END) for m, slo in by_method.items()}
    days = {m: [r for r in rs if start <= r.start < end] for m, rs in rows.items()}
    assert len(days["judge"]) == len(days["cbpe"]) == 2
    target = by_method["judge"].objective.target
    for judged, cbpe in zip(days["judge"], days["cbpe"], strict=True):
        e = judged.estimated
        assert e.how.startswith(("ppi++", "rogan-gladen")), e
        assert target.violated_by(e.lower, e.upper) and judged.band_held is True, judged
        assert not target.violated_by(cbpe.estimated.lower, cbpe.estimated.upper), cbpe
        assert cbpe.band_held is False and not target.holds(judged.realized.value), cbpe
    # the judge's audit over the window holds (its bands explain quality), CBPE's warns
    assert audit(rows["judge"]).warning is None, audit(rows["judge"])
    assert audit(rows["cbpe"]).warning is not None
