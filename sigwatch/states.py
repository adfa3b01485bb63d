"""What an evaluation says, in one vocabulary for monitors, the store, alerts and the console.

- ``SloState``: an SLO's state at a time (``sigwatch status``, the console, the exporter).
- ``Verdict``: one time slice's judgement (good, bad, or why it cannot be judged).
- ``Severity``: what a firing burn-rate rule, and the alert it opens, asks of on-call.
- ``Fired``: one burn-rate rule that fired, as stored with the status and read back.
- ``AlertState``: where an alert is between opening and resolution.
- ``OutboxKind`` and ``OutboxStatus``: what a notification in the outbox is, and how far it got.

They are ``StrEnum``s: the store and the JSON interfaces keep the plain words (``"breach"``),
and code compares members, never the words.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class SloState(StrEnum):
    BREACH = "breach"  # a page rule fires, or a bad slice with the budget spent
    WARNING = "warning"  # a ticket rule fires, or the latest judged slice is bad
    NO_DATA = "no_data"  # nothing to measure: no eligible item lately, no slice measurable
    INSUFFICIENT_LABELS = "insufficient_labels"  # a quality slice below its min_labels
    INSUFFICIENT_DATA = "insufficient_data"  # a group with fewer events than its min_events
    OK = "ok"

    @property
    def words(self) -> str:
        """For people: ``no data``, ``insufficient labels`` (not ``title``: that is str's)."""
        return self.value.replace("_", " ")


class Verdict(StrEnum):
    GOOD = "good"
    BAD = "bad"
    NO_DATA = "no_data"
    INSUFFICIENT_LABELS = "insufficient_labels"

    @property
    def judged(self) -> bool:
        return self in (Verdict.GOOD, Verdict.BAD)


class Severity(StrEnum):
    PAGE = "page"
    TICKET = "ticket"


class AlertState(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"  # still open: someone is on it
    RESOLVED = "resolved"


class OutboxKind(StrEnum):
    POST = "post"  # an alert's message
    UPDATE = "update"  # the alert's message edited in place
    REPLY = "reply"  # a reply in the alert's thread
    DIGEST = "digest"  # the daily digest: a message of its own
    WEEKLY = "weekly"  # the weekly review's summary (posted with its files)


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # a send began and its outcome is unknown
    SENT = "sent"
    RECORDED = "recorded"  # no notifier configured: the outbox is the record
    FAILED = "failed"  # refused for good (a permanent error)


@dataclass(frozen=True)
class Fired:
    """A burn-rate rule whose long and short windows both burn at least its factor."""

    severity: Severity
    rule: str  # "1h/5m"
    factor: float
    long_burn: float
    short_burn: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Fired:
        return cls(**{**raw, "severity": Severity(raw["severity"])})
