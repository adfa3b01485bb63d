"""Retention: rows older than the store keeps them (``SIGWATCH_RETENTION``, 400 days by
default), deleted by the daily job (``sigwatch prune``; ``serve`` runs it at 03:30 UTC), and
statuses older than ``SIGWATCH_STATUS_DETAIL`` (7 days) compacted by it to one an hour and
every change (``compact``).

What goes, by the time that dates it: statuses and group statuses (``at``), measurements of
slices that ended (``window_end``), runs, resolved alerts (``resolved_at``) with their events,
notifications no longer waiting to be sent, silences that ended or expired, and the judge's
monitoring and consistency labels (``labeled_at``). Kept whatever their age: open alerts, queued
or sending notifications, the judge's calibrations and the gold-set labels they were measured
on, and the learnt Slack channel ids. The partial tables (Parquet files) are not the store's:
their day files are kept as written."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sigwatch.store import to_epoch

if TYPE_CHECKING:
    from sigwatch.store import Store

RESOLVED_BEFORE = "SELECT id FROM alerts WHERE state = 'resolved' AND resolved_at < ?"
# (table, which rows are past retention): each condition takes the cut-off once per "?".
RULES: tuple[tuple[str, str], ...] = (
    ("slo_status", "at < ?"),
    ("slo_latest", "at < ?"),  # an SLO none of whose statuses is kept any more
    ("group_status", "at < ?"),
    ("measurements", "window_end <= ?"),
    ("group_measurements", "window_end <= ?"),
    ("runs", "at < ?"),
    ("outbox", "status NOT IN ('queued', 'sending') AND created_at < ?"),
    ("alert_events", f"alert_id IN ({RESOLVED_BEFORE})"),
    ("alerts", "state = 'resolved' AND resolved_at < ?"),
    ("silences", "(ended_at IS NOT NULL AND ended_at < ?) OR expires_at < ?"),
    ("judge_labels", "purpose IN ('monitoring', 'consistency') AND labeled_at < ?"),
)


# The status tables compacted, with the columns that name one series of statuses.
SERIES = (("slo_status", "signal, slo"), ("group_status", "signal, slo, grp"))


class RetentionQueries:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn = store._conn

    def prune(self, before: datetime, *, dry_run: bool = False) -> dict[str, int]:
        """Delete the rows dated before ``before`` (count them only, with ``dry_run``); the
        rows per table, in one transaction."""
        cut = to_epoch(before)
        counts: dict[str, int] = {}
        tables = set(self.store.tables())
        with self.store.transaction():
            for table, where in RULES:
                if table not in tables:
                    continue
                args = (cut,) * where.count("?")
                if dry_run:
                    (n,) = self._conn.execute(
                        f"SELECT COUNT(*) FROM {table} WHERE {where}", args
                    ).fetchone()
                else:
                    n = self._conn.execute(f"DELETE FROM {table} WHERE {where}", args).rowcount
                counts[table] = int(n)
        return counts

    def compact(
        self, before: datetime, *, every: int = 3600, dry_run: bool = False
    ) -> dict[str, int]:
        """Thin the statuses evaluated before ``before`` to one each ``every`` seconds (those
        at a whole hour) plus every status whose state, or whose fired rules, differ from the
        one before it: a breach keeps all its evaluations, a steady week one an hour. Each
        table resumes where the last compaction stopped. The rows deleted (that would be, with
        ``dry_run``) per table."""
        cut = to_epoch(before)
        counts: dict[str, int] = {}
        tables = set(self.store.tables())
        with self.store.transaction():
            for table, series in SERIES:
                if table not in tables:
                    continue
                row = self._conn.execute(
                    "SELECT through FROM compactions WHERE tbl = ?", (table,)
                ).fetchone()
                floor = row[0] if row else 0
                if cut <= floor:
                    counts[table] = 0
                    continue
                # the row before the first one compacted is within the hour before: kept
                thinned = (
                    f"SELECT {series}, at FROM (SELECT {series}, at, state, fired,"
                    f" LAG(state) OVER (PARTITION BY {series} ORDER BY at) AS prev_state,"
                    f" LAG(fired) OVER (PARTITION BY {series} ORDER BY at) AS prev_fired"
                    f" FROM {table} WHERE at >= ? AND at < ?) w"
                    " WHERE at >= ? AND at % ? != 0 AND state = prev_state AND fired = prev_fired"
                )
                args = (max(floor - every, 0), cut, floor, every)
                if dry_run:
                    (n,) = self._conn.execute(
                        f"SELECT COUNT(*) FROM ({thinned}) t", args
                    ).fetchone()
                else:
                    n = self._conn.execute(
                        f"DELETE FROM {table} WHERE ({series}, at) IN ({thinned})", args
                    ).rowcount
                    self._conn.execute(
                        "INSERT INTO compactions (tbl, through) VALUES (?, ?)"
                        " ON CONFLICT (tbl) DO UPDATE SET through = excluded.through",
                        (table, cut),
                    )
                counts[table] = int(n)
        return counts
