"""Sending the outbox, in order, exactly once where the notifier can tell.

An item is claimed (``sending``, with the time) before it is sent and marked ``sent`` with the
Slack ``ts`` after. If the process dies, or the request times out, between the two, the item
stays ``sending``; once its lease has passed, the next flush asks the notifier whether it
arrived (Slack: the outbox id in the message metadata) and only sends it if it did not.
A retryable failure (429 after its ``Retry-After``, 5xx, connection refused) stops the flush
with the item queued, so later items never overtake it; the next flush starts there. An item
the service refuses for good is marked ``failed`` (and shown), and the rest go on.
With no notifier configured, items are marked ``recorded``: the outbox is the record.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

from alerts.model import OutboxItem
from alerts.notifiers import Notifier, Permanent, Retryable
from sigwatch.clock import Clock
from sigwatch.settings import Secret
from sigwatch.states import OutboxKind, OutboxStatus
from sigwatch.store.alerts import AlertTables

LEASE = timedelta(minutes=2)  # longer than a send with all its retries can take
_LOCK = threading.Lock()  # one flush at a time per process (scheduler threads, CLI)
# ... and one at a time among the processes sharing a PostgreSQL store (``Store.exclusive``):
# a flush that waited this long leaves its items to the one flushing, or to the next flush.
SHARED_WAIT_S = 10.0


def redact(text: str, secrets: Iterable[Secret | None]) -> str:
    for secret in secrets:
        if secret is not None and secret.reveal():
            text = text.replace(secret.reveal(), "***")
    return text


@dataclass
class FlushResult:
    sent: int = 0
    recorded: int = 0
    failed: int = 0
    pending: int | None = None  # queued or being sent after the flush (always set by flush)
    error: str | None = None


class Delivery:
    def __init__(
        self,
        records: AlertTables,
        notifier: Notifier | None,
        clock: Clock,
        secrets: Iterable[Secret | None] = (),
    ) -> None:
        self.records, self.notifier, self.clock = records, notifier, clock
        self.secrets = [s for s in secrets if s is not None]

    def flush(self, limit: int = 500) -> FlushResult:
        with _LOCK, self.records.store.exclusive("outbox", wait=SHARED_WAIT_S) as mine:
            if mine:
                result = self._flush(limit)
            else:
                result = FlushResult(error="another process is sending the outbox")
        if result.pending is None:  # (an outbox found empty is still empty: no second read)
            queued = self.records.outbox(
                statuses=(OutboxStatus.QUEUED, OutboxStatus.SENDING), limit=100_000
            )
            result.pending = len(queued)
        return result

    def _flush(self, limit: int) -> FlushResult:
        result = FlushResult()
        now = self.clock.now()
        items = self.records.outbox(
            statuses=(OutboxStatus.QUEUED, OutboxStatus.SENDING), limit=limit
        )
        if not items:
            result.pending = 0
        if self.notifier is None:
            for item in items:
                if item.status == OutboxStatus.QUEUED:
                    self.records.mark(item.id, OutboxStatus.RECORDED, now)
                    result.recorded += 1
            return result
        for item in items:
            alert = self.records.get(item.alert_id) if item.alert_id is not None else None
            try:
                if item.status == OutboxStatus.SENDING:
                    if item.sending_at is not None and now - item.sending_at < LEASE:
                        result.error = f"outbox item {item.id} is being sent by another process"
                        return result
                    found = self.notifier.find(item, alert)
                    if found is not None:
                        self._sent(item, *found, alert)
                        result.sent += 1
                        continue
                if not self._claim(item, now):
                    return result
                ts, channel = self.notifier.send(item, alert)
            except Permanent as exc:
                self.records.mark(item.id, OutboxStatus.FAILED, now, last_error=self._clean(exc))
                result.failed += 1
                continue
            except Retryable as exc:
                self.records.mark(item.id, OutboxStatus.QUEUED, now, last_error=self._clean(exc))
                result.error = self._clean(exc)
                return result
            except Exception as exc:  # the outcome is unknown: look it up before resending
                error = self._clean(exc)
                self.records.mark(item.id, OutboxStatus.SENDING, now, last_error=error)
                result.error = error
                return result
            self._sent(item, ts, channel, alert)
            result.sent += 1
        return result

    def _claim(self, item: OutboxItem, now) -> bool:
        return self.records.claim(item, now)

    def _sent(self, item: OutboxItem, ts: str | None, channel: str | None, alert) -> None:
        now = self.clock.now()
        with self.records.store.transaction():
            self.records.mark(
                item.id, OutboxStatus.SENT, now, sent_at=now, slack_ts=ts, last_error=None
            )
            if item.kind == OutboxKind.POST and alert is not None and ts:
                self.records.save(
                    replace(alert, slack_ts=ts, slack_channel=channel or alert.channel)
                )

    def _clean(self, exc: BaseException) -> str:
        return redact(f"{type(exc).__name__}: {exc}", self.secrets)[:500]


def notifier_from_settings(settings, *, timeout: float = 10, store=None) -> Notifier | None:
    """Slack bot token first, then webhook URL; None (outbox only) when neither is set. With
    a ``store``, the Slack channel ids the notifier learns are kept in it."""
    if settings.slack_token is not None:
        from alerts.notifiers.slack import SlackNotifier, StoreChannelIds

        channels = StoreChannelIds(store) if store is not None else None
        return SlackNotifier(
            settings.slack_token, settings.slack_api_url, timeout=timeout, channels=channels
        )
    if settings.slack_webhook_url is not None:
        from alerts.notifiers.webhook import WebhookNotifier

        return WebhookNotifier(settings.slack_webhook_url, timeout=timeout)
    return None
