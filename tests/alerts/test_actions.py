"""Slack's buttons: requests signed the way Slack signs them, sent over HTTP to the endpoint
``serve`` runs, against a real store and the local Slack server (slack_sdk edits the message).
A valid click by on-call acts under its identity; a wrong secret, a replay, a user without
the role are refused with nothing changed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from alerts.actions import SlackActions, serve_actions
from alerts.delivery import Delivery
from alerts.lifecycle import Lifecycle
from alerts.model import Policy
from alerts.notifiers.slack import SlackNotifier, StoreChannelIds
from alerts.records import Records
from alerts.render import ACK_ACTION, SILENCE_ACTION
from alerts.service import Alerting
from sigwatch.access import Roles
from sigwatch.settings import Secret
from sigwatch.store import Store
from tests.alerts.conftest import World
from tests.alerts.slack_server import TOKEN
from tests.alerts.test_slack import delivery

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ROLES = Roles.parse(
    {
        "people": {
            "bob@example.com": {"role": "oncall", "for": ["#acu-oncall"], "slack": "U02BOB"},
            "erin@example.com": {"role": "oncall", "for": ["acu-entities"], "slack": "U03ERIN"},
            "vic@example.com": {"role": "viewer", "slack": "U04VIC"},
        }
    },
    "roles.yaml",
)


def signed(body: bytes, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    """Slack's signature, computed here from its documentation (not with slack_sdk)."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def click_body(user: str, action: str, alert_id: int, response_url: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T000"},
        "team": {"id": "T000"},
        "response_url": response_url,
        "actions": [{"action_id": action, "block_id": f"sigwatch_alert_{alert_id}",
                     "value": str(alert_id), "type": "button"}],
    }  # fmt: skip
    return urlencode({"payload": json.dumps(payload)}).encode()


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST as Slack does; the HTTP status of the answer."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.fixture
def buttons(registry, store_url, slack):
    """A firing page posted to Slack with its buttons, and the endpoint answering clicks."""
    world = World(registry, store_url, Policy(buttons=True))
    send = delivery(world, slack)
    world.step()
    world.step("breach")
    assert send.flush().error is None

    @contextmanager
    def alerting():
        """As serve does: a store connection of its own for each click (its own thread)."""
        with Store.open(store_url, clock=world.clock) as store:
            records = Records(store)
            notifier = SlackNotifier(Secret(TOKEN), slack.api_url, timeout=5, backoff=0.05,
                                     channels=StoreChannelIds(store))  # fmt: skip
            yield Alerting(
                Lifecycle(records, registry, world.lifecycle.policy),
                Delivery(records, notifier, world.clock, [Secret(TOKEN)]),
            )

    actions = SlackActions(Secret(SECRET), ROLES, alerting, world.clock)
    server, _ = serve_actions(actions, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}/slack/actions"

    world.post = lambda body, headers: post(url, body, headers)
    world.url = url
    world.send = send
    yield world
    server.shutdown()
    server.server_close()
    world.store.close()


