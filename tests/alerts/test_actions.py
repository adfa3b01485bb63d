"""Slack's buttons: requests signed the way Slack signs them, sent over HTTP to the endpoint
``serve`` runs, against a real store and the local Slack server (slack_sdk edits the message).
A valid click by on-call acts under its identity; a wrong secret, a replay, a user without
the role are refused with nothing changed."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
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
        "actions": [
            {
                "action_id": action,
                "block_id": f"sigwatch_alert_{alert_id}",
                "value": str(alert_id),
                "type": "button",
            }
        ],
    }
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
            records = store.alerts
            notifier = SlackNotifier(
                Secret(TOKEN),
                slack.api_url,
                timeout=5,
                backoff=0.05,
                channels=StoreChannelIds(store),
            )
            yield Alerting(
                Lifecycle(records, registry, world.lifecycle.policy),
                Delivery(records, notifier, world.clock, [Secret(TOKEN)]),
            )

    actions = SlackActions(Secret(SECRET), ROLES, alerting, world.clock)
    server, _ = serve_actions(actions, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}/slack/actions"

    world.post = lambda body, headers: post(url, body, headers)
    world.url = url
    world.actions = actions
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
    return [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


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
        "content_type",
        "coverage",
        "bob@example.com via Slack",
    )
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
        (
            "a replay: signed 5 min 1 s ago",
            "U02BOB",
            lambda b, now: signed(b, now - 301),
            401,
            None,
        ),
        ("no signature", "U02BOB", lambda b, now: {}, 401, None),
        (
            "signed for another body",
            "U02BOB",
            lambda b, now: signed(b.replace(b"U02BOB", b"U03ERIN"), now),
            401,
            None,
        ),
        ("a user not in the roles", "U0STRANGER", valid, 200, "is not in sigwatch's roles"),
        ("a viewer", "U04VIC", valid, 200, "vic@example.com is viewer: only on-call for"),
        (
            "on call for another team",
            "U03ERIN",
            valid,
            200,
            "erin@example.com is on call for acu-entities: only on-call for content_type",
        ),
    ]


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


# --- hostile requests: answered at once, in one log line, and never read to the end ------


def raw(url: str, head: bytes, body: bytes = b"", wait: float = 5.0) -> tuple[int, float]:
    """Send ``head`` and ``body`` as they are on a socket that stays open (as a client that
    promised more would), and return the status of the answer and how long it took. ``wait``
    is below the endpoint's read timeout: an endpoint that waited for more bytes fails."""
    import socket
    from urllib.parse import urlparse

    where = urlparse(url)
    started = time.monotonic()
    with socket.create_connection((where.hostname, where.port), timeout=wait) as conn:
        conn.sendall(head + b"\r\n" + body)
        answer = _read_all(conn)
    return int(answer.split(b" ")[1]), time.monotonic() - started


def _read_all(conn) -> bytes:
    """The whole answer, until the endpoint closes the connection."""
    chunks = []
    while chunk := conn.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def head(lines: list[str], path: str = "/slack/actions") -> bytes:
    return "\r\n".join([f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *lines, ""]).encode("latin-1")


def _malformed(now: int) -> list[tuple]:
    body = b"payload=%7B%7D"
    good = signed(body, now)
    sig, ts = good["X-Slack-Signature"], good["X-Slack-Request-Timestamp"]
    length = f"Content-Length: {len(body)}"
    return [
        ("a negative Content-Length", ["Content-Length: -1"], b"x" * 4096, 400),
        ("a non-numeric Content-Length", ["Content-Length: lots"], body, 400),
        ("no Content-Length", [f"X-Slack-Signature: {sig}"], body, 411),
        ("a Content-Length over 1 MiB", [f"Content-Length: {2 << 20}"], body, 413),
        (
            "a non-numeric timestamp",
            [length, "X-Slack-Request-Timestamp: soon", f"X-Slack-Signature: {sig}"],
            body,
            401,
        ),
        (
            "a non-ASCII signature",
            [length, f"X-Slack-Request-Timestamp: {ts}", "X-Slack-Signature: v0=é" + "0" * 63],
            body,
            401,
        ),
        (
            "a body that is not UTF-8",
            ["Content-Length: 4", f"X-Slack-Request-Timestamp: {ts}", f"X-Slack-Signature: {sig}"],
            b"\xff\xfe\xfd\xfc",
            400,
        ),
        ("a body shorter than promised, then closed", ["Content-Length: 100"], b"0123456789", None),
    ]


@pytest.mark.parametrize("case", range(len(_malformed(0))), ids=[c[0] for c in _malformed(0)])
def test_a_malformed_request_is_answered_with_its_status_and_one_log_line(
    buttons, case, caplog, capfd
):
    caplog.set_level(logging.INFO, logger="alerts.actions")
    name, lines, body, status = _malformed(int(buttons.clock.now().timestamp()))[case]
    before = (buttons.records.alerts(), buttons.records.silences(), buttons.outbox())
    if status is None:  # the client gives up: the endpoint answers 400 and frees the thread
        import socket
        from urllib.parse import urlparse

        where = urlparse(buttons.url)
        with socket.create_connection((where.hostname, where.port), timeout=5) as conn:
            conn.sendall(head(lines) + b"\r\n" + body)
            conn.shutdown(socket.SHUT_WR)
            assert int(_read_all(conn).split(b" ")[1]) == 400
    else:
        got, _ = raw(buttons.url, head(lines), body)
        assert got == status, name
    said = [r.getMessage() for r in caplog.records if r.name == "alerts.actions"]
    assert len(said) == 1 and said[0].startswith("slack action: 4"), said
    assert "Traceback" not in capfd.readouterr().err
    assert (buttons.records.alerts(), buttons.records.silences(), buttons.outbox()) == before


