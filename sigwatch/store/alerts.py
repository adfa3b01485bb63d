"""The alerts' tables (migrations 3, 10 and 11): alerts and their events, silences, the outbox
of notifications, and the Slack channel ids learnt by name. The alert lifecycle (``alerts``)
decides what these rows say; this module is how they are stored and read."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sigwatch.states import (
    AlertState,
    EstimateCheck,
    ListedGroup,
    MonitorFailure,
    Notified,
    OutboxKind,
    OutboxStatus,
    Severity,
    Snapshot,
    Suspect,
)
from sigwatch.store import codec, from_epoch, to_epoch

if TYPE_CHECKING:
    from sigwatch.store import Store

FIRING, ACKNOWLEDGED, RESOLVED = AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.RESOLVED


SUPERSEDED = "superseded by a page"  # how a ticket is resolved when its page opens


def alert_key(signal: str, slo: str, severity: str) -> str:
    return f"{signal}/{slo}/{severity}"


@dataclass(frozen=True)
class Alert:
    """One alert from opening to resolution. ``seen`` is the status it last fired on (None for
    the pseudo-SLO ``monitor``, whose ``failure`` says why it pages); ``notified`` is what was
    last announced of it, or None if nothing was ever announced."""

    id: int | None
    key: str
    signal: str
    slo: str
    severity: Severity
    state: AlertState
    started_at: datetime
    updated_at: datetime
    channel: str
    burn_rates: dict[str, float] = field(default_factory=dict)
    seen: Snapshot | None = None
    slice: datetime | None = None  # the bad slice it fired on (timeslice kinds)
    suspects: tuple[Suspect, ...] = ()  # the latest found stay until others are found
    groups: tuple[ListedGroup, ...] | None = None  # a grouped SLO's alert: the groups listed
    inhibited_by: str | None = None  # the key of the signal-level alert it was opened under
    tail: bool = False  # a resolved page whose slow windows still burn at ticket level
    estimate: EstimateCheck | None = None  # opened on an estimate, before the slice's labels
    failure: MonitorFailure | None = None
    resolved_at: datetime | None = None
    clear_since: datetime | None = None
    acknowledged_by: str | None = None
    resolution: str | None = None
    last_value: float | None = None
    fired: str | None = None
    silenced: bool = False
    notified: Notified | None = None
    notified_at: datetime | None = None
    slack_ts: str | None = None
    slack_channel: str | None = None

    @property
    def open(self) -> bool:
        return self.state != RESOLVED

    @property
    def fastest_burn(self) -> float:
        return max(self.burn_rates.values(), default=0.0)

    @property
    def incident(self) -> bool:
        """Whether it counts as an incident in a report: not a ticket a page superseded, not
        a group's alert held under its signal-level one."""
        return self.resolution != SUPERSEDED and not self.inhibited_by


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
    kind: OutboxKind
    channel: str
    text: str
    blocks: list[dict] | None
    status: OutboxStatus
    created_at: datetime
    attempts: int = 0
    sending_at: datetime | None = None
    sent_at: datetime | None = None
    slack_ts: str | None = None
    last_error: str | None = None


_ALERT_COLUMNS = (
    "id, alert_key, signal, slo, severity, state, started_at, updated_at, resolved_at, "
    "clear_since, acknowledged_by, resolution, last_value, burn_rates, fired, details, channel, "
    "silenced, notified, notified_at, slack_ts, slack_channel, notified_state"
)
_OUTBOX_COLUMNS = (
    "id, alert_id, kind, channel, text, blocks, status, created_at, attempts, sending_at, "
    "sent_at, slack_ts, last_error"
)


def _t(at: datetime | None) -> int | None:
    return to_epoch(at) if at is not None else None


def _dt(seconds: int | None) -> datetime | None:
    return from_epoch(seconds) if seconds is not None else None


