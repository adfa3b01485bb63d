"""Grouped SLOs alert like Alertmanager groups, through the real slack_sdk client to the local
Slack server: one message per incident listing its groups, edited as groups join and recover
(said in the thread), a flapping group held, and group values from the logs kept plain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from alerts.delivery import Delivery
from alerts.lifecycle import Lifecycle
from alerts.model import Policy
from alerts.notifiers.slack import SlackNotifier
from monitors.groups import summary
from sigwatch.model import Grouping, Registry
from sigwatch.settings import Secret
from sigwatch.states import Fired, Severity, SloState
from sigwatch.store import SloStatus
from tests.alerts.conftest import STEP, World
from tests.alerts.slack_server import TOKEN

ODD = "<!channel> *urgent*"


def group_status(slo, at, community: str, state: SloState, **facts) -> SloStatus:
    """One community's status of a grouped SLO at ``at``, as the monitors would store it."""
    return SloStatus(
        signal=slo.signal,
        slo=slo.name,
        at=at,
        sli=slo.sli.kind,
        state=state,
        objective=slo.objective.ratio,
        evaluated_at=at,
        window_end=at,
        group={"community": community},
        **facts,
    )


@pytest.fixture
def grouped_world(registry, store_url):
    """A World whose content_type has ``coverage-by-community`` (coverage, grouped)."""
    signal = registry.get("content_type")
    coverage = signal.slo("coverage")
    by_community = replace(
        coverage, name="coverage-by-community", grouping=Grouping(("community",), top=20)
    )
    signals = [
        replace(s, slos=(*s.slos, by_community)) if s.name == "content_type" else s
        for s in registry
    ]
    world = World(Registry(tuple(signals)), store_url, Policy())
    world.slo = by_community
    yield world
    world.store.close()


def evaluate(world, groups: dict[str, float]) -> None:
    """Advance 5 minutes; the communities in ``groups`` burn at their rate (a page), every
    other of four communities is fine."""
    at = world.clock.advance(STEP)
    rows = []
    for community in ("headphones", "audio", ODD, "cars"):
        burn = groups.get(community)
        fired = [Fired(Severity.PAGE, "1h/5m", 13.44, burn, burn)] if burn else []
        state = SloState.BREACH if burn else SloState.OK
        rows.append(
            group_status(
                world.slo,
                at,
                community,
                state,
                value=0.5 if burn else 0.99,
                samples=5000,
                budget_remaining=0.2 if burn else 0.9,
                burn_rates={"1h": burn or 0.3},
                fired=fired,
            )
        )
    row = summary(world.slo, rows, at, at)
    world.store.put_status([row, *rows])
    world.lifecycle.evaluate([row])


def send(world, slack) -> None:
    notifier = SlackNotifier(Secret(TOKEN), slack.api_url, timeout=5, backoff=0.05)
    assert Delivery(world.records, notifier, world.clock, [Secret(TOKEN)]).flush().error is None


def test_one_message_per_incident_edited_as_groups_join_and_recover(grouped_world, slack):
    world = grouped_world
    assert isinstance(world.lifecycle, Lifecycle)
    evaluate(world, {"headphones": 22.0})
    send(world, slack)
    first_post = [dict(b) for b in slack.top_level()[0]["blocks"]]
    evaluate(world, {"headphones": 22.0, "audio": 15.0})  # audio joins
    send(world, slack)
    evaluate(world, {"headphones": 22.0})  # audio clear for 5 minutes ...
    evaluate(world, {"headphones": 22.0, "audio": 16.0})  # ... and back: a flap, held
    send(world, slack)
    for _ in range(4):  # audio clear for 20 minutes: past the 15-minute hold
        evaluate(world, {"headphones": 22.0})
        send(world, slack)
    for _ in range(5):  # every group clear: the alert resolves after the hold
        evaluate(world, {})
        send(world, slack)
    [message] = slack.top_level()  # one message for the whole incident
    replies = [r["text"] for r in slack.replies(message["ts"])]
    assert replies == [
        "+ community=audio (burn 15.0x)",
        "- community=audio recovered",
        "resolved after 55m",
    ]
    assert len(message["edits"]) == 3
    [alert] = world.records.alerts(include_resolved=True)
    assert alert.key == "content_type/coverage-by-community/page"
    shown = [
        b["text"]["text"]
        for b in first_post
        if b.get("text", {}).get("text", "").startswith("Groups:")
    ]
    assert shown == ["Groups: community=headphones (burn 22.0x, value 0.500)"]


def test_a_group_named_like_a_slack_command_neither_pings_nor_formats(grouped_world, slack):
    world = grouped_world
    evaluate(world, {"headphones": 22.0})
    send(world, slack)
    evaluate(world, {"headphones": 22.0, ODD: 30.0})
    send(world, slack)
    [message] = slack.top_level()
    [reply] = slack.replies(message["ts"])
    assert "<!channel>" not in reply["text"]  # the notification's text: escaped
    assert reply["text"] == "+ community=&lt;!channel&gt; *urgent* (burn 30.0x)"
    [block] = reply["blocks"]  # what the channel shows: plain text, as written
    assert block["text"] == {
        "type": "plain_text",
        "text": f"+ community={ODD} (burn 30.0x)",
        "emoji": False,
    }
    edited = message["edits"][-1]["blocks"]
    plain = [b["text"] for b in edited if b.get("text", {}).get("type") == "plain_text"]
    assert any(ODD in p["text"] and p["text"].startswith("Groups:") for p in plain)
    mrkdwn = [
        part["text"]
        for block in edited
        for part in [block.get("text", {}), *block.get("fields", []), *block.get("elements", [])]
        if part.get("type") == "mrkdwn"
    ]
    assert not any("<!channel>" in text or "*urgent*" in text for text in mrkdwn)


