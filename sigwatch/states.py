"""What an evaluation says, in one vocabulary for monitors, the store, alerts and the console.

- ``SloState``: an SLO's state at a time (``sigwatch status``, the console, the exporter).
- ``Verdict``: one time slice's judgement (good, bad, or why it cannot be judged).
- ``Severity``: what a firing burn-rate rule, and the alert it opens, asks of on-call.
- ``Fired``: one burn-rate rule that fired, as stored with the status and read back.
- ``Suspect``, ``AlertingGroup``, ``Gap`` and ``GroupSummary``: what a status says beside its
  value (where the bad events come from; for a grouped SLO, its groups).
- ``SliceCost``: what a slice of a cost kind cost, read by the digest, the weekly review and
  the console.
- ``SliceEstimate``: a quality slice's estimate before its labels (CBPE or the judge's), or
  why there is none.
- ``Snapshot``, ``ListedGroup``, ``MonitorFailure`` and ``Notified``: what an alert keeps (the
  status it fired on, the groups it lists, why a monitor pages, what was last announced).
- ``AlertState``: where an alert is between opening and resolution.
- ``OutboxKind`` and ``OutboxStatus``: what a notification in the outbox is, and how far it got.

The enums are ``StrEnum``s: the store and the JSON interfaces keep the plain words
(``"breach"``), and code compares members, never the words. The dataclasses are read and written
as JSON in one place, ``sigwatch.store.codec``; nothing else reads their keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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


class VerdictFrom(StrEnum):
    """What judged a quality slice: its human labels, or an estimate while they are too few."""

    LABELS = "labels"
    CBPE = "cbpe"
    JUDGE = "judge"

    @property
    def estimate(self) -> bool:
        return self is not VerdictFrom.LABELS


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


@dataclass(frozen=True)
class Suspect:
    """A slice of the logs (one value of one dimension column) that carries more of the bad
    events than of the traffic: "78% of the bad events come from model_version=rc1, which
    serves 9% of traffic"."""

    dimension: str
    value: str  # as the logs spell it: escape it for the medium
    bad_share: float
    traffic_share: float
    bad: int
    events: int

    @property
    def excess(self) -> float:
        return self.bad_share - self.traffic_share

    def sentence(self) -> str:
        """The suspect in words (the value as the logs spell it: escape it for the medium)."""
        return (
            f"{self.bad_share:.0%} of the bad events come from {self.dimension}={self.value},"
            f" which serves {self.traffic_share:.0%} of traffic"
        )


@dataclass(frozen=True)
class AlertingGroup:
    """A group of a grouped SLO that alerts now, as the SLO's own row lists it."""

    group: dict[str, str]
    state: SloState
    severity: Severity
    burn: float | None  # its fastest firing rule's long-window burn; None for a bad slice
    value: float | None
    slice: datetime | None = None  # its bad slice (timeslice kinds)


@dataclass(frozen=True)
class GapSide:
    """The best or the worst judged group of a quality SLO, at its latest judged slice."""

    group: dict[str, str]
    value: float
    ci_low: float | None
    ci_high: float | None
    samples: int | None
    slice: datetime | None


@dataclass(frozen=True)
class Gap:
    """The gap between a quality SLO's best and worst group: the bias view of the SLI by
    language or community. ``method`` names the interval (``newcombe``) when there is one."""

    best: GapSide
    worst: GapSide
    difference: float
    ci_low: float | None = None
    ci_high: float | None = None
    method: str | None = None


@dataclass(frozen=True)
class GroupSummary:
    """What a grouped SLO's own row says of its groups: the count per state, the groups
    alerting (worst first), the worst group (whose value and state the row shows), the groups
    that cannot be judged now (labelled kinds only; None for the others) and the gap."""

    by: tuple[str, ...]
    counts: dict[SloState, int]
    alerting: tuple[AlertingGroup, ...] = ()
    worst: dict[str, str] | None = None
    unknown: tuple[dict[str, str], ...] | None = None
    gap: Gap | None = None


@dataclass(frozen=True)
class SliceCost:
    """What one slice cost (the cost kinds): dollars, items served, the external API's part."""

    cost_usd: float
    items: float
    external_cost_usd: float
    source: str  # the serving source: "logs" or "prometheus"
    external_share: float | None = None  # of the items (the logs tell; Prometheus does not)

    @property
    def per_1k(self) -> float | None:
        return self.cost_usd / self.items * 1000 if self.items else None


@dataclass(frozen=True)
class SliceEstimate:
    """A quality slice estimated before its labels land (``method``: ``cbpe`` or ``judge``):
    its value and band from ``n`` predictions, or ``reason`` why it has none."""

    method: str
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    n: int = 0
    reason: str | None = None
    # the slice judged by its band against the target (bad: the whole band on the wrong side)
    verdict: Verdict | None = None
    # how the judge's estimate was made: PPI++ from people's labels of the same items, or
    # Rogan-Gladen from the judge's error on the gold set (monitors.slis.judge_estimates)
    how: str | None = None


@dataclass(frozen=True)
class LabelledSlice:
    """The newest slice of a quality SLO its human labels judge (beside an estimate: what
    confirms or withdraws an alert that an estimate opened)."""

    start: datetime
    verdict: Verdict
    value: float | None
    ci_low: float | None
    ci_high: float | None
    samples: int | None


class Outcome(StrEnum):
    """What the labels said of a slice an alert was opened on by its estimate."""

    CONFIRMED = "confirmed"  # the labels judge it bad too
    WITHDRAWN = "withdrawn"  # the labels judge it good: the alert resolves at once
    UNCONFIRMED = "unconfirmed"  # its labels never reached min_labels


@dataclass(frozen=True)
class EstimateCheck:
    """An alert opened on an estimate: the slice and estimate it opened on and, once that
    slice's labels land, what they said (``outcome``, ``labels``)."""

    method: VerdictFrom
    slice: datetime
    value: float
    lower: float
    upper: float
    outcome: Outcome | None = None
    labels: LabelledSlice | None = None


@dataclass(frozen=True)
class Snapshot:
    """The status an alert last fired on, as its message shows it."""

    sli: str
    state: SloState
    objective: float
    at: datetime
    target: str | None = None  # a timeslice SLO's target per slice
    budget_remaining: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    samples: int | None = None
    fired: tuple[Fired, ...] = ()  # page rules first, fastest factor first
    verdict_from: VerdictFrom | None = None  # a quality SLO's: labels, or an estimate


@dataclass(frozen=True)
class ListedGroup:
    """A group an alert of a grouped SLO lists: alerting now, or stopped less than the hold
    ago (``clear_since``)."""

    group: dict[str, str]
    severity: Severity
    burn: float | None = None
    value: float | None = None
    clear_since: datetime | None = None


@dataclass(frozen=True)
class MonitorFailure:
    """Why the pseudo-SLO ``monitor`` pages: the monitor of a signal failed runs in a row."""

    reason: str  # the first line of the latest error
    failures: int
    since: datetime  # the first failed run of those in a row
    last_ok: datetime | None
    at: datetime


@dataclass(frozen=True)
class Notified:
    """What was last announced of an alert: a change from it is worth a message."""

    state: AlertState
    severity: Severity
    burn: float
    groups: tuple[str, ...] | None = None  # the group labels listed (grouped SLOs)
    outcome: Outcome | None = None  # what the labels said of the estimate it opened on
