"""Notifiers: where outbox items go. One module per kind, each a class with ``send`` (deliver an
item; return the message ``ts`` and channel id where the kind has them) and ``find`` (was an
item whose send was interrupted delivered after all? return its ``ts`` and channel id, or None
if unknown).

Errors: ``Retryable`` (rate limited, server error: send again later), ``Permanent`` (the
service refused the item itself: mark it failed and go on); anything else means the outcome is
unknown (a timeout after the request left), so the item is looked up with ``find`` first."""

from __future__ import annotations

from typing import Protocol

from alerts.model import Alert, OutboxItem

METADATA_EVENT = "sigwatch_notification"


class Retryable(Exception):
    pass


class Permanent(Exception):
    pass


class Notifier(Protocol):
    name: str

    def send(self, item: OutboxItem, alert: Alert | None) -> tuple[str | None, str | None]: ...

    def find(self, item: OutboxItem, alert: Alert | None) -> tuple[str, str | None] | None: ...