def test_the_worst_group_sets_the_severity_and_a_ticket_group_is_not_on_the_page(
    grouped_world,
):
    world = grouped_world
    at = world.clock.advance(STEP)
    page = [Fired(Severity.PAGE, "1h/5m", 13.44, 20.0, 20.0)]
    ticket = [Fired(Severity.TICKET, "1d/2h", 2.8, 3.5, 3.5)]
    rows = [
        group_status(
            world.slo,
            at,
            name,
            state,
            value=0.6,
            samples=900,
            budget_remaining=0.1,
            burn_rates={"1h": 1.0},
            fired=fired,
        )
        for name, state, fired in (
            ("audio", SloState.WARNING, ticket),
            ("headphones", SloState.BREACH, page),
        )
    ]
    row = summary(world.slo, rows, at, at)
    assert row.state is SloState.BREACH and row.grouped.worst == {"community": "headphones"}
    world.lifecycle.evaluate([row])
    [alert] = world.records.open_alerts()
    assert alert.severity == "page"
    assert [g.group for g in alert.groups] == [{"community": "headphones"}]


def test_a_grouped_alert_inside_a_signal_level_incident_is_recorded_not_announced(
    grouped_world,
):
    """An outage breaks every community: the signal's coverage page says it once; the grouped
    SLO's alert is recorded as part of it, and not announced while the outage's alert is open
    or just ended (its slow ticket windows still remember it)."""
    from alerts.lifecycle import INHIBIT_TAIL
    from tests.alerts.conftest import status

    world = grouped_world
    for _ in range(3):
        at = world.clock.advance(STEP)
        coverage = status("coverage", at, "breach", burn=30.0)
        burn = [Fired(Severity.PAGE, "1h/5m", 13.44, 30.0, 30.0)]
        group = group_status(
            world.slo,
            at,
            "cars",
            SloState.BREACH,
            value=0.0,
            samples=500,
            budget_remaining=-1.0,
            burn_rates={"1h": 30.0},
            fired=burn,
        )
        world.lifecycle.evaluate([coverage, summary(world.slo, [group], at, at)])
    alerts = {a.slo: a for a in world.records.open_alerts()}
    assert set(alerts) == {"coverage", "coverage-by-community"}
    assert alerts["coverage-by-community"].inhibited_by == "content_type/coverage/page"
    posted = [(item.kind, item.text) for item in world.records.outbox()]
    assert len(posted) == 1 and "content_type / coverage:" in posted[0][1]
    # the outage ends; the grouped alert goes on (slow windows) and resolves within the tail
    world.clock.advance(INHIBIT_TAIL / 2)
    for _ in range(5):
        at = world.clock.advance(STEP)
        world.lifecycle.evaluate([status("coverage", at, "ok")])
    assert [a.slo for a in world.records.open_alerts()] == ["coverage-by-community"]
    grouped = alerts["coverage-by-community"].id
    assert [i for i in world.records.outbox() if i.alert_id == grouped] == []
    # past the tail, a grouped alert still open is news of its own: it is announced
    world.clock.advance(INHIBIT_TAIL)
    world.lifecycle.announce(world.clock.now())
    [item] = [i for i in world.records.outbox() if i.alert_id == grouped]
    assert item.kind == "post" and item.text.startswith(
        ":red_circle: FIRING [page] content_type / coverage-by-community"
    )


def test_a_quality_group_waiting_for_labels_holds_its_alert_open(registry, store_url):
    """A grouped quality SLO's bad community goes back to "not enough labels" between bursts
    of late labels while the other communities are fine: its alert stays open (unknown is not
    healthy), and resolves once a slice of that community is judged good."""
    world = World(registry, store_url, Policy())
    slo = registry.get("sentiment").slo("negative-recall-by-community")

    def evaluate(movies: SloState) -> None:
        at = world.clock.advance(STEP)
        groups = [
            group_status(
                slo,
                at,
                name,
                state,
                target=">= 0.40",
                budget_remaining=0.5,
                value=None if state is SloState.INSUFFICIENT_LABELS else value,
                slice=datetime(2026, 11, 20, tzinfo=UTC),
            )
            for name, state, value in (
                ("movies", movies, 0.2 if movies is SloState.WARNING else 0.55),
                ("airlines", SloState.OK, 0.9),
            )
        ]
        world.lifecycle.evaluate([summary(slo, groups, at, at)])

    evaluate(SloState.WARNING)
    [alert] = world.records.open_alerts()
    assert alert.key == "sentiment/negative-recall-by-community/ticket"
    for _ in range(12):  # an hour of "not enough labels" for movies, airlines ok
        evaluate(SloState.INSUFFICIENT_LABELS)
    assert [a.key for a in world.records.open_alerts()] == [alert.key]
    for _ in range(4):  # movies judged good: clear for the hold, then resolved
        evaluate(SloState.OK)
    assert world.records.open_alerts() == []
    [done] = world.records.alerts(include_resolved=True)
    assert done.id == alert.id  # one alert for the incident, not one per burst of labels
    world.store.close()
