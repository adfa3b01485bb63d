"""Delivery through the real slack_sdk client to a local server that speaks the Web API:
one message per incident, edited in place, replies in its thread in order; 429 Retry-After,
5xx, a hang across a restart, an hour's outage, permanent refusals, webhooks, no token."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest

from alerts.delivery import LEASE, Delivery
from alerts.notifiers import Permanent
from alerts.notifiers.slack import SlackNotifier, StoreChannelIds
from alerts.notifiers.webhook import WebhookNotifier
from sigwatch.settings import Secret
from sigwatch.states import Suspect
from tests.alerts.slack_server import TOKEN
from tests.sql import query


def delivery(world, slack, timeout: float = 5) -> Delivery:
    """As ``Alerting.open`` builds it: channel ids kept in the store."""
    channels = StoreChannelIds(world.records.store)
    notifier = SlackNotifier(
        Secret(TOKEN), slack.api_url, timeout=timeout, backoff=0.05, channels=channels
    )
    return Delivery(world.records, notifier, world.clock, [Secret(TOKEN)])


def statuses(world):
    return [i.status for i in world.records.outbox()]


def test_one_incident_is_one_message_updated_and_resolved_with_replies_in_order(world, slack):
    send = delivery(world, slack)
    world.step()
    for burn in (15, 16, 16, 40):
        world.step("breach", burn=burn)
        assert send.flush().error is None
    for _ in range(4):
        world.step("ok")
        send.flush()
    [message] = slack.top_level()
    assert message["channel_name"] == "#acu-oncall"
    assert message["metadata"]["event_type"] == "sigwatch_notification"
    assert [r["text"] for r in slack.replies(message["ts"])] == [
        "worse: 15.0x -> 40.0x burn rate",
        "resolved after 35m",
    ]
    assert len(message["edits"]) == 2
    assert message["text"].startswith(":white_check_mark: RESOLVED [page] content_type / coverage")
    [alert] = world.records.alerts(include_resolved=True)
    assert alert.slack_ts == message["ts"] and alert.slack_channel == message["channel"]
    assert set(statuses(world)) == {"sent"}


def test_429_honours_retry_after_and_5xx_is_retried(world, slack):
    send = delivery(world, slack)
    slack.plan.extend(["429", "500"])
    world.step("breach")
    started = time.monotonic()
    assert send.flush().sent == 1
    calls = [t for m, t in slack.calls if m == "chat.postMessage"]
    assert len(calls) == 3  # 429, then 500, then accepted
    assert calls[1] - calls[0] >= 1.0  # Retry-After: 1
    assert time.monotonic() - started >= 1.0
    assert len(slack.top_level()) == 1


def test_a_send_interrupted_by_a_hang_is_not_duplicated_across_a_restart(world, slack):
    slack.hang_seconds = 3
    slack.plan.append("hang")  # Slack accepts the post, then never answers
    world.step("breach")
    result = delivery(world, slack, timeout=1).flush()
    assert result.error and "timed out" in result.error.lower()
    assert statuses(world) == ["sending"]
    assert len(slack.top_level()) == 1
    # A restart right away: the item's lease has not passed, so it is not sent again.
    assert delivery(world, slack).flush().sent == 0
    world.clock.advance(LEASE)
    assert delivery(world, slack).flush().sent == 1  # found by its outbox id, not re-posted
    [message] = slack.top_level()
    assert statuses(world) == ["sent"]
    assert world.records.open_alerts()[0].slack_ts == message["ts"]
    world.step("breach", burn=50)  # later changes edit that message
    delivery(world, slack).flush()
    assert len(slack.top_level()) == 1 and len(message["edits"]) == 1
    # the lookup asked for the channel's id by name once (the post that would have told it
    # never answered), kept it, and the alert edits by id: Slack refuses a name there
    assert [m for m, _ in slack.calls].count("conversations.list") == 1
    assert world.records.store.alerts.slack_channel_id("acu-oncall") == message["channel"]
    assert world.records.open_alerts()[0].slack_channel == message["channel"]


def test_the_local_slack_refuses_a_channel_name_where_slack_wants_an_id(slack):
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=TOKEN, base_url=slack.api_url)
    posted = client.chat_postMessage(channel="#acu-oncall", text="hello")  # a name is fine here
    for call in (
        lambda channel: client.conversations_history(channel=channel),
        lambda channel: client.conversations_replies(channel=channel, ts=posted["ts"]),
        lambda channel: client.chat_update(channel=channel, ts=posted["ts"], text="edited"),
    ):
        with pytest.raises(SlackApiError, match="channel_not_found"):
            call("#acu-oncall")
        assert call(posted["channel"])["ok"]


def test_a_channel_id_is_looked_up_by_name_through_every_page_and_kept(world, slack):
    slack.add_channels(*[f"#team-{k:03d}" for k in range(450)], "#acu-oncall")
    store = world.records.store
    notifier = SlackNotifier(Secret(TOKEN), slack.api_url, channels=StoreChannelIds(store))
    assert notifier.channel_id("#acu-oncall") == slack.channels["#acu-oncall"]
    assert [m for m, _ in slack.calls].count("conversations.list") == 3  # 200 a page
    again = SlackNotifier(Secret(TOKEN), slack.api_url, channels=StoreChannelIds(store))
    assert again.channel_id("acu-oncall") == slack.channels["#acu-oncall"]  # from the store
    assert [m for m, _ in slack.calls].count("conversations.list") == 3
    assert again.channel_id("C12345678") == "C12345678"  # an id is used as it is
    with pytest.raises(Permanent, match="no channel #nowhere this app can see"):
        again.channel_id("#nowhere")


def test_a_post_teaches_the_channel_id_so_no_lookup_is_needed(world, slack):
    notifier = SlackNotifier(
        Secret(TOKEN), slack.api_url, channels=StoreChannelIds(world.records.store)
    )
    send = Delivery(world.records, notifier, world.clock, [Secret(TOKEN)])
    world.step("breach")
    assert send.flush().sent == 1
    [message] = slack.top_level()
    assert world.records.store.alerts.slack_channel_id("acu-oncall") == message["channel"]
    assert notifier.channel_id("#acu-oncall") == message["channel"]
    assert "conversations.list" not in [m for m, _ in slack.calls]


def test_an_hour_of_slack_outage_loses_nothing_and_delivers_in_order(world, slack):
    send = delivery(world, slack)
    slack.down = True
    world.step("warning", burn=3)
    for k in range(11):  # an hour: a ticket, escalated to a page, then worse
        world.step("breach" if k >= 2 else "warning", burn=15 if k < 8 else 40)
        assert send.flush().error is not None
    assert slack.messages == []
    assert set(statuses(world)) == {"queued"}
    queued = [(i.id, i.kind) for i in world.records.outbox()]
    slack.down = False
    assert send.flush().sent == len(queued)
    ticket, page = slack.top_level()
    assert ticket["text"].startswith(":white_check_mark: RESOLVED [ticket]")
    assert [r["text"] for r in slack.replies(ticket["ts"])] == [
        "worse: 3.0x -> 15.0x burn rate",
        "superseded by a page after 15m",
    ]
    assert page["text"].startswith(":red_circle: FIRING [page]")
    assert [r["text"] for r in slack.replies(page["ts"])] == ["worse: 15.0x -> 40.0x burn rate"]
    # Sent in outbox order: posts and replies in the order they were queued.
    sent = [c for c, _ in slack.calls if c.startswith("chat.")][-len(queued) :]
    expected = {"post": "chat.postMessage", "reply": "chat.postMessage", "update": "chat.update"}
    assert sent == [expected[k] for _, k in queued]


def test_a_refused_item_is_marked_failed_and_the_rest_go_on(world, slack):
    send = delivery(world, slack)
    slack.plan.append("channel_not_found")
    world.step("breach")
    result = send.flush()
    assert result.failed == 1
    [item] = world.records.outbox()
    assert (
        item.status == "failed"
        and item.last_error == "Permanent: Slack answered 200: channel_not_found"
    )
    world.lifecycle.acknowledge("content_type/coverage/page", by="ana")
    assert send.flush().failed == 2  # the edit and the reply have no message to attach to
    assert slack.messages == []


def test_slack_unreachable_leaves_items_queued(world, slack):
    slack.stop()
    world.step("breach")
    result = delivery(world, slack, timeout=1).flush()
    assert "unreachable" in result.error and result.pending == 1
    assert statuses(world) == ["queued"]


def test_without_a_token_the_outbox_is_the_record(world):
    world.step("breach")
    result = Delivery(world.records, None, world.clock).flush()
    assert result.recorded == 1 and result.pending == 0
    assert statuses(world) == ["recorded"]


def test_an_incoming_webhook_gets_posts_and_replies(world, slack):
    notifier = WebhookNotifier(Secret(slack.webhook_url))
    send = Delivery(world.records, notifier, world.clock, [Secret(slack.webhook_url)])
    world.step("breach", burn=15)
    world.step("breach", burn=40)
    assert send.flush().sent == 3
    texts = [p["text"] for p in slack.webhook_posts]
    assert texts[0].startswith(":red_circle: FIRING [page] content_type / coverage")
    assert texts[1] == "content_type/coverage/page: worse: 15.0x -> 40.0x burn rate"
    assert len(texts) == 2  # the edit is skipped: a webhook cannot edit


def test_the_token_never_reaches_the_store(world, slack):
    slack.plan.append("500")
    send = delivery(world, slack)
    world.step("breach")
    send.flush()
    world.clock.advance(timedelta(minutes=5))
    for table in ("alerts", "outbox", "alert_events", "silences"):
        rows = query(world.store, f"SELECT * FROM {table}")
        assert TOKEN not in repr(rows)


def test_slice_values_from_the_logs_neither_ping_nor_format(world, slack):
    """A community named like a Slack command or markup reaches the channel as plain text."""
    from tests.alerts.conftest import STEP, status

    send = delivery(world, slack)
    odd = "<!channel> *urgent* _now_ <https://x.example|click>"
    suspects = (Suspect("community", odd, 0.8, 0.1, 80, 100),)
    at = world.clock.advance(STEP)
    row = replace(status("coverage", at, "breach", burn=20), suspects=suspects)
    world.store.put_status([row])
    world.lifecycle.evaluate([row])
    assert send.flush().error is None
    [message] = slack.top_level()
    plain = [
        b
        for b in message["blocks"]
        if b.get("text", {}).get("type") == "plain_text"
        and b["text"]["text"].startswith("Where it comes from")
    ]
    assert [b["text"]["text"] for b in plain] == [
        f"Where it comes from: 80% of the bad events come from community={odd}, "
        "which serves 10% of traffic"
    ]
    assert plain[0]["text"]["emoji"] is False
    mrkdwn = [
        part["text"]
        for block in message["blocks"]
        for part in [block.get("text", {}), *block.get("fields", []), *block.get("elements", [])]
        if part.get("type") == "mrkdwn"
    ]
    assert mrkdwn and not any(odd in text or "<!channel>" in text for text in mrkdwn)
    assert "<!channel>" not in message["text"]  # nor in the notification's fallback text
