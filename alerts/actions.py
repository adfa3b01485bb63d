"""Slack's buttons on an alert message (Acknowledge, Silence 1h), answered by ``sigwatch serve``.

Slack sends a click to the app's interactivity URL as a form with one field, ``payload`` (JSON
of type ``block_actions``), signed with the app's signing secret: ``X-Slack-Signature`` is
``v0=`` HMAC-SHA256 of ``v0:<timestamp>:<body>``, ``X-Slack-Request-Timestamp`` the time it was
signed. How a request is answered:

    signature wrong or missing, or signed more than 5 minutes from now (a replay)
        -> 401, nothing read, nothing changed
    verified, but the Slack user is not a listed person on call for the alert's signal
        -> 200, told so in an ephemeral message (``response_url``); nothing changed
    verified and allowed
        -> 200; the ack or the silence is recorded under the person's identity ("bob@example.com
           via Slack"), the message is edited and its thread told, as an ack from the console

Slack wants an answer within 3 seconds: the store is written before the answer, Slack is
called after it (``Click.deliver``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from alerts.lifecycle import AlertError
from alerts.render import ACK_ACTION, SILENCE_ACTION
from alerts.service import Alerting
from sigwatch.access import Roles
from sigwatch.clock import Clock
from sigwatch.settings import Secret

PATH = "/slack/actions"
SILENCE_FOR = timedelta(hours=1)
MAX_BODY = 1 << 20  # Slack's payloads are a few KB
log = logging.getLogger(__name__)


class _Seconds(SlackClock):
    """Our injected clock, as the verifier asks for it (seconds since the epoch)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now().timestamp()


@dataclass
class Click:
    """What a request came to: the HTTP status, what the clicker is told (ephemeral), and
    whether the store changed (then Slack is to be told too)."""

    status: int
    said: str = ""
    changed: bool = False
    response_url: str | None = None


class SlackActions:
    """Verifies and carries out clicks. ``alerting`` opens the alerting on its own store
    connection for one click (a context manager), so each request thread has its own."""

    def __init__(
        self, secret: Secret, roles: Roles, alerting: Callable[[], object], clock: Clock,
        respond: Callable[[str, str], None] | None = None,
    ) -> None:  # fmt: skip
        self.verifier = SignatureVerifier(secret.reveal(), clock=_Seconds(clock))
        self.roles = roles
        self.alerting = alerting
        self.clock = clock
        self.respond = respond or post_ephemeral

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Click:
        if not self.verifier.is_valid_request(body, dict(headers)):
            return Click(401, "invalid signature, or signed more than 5 minutes ago")
        try:
            payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
            user = payload["user"]["id"]
            action = payload["actions"][0]
            action_id, alert_id = action["action_id"], str(action["value"])
        except (KeyError, IndexError, ValueError, TypeError):
            return Click(400, "not a block_actions payload")
        response_url = payload.get("response_url")
        if action_id not in (ACK_ACTION, SILENCE_ACTION) or not alert_id.isdigit():
            return Click(200, f"unknown action {action_id!r}", response_url=response_url)
        person = self.roles.by_slack(user)
        with self.alerting() as alerting:
            click = self._act(alerting, person, user, action_id, alert_id)
        click.response_url = response_url
        return click

    def _act(self, alerting: Alerting, person, user: str, action_id: str, alert_id: str) -> Click:
        alert = alerting.records.get(int(alert_id))
        if alert is None:
            return Click(200, f"alert {alert_id} is not known to sigwatch")
        registry = alerting.lifecycle.registry
        signal = registry.get(alert.signal) if alert.signal in registry.names else None
        if person is None or not person.can_act(signal):
            who = f"<@{user}>" if person is None else person.identity
            role = "is not in sigwatch's roles" if person is None else f"is {person.describe()}"
            oncall = signal.oncall if signal else "?"
            said = f"{who} {role}: only on-call for {alert.signal} ({oncall}) can change it."
            return Click(200, said)
        by = f"{person.identity} via Slack"
        now = self.clock.now()
        try:
            if action_id == ACK_ACTION:
                alerting.lifecycle.acknowledge(str(alert.id), by, at=now)
                return Click(200, f"{alert.key} acknowledged by {by}", changed=True)
            silence = alerting.lifecycle.silence(
                signal=alert.signal, slo=alert.slo, author=by, duration=SILENCE_FOR, at=now,
                reason=f"silenced from Slack for 1h ({alert.key})",
            )  # fmt: skip
        except AlertError as exc:
            return Click(200, str(exc))
        said = f"{alert.signal}/{alert.slo} silenced by {by} until {silence.expires_at:%H:%M} UTC"
        with alerting.records.store.transaction():  # the thread hears of it as of an ack
            alerting.records.enqueue(alert.id, "reply", alert.channel, said, None, now)
            alerting.records.add_event(alert.id, now, "silenced", said)
        return Click(200, said, changed=True)

    def deliver(self, click: Click) -> None:
        """After answering Slack: tell the clicker, and send what the click queued."""
        if click.response_url and click.said:
            try:
                self.respond(click.response_url, click.said)
            except Exception as exc:  # the ack stands; only the courtesy message is lost
                log.warning("could not answer the click in Slack: %s", type(exc).__name__)
        if click.changed:
            with self.alerting() as alerting:
                alerting.delivery.flush()


def post_ephemeral(response_url: str, text: str) -> None:
    """A message only the clicker sees, through the click's ``response_url``."""
    from slack_sdk.webhook import WebhookClient

    WebhookClient(response_url, timeout=5).send(
        text=text, response_type="ephemeral", replace_original=False
    )


def serve_actions(actions: SlackActions, host: str, port: int):
    """Slack's interactivity endpoint (``POST /slack/actions``) in a thread; returns the
    server (``shutdown()`` it) and the thread."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # requests are logged by what they did
            pass

        def do_POST(self) -> None:
            if self.path.split("?")[0] != PATH:
                return self._answer(404, "not found")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413, "too large")
            click = actions.handle(self.rfile.read(length), self.headers)
            log.info("slack action: %s %s", click.status, click.said)
            self._answer(click.status, "" if click.status == 200 else click.said)
            if click.status == 200:
                actions.deliver(click)

        def do_GET(self) -> None:
            self._answer(405, "POST only")

        def _answer(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    return server, thread