class AlertTables:
    """Reads and writes of the alerts' tables (typed rows in and out)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn = store._conn

    # --- alerts ---------------------------------------------------------------------------

    def save(self, alert: Alert) -> Alert:
        """Insert (``id`` None) or update an alert; return it with its id."""
        values = (
            alert.key,
            alert.signal,
            alert.slo,
            alert.severity,
            alert.state,
            to_epoch(alert.started_at),
            to_epoch(alert.updated_at),
            _t(alert.resolved_at),
            _t(alert.clear_since),
            alert.acknowledged_by,
            alert.resolution,
            alert.last_value,
            json.dumps(alert.burn_rates, sort_keys=True),
            alert.fired,
            json.dumps(codec.alert_details(alert), sort_keys=True, default=str),
            alert.channel,
            int(alert.silenced),
            json.dumps(codec.notified_json(alert.notified)) if alert.notified else None,
            _t(alert.notified_at),
            alert.slack_ts,
            alert.slack_channel,
            alert.notified.state if alert.notified else None,
        )
        if alert.id is None:
            (new_id,) = self._conn.execute(
                f"INSERT INTO alerts ({_ALERT_COLUMNS.removeprefix('id, ')})"
                f" VALUES ({', '.join('?' * len(values))}) RETURNING id",
                values,
            ).fetchone()
            return replace(alert, id=new_id)
        names = _ALERT_COLUMNS.removeprefix("id, ").split(", ")
        self._conn.execute(
            f"UPDATE alerts SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
            (*values, alert.id),
        )
        return alert

    def get(self, alert_id: int) -> Alert | None:
        rows = self._alerts("WHERE id = ?", (alert_id,))
        return rows[0] if rows else None

    def find(self, key_or_id: str) -> Alert | None:
        """The open alert with this key, else the latest with it; or the alert with this id."""
        if key_or_id.isdigit():
            return self.get(int(key_or_id))
        rows = self._alerts(
            "WHERE alert_key = ? ORDER BY (state = 'resolved'), started_at DESC LIMIT 1",
            (key_or_id,),
        )
        return rows[0] if rows else None

    def latest_by_key(self, signals: Iterable[str]) -> dict[str, Alert]:
        """What ``find`` answers, for every alert key of ``signals`` at once (one query): per
        key, its open alert, else its latest."""
        names = sorted(set(signals))
        if not names:
            return {}
        # a signal's keys are "<signal>/...": the range ["<signal>/", "<signal>0") of the
        # alerts_by_key index ('0' follows '/'), not a scan of every signal's history
        ranges = " OR ".join(["(alert_key >= ? AND alert_key < ?)"] * len(names))
        bounds = [b for name in names for b in (f"{name}/", f"{name}0")]
        columns = _ALERT_COLUMNS
        rows = self._conn.execute(
            f"SELECT {columns} FROM (SELECT {columns}, ROW_NUMBER() OVER (PARTITION BY alert_key"
            " ORDER BY (state = 'resolved'), started_at DESC) AS rn FROM alerts"
            f" WHERE {ranges}) AS latest WHERE rn = 1",
            bounds,
        )
        return {alert.key: alert for alert in map(_alert, rows)}

    def open_alerts(self, signal: str | None = None) -> list[Alert]:
        if signal is None:
            return self._alerts("WHERE state != ? ORDER BY started_at, id", (RESOLVED,))
        return self._alerts(
            "WHERE state != ? AND signal = ? ORDER BY started_at, id", (RESOLVED, signal)
        )

    def unannounced(self) -> list[Alert]:
        """Alerts whose last announcement differs from their state (resolved ones included)."""
        return self._alerts(
            "WHERE state != ? OR (notified IS NOT NULL AND COALESCE(notified_state, '') != ?)"
            " ORDER BY started_at, id",
            (RESOLVED, RESOLVED),
        )

    def alerts(self, *, include_resolved: bool = False, limit: int = 500) -> list[Alert]:
        where = "" if include_resolved else f"WHERE state != '{RESOLVED}'"
        return self._alerts(f"{where} ORDER BY started_at DESC, id DESC LIMIT ?", (limit,))

    def _alerts(self, where: str, args: tuple) -> list[Alert]:
        rows = self._conn.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts {where}", args)
        return [_alert(row) for row in rows]

    def add_event(self, alert_id: int, at: datetime, kind: str, text: str) -> None:
        self._conn.execute(
            "INSERT INTO alert_events (alert_id, at, kind, text, seq)"
            " SELECT ?, ?, ?, ?, COALESCE(MAX(seq), 0) + 1 FROM alert_events WHERE alert_id = ?",
            (alert_id, to_epoch(at), kind, text, alert_id),
        )

    def events(self, alert_id: int) -> list[tuple[datetime, str, str]]:
        rows = self._conn.execute(
            "SELECT at, kind, text FROM alert_events WHERE alert_id = ? ORDER BY seq",
            (alert_id,),
        )
        return [(from_epoch(at), kind, text) for at, kind, text in rows]

    def had_data(self, signal: str, slo: str, before: datetime) -> bool:
        """Whether this SLO was ever evaluated with data before ``before``."""
        row = self._conn.execute(
            "SELECT 1 FROM slo_status WHERE signal = ? AND slo = ? AND at < ?"
            " AND state != 'no_data' LIMIT 1",
            (signal, slo, to_epoch(before)),
        ).fetchone()
        return row is not None

    # --- silences -------------------------------------------------------------------------

    def add_silence(self, silence: Silence) -> Silence:
        (new_id,) = self._conn.execute(
            "INSERT INTO silences (signal, slo, author, reason, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (
                silence.signal,
                silence.slo,
                silence.author,
                silence.reason,
                to_epoch(silence.created_at),
                to_epoch(silence.expires_at),
            ),
        ).fetchone()
        return Silence(
            new_id,
            silence.signal,
            silence.slo,
            silence.author,
            silence.reason,
            silence.created_at,
            silence.expires_at,
        )

    def end_silence(self, silence_id: int, at: datetime) -> bool:
        cursor = self._conn.execute(
            "UPDATE silences SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            (to_epoch(at), silence_id),
        )
        return cursor.rowcount == 1

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        rows = self._conn.execute(
            "SELECT id, signal, slo, author, reason, created_at, expires_at, ended_at"
            " FROM silences ORDER BY id"
        )
        out = [
            Silence(i, sig, slo, author, reason, from_epoch(c), from_epoch(e), _dt(ended))
            for i, sig, slo, author, reason, c, e, ended in rows
        ]
        return out if active_at is None else [s for s in out if s.active(active_at)]

    # --- outbox ---------------------------------------------------------------------------

    def enqueue(
        self,
        alert_id: int | None,
        kind: OutboxKind,
        channel: str,
        text: str,
        blocks: list | None,
        at: datetime,
    ) -> int:
        (new_id,) = self._conn.execute(
            "INSERT INTO outbox (alert_id, kind, channel, text, blocks, status, created_at,"
            " attempts) VALUES (?, ?, ?, ?, ?, 'queued', ?, 0) RETURNING id",
            (alert_id, kind, channel, text, json.dumps(blocks) if blocks else None, to_epoch(at)),
        ).fetchone()
        return int(new_id)

    def outbox(
        self, *, statuses: tuple[OutboxStatus, ...] | None = None, limit: int = 500
    ) -> list[OutboxItem]:
        """Outbox items, oldest first (only the given statuses, if any)."""
        if statuses:
            marks = ", ".join("?" * len(statuses))
            rows = self._conn.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status IN ({marks})"
                " ORDER BY id LIMIT ?",
                (*statuses, limit),
            )
        else:
            rows = self._conn.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?", (limit,)
            )
            rows = list(rows)[::-1]
        return [_item(row) for row in rows]

    def last_enqueued(self, kind: OutboxKind, channel: str) -> datetime | None:
        """When the latest notification of ``kind`` to ``channel`` was queued, if ever."""
        (at,) = self._conn.execute(
            "SELECT MAX(created_at) FROM outbox WHERE kind = ? AND channel = ?", (kind, channel)
        ).fetchone()
        return _dt(at)

    def claim(self, item: OutboxItem, at: datetime) -> bool:
        """Mark an outbox item ``sending`` if it is still in the status it was read in; False
        when another process claimed it first."""
        cursor = self._conn.execute(
            "UPDATE outbox SET status = 'sending', sending_at = ?, attempts = attempts + 1"
            " WHERE id = ? AND status = ?",
            (to_epoch(at), item.id, item.status),
        )
        return cursor.rowcount == 1

    # --- Slack channel ids -------------------------------------------------------------------

    def slack_channel_id(self, name: str) -> str | None:
        """The Slack id of channel ``name`` (without ``#``), if it was learnt."""
        row = self._conn.execute("SELECT id FROM slack_channels WHERE name = ?", (name,))
        found = row.fetchone()
        return found[0] if found else None

    def remember_slack_channel(self, name: str, channel_id: str, at: datetime) -> None:
        """Keep channel ``name``'s id (a renamed or re-created channel's replaces it)."""
        self._conn.execute(
            "INSERT INTO slack_channels (name, id, resolved_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE"
            " SET id = excluded.id, resolved_at = excluded.resolved_at",
            (name, channel_id, to_epoch(at)),
        )

    def mark(self, item_id: int, status: OutboxStatus, at: datetime, **fields: Any) -> None:
        """Set an outbox item's status (and ``sending_at``, ``sent_at``, ``slack_ts``,
        ``last_error``, ``attempts`` as given)."""
        sets, args = ["status = ?"], [status]
        for name, value in fields.items():
            if name not in ("sending_at", "sent_at", "slack_ts", "last_error", "attempts"):
                raise ValueError(f"outbox has no settable field {name!r}")
            sets.append(f"{name} = ?")
            args.append(to_epoch(value) if isinstance(value, datetime) else value)
        self._conn.execute(f"UPDATE outbox SET {', '.join(sets)} WHERE id = ?", (*args, item_id))


def _alert(row: tuple) -> Alert:
    (
        id_,
        key,
        signal,
        slo,
        severity,
        state,
        started,
        updated,
        resolved,
        clear,
        ack,
        resolution,
        value,
        burn,
        fired,
        details,
        channel,
        silenced,
        notified,
        notified_at,
        ts,
        slack_channel,
        _,
    ) = row
    return Alert(
        id=id_,
        key=key,
        signal=signal,
        slo=slo,
        severity=Severity(severity),
        state=AlertState(state),
        started_at=from_epoch(started),
        updated_at=from_epoch(updated),
        channel=channel,
        burn_rates=json.loads(burn),
        **codec.alert_fields(json.loads(details)),
        resolved_at=_dt(resolved),
        clear_since=_dt(clear),
        acknowledged_by=ack,
        resolution=resolution,
        last_value=value,
        fired=fired,
        silenced=bool(silenced),
        notified=codec.notified_from(json.loads(notified)) if notified else None,
        notified_at=_dt(notified_at),
        slack_ts=ts,
        slack_channel=slack_channel,
    )


def _item(row: tuple) -> OutboxItem:
    (
        id_,
        alert_id,
        kind,
        channel,
        text,
        blocks,
        status,
        created,
        attempts,
        sending,
        sent,
        ts,
        error,
    ) = row
    return OutboxItem(
        id=id_,
        alert_id=alert_id,
        kind=OutboxKind(kind),
        channel=channel,
        text=text,
        blocks=json.loads(blocks) if blocks else None,
        status=OutboxStatus(status),
        created_at=from_epoch(created),
        attempts=attempts,
        sending_at=_dt(sending),
        sent_at=_dt(sent),
        slack_ts=ts,
        last_error=error,
    )
