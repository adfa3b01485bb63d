"""Copying a whole store into another (``sigwatch store copy``): a team moving its SQLite store
into PostgreSQL, or the other way for a look on a laptop.

Both ends are migrated to the same version first, so their tables and columns are the same. The
target must be empty; every table is copied in one transaction (all or nothing), and the
identity counters of the target's ids are moved past the copied ids. The tables the database
keeps itself (``DERIVED``, by the triggers of migration 16) are copied last, over what the
triggers wrote while their sources were copied: the source's totals count runs it pruned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sigwatch.store.connection import POSTGRES

if TYPE_CHECKING:
    from sigwatch.store import Store

BATCH = 5_000
IDENTITIES = (("alerts", "id"), ("silences", "id"), ("outbox", "id"))
DERIVED = ("slo_latest", "run_totals")


class CopyError(RuntimeError):
    """The copy cannot start: nothing was written."""


def row_counts(store: Store) -> dict[str, int]:
    """The rows of each of the store's tables (its migration record included)."""
    return {
        table: int(store._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        for table in store.tables()
    }


def copy_store(
    source: Store, target: Store, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, int]:
    """Copy every row of ``source`` into the empty ``target``; the rows copied per table.
    ``progress(table, done, total)`` is called after each batch."""
    if source.schema_version != target.schema_version:
        raise CopyError(
            f"{source.url} is at schema version {source.schema_version} and {target.url} at "
            f"{target.schema_version}: open both with this sigwatch first (it migrates them)"
        )
    counts = row_counts(source)
    tables = [t for t in source.tables() if t != "schema_version" and t not in DERIVED]
    tables += [t for t in DERIVED if t in counts]
    held = {t: n for t, n in row_counts(target).items() if n and t != "schema_version"}
    if held:
        listed = ", ".join(f"{t} ({n:,} rows)" for t, n in sorted(held.items()))
        raise CopyError(f"{target.url} is not empty: {listed}; copy into an empty store")
    copied: dict[str, int] = {}
    with target.transaction():
        for table in tables:
            if table in DERIVED:
                target._conn.execute(f"DELETE FROM {table}")
            cursor = source._conn.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]
            insert = (
                f"INSERT INTO {table} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})"
            )
            done = 0
            while batch := cursor.fetchmany(BATCH):
                target._conn.executemany(insert, batch)
                done += len(batch)
                if progress:
                    progress(table, done, counts[table])
            copied[table] = done
        if target.dialect == POSTGRES:
            for table, column in IDENTITIES:
                target._conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                    f" COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
                )
    return copied