def test_a_client_that_stalls_is_cut_off_and_many_are_refused_not_queued(registry, store_url):
    """A client that promises 100 bytes and sends 10 is answered 408 after the read timeout;
    while ``max_clients`` such clients hold the endpoint, one more is answered 503 at once;
    once they are cut off, a valid request is answered as usual."""
    import socket
    from urllib.parse import urlparse

    world = World(registry, store_url, Policy(buttons=True))

    @contextmanager
    def alerting():
        yield Alerting(world.lifecycle, None)

    actions = SlackActions(Secret(SECRET), ROLES, alerting, world.clock)
    server, _ = serve_actions(actions, "127.0.0.1", 0, read_timeout=1.5, max_clients=2)
    url = f"http://127.0.0.1:{server.server_port}/slack/actions"
    where = urlparse(url)
    try:
        stalled = []
        for _ in range(2):
            conn = socket.create_connection((where.hostname, where.port), timeout=10)
            conn.sendall(head(["Content-Length: 100"]) + b"\r\n" + b"0123456789")
            stalled.append(conn)
        time.sleep(0.3)  # both are being read
        assert raw(url, head(["Content-Length: 4"]), b"abcd")[0] == 503
        started = time.monotonic()
        for conn in stalled:
            assert int(_read_all(conn).split(b" ")[1]) == 408
            conn.close()
        assert time.monotonic() - started < 10  # cut off by the 1.5 s timeout, not held
        assert post(url, b"", {}) == 401  # the slots are free again
    finally:
        server.shutdown()
        server.server_close()
        world.store.close()


def test_a_replayed_click_is_refused_and_a_second_silence_adds_none(buttons, slack):
    alert = _alert(buttons)
    body = click_body("U02BOB", SILENCE_ACTION, alert.id, slack.response_url)
    headers = signed(body, int(buttons.clock.now().timestamp()))
    assert buttons.post(body, headers) == 200
    assert buttons.post(body, headers) == 401  # the same request again: a replay
    assert len(buttons.records.silences(active_at=buttons.clock.now())) == 1
    # a new click (another request, signed a second later) on the silenced alert: told so,
    # and still one silence
    buttons.clock.advance(timedelta(seconds=1))
    again = signed(body, int(buttons.clock.now().timestamp()))
    assert buttons.post(body, again) == 200
    eventually(lambda: any("already silenced" in r["text"] for r in slack.responses))
    assert len(buttons.records.silences(active_at=buttons.clock.now())) == 1
    # remembered for the verifier's 5 minutes only: then the verifier refuses it anyway
    buttons.clock.advance(timedelta(minutes=6))
    assert buttons.post(body, headers) == 401
    fresh = signed(body, int(buttons.clock.now().timestamp()))
    assert buttons.post(body, fresh) == 200
    assert list(buttons.actions._seen) == [fresh["X-Slack-Signature"]]  # the old ones let go


def test_a_name_from_the_cli_is_shown_as_written_never_as_a_ping(buttons, slack):
    """``sigwatch ack --by`` and ``silence add --author`` take any text: in Slack's mrkdwn it is
    escaped, so ``<!channel>`` pings nobody."""
    alert = _alert(buttons)
    buttons.lifecycle.acknowledge(alert.key, "<!channel> *boss* & co")
    assert buttons.send.flush().error is None
    [message] = slack.top_level()
    fields = json.dumps(message["blocks"])
    assert "<!channel>" not in fields and "&lt;!channel&gt; *boss* &amp; co" in fields
    [reply] = slack.replies(message["ts"])
    assert reply["text"] == "acknowledged by &lt;!channel&gt; *boss* &amp; co"
    buttons.lifecycle.silence(
        signal="content_type",
        slo="coverage",
        author="<!here>",
        reason="x",
        duration=timedelta(hours=1),
    )
    body = click_body("U02BOB", SILENCE_ACTION, alert.id, slack.response_url)
    assert buttons.post(body, signed(body, int(buttons.clock.now().timestamp()))) == 200
    eventually(lambda: slack.responses)
    assert "already silenced by &lt;!here&gt;" in slack.responses[-1]["text"]
    assert "<!here>" not in json.dumps(slack.responses)


def test_serve_reads_the_roles_file_again_when_it_changes(buttons, slack, tmp_path):
    """A person removed from on-call loses Slack's buttons at the next click, not at the next
    restart; a change that does not parse leaves the last good roles."""
    from sigwatch.access import LiveRoles

    path = tmp_path / "roles.yaml"
    path.write_text("people:\n  bob@example.com: {role: oncall, slack: U02BOB}\n")
    live = LiveRoles({"SIGWATCH_ROLES": str(path)})
    buttons.actions._roles = live
    alert = _alert(buttons)
    path.write_text("people:\n  bob@example.com: {role: viewer, slack: U02BOB}\n")
    body = click_body("U02BOB", ACK_ACTION, alert.id, slack.response_url)
    assert buttons.post(body, signed(body, int(buttons.clock.now().timestamp()))) == 200
    eventually(lambda: slack.responses)
    assert "bob@example.com is viewer" in slack.responses[-1]["text"]
    assert _alert(buttons).state == "firing"
    path.write_text("people:\n  bob@example.com: {role: oncall, slack: U02BOB}\n  x: [")
    assert live().person("bob@example.com").role == "viewer"  # the last good roles
    path.write_text("people:\n  bob@example.com: {role: oncall, slack: U02BOB, for: [x, y]}\n")
    assert live().person("bob@example.com").scope == {"x", "y"}
