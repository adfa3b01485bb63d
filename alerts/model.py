"""The alert lifecycle's records: alerts, silences, outbox items, and the policy knobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sigwatch.states import Severity

FIRING, ACKNOWLEDGED, RESOLVED = "firing", "acknowledged", "resolved"
PAGE, TICKET = Severity.PAGE, Severity.TICKET
STALE = "no-data"  # the pseudo-SLO of a signal that had data and stopped having it


def alert_key(signal: str, slo: str, severity: str) -> str:
    return f"{signal}/{slo}/{severity}"


@dataclass(frozen=True)
class Alert:
    """One alert from opening to resolution. ``notified`` is what was last announced for it
    (state, severity, fastest burn rate), or None if nothing was ever announced."""

    id: int | None
    key: str
    signal: str
    slo: str
    severity: str
    state: str
    started_at: datetime
    updated_at: datetime
    channel: str
    burn_rates: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    resolved_at: datetime | None = None
    clear_since: datetime | None = None
    acknowledged_by: str | None = None
    resolution: str | None = None
    last_value: float | None = None
    fired: str | None = None
    silenced: bool = False
    notified: dict[str, Any] | None = None
    notified_at: datetime | None = None
    slack_ts: str | None = None
    slack_channel: str | None = None

    @property
    def open(self) -> bool:
        return self.state != RESOLVED

    @property
    def fastest_burn(self) -> float:
        return max(self.burn_rates.values(), default=0.0)


@dataclass(frozen=True)
class Silence:
    id: int | None
    signal: str | None
    slo: str | None
    author: str
    reason: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        end = min(self.expires_at, self.ended_at) if self.ended_at else self.expires_at
        return self.created_at <= at < end

    def matches(self, signal: str, slo: str) -> bool:
        return self.signal in (None, signal) and self.slo in (None, slo)


@dataclass(frozen=True)
class OutboxItem:
    """One notification. ``kind``: post (the alert's message), update (edit it in place),
    reply (in its thread), digest (a message of its own). ``status``: queued, sending (a send
    began and its outcome is unknown), sent, or recorded (no notifier configured)."""

    id: int
    alert_id: int | None
    kind: str
    channel: str
    text: str
    blocks: list[dict] | None
    status: str
    created_at: datetime
    attempts: int = 0
    sending_at: datetime | None = None
    sent_at: datetime | None = None
    slack_ts: str | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class Policy:
    """Flap control and routing. ``hold``: how long a condition must stay clear before its
    alert resolves; ``renotify``: how often a still-firing page is announced again; ``worse``:
    the factor by which the fastest burn rate must grow to be announced; ``mention``: who a
    page mentions (a Slack user group)."""

    hold: timedelta = timedelta(minutes=15)
    renotify: timedelta = timedelta(hours=2)
    worse: float = 2.0
    mention: str | None = None
    console_url: str | None = None
