"""Statuses and measurements over time, summed per bucket of time: what the console draws and
the demo waits for. The rows of ``slo_status`` and ``measurements`` themselves are read and
written by ``Store``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sigwatch.states import SliceEstimate, Verdict
from sigwatch.store import codec, from_epoch, to_epoch

if TYPE_CHECKING:
    from sigwatch.store import Store


@dataclass(frozen=True)
class SliceBucket:
    """The measurements of one SLO whose window starts in one bucket of time: ``good`` and
    ``total`` summed (None for timeslice kinds, which keep a value), the mean value, the widest
    interval, the samples summed, and one slice's verdict."""

    t: datetime
    good: float | None
    total: float | None
    value: float | None
    ci_low: float | None
    ci_high: float | None
    samples: int | None
    verdict: Verdict | None
    estimated: SliceEstimate | None = None  # one slice's estimate (``estimate:``)


class HistoryQueries:
    def __init__(self, store: Store) -> None:
        self._conn = store._conn
        self._store = store

    def _latest(self) -> str:
        """``slo_latest`` (a row per SLO); the history itself in a store older than it."""
        return "slo_latest" if self._store._has_table("slo_latest") else "slo_status"

    def last_evaluation(self) -> datetime | None:
        """When the monitors last evaluated anything."""
        return self._max(f"SELECT MAX(evaluated_at) FROM {self._latest()}")

    def data_time(self) -> datetime | None:
        """The latest time evaluated (the end of the data seen)."""
        return self._max(f"SELECT MAX(at) FROM {self._latest()}")

    def status_count(self) -> int:
        """How many SLO statuses are stored (the SLOs' own rows, not their groups')."""
        return int(self._conn.execute("SELECT COUNT(*) FROM slo_status").fetchone()[0])

    def _max(self, sql: str) -> datetime | None:
        row = self._conn.execute(sql).fetchone()
        return from_epoch(row[0]) if row and row[0] is not None else None

    def slices(
        self, signal: str, slo: str, start: datetime, end: datetime, width: int
    ) -> list[SliceBucket]:
        """The SLO's measurements with windows starting in ``[start, end)``, per bucket of
        ``width`` seconds, oldest first."""
        rows = self._conn.execute(
            "SELECT (window_start / ?) * ? AS t, SUM(good), SUM(total), AVG(value), MIN(ci_low),"
            " MAX(ci_high), CAST(SUM(samples) AS BIGINT), MAX(details) FROM measurements"
            " WHERE signal = ? AND slo = ? AND window_start >= ? AND window_start < ?"
            " GROUP BY t ORDER BY t",
            (width, width, signal, slo, to_epoch(start), to_epoch(end)),
        ).fetchall()
        return [
            SliceBucket(
                from_epoch(t),
                good,
                total,
                value,
                low,
                high,
                samples,
                *codec.judged_in(json.loads(details) if details else {}),
            )
            for t, good, total, value, low, high, samples, details in rows
        ]

    def verdicts(self, signal: str, slo: str, before: datetime) -> list[tuple[datetime, Verdict]]:
        """Each slice of a timeslice SLO starting before ``before``, with its verdict (a slice
        measured before verdicts were kept counts as not measurable)."""
        rows = self._conn.execute(
            "SELECT window_start, details FROM measurements"
            " WHERE signal = ? AND slo = ? AND window_start < ? ORDER BY window_start",
            (signal, slo, to_epoch(before)),
        ).fetchall()
        out = []
        for start, details in rows:
            stored = codec.verdict_in(json.loads(details)) if details else None
            out.append((from_epoch(start), stored or Verdict.NO_DATA))
        return out

    def burn_rates(
        self, signal: str, slo: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, dict[str, float | None]]]:
        """The SLO's burn rates per window at each evaluation in ``[start, end]``."""
        rows = self._conn.execute(
            "SELECT at, burn_rates FROM slo_status"
            " WHERE signal = ? AND slo = ? AND at >= ? AND at <= ? ORDER BY at",
            (signal, slo, to_epoch(start), to_epoch(end)),
        ).fetchall()
        return [(from_epoch(at), json.loads(raw) if raw else {}) for at, raw in rows]

    def hourly_sli(self, start: datetime, end: datetime) -> list[tuple[str, str, datetime, float]]:
        """Every occurrence SLO's SLI per hour of ``(start, end]``, as its monitor saw it: the
        status at each whole hour holds the 1-hour burn rate, ``(1 - SLI) / (1 - objective)``
        over the hour before it. (signal, slo, start of that hour, SLI), one statement for
        all SLOs (through ``slo_latest``, so each SLO's range is read from its index)."""
        rows = self._conn.execute(
            # as row values IN the list of SLOs: both databases then read each SLO's hours
            # from its index (a join lets SQLite's planner scan the whole history instead)
            "SELECT signal, slo, at, objective, burn_rates FROM slo_status"
            " WHERE (signal, slo) IN (SELECT signal, slo FROM slo_latest)"
            " AND at > ? AND at <= ? AND at % 3600 = 0 ORDER BY signal, slo, at",
            (to_epoch(start), to_epoch(end)),
        ).fetchall()
        out = []
        for signal, slo, at, objective, raw in rows:
            burn = json.loads(raw).get("1h") if raw else None
            if burn is not None:
                sli = min(1.0, max(0.0, 1.0 - burn * (1.0 - objective)))
                out.append((signal, slo, from_epoch(at - 3600), sli))
        return out

    def budget_span(
        self, signal: str, slo: str, start: datetime, end: datetime
    ) -> tuple[float | None, float | None]:
        """The SLO's budget left at its first and at its last evaluation in ``[start, end)``
        that has one (two reads of the index, not the range's rows)."""
        sql = (
            "SELECT budget_remaining FROM slo_status WHERE signal = ? AND slo = ? AND at >= ?"
            " AND at < ? AND budget_remaining IS NOT NULL ORDER BY at {} LIMIT 1"
        )
        args = (signal, slo, to_epoch(start), to_epoch(end))
        first = self._conn.execute(sql.format("ASC"), args).fetchone()
        last = self._conn.execute(sql.format("DESC"), args).fetchone()
        return (first[0] if first else None), (last[0] if last else None)

    def lowest_budget(
        self, signal: str, slo: str, start: datetime, end: datetime, width: int
    ) -> list[tuple[datetime, float | None]]:
        """The SLO's lowest budget left per bucket of ``width`` seconds of ``[start, end]``."""
        rows = self._conn.execute(
            "SELECT (at / ?) * ? AS t, MIN(budget_remaining) FROM slo_status"
            " WHERE signal = ? AND slo = ? AND at >= ? AND at <= ? GROUP BY t ORDER BY t",
            (width, width, signal, slo, to_epoch(start), to_epoch(end)),
        ).fetchall()
        return [(from_epoch(t), low) for t, low in rows]
