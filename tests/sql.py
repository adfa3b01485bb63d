"""Tests look into the database file with a connection of their own: the store's code has no
raw-SQL door (every statement lives in ``sigwatch.store``), and what a test reads this way is
what another process would find."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def query(where, sql: str, args: tuple = ()) -> list[tuple[Any, ...]]:
    """The rows of one statement over the database of ``where`` (a ``Store`` or a path)."""
    conn = _connect(where)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def write(where, sql: str, args: tuple = ()) -> int:
    """Run one writing statement (as an older sigwatch, or a test's set-up, would); the rows
    it changed."""
    conn = _connect(where)
    try:
        with conn:
            return conn.execute(sql, args).rowcount
    finally:
        conn.close()


def _connect(where) -> sqlite3.Connection:
    path = where if isinstance(where, str | Path) else where.path
    return sqlite3.connect(str(path), timeout=10)
