"""The SQLite store (WAL) where monitors write and the console and alerts read.

Open with ``Store.open(path)``: it applies pending migrations from ``sigwatch.migrations`` in
order, each in its own transaction, recorded in ``schema_version``; re-opening is a no-op.
Measurements are keyed by (signal, slo, window): writing a window again replaces its row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sigwatch.clock import Clock, SystemClock
from sigwatch.migrations import MIGRATIONS, Migration

_BUSY_TIMEOUT_MS = 10_000


def to_epoch(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError(f"{at!r} has no time zone; the store keeps UTC times")
    return int(at.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Measurement:
    """What a monitor measured for one SLO over one window ``[start, end)``."""

    signal: str
    slo: str
    start: datetime
    end: datetime
    sli: str
    evaluated_at: datetime
    good: float | None = None
    total: float | None = None
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    samples: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Store:
    """One connection to the store. Use as a context manager, or ``close()`` it."""

    def __init__(self, conn: sqlite3.Connection, clock: Clock | None = None) -> None:
        self._conn = conn
        self._clock = clock or SystemClock()

    @classmethod
    def open(cls, path: Path | str, *, clock: Clock | None = None, migrate: bool = True) -> Store:
        """Open (creating the file and its folder if needed) and bring the schema up to date."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        if str(path) != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        store = cls(conn, clock)
        if migrate:
            store.migrate()
        return store

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema ---------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        if not self._has_table("schema_version"):
            return 0
        row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return row[0] or 0

    def migrate(self, migrations: Iterable[Migration] = MIGRATIONS) -> list[int]:
        """Apply the migrations newer than the store's version, in order; return those applied.

        The whole run holds SQLite's write lock, so two processes starting at once apply each
        migration once.
        """
        ordered = sorted(migrations, key=lambda mig: mig.version)
        versions = [mig.version for mig in ordered]
        if len(set(versions)) != len(versions):
            raise ValueError(f"migration versions repeat: {versions}")
        applied: list[int] = []
        with self._transaction():
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            )
            current = self.schema_version
            for mig in ordered:
                if mig.version <= current:
                    continue
                for statement in mig.statements:
                    self._conn.execute(statement)
                self._conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (mig.version, mig.name, to_epoch(self._clock.now())),
                )
                applied.append(mig.version)
        return applied

    # --- measurements -----------------------------------------------------------------------

    def put_measurements(self, rows: Iterable[Measurement]) -> int:
        """Insert or replace measurements by (signal, slo, window); return how many were written."""
        params = [
            (
                r.signal,
                r.slo,
                to_epoch(r.start),
                to_epoch(r.end),
                r.sli,
                r.good,
                r.total,
                r.value,
                r.ci_low,
                r.ci_high,
                r.samples,
                json.dumps(r.details, sort_keys=True) if r.details else None,
                to_epoch(r.evaluated_at),
            )
            for r in rows
        ]
        with self._transaction():
            self._conn.executemany(
                """
                INSERT INTO measurements (signal, slo, window_start, window_end, sli, good, total,
                    value, ci_low, ci_high, samples, details, evaluated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (signal, slo, window_start, window_end) DO UPDATE SET
                    sli = excluded.sli, good = excluded.good, total = excluded.total,
                    value = excluded.value, ci_low = excluded.ci_low, ci_high = excluded.ci_high,
                    samples = excluded.samples, details = excluded.details,
                    evaluated_at = excluded.evaluated_at
                """,
                params,
            )
        return len(params)

    def measurements(
        self,
        signal: str,
        slo: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Measurement]:
        """Measurements of one SLO whose windows lie within ``[start, end)``, oldest first."""
        sql = "SELECT * FROM measurements WHERE signal = ? AND slo = ?"
        args: list[Any] = [signal, slo]
        if start is not None:
            sql += " AND window_start >= ?"
            args.append(to_epoch(start))
        if end is not None:
            sql += " AND window_end <= ?"
            args.append(to_epoch(end))
        sql += " ORDER BY window_start, window_end"
        cursor = self._conn.execute(sql, args)
        names = [d[0] for d in cursor.description]
        return [_measurement(dict(zip(names, row, strict=True))) for row in cursor]

    # --- helpers -------------------------------------------------------------------------

    def tables(self) -> list[str]:
        """Names of the store's tables, sorted (for diagnostics and tests)."""
        rows = self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
        return [name for (name,) in rows]

    def _has_table(self, name: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _measurement(row: dict[str, Any]) -> Measurement:
    return Measurement(
        signal=row["signal"],
        slo=row["slo"],
        start=from_epoch(row["window_start"]),
        end=from_epoch(row["window_end"]),
        sli=row["sli"],
        evaluated_at=from_epoch(row["evaluated_at"]),
        good=row["good"],
        total=row["total"],
        value=row["value"],
        ci_low=row["ci_low"],
        ci_high=row["ci_high"],
        samples=row["samples"],
        details=json.loads(row["details"]) if row["details"] else {},
    )
