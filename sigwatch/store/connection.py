"""Where the store lives and how to talk to it: SQLite (one file, WAL; the embedded default) or
PostgreSQL (a team's shared database).

A store is named by a URL (``SIGWATCH_STORE_URL``): ``sqlite:///relative/path.db``,
``sqlite:////absolute/path.db`` or a plain path for SQLite, and
``postgresql://user@host:port/database`` for PostgreSQL, whose password comes from the
environment (``PGPASSWORD``, or ``~/.pgpass``) and is never printed: ``redact`` hides one
given in the URL.

The query modules write one SQL for both: ``?`` placeholders, ``ON CONFLICT`` upserts,
``RETURNING`` for new ids. ``PostgresConnection`` hands psycopg the same statements with its
``%s`` placeholders.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SQLITE, POSTGRES = "sqlite", "postgresql"
BUSY_TIMEOUT_MS = 10_000


class StoreURLError(ValueError):
    """A store URL that names no store sigwatch can open."""


class StoreUnavailable(ConnectionError):
    """The store cannot be reached: PostgreSQL refused the connection, or the connection was
    lost mid-way (the server restarted, the network between went down). The message names the
    store (its URL without a password). Whatever was asked may be asked again on a new
    connection; a transaction in flight was rolled back by the server."""


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL: its dialect, and the SQLite file (None in memory) or the
    PostgreSQL connection string (with any password in it)."""

    dialect: str
    path: Path | None = None
    dsn: str | None = None

    @classmethod
    def parse(cls, target: str | Path) -> StoreURL:
        if isinstance(target, Path):
            return cls(SQLITE, path=target)
        text = str(target).strip()
        if text == ":memory:" or text == "sqlite://":
            return cls(SQLITE)
        if text.startswith("sqlite:///"):
            rest = text.removeprefix("sqlite:///")
            if not rest:
                raise StoreURLError(f"{text!r}: sqlite:/// needs the database file's path")
            return cls(SQLITE, path=Path(rest))
        scheme = text.split("://", 1)[0] if "://" in text else ""
        if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
            parts = urlsplit(text)
            if not parts.hostname and "host=" not in parts.query:
                raise StoreURLError(
                    f"{redact(text)}: a PostgreSQL URL needs a host"
                    " (postgresql://user@host:port/database)"
                )
            return cls(POSTGRES, dsn=urlunsplit(("postgresql", *parts[1:])))
        if scheme:
            raise StoreURLError(
                f"{redact(text)}: unknown store scheme {scheme!r}; allowed: sqlite:///path"
                " (the default, under the data folder) or postgresql://user@host:port/database"
            )
        return cls(SQLITE, path=Path(text))

    def __str__(self) -> str:
        if self.dialect == POSTGRES:
            return redact(self.dsn or "")
        return f"sqlite:///{self.path}" if self.path else "sqlite:// (in memory)"


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe to print and log)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def connect(url: StoreURL) -> tuple[Any, Dialect]:
    """A connection in autocommit mode (``Store`` groups writes with explicit transactions)."""
    if url.dialect == POSTGRES:
        return PostgresConnection.open(url), POSTGRES_DIALECT
    target = ":memory:" if url.path is None else str(url.path)
    if url.path is not None:
        url.path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if url.path is not None:
        _wal(conn)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn, SQLITE_DIALECT


def _wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. On a new file this takes an exclusive lock that the busy timeout does not
    wait for, so several processes opening one new store at once (the scheduler's first jobs)
    would see "database is locked": retry within the busy timeout instead."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def lock_key(name: str) -> int:
    """A named lock's key in PostgreSQL's advisory lock space (a signed 64-bit number)."""
    digest = hashlib.sha256(f"sigwatch:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class Dialect:
    """What differs between the two databases, in one place."""

    name: str
    # Start a transaction that writes. Writes that go together are serialized on both: SQLite
    # takes its write lock at once (BEGIN IMMEDIATE); PostgreSQL takes one advisory lock for
    # the transaction, so that what a transaction read (an alert's state, what was announced)
    # is still true when it commits, across processes and hosts.
    begin: tuple[str, ...]
    tables: str  # the names of the store's tables, one per row

    def ddl(self, statement: str) -> str:
        """A migration's statement as this database takes it."""
        if self.name == POSTGRES:
            # SQLite's INTEGER PRIMARY KEY is its rowid, numbered on insert.
            return statement.replace(
                "INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
            )
        return statement


WRITES = lock_key("writes")
SQLITE_DIALECT = Dialect(
    SQLITE,
    begin=("BEGIN IMMEDIATE",),
    tables="SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
)
POSTGRES_DIALECT = Dialect(
    POSTGRES,
    begin=("BEGIN", f"SELECT pg_advisory_xact_lock({WRITES})"),
    tables="SELECT table_name FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
)


class PostgresConnection:
    """A psycopg connection (autocommit) that takes the store's ``?`` statements."""

    def __init__(self, conn: Any, url: StoreURL) -> None:
        self._conn, self._url = conn, url

    @classmethod
    def open(cls, url: StoreURL) -> PostgresConnection:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is a dependency
            raise StoreURLError(
                f"{url}: PostgreSQL needs psycopg: pip install 'psycopg[binary]'"
            ) from exc
        try:
            conn = psycopg.connect(url.dsn, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            # libpq's message names host and port, never the password; the URL is redacted.
            detail = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            detail = detail or type(exc).__name__
            raise StoreUnavailable(f"cannot connect to the store at {url}: {detail}") from None
        return cls(conn, url)

    @property
    def broken(self) -> bool:
        """Whether the connection was lost (every statement on it now fails)."""
        return bool(self._conn.broken or self._conn.closed)

    def execute(self, sql: str, args: Any = None) -> Any:
        try:
            if args is None or (not args and "?" not in sql):
                return self._conn.execute(sql)
            return self._conn.execute(_placeholders(sql), args)
        except Exception as exc:
            if not self.broken:
                raise
            raise self._lost(exc) from None

    def executemany(self, sql: str, rows: Any) -> Any:
        try:
            cursor = self._conn.cursor()
            cursor.executemany(_placeholders(sql), rows)
            return cursor
        except Exception as exc:
            if not self.broken:
                raise
            raise self._lost(exc) from None

    def _lost(self, exc: Exception) -> StoreUnavailable:
        """A statement that failed because the connection is gone is ``StoreUnavailable``
        (naming the store); any other error (a constraint, a syntax error) is raised as is."""
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreUnavailable(f"lost the store at {self._url}: {detail}")

    def close(self) -> None:
        self._conn.close()


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled). The store's
    statements hold no ``?`` inside quoted text."""
    return sql.replace("%", "%%").replace("?", "%s")
