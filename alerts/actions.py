"""Slack's buttons on an alert message (Acknowledge, Silence 1h), answered by ``sigwatch serve``.

Slack sends a click to the app's interactivity URL as a form with one field, ``payload`` (JSON
of type ``block_actions``), signed with the app's signing secret: ``X-Slack-Signature`` is
``v0=`` HMAC-SHA256 of ``v0:<timestamp>:<body>``, ``X-Slack-Request-Timestamp`` the time it was
signed. How a request is answered:

    no Content-Length, or one that is not a whole number -> 411 / 400, nothing read
    a body over 1 MiB -> 413, nothing read; a body that does not arrive in 10 s -> 408
    signature wrong, missing or malformed, or signed more than 5 minutes from now
        -> 401, nothing changed
    a request seen before (the same signature within those 5 minutes: a replay)
        -> 401, nothing changed
    a body that is not UTF-8, or not a ``block_actions`` payload -> 400, nothing changed
    verified, but the Slack user is not a listed person on call for the alert's signal
        -> 200, told so in an ephemeral message (``response_url``); nothing changed
    verified and allowed
        -> 200; the ack or the silence is recorded under the person's identity ("bob@example.com
           via Slack"), the message is edited and its thread told, as an ack from the console

Slack wants an answer within 3 seconds: the store is written before the answer, Slack is
called after it (``Click.deliver``). Every request is logged in one line, never with a
traceback; a client is given 10 s to send its request, and at most 16 are answered at once
(more are told 503), so slow or many clients cannot hold the endpoint. Actions are idempotent
as well: a second Silence of an alert already silenced adds no silence, and an acknowledged
alert cannot be acknowledged again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from alerts.lifecycle import AlertError
from alerts.render import ACK_ACTION, SILENCE_ACTION, slack_escape
from alerts.service import Alerting
from sigwatch.access import Roles
from sigwatch.clock import Clock
from sigwatch.settings import Secret
from sigwatch.states import OutboxKind

PATH = "/slack/actions"
SILENCE_FOR = timedelta(hours=1)
MAX_BODY = 1 << 20  # Slack's payloads are a few KB
READ_TIMEOUT_S = 10.0  # to send the whole request; Slack sends it at once
MAX_CLIENTS = 16  # requests answered at once; Slack's clicks come one at a time
REPLAY_WINDOW_S = 5 * 60  # how far a timestamp may be from now (SignatureVerifier's rule)
TIMESTAMP = re.compile(r"[0-9]{1,12}")
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
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
    connection for one click (a context manager), so each request thread has its own.
    ``roles``: the roles now (``serve`` re-reads its roles file when it changes, so a person
    removed from on-call loses Slack's buttons at once), or fixed ``Roles``."""

    def __init__(
        self,
        secret: Secret,
        roles: Roles | Callable[[], Roles],
        alerting: Callable[[], object],
        clock: Clock,
        respond: Callable[[str, str], None] | None = None,
    ) -> None:
        self.verifier = SignatureVerifier(secret.reveal(), clock=_Seconds(clock))
        self._roles = roles
        self.alerting = alerting
        self.clock = clock
        self.respond = respond or post_ephemeral
        self._seen: dict[str, float] = {}  # signature -> when it stops being accepted anyway
        self._seen_lock = threading.Lock()

    @property
    def roles(self) -> Roles:
        return self._roles() if callable(self._roles) else self._roles

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Click:
        timestamp = headers.get("X-Slack-Request-Timestamp") or ""
        signature = headers.get("X-Slack-Signature") or ""
        # Checked before the verifier, which raises on them (int(), hmac on non-ASCII text)
        if not (TIMESTAMP.fullmatch(timestamp) and SIGNATURE.fullmatch(signature)):
            return Click(401, "missing or malformed signature headers")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return Click(400, "the body is not UTF-8")
        if not self.verifier.is_valid(text, timestamp, signature):
            return Click(401, "invalid signature, or signed more than 5 minutes ago")
        if not self._first_time(signature, int(timestamp)):
            return Click(401, "a request already answered (a replay)")
        try:
            payload = json.loads(parse_qs(text)["payload"][0])
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

    def _first_time(self, signature: str, timestamp: int) -> bool:
        """Whether this signed request is new. The verifier accepts a request for 5 minutes
        either side of its timestamp; its signature is remembered that long, so the same
        click sent again in that time is refused (Slack never sends a click twice)."""
        now = self.clock.now().timestamp()
        with self._seen_lock:
            for old in [s for s, until in self._seen.items() if until < now]:
                del self._seen[old]
            if signature in self._seen:
                return False
            self._seen[signature] = timestamp + REPLAY_WINDOW_S
            return True

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
            covering = [
                s for s in alerting.records.silences(now) if s.matches(alert.signal, alert.slo)
            ]
            if covering:  # a second click (by anyone) adds no second silence
                last = max(covering, key=lambda s: s.expires_at)
                author, until = slack_escape(last.author), f"{last.expires_at:%H:%M}"
                return Click(200, f"{alert.key} is already silenced by {author} until {until} UTC")
            silence = alerting.lifecycle.silence(
                signal=alert.signal,
                slo=alert.slo,
                author=by,
                duration=SILENCE_FOR,
                at=now,
                reason=f"silenced from Slack for 1h ({alert.key})",
            )
        except AlertError as exc:
            return Click(200, str(exc))
        said = f"{alert.signal}/{alert.slo} silenced by {by} until {silence.expires_at:%H:%M} UTC"
        with alerting.records.store.transaction():  # the thread hears of it as of an ack
            reply = slack_escape(said)  # mrkdwn: a name is shown as written, never a ping
            alerting.records.enqueue(alert.id, OutboxKind.REPLY, alert.channel, reply, None, now)
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