def eventually(check, timeout: float = 10.0):
    """Slack is called after the click is answered (Slack wants an answer within 3 s): wait
    for what it is sent."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not sent in time"
        time.sleep(0.05)


def _alert(world):
    [alert] = world.records.alerts()
    return alert


def _buttons_of(message) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"]]  # fmt: skip


def test_an_on_call_click_acknowledges_in_its_name_and_edits_the_message(buttons, slack):
    [message] = slack.top_level()
    assert _buttons_of(message) == [ACK_ACTION, SILENCE_ACTION]
    alert = _alert(buttons)
    body = click_body("U02BOB", ACK_ACTION, alert.id, slack.response_url)
    now = int(buttons.clock.now().timestamp())
    assert buttons.post(body, {**signed(body, now), "Content-Type": "x"}) == 200
    alert = _alert(buttons)
    assert alert.state == "acknowledged"
    assert alert.acknowledged_by == "bob@example.com via Slack"
    eventually(lambda: slack.top_level()[0]["edits"] and slack.responses)
    [message] = slack.top_level()
    assert len(message["edits"]) == 1
    assert message["text"].startswith(":eyes: ACKNOWLEDGED [page] content_type / coverage")
    assert _buttons_of(message) == [SILENCE_ACTION]  # acked: nothing left to acknowledge
    fields = json.dumps(message["blocks"])
    assert "*Acknowledged by*\\nbob@example.com via Slack" in fields
    assert [r["text"] for r in slack.replies(message["ts"])] == [
        "acknowledged by bob@example.com via Slack"
    ]
    assert slack.responses[-1]["text"] == (
        "content_type/coverage/page acknowledged by bob@example.com via Slack"
    )
    assert slack.responses[-1]["response_type"] == "ephemeral"


def test_silence_for_an_hour_from_slack(buttons, slack):
    alert = _alert(buttons)
    body = click_body("U02BOB", SILENCE_ACTION, alert.id, slack.response_url)
    now = buttons.clock.now()
    assert buttons.post(body, signed(body, int(now.timestamp()))) == 200
    [silence] = buttons.records.silences(active_at=now)
    assert (silence.signal, silence.slo, silence.author) == (
        "content_type", "coverage", "bob@example.com via Slack"
    )  # fmt: skip
    assert silence.expires_at - silence.created_at == timedelta(hours=1)
    eventually(lambda: slack.replies(slack.top_level()[0]["ts"]))
    [message] = slack.top_level()
    assert [r["text"] for r in slack.replies(message["ts"])] == [
        f"content_type/coverage silenced by bob@example.com via Slack until "
        f"{now + timedelta(hours=1):%H:%M} UTC"
    ]


def _refusal_cases():
    def valid(body, now):
        return signed(body, now)

    return [
        ("wrong secret", "U02BOB", lambda b, now: signed(b, now, "not-the-secret"), 401, None),
        ("a replay: signed 5 min 1 s ago", "U02BOB", lambda b, now: signed(b, now - 301), 401,
         None),
        ("no signature", "U02BOB", lambda b, now: {}, 401, None),
        ("signed for another body", "U02BOB",
         lambda b, now: signed(b.replace(b"U02BOB", b"U03ERIN"), now), 401, None),
        ("a user not in the roles", "U0STRANGER", valid, 200, "is not in sigwatch's roles"),
        ("a viewer", "U04VIC", valid, 200, "vic@example.com is viewer: only on-call for"),
        ("on call for another team", "U03ERIN", valid, 200,
         "erin@example.com is on call for acu-entities: only on-call for content_type"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "user", "sign", "status", "said"),
    [pytest.param(*c, id=c[0]) for c in _refusal_cases()],
)
@pytest.mark.parametrize("action", [ACK_ACTION, SILENCE_ACTION])
def test_refused_clicks_change_nothing(buttons, slack, case, user, sign, status, said, action):
    before = (_alert(buttons), buttons.outbox(), buttons.records.silences())
    alert = before[0]
    body = click_body(user, action, alert.id, slack.response_url)
    assert buttons.post(body, sign(body, int(buttons.clock.now().timestamp()))) == status
    if said is not None:
        eventually(lambda: slack.responses)
    assert (_alert(buttons), buttons.outbox(), buttons.records.silences()) == before
    [message] = slack.top_level()
    assert message["edits"] == [] and slack.replies(message["ts"]) == []
    if said is None:
        assert slack.responses == []  # an unverified request is not answered in Slack
    else:
        [response] = slack.responses
        assert said in response["text"] and response["response_type"] == "ephemeral"


def test_a_click_on_a_resolved_alert_is_told_so(buttons, slack):
    alert = _alert(buttons)
    for _ in range(4):
        buttons.step("ok")
    buttons.send.flush()
    [resolved] = buttons.records.alerts(include_resolved=True)
    assert resolved.state == "resolved"
    [message] = slack.top_level()
    assert _buttons_of(message) == []  # the resolved message offers nothing
    body = click_body("U02BOB", ACK_ACTION, alert.id, slack.response_url)
    assert buttons.post(body, signed(body, int(buttons.clock.now().timestamp()))) == 200
    eventually(lambda: slack.responses)
    assert "is resolved; only a firing one can be acked" in slack.responses[-1]["text"]
    assert buttons.records.alerts(include_resolved=True) == [resolved]


def test_the_endpoint_answers_only_post_on_its_path(buttons):
    assert buttons.post(b"", {}) == 401
    body = b"payload=not-json"
    now = int(buttons.clock.now().timestamp())
    assert buttons.post(body, signed(body, now)) == 400  # signed, but not a click
    other = buttons.url.replace("/slack/actions", "/slack/other")
    assert post(other, body, signed(body, now)) == 404
    try:
        urllib.request.urlopen(buttons.url, timeout=10)
        status = 200
    except urllib.error.HTTPError as refused:
        status = refused.code
    assert status == 405
