"""The alert lifecycle's records: alerts, silences, outbox items, and the policy knobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sigwatch.states import Severity
from sigwatch.store.alerts import (  # the rows, stored by sigwatch.store.alerts
    ACKNOWLEDGED,
    FIRING,
    RESOLVED,
    Alert,
    OutboxItem,
    Silence,
    alert_key,
)

__all__ = [
    "ACKNOWLEDGED",
    "FIRING",
    "MONITOR",
    "PAGE",
    "RESOLVED",
    "STALE",
    "TICKET",
    "Alert",
    "OutboxItem",
    "Policy",
    "Silence",
    "alert_key",
]

PAGE, TICKET = Severity.PAGE, Severity.TICKET
STALE = "no-data"  # the pseudo-SLO of a signal that had data and stopped having it
# the pseudo-SLO of a signal whose monitor fails run after run: the data may be there, but
# sigwatch cannot read or evaluate it (a damaged file, a cluster gone, a store error)
MONITOR = "monitor"


@dataclass(frozen=True)
class Policy:
    """Flap control and routing. ``hold``: how long a condition must stay clear before its
    alert resolves; ``renotify``: how often a still-firing page is announced again; ``worse``:
    the factor by which the fastest burn rate must grow to be announced; ``mention``: who a
    page mentions (a Slack user group); ``buttons``: messages carry Acknowledge and Silence 1h
    (Slack's interactivity is configured: ``SIGWATCH_SLACK_SIGNING_SECRET``)."""

    hold: timedelta = timedelta(minutes=15)
    renotify: timedelta = timedelta(hours=2)
    worse: float = 2.0
    mention: str | None = None
    console_url: str | None = None
    buttons: bool = False
    runbooks_url: str | None = None  # the alerts about sigwatch itself: <url>#monitor