class _Bounded(ThreadingHTTPServer):
    """A thread a request, at most ``limit`` at once: one more is answered 503 and
    closed at once, so a flood of slow clients cannot take every thread."""

    daemon_threads = True

    def __init__(self, address, handler, limit: int) -> None:
        super().__init__(address, handler)
        self.limit = limit
        self.slots = threading.BoundedSemaphore(limit)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            log.warning("slack action: 503 more than %d requests at once", self.limit)
            with contextlib.suppress(OSError):  # it may have gone already
                request.sendall(BUSY)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            raise

    def handle_error(self, request, client_address) -> None:
        """One line (a client that hung up, a timeout), not socketserver's traceback."""
        kind, exc, _ = sys.exc_info()
        name = kind.__name__ if kind else "?"
        # a client that hangs up before reading all of the answer is no news
        level = logging.DEBUG if isinstance(exc, ConnectionError) else logging.WARNING
        log.log(
            level, "slack action: connection from %s ended: %s %s", client_address[0], name, exc
        )

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


BUSY = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def serve_actions(
    actions: SlackActions,
    host: str,
    port: int,
    *,
    read_timeout: float = READ_TIMEOUT_S,
    max_clients: int = MAX_CLIENTS,
):
    """Slack's interactivity endpoint (``POST /slack/actions``) in a thread; returns the
    server (``shutdown()`` it) and the thread. ``read_timeout``: seconds a client has to send
    its request; ``max_clients``: requests answered at once."""

    class Handler(BaseHTTPRequestHandler):
        timeout = read_timeout  # on the socket: a request line, headers or body that stalls

        def log_message(self, *args) -> None:  # requests are logged by what they did
            pass

        def do_POST(self) -> None:
            if self.path.split("?")[0] != PATH:
                return self._answer(404, "not found")
            declared = self.headers.get("Content-Length")
            if declared is None:
                return self._refuse(411, "a Content-Length is required")
            if not declared.strip().isdigit() or not declared.strip().isascii():
                return self._refuse(400, "Content-Length is not a whole number of bytes")
            length = int(declared)
            if length > MAX_BODY:
                return self._refuse(413, f"over {MAX_BODY} bytes")
            try:
                body = self.rfile.read(length)
            except TimeoutError:
                return self._refuse(408, f"the body did not arrive in {read_timeout:g} s")
            if len(body) < length:
                return self._refuse(400, "the body is shorter than its Content-Length")
            try:
                click = actions.handle(body, self.headers)
            except Exception as exc:  # one line, never a traceback; Slack is told it failed
                log.error("slack action: 500 %s: %s", type(exc).__name__, exc)
                return self._answer(500, "sigwatch could not carry out the action")
            log.info("slack action: %s %s", click.status, click.said)
            self._answer(click.status, "" if click.status == 200 else click.said)
            if click.status == 200:
                actions.deliver(click)

        def do_GET(self) -> None:
            self._answer(405, "POST only")

        def _refuse(self, status: int, why: str) -> None:
            log.info("slack action: %s %s", status, why)
            self.close_connection = True
            self._answer(status, why)

        def _answer(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

    server = _Bounded((host, port), Handler, max_clients)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    return server, thread
