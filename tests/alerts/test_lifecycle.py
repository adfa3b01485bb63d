"""The alert lifecycle on hand-built evaluations: one alert per incident, flap control,
inhibition, silences, stale signals, re-notification, acknowledgement."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.lifecycle import AlertError
from alerts.model import Policy
from tests.alerts.conftest import T0, World


def kinds(world):
    return [k for k, _ in world.outbox()]


def test_one_incident_is_one_alert_updated_then_resolved_after_the_hold(world):
    world.step()
    world.step("breach", burn=15)
    for _ in range(5):
        world.step("breach", burn=16)  # same incident: no new alert, no new message
    assert kinds(world) == ["post"]
    world.step("breach", burn=40)  # more than twice the announced burn
    assert kinds(world) == ["post", "update", "reply"]
    assert "worse: 15.0x -> 40.0x" in world.outbox()[-1][1]
    for _ in range(3):  # clear for 15 minutes: not yet resolved (hold is 15 min)
        world.step("ok")
    assert world.records.open_alerts()[0].state == "firing"
    world.step("ok")
    [alert] = world.records.alerts(include_resolved=True)
    assert alert.state == "resolved" and alert.key == "content_type/coverage/page"
    assert alert.resolved_at - alert.clear_since == timedelta(minutes=15)
    assert kinds(world) == ["post", "update", "reply", "update", "reply"]
    assert world.outbox()[-1][1] == "resolved after 50m"


def test_flapping_input_is_one_alert_not_dozens(world):
    for k in range(22):  # 110 minutes: inside the 2h re-notification interval
        world.step("breach" if k % 2 == 0 else "ok", burn=15)
    alerts = world.records.alerts(include_resolved=True)
    assert len(alerts) == 1 and alerts[0].state == "firing"
    assert kinds(world) == ["post"]


def test_a_page_supersedes_a_ticket_and_keeps_ticket_level_conditions(world):
    world.step("warning", burn=3)
    world.step("breach", burn=15)
    world.step("warning", burn=3)  # still bad, at ticket level: the page stays, no new ticket
    alerts = {a.key: a for a in world.records.alerts(include_resolved=True)}
    assert alerts["content_type/coverage/ticket"].state == "resolved"
    assert alerts["content_type/coverage/ticket"].resolution == "superseded by a page"
    assert alerts["content_type/coverage/page"].state == "firing"
    assert len(alerts) == 2
    # the ticket's message is closed as superseded, then the page is posted
    assert kinds(world) == ["post", "update", "reply", "post"]
    assert world.outbox()[2][1].startswith("superseded by a page after")


def test_an_slo_that_may_not_page_raises_a_ticket(world):
    from tests.alerts.conftest import status

    at = world.clock.advance(timedelta(minutes=5))
    rows = [
        status(
            "review-precision",
            at,
            "warning",
            sli="precision",
            target=">= 0.85",
            ci_low=0.70,
            ci_high=0.80,
        )
    ]
    world.lifecycle.evaluate(rows)
    [alert] = world.records.open_alerts()
    assert alert.severity == "ticket" and alert.fired == "slice"


def test_silenced_alert_is_recorded_not_posted_and_posted_when_the_silence_ends(world):
    world.lifecycle.silence(
        signal="content_type",
        slo=None,
        author="ana",
        reason="planned re-index",
        duration=timedelta(minutes=30),
    )
    world.step("breach")
    world.step("breach")
    [alert] = world.records.open_alerts()
    assert alert.silenced and kinds(world) == []
    for _ in range(6):
        world.step("breach")  # the silence expires during these
    assert kinds(world) == ["post"]
    assert not world.records.open_alerts()[0].silenced


def test_an_alert_resolved_during_a_silence_is_announced_resolved_when_it_ends(world):
    world.step("breach")
    assert kinds(world) == ["post"]
    silence = world.lifecycle.silence(
        signal=None, slo="coverage", author="ana", reason="known", duration=timedelta(hours=2)
    )
    for _ in range(5):
        world.step("ok")
    assert world.records.alerts(include_resolved=True)[0].state == "resolved"
    assert kinds(world) == ["post"]  # nothing while silenced
    world.lifecycle.unsilence(silence.id)
    assert kinds(world) == ["post", "update", "reply"]
    assert world.outbox()[-1][1].startswith("resolved after")


def test_an_incident_inside_a_silence_is_never_posted(world):
    world.lifecycle.silence(
        signal="content_type",
        slo="coverage",
        author="ana",
        reason="test",
        duration=timedelta(hours=3),
    )
    world.step("breach")
    for _ in range(5):
        world.step("ok")
    world.clock.advance(timedelta(hours=3))
    world.step("ok")
    assert world.records.alerts(include_resolved=True)[0].state == "resolved"
    assert kinds(world) == []


def test_a_signal_that_stops_having_data_is_a_page_of_its_own(world):
    world.step("ok")
    world.step({"coverage": "no_data", "latency": "no_data", "errors": "no_data"})
    [alert] = world.records.open_alerts()
    assert alert.key == "content_type/no-data/page"
    world.step("ok")
    for _ in range(3):
        world.step("ok")
    assert world.records.open_alerts() == []


def test_no_data_from_the_start_and_insufficient_labels_raise_nothing(world):
    world.step({"coverage": "no_data", "latency": "no_data", "errors": "no_data"})
    world.step({"coverage": "insufficient_labels"})
    assert world.records.alerts(include_resolved=True) == []


def test_a_quality_slice_without_enough_labels_neither_opens_nor_resolves(world):
    from tests.alerts.conftest import STEP, status

    def step(state: str) -> None:
        at = world.clock.advance(STEP)
        row = status("review-precision", at, state, sli="precision", value=0.7)
        world.store.put_status([row])
        world.lifecycle.evaluate([row])

    step("insufficient_labels")  # unknown from the start: nothing opens
    assert world.records.alerts(include_resolved=True) == []
    step("warning")
    for _ in range(12):  # an hour of too few labels between two late-label arrivals
        step("insufficient_labels")
    step("warning")
    [alert] = world.records.alerts(include_resolved=True)
    assert alert.key == "content_type/review-precision/ticket" and alert.state == "firing"
    assert alert.clear_since is None
    for _ in range(4):  # judged good for the hold (15 minutes): resolved
        step("ok")
    [alert] = world.records.alerts(include_resolved=True)
    assert alert.state == "resolved"
    assert [kind for kind, _ in world.outbox()] == ["post", "update", "reply"]


def test_a_still_firing_page_is_announced_again_with_the_mention(registry, store_url):
    w = World(
        registry,
        store_url,
        Policy(renotify=timedelta(minutes=30), mention="<!subteam^S1|ml-oncall>"),
    )
    for _ in range(7):
        w.step("breach", burn=15)
    assert [k for k, _ in w.outbox()] == ["post", "update", "reply"]
    assert w.outbox()[-1][1] == "<!subteam^S1|ml-oncall> still firing after 30m"
    assert w.outbox()[0][1].startswith("<!subteam^S1|ml-oncall> ")
    w.store.close()


def test_acknowledge_updates_and_replies_and_stops_renotification(world):
    world.step("breach")
    alert = world.lifecycle.acknowledge("content_type/coverage/page", by="ana")
    assert alert.state == "acknowledged"
    assert world.outbox()[-1] == ("reply", "acknowledged by ana")
    world.clock.advance(timedelta(hours=5))
    world.step("breach")
    assert kinds(world) == ["post", "update", "reply"]
    with pytest.raises(AlertError, match="acknowledged; only a firing one"):
        world.lifecycle.acknowledge("content_type/coverage/page", by="bo")
    with pytest.raises(AlertError, match="no alert 'nope'"):
        world.lifecycle.acknowledge("nope", by="bo")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"signal": None, "slo": None}, "needs --signal and/or --slo"),
        ({"signal": "nope", "slo": None}, "unknown signal 'nope'; allowed: "),
        ({"signal": "sentiment", "slo": None, "reason": " "}, "needs a reason"),
        ({"signal": "sentiment", "slo": None, "duration": timedelta(0)}, "positive duration"),
    ],
    ids=[
        "silencing everything is refused",
        "an unknown signal is named",
        "a reason is required",
        "a duration is required",
    ],
)
def test_bad_silences_are_refused(world, kwargs, message):
    args = {"author": "ana", "reason": "why", "duration": timedelta(hours=1), **kwargs}
    with pytest.raises(AlertError, match=message):
        world.lifecycle.silence(**args)


def test_a_backfill_records_without_announcing_then_announces_what_is_open(world):
    world.step("breach", announce=False)
    for _ in range(5):
        world.step("ok", announce=False)
    world.step("warning", burn=3, announce=False)
    assert kinds(world) == []
    world.step("warning", burn=3)
    assert kinds(world) == ["post"]  # the open ticket, not the page resolved in the past
    assert world.records.open_alerts()[0].severity == "ticket"
    assert world.clock.now() > T0


def test_a_page_resolves_when_page_rules_clear_and_its_ticket_level_tail_opens_nothing(world):
    world.step("breach", burn=15)
    for _ in range(12):  # an hour at ticket level after the outage
        world.step("warning", burn=3)
    [page] = world.records.alerts(include_resolved=True)
    assert page.state == "resolved" and page.severity == "page"
    assert page.resolved_at - page.started_at == timedelta(minutes=20)  # 5 min, then the hold
    world.step("ok")
    world.step("warning", burn=3)  # after a clear evaluation: a new, slow incident
    assert [a.severity for a in world.records.open_alerts()] == ["ticket"]


def test_an_evaluation_reads_the_alerts_and_the_silences_once(registry, tmp_path):
    """The lifecycle asks about each SLO's page and ticket (and the stale page, and the
    inhibitors) of one evaluation from what it read once, not with a query each: a quiet
    evaluation of content_type's SLOs, with a page open, reads the alerts and the silences
    once each (the outbox's unannounced alerts are one more read). On SQLite, whose
    connection can trace its statements."""
    from tests.alerts.conftest import World

    world = World(registry, tmp_path / "sigwatch.db")
    world.step("breach")  # a page opens
    said: list[str] = []
    world.store._conn.set_trace_callback(said.append)
    world.step("breach")
    world.store._conn.set_trace_callback(None)
    reads = [s for s in said if s.lstrip().upper().startswith("SELECT")]
    assert sum("FROM silences" in s for s in reads) == 1
    assert sum("FROM alerts" in s for s in reads) <= 2  # by key once; unannounced once
    # and it still sees the open page: nothing new is posted
    assert [a.key for a in world.records.open_alerts()] == ["content_type/coverage/page"]


def test_the_store_hands_out_alert_states_severities_and_outbox_words_as_enums(world):
    """The vocabularies are typed where they leave the store (``sigwatch.states``): code
    compares members, and the store alone turns them into words and back."""
    from sigwatch.states import AlertState, OutboxKind, OutboxStatus, Severity

    world.step()
    world.step("breach", burn=15)
    [alert] = world.records.open_alerts()
    assert alert.state is AlertState.FIRING and alert.severity is Severity.PAGE
    [item] = world.records.outbox()
    assert item.kind is OutboxKind.POST
    assert item.status in (OutboxStatus.QUEUED, OutboxStatus.RECORDED, OutboxStatus.SENT)
    assert type(item.status) is OutboxStatus


# --- alerts an estimate opens (a quality slice before its labels: issue 31) ------------------

DAY = T0.replace(hour=0)  # review-precision's slice (1d) of T0


def quality_step(world, state: str, value: float, **judged):
    """Evaluate review-precision once, 5 minutes on, as ``state`` with ``value`` and what
    ``judged`` says of its slice (``slice``, ``verdict_from``, ``estimated``, ``labelled``)."""
    from tests.alerts.conftest import STEP, status

    at = world.clock.advance(STEP)
    row = status(
        "review-precision", at, state, sli="precision", value=value, target=">= 0.85", **judged
    )
    world.store.put_status([row])
    return world.lifecycle.evaluate([row])


def estimated_step(world, state: str, *, slice_=DAY, labelled=(), by="cbpe", value=0.70):
    """review-precision judged by its estimate of ``slice_`` (``state``: warning, ok), with
    ``labelled``: the recent slices its labels judge (``LabelledSlice``)."""
    from sigwatch.states import SliceEstimate, Verdict, VerdictFrom

    verdict = Verdict.BAD if state == "warning" else Verdict.GOOD
    band = (value - 0.05, value + 0.05)
    return quality_step(
        world,
        state,
        value,
        ci_low=band[0],
        ci_high=band[1],
        slice=slice_,
        verdict_from=VerdictFrom(by),
        estimated=SliceEstimate(by, value, *band, 3000, verdict=verdict),
        labelled=tuple(labelled),
    )


def labelled_step(world, state: str, labels, *, value: float):
    """review-precision judged by the labels of ``labels`` (a ``LabelledSlice``)."""
    from sigwatch.states import VerdictFrom

    return quality_step(
        world,
        state,
        value,
        slice=labels.start,
        verdict_from=VerdictFrom.LABELS,
        labelled=(labels,),
    )


def labels_of(day, verdict: str, value: float, n: int = 212):
    from sigwatch.states import LabelledSlice, Verdict

    return LabelledSlice(day, Verdict(verdict), value, value - 0.06, value + 0.06, n)


def test_an_estimate_opens_a_ticket_that_its_labels_confirm(world):
    from sigwatch.states import Outcome

    estimated_step(world, "warning")
    [alert] = world.records.alerts()
    assert alert.key.endswith("/ticket") and alert.estimate.outcome is None
    [(kind, text)] = world.outbox()
    assert kind == "post" and "review-precision (estimated)" in text
    assert "estimated by cbpe (band 0.650 to 0.750, 1,000 predictions" in text
    for _ in range(6):  # the estimate turns good meanwhile: it never resolves the ticket
        estimated_step(world, "ok", value=0.9)
    assert world.records.alerts()[0].clear_since is None
    confirm = labels_of(DAY, "bad", 0.71)
    labelled_step(world, "warning", confirm, value=0.71)
    [alert] = world.records.alerts()
    assert alert.state == "firing" and alert.estimate.outcome is Outcome.CONFIRMED
    kinds_said = world.outbox()
    assert [k for k, _ in kinds_said] == ["post", "update", "reply"]
    assert kinds_said[-1][1] == "confirmed by 212 labels: 0.710 [0.650, 0.770]"
    assert "(estimated)" not in kinds_said[1][1]  # the post is edited: no longer an estimate
    for _ in range(4):  # the labels of the next slice say good, for the hold: resolved
        labelled_step(world, "ok", labels_of(DAY + timedelta(days=1), "good", 0.9), value=0.9)
    assert world.records.alerts() == []


def test_an_estimate_the_labels_disagree_with_is_withdrawn_at_once(world):
    from sigwatch.states import Outcome

    estimated_step(world, "warning")
    labelled_step(world, "ok", labels_of(DAY, "good", 0.912), value=0.912)
    [alert] = world.records.alerts(include_resolved=True)
    assert alert.state == "resolved" and alert.resolution == "withdrawn"
    assert alert.estimate.outcome is Outcome.WITHDRAWN
    kind, text = world.outbox()[-1]
    assert kind == "reply" and text.startswith("resolved after 5m: labels disagree: 0.912")
    assert "(212 labels)" in text


def test_an_estimate_whose_labels_never_come_is_left_unconfirmed(world):
    estimated_step(world, "warning")
    world.clock.advance(timedelta(days=2))
    estimated_step(world, "ok", slice_=DAY + timedelta(days=2), value=0.9)
    [alert] = world.records.alerts(include_resolved=True)
    assert alert.state == "resolved" and alert.resolution == "unconfirmed"
    assert "never reached min_labels" in world.outbox()[-1][1]


def test_an_estimate_never_resolves_or_updates_what_labels_opened(world):
    labelled_step(world, "warning", labels_of(DAY, "bad", 0.7), value=0.7)
    for state in ("ok", "warning", "ok", "ok", "ok", "ok"):
        estimated_step(world, state, slice_=DAY + timedelta(days=1), value=0.9)
    [alert] = world.records.alerts()
    assert alert.estimate is None and alert.last_value == 0.7 and alert.clear_since is None
    assert [k for k, _ in world.outbox()] == ["post"]


def test_what_labels_opened_resolves_when_labels_say_good_beside_an_estimate(world):
    """Today is judged by its estimate, yesterday by its labels: the labels' good verdict
    clears a ticket labels opened (the estimate's verdict plays no part)."""
    labelled_step(world, "warning", labels_of(DAY, "bad", 0.7), value=0.7)
    yesterday_good = labels_of(DAY, "good", 0.9)
    for _ in range(4):  # for the hold (15 minutes)
        estimated_step(world, "warning", slice_=DAY + timedelta(days=1), labelled=[yesterday_good])
    assert world.records.alerts() == []
    [alert] = world.records.alerts(include_resolved=True)
    assert alert.resolution is None and alert.estimate is None
