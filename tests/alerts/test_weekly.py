"""The weekly SLO review over the default scenario (monitored, its alerts replayed): what it
says agrees with the Trends page and the alerts; its PNG is an image of the size its charts
ask for; it is shared through slack_sdk's file upload with the local Slack server, once a week
however often the job runs."""

from __future__ import annotations

import io
import shutil
from datetime import datetime, timedelta

import pytest
from PIL import Image

from alerts.notifiers.slack import SlackNotifier, StoreChannelIds
from alerts.weekly import (
    ROW,
    SCALE,
    WIDTH,
    WeekError,
    build_review,
    last_full_week,
    parse_week,
    posted_this_week,
    publish,
)
from monitors.audit import audit, slice_rows
from sigwatch.clock import FixedClock
from sigwatch.settings import Settings
from sigwatch.store import Store
from tests.alerts.slack_server import TOKEN
from tests.console.conftest import END

WEEK = datetime.fromisoformat("2026-11-16T00:00:00+00:00")  # 2026-W47: the scenario's Thu-Sun


@pytest.fixture
def data(console_data, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(console_data / "sigwatch.db", folder / "sigwatch.db")
    for part in ("predictions", "labels", "partials"):
        (folder / part).symlink_to((console_data / part).resolve())
    return folder


def test_weeks_are_iso_weeks():
    assert parse_week("2026-W47") == WEEK
    assert last_full_week(END) == WEEK  # END is Thursday 2026-11-26
    assert last_full_week(WEEK + timedelta(days=7)) == WEEK  # on Monday 00:00 W47 has ended
    for bad in ("2026-W54", "2026-47", "W47"):
        with pytest.raises(WeekError, match="allowed: YYYY-Www"):
            parse_week(bad)


def test_the_review_agrees_with_the_trends_page_and_the_alerts(data, registry):
    from console.data import compliance

    with Store.open(data / "sigwatch.db", clock=FixedClock(END)) as store:
        review = build_review(store, registry, data, WEEK)
        weekly = compliance(store, registry, data, END, "1w")
        alerts = store.alerts.alerts(include_resolved=True)
    assert review.name == "2026-W47" and len(review.slos) == sum(len(s.slos) for s in registry)
    trends = {
        (r["signal"], r["slo"]): r for r in weekly.iter_rows(named=True) if r["period"] == WEEK
    }
    for slo in review.slos:
        if slo.compliance is None:
            assert (slo.signal, slo.slo) not in trends
            continue
        row = trends[(slo.signal, slo.slo)]
        assert slo.compliance == pytest.approx(row["compliance"], rel=1e-12), slo.name
        assert slo.met == row["met"]
    opened = [
        a
        for a in alerts
        if WEEK <= a.started_at < WEEK + timedelta(days=7)
        and a.resolution != "superseded by a page"
        and not a.inhibited_by
    ]
    assert sorted(i.key for i in review.incidents) == sorted(a.key for a in opened)
    assert review.incidents, "the scenario has incidents in W47"
    for incident in review.incidents:
        if incident.resolved_at is not None:
            assert incident.resolve == incident.resolved_at - incident.started_at
        assert incident.detect is None or incident.detect >= timedelta(0)
    assert any(i.detect is not None for i in review.incidents)
    worst = review.worst()
    assert len(worst) == 3
    missed = [s for s in review.slos if s.met is False]
    assert [s.met for s in worst] == sorted(s.met for s in worst)  # missed first
    assert {s.name for s in worst[: len(missed)]} <= {s.name for s in missed}
    markdown = review.markdown()
    for signal in registry.names:
        assert f"| {signal} |" in markdown
    assert "## Worst three" in markdown and worst[0].name.split(" / ")[1] in markdown
    assert {c.signal for c in review.costs} == set(registry.names)
    assert all(c.spend > 0 and c.cost_per_1k > 0 for c in review.costs)
    # every estimated quality SLO's week of estimates against the labels, as `slices` says it
    estimated = {
        (signal.name, slo.name)
        for signal in registry
        for slo in signal.slos
        if getattr(slo.sli, "estimate", None) is not None and slo.grouping is None
    }
    assert {(e.signal, e.slo) for e in review.estimates} == estimated
    assert "## Estimates against the labels" in markdown
    with Store.open(data / "sigwatch.db", clock=FixedClock(END)) as store:
        for e in review.estimates:
            slo = registry.get(e.signal).slo(e.slo)
            week = [r for r in slice_rows(store, slo, WEEK + timedelta(days=7)) if r.start >= WEEK]
            assert e.audit == audit(week)
    assert any(e.audit.audited for e in review.estimates)


def test_the_png_is_the_size_its_charts_ask_for(data, registry, tmp_path):
    with Store.open(data / "sigwatch.db", clock=FixedClock(END)) as store:
        review = build_review(store, registry, data, WEEK)
    image = Image.open(io.BytesIO(review.png()))
    slos, signals = len(review.slos), len(review.costs)
    assert image.format == "PNG"
    assert image.size == (WIDTH * SCALE, round((2 * slos * ROW + signals * ROW * 1.5) * SCALE))
    written = review.write(tmp_path / "out")
    assert [p.suffix for p in written] == [".md", ".png", ".svg", ".svg", ".svg"]
    assert all("<svg" in p.read_text() for p in written[2:])


def test_the_review_is_shared_in_the_digest_channel_once_a_week(data, registry, slack):
    from alerts.jobs import weekly_job

    slack.add_channels("#ml-signals-leadership")
    monday = WEEK + timedelta(days=7, hours=9)  # when serve posts W47's review
    settings = Settings(slack_token=_secret(), slack_api_url=slack.api_url)
    with Store.open(data / "sigwatch.db", clock=FixedClock(monday)) as store:
        assert not posted_this_week(store, settings.digest_channel, monday)
        done = publish(store, registry, settings, data, WEEK, monday)
        assert posted_this_week(store, settings.digest_channel, monday)
        assert not posted_this_week(store, settings.digest_channel, monday + timedelta(days=7))
        [item] = [i for i in store.alerts.outbox() if i.kind == "weekly"]
    assert item.status == "sent" and "2026-W47" in item.text
    [share] = slack.shares
    assert share["channel_name"] == "#ml-signals-leadership" and share["files"] == done.posted
    assert "*sigwatch weekly SLO review 2026-W47" in share["comment"]
    png, md = (slack.files[f] for f in share["files"])
    assert (
        png["filename"] == "sigwatch-weekly-2026-W47.png"
        and png["bytes"][:8] == b"\x89PNG\r\n\x1a\n"
    )
    assert Image.open(io.BytesIO(png["bytes"])).size[0] == WIDTH * SCALE
    assert md["bytes"].decode() == done.files[0].read_text()
    for signal in registry.names:
        assert signal in md["bytes"].decode()
    # the job of serve, an hour later (or on another scheduler): already posted this week
    env = {"SIGWATCH_SLACK_TOKEN": TOKEN, "SIGWATCH_SLACK_API_URL": slack.api_url}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        weekly_job(str(data), str(_definitions()), FixedClock(monday + timedelta(hours=1)))
        assert len(slack.shares) == 1
        # a week later, the job posts W48's
        weekly_job(str(data), str(_definitions()), FixedClock(monday + timedelta(days=7)))
    assert len(slack.shares) == 2 and "2026-W48" in slack.shares[1]["comment"]


def test_without_a_bot_token_the_review_is_written_not_posted(data, registry):
    with Store.open(data / "sigwatch.db", clock=FixedClock(END)) as store:
        done = publish(store, registry, Settings(), data, WEEK, END)
        assert not posted_this_week(store, "#ml-signals-leadership", END)
    assert done.posted == [] and "no SIGWATCH_SLACK_TOKEN" in done.said
    assert done.files[1].read_bytes()[:4] == b"\x89PNG"


def test_a_slack_that_refuses_the_upload_is_an_error(data, registry, slack):
    notifier = SlackNotifier(_secret(), slack.api_url, timeout=5, retries=0)
    from alerts.notifiers import Permanent

    with Store.open(data / "sigwatch.db", clock=FixedClock(END)) as store:
        notifier.channels = StoreChannelIds(store)
        with pytest.raises(Permanent, match="no channel #nowhere"):
            notifier.upload("#nowhere", [("a.txt", b"x", "a")], "hello")


def _secret():
    from sigwatch.settings import Secret

    return Secret(TOKEN)


def _definitions():
    from tests.conftest import DEFINITIONS

    return DEFINITIONS
