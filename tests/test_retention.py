"""Retention: the daily prune deletes what is dated before SIGWATCH_RETENTION and keeps what
must outlive it (open alerts, queued notifications, calibrations); ``sigwatch prune --dry-run``
counts without deleting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from sigwatch.cli import app
from sigwatch.clock import FixedClock
from sigwatch.states import SloState, Verdict
from sigwatch.store import Measurement, Run, SloStatus, Store
from sigwatch.store.alerts import RESOLVED, Alert, Silence
from sigwatch.store.judge import CalibrationRow, JudgeCall
from tests.sql import query

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=500)  # past the default 400 days
RECENT = NOW - timedelta(days=10)


def _seed(store: Store) -> None:
    """One row of every pruned kind dated OLD and one dated RECENT, and what must stay."""
    for at in (OLD, RECENT):
        store.put_status(
            [
                SloStatus(
                    signal="s",
                    slo="coverage",
                    at=at,
                    sli="coverage",
                    state=SloState.OK,
                    objective=0.99,
                    evaluated_at=at,
                    window_end=at,
                    value=0.995,
                )
            ]
        )
        store.put_measurements(
            [
                Measurement(
                    signal="s",
                    slo="precision",
                    start=at - timedelta(days=1),
                    end=at,
                    sli="precision",
                    evaluated_at=at,
                    value=0.9,
                    verdict=Verdict.GOOD,
                )
            ]
        )
        store.record_run(Run("s", at, at, 12.0, "ok"))
        resolved = store.alerts.save(
            Alert(
                id=None,
                key="s/coverage/page",
                signal="s",
                slo="coverage",
                severity="page",
                state=RESOLVED,
                started_at=at - timedelta(hours=2),
                updated_at=at,
                channel="#c",
                resolved_at=at,
            )
        )
        store.alerts.add_event(resolved.id, at, "resolved", "resolved after 2h")
        item = store.alerts.enqueue(resolved.id, "post", "#c", "text", None, at)
        store.alerts.mark(item, "sent", at, sent_at=at)
        store.alerts.add_silence(
            Silence(None, "s", None, "ana", "deploy", at - timedelta(hours=1), at)
        )
        store.judge.put_call(
            JudgeCall(
                "s",
                f"item-{at:%j}",
                "monitoring",
                "judge",
                "v1",
                label="review",
                event_time=int(at.timestamp()),
            ),
            at,
        )
    # kept whatever their age
    store.alerts.save(
        Alert(
            id=None,
            key="s/latency/ticket",
            signal="s",
            slo="latency",
            severity="ticket",
            state="firing",
            started_at=OLD,
            updated_at=OLD,
            channel="#c",
        )
    )
    store.alerts.enqueue(None, "digest", "#c", "queued long ago", None, OLD)
    store.judge.put_calibration(
        CalibrationRow("s", "judge", "v1", int(OLD.timestamp()), 100, 0, 0.8, "{}", 0.1)
    )


def test_prune_deletes_what_is_past_retention_and_keeps_the_rest(store_url):
    with Store.open(store_url, clock=FixedClock(NOW)) as store:
        _seed(store)
        counted = store.retention.prune(NOW - timedelta(days=400), dry_run=True)
        assert query(store, "SELECT COUNT(*) FROM slo_status") == [(2,)]  # nothing deleted
        pruned = store.retention.prune(NOW - timedelta(days=400))
    assert pruned == counted
    assert {t: n for t, n in pruned.items() if n} == {
        "slo_status": 1,
        "measurements": 1,
        "runs": 1,
        "outbox": 1,
        "alert_events": 1,
        "alerts": 1,
        "silences": 1,
        "judge_labels": 1,
    }
    with Store.open(store_url, clock=FixedClock(NOW)) as store:
        assert [s.at for s in store.status_history("s", "coverage", OLD, NOW)] == [RECENT]
        assert [m.end for m in store.measurements("s", "precision")] == [RECENT]
        assert [r.at for r in store.runs()] == [RECENT]
        alerts = store.alerts.alerts(include_resolved=True)
        assert sorted((a.slo, a.state) for a in alerts) == [
            ("coverage", "resolved"),
            ("latency", "firing"),  # the open one stays, however old
        ]
        outbox = store.alerts.outbox()
        assert sorted(i.text for i in outbox) == ["queued long ago", "text"]
        assert store.judge.latest_calibration("s") is not None
        assert [c.item_id for c in store.judge.monitoring_calls("s", OLD, NOW + timedelta(1))] == [
            f"item-{RECENT:%j}"
        ]
        # a second prune finds nothing more
        assert not any(store.retention.prune(NOW - timedelta(days=400)).values())


def test_the_prune_command_counts_with_dry_run_and_honours_the_retention_setting(
    tmp_path, store_url
):
    with Store.open(store_url, clock=FixedClock(NOW)) as store:
        _seed(store)
    runner = CliRunner(env={"SIGWATCH_STORE_URL": store_url})
    args = ["prune", "--data", str(tmp_path), "--at", NOW.isoformat(), "--json"]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert report["dry_run"] and report["rows"]["slo_status"] == 1
    assert query(store_url, "SELECT COUNT(*) FROM slo_status") == [(2,)]
    # a retention of 5 days takes the recent rows too
    short = runner.invoke(app, args, env={"SIGWATCH_RETENTION": "5d"})
    assert short.exit_code == 0, short.output
    assert json.loads(short.output)["rows"]["slo_status"] == 2
    assert query(store_url, "SELECT COUNT(*) FROM slo_status") == [(0,)]
    missing = runner.invoke(
        app, ["prune", "--data", str(tmp_path / "nowhere")], env={"SIGWATCH_STORE_URL": ""}
    )
    assert missing.exit_code == 1 and "no store at" in missing.output


def _series(store: Store, start: datetime, hours: int, breach: tuple[datetime, datetime]):
    """A status every 5 minutes for ``hours`` (and a group's the same): ok, but for a breach
    that fires a page rule at each evaluation inside ``breach`` with a rising burn rate."""
    from sigwatch.states import Fired, Severity

    rows, at = [], start
    while at < start + timedelta(hours=hours):
        inside = breach[0] <= at < breach[1]
        burn = 14.0 + (at - breach[0]).total_seconds() / 300 if inside else 0.5
        fired = [Fired(Severity.PAGE, "1h/5m", 14.4, burn, burn)] if inside else []
        status = SloStatus(
            signal="s",
            slo="coverage",
            at=at,
            sli="coverage",
            state=SloState.BREACH if inside else SloState.OK,
            objective=0.99,
            evaluated_at=at,
            window_end=at,
            value=0.9 if inside else 0.995,
            burn_rates={"1h": burn},
            fired=fired,
        )
        rows += [status, SloStatus(**{**status.__dict__, "group": {"community": "a"}})]
        at += timedelta(minutes=5)
    store.put_status(rows)
    return [r for r in rows if r.group is None]


def _kept(rows: list[SloStatus], cut: datetime) -> list[datetime]:
    """What compaction keeps, computed here: before the cut, a status at a whole hour or one
    whose state or fired rules differ from the one before it; everything from the cut on."""
    kept = []
    for before, row in zip([None, *rows], rows, strict=False):
        changed = before is None or (before.state, before.fired) != (row.state, row.fired)
        if row.at >= cut or row.at.minute == 0 or changed:
            kept.append(row.at)
    return kept


def test_old_statuses_are_compacted_to_one_an_hour_and_every_change(store_url):
    start = NOW - timedelta(days=9, minutes=35)
    breach = (start + timedelta(hours=5, minutes=20), start + timedelta(hours=6, minutes=10))
    cut = NOW - timedelta(days=7)
    with Store.open(store_url, clock=FixedClock(NOW)) as store:
        rows = _series(store, start, 60, breach)
        counted = store.retention.compact(cut, dry_run=True)
        assert query(store, "SELECT COUNT(*) FROM slo_status") == [(len(rows),)]
        deleted = store.retention.compact(cut)
        assert deleted == counted and deleted["slo_status"] == deleted["group_status"] > 0
        kept = [s.at for s in store.status_history("s", "coverage")]
        assert kept == _kept(rows, cut)
        assert deleted["slo_status"] == len(rows) - len(kept)
        # every evaluation of the breach is still there, and the evaluation that ended it
        during = [s for s in store.status_history("s", "coverage") if s.state is SloState.BREACH]
        assert len(during) == (breach[1] - breach[0]) // timedelta(minutes=5)
        groups = store.group_statuses("s", "coverage", start, NOW)
        assert [g.at for g in groups] == kept
        # a second run resumes where the first stopped: nothing more before the same cut
        assert store.retention.compact(cut) == {"slo_status": 0, "group_status": 0}
        # a day later, only the day that aged is compacted (its first status's predecessor
        # is the kept one before the old cut)
        later = store.retention.compact(cut + timedelta(days=1))
        assert [s.at for s in store.status_history("s", "coverage")] == _kept(
            rows, cut + timedelta(days=1)
        )
        assert later["slo_status"] > 0


def test_prune_compacts_statuses_older_than_the_detail_setting(tmp_path, store_url):
    start = NOW - timedelta(days=3)
    with Store.open(store_url, clock=FixedClock(NOW)) as store:
        rows = _series(store, start, 24, (start, start))
    runner = CliRunner(env={"SIGWATCH_STORE_URL": store_url})
    args = ["prune", "--data", str(tmp_path), "--at", NOW.isoformat(), "--json"]
    kept = runner.invoke(app, args)  # 7 days of detail: nothing to compact yet
    assert kept.exit_code == 0, kept.output
    assert json.loads(kept.output)["compacted"] == {"slo_status": 0, "group_status": 0}
    short = runner.invoke(app, args, env={"SIGWATCH_STATUS_DETAIL": "2d"})
    report = json.loads(short.output)
    assert report["compacted_before"] == (NOW - timedelta(days=2)).isoformat()
    assert report["compacted"]["slo_status"] == len(rows) - 24  # one an hour is left
    assert query(store_url, "SELECT COUNT(*) FROM slo_status") == [(24,)]
