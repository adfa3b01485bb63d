"""The store's schema as an ordered list of migrations; later features append, never edit.

Each migration is a version number and a tuple of SQL statements kept to what both SQLite and
Postgres accept (plain types, no SQLite-only syntax), so the schema can move to Postgres at scale.
Times are integer seconds since the epoch, UTC; windows are half-open ``[start, end)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "measurements",
        (
            # One row per (signal, SLO, window): re-measuring a window replaces its row.
            """
            CREATE TABLE measurements (
                signal       TEXT    NOT NULL,
                slo          TEXT    NOT NULL,
                window_start BIGINT  NOT NULL,
                window_end   BIGINT  NOT NULL,
                sli          TEXT    NOT NULL,
                good         DOUBLE PRECISION,
                total        DOUBLE PRECISION,
                value        DOUBLE PRECISION,
                ci_low       DOUBLE PRECISION,
                ci_high      DOUBLE PRECISION,
                samples      BIGINT,
                details      TEXT,
                evaluated_at BIGINT  NOT NULL,
                PRIMARY KEY (signal, slo, window_start, window_end),
                CHECK (window_end > window_start)
            )
            """,
            "CREATE INDEX measurements_by_end ON measurements (signal, slo, window_end)",
        ),
    ),
)
