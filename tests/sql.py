"""Tests look into the database with a connection of their own: the store's code has no raw-SQL
door (every statement lives in ``sigwatch.store``), and what a test reads this way is what
another process would find. The statements use ``?`` placeholders on SQLite and PostgreSQL
alike."""

from __future__ import annotations

import sqlite3
from typing import Any

from sigwatch.store.connection import POSTGRES, PostgresConnection, StoreURL


def query(where, sql: str, args: tuple = ()) -> list[tuple[Any, ...]]:
    """The rows of one statement over the database of ``where`` (a ``Store`` or a path)."""
    conn = _connect(where)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def columns_of(where, table: str) -> list[str]:
    """The names of ``table``'s columns, in order."""
    conn = _connect(where)
    try:
        return [d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description]
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


def _connect(where):
    """A connection to the database of a ``Store``, a store URL or a SQLite file's path."""
    url = where.url if hasattr(where, "url") else StoreURL.parse(where)
    if url.dialect == POSTGRES:
        return _Postgres(url)
    return sqlite3.connect(str(url.path), timeout=10)


class _Postgres:
    def __init__(self, url: StoreURL) -> None:
        self._conn = PostgresConnection.open(url)

    def execute(self, sql: str, args: tuple = ()):
        return self._conn.execute(sql, args)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> _Postgres:
        return self

    def __exit__(self, *exc: object) -> None:
        pass  # autocommit
