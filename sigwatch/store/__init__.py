"""The store where monitors write and the console and alerts read: SQLite (WAL) embedded, or a
team's PostgreSQL (``sigwatch.store.connection``).

Open with ``Store.open(url_or_path, clock=...)``: it applies pending migrations from
``sigwatch.migrations`` in order, each in its own transaction, recorded in ``schema_version``;
re-opening is a no-op.
Measurements are keyed by (signal, slo, window): writing a window again replaces its row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sigwatch.store.alerts import AlertTables
    from sigwatch.store.history import HistoryQueries
    from sigwatch.store.judge import JudgeTables
    from sigwatch.store.retention import RetentionQueries

from sigwatch.clock import Clock
from sigwatch.migrations import KEPT_BY_TRIGGERS, MIGRATIONS, Migration
from sigwatch.model import OTHER
from sigwatch.states import (
    Fired,
    GroupSummary,
    LabelledSlice,
    SliceCost,
    SliceEstimate,
    SloState,
    Suspect,
    Verdict,
    VerdictFrom,
)
from sigwatch.store import codec
from sigwatch.store.connection import (
    POSTGRES,
    SQLITE,
    Dialect,
    StoreURL,
    connect,
    lock_key,
)


def group_key(group: dict[str, str] | None) -> str:
    """A group as stored (``grp``): its JSON, columns in ``group_by`` order."""
    return json.dumps(group, separators=(",", ":"), ensure_ascii=False) if group else ""


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
    verdict: Verdict | None = None  # a slice's judgement (timeslice kinds)
    cost: SliceCost | None = None  # what the slice cost (cost kinds)
    estimated: SliceEstimate | None = None  # quality before the labels (``estimate:``)
    details: dict[str, Any] = field(default_factory=dict)  # the kind's own extras
    group: dict[str, str] | None = None  # one group of a grouped SLO; None: the whole signal


@dataclass(frozen=True)
class SloStatus:
    """The state of one SLO as evaluated at ``at`` (the end of the data it saw)."""

    signal: str
    slo: str
    at: datetime
    sli: str
    state: SloState
    objective: float
    evaluated_at: datetime
    window_end: datetime
    value: float | None = None
    target: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    samples: int | None = None
    budget_remaining: float | None = None
    burn_rates: dict[str, float | None] = field(default_factory=dict)
    fired: list[Fired] = field(default_factory=list)
    slice: datetime | None = None  # the slice shown (timeslice kinds), or the bad one alerting
    suspects: tuple[Suspect, ...] = ()  # where the bad events come from, when it alerts
    grouped: GroupSummary | None = None  # a grouped SLO's own row: what it says of its groups
    # A quality SLO's: what judged the slice shown (its labels, or an estimate while they are
    # too few: then value, ci_low, ci_high and samples are the estimate's) and its estimate.
    verdict_from: VerdictFrom | None = None
    estimated: SliceEstimate | None = None
    # an estimated SLO's recent slices (current, previous) its labels judge
    labelled: tuple[LabelledSlice, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)  # free-form display extras
    # One group of a grouped SLO (``{"community": "headphones"}``); None for the SLO's own row
    # (the whole signal, or for a grouped SLO its worst group and the count of groups by state).
    group: dict[str, str] | None = None

    @property
    def budget_exhausted(self) -> bool:
        """The window's error budget is spent (the SRE error-budget policy's trigger: freeze
        releases, fix reliability). Not a state and never a page: a budget can stay spent for
        weeks after its incidents, while the state says whether the SLO is failing now."""
        return self.budget_remaining is not None and self.budget_remaining <= 0


@dataclass(frozen=True)
class Run:
    """One monitor run for one signal: when, how long, and how it ended."""

    signal: str
    at: datetime
    started: datetime
    duration_ms: float
    status: str  # ok | error
    error: str | None = None


@dataclass(frozen=True)
class Failing:
    """A signal whose monitor fails: ``failures`` evaluation times in a row since ``since``
    (the first of them), the latest at ``latest`` with ``error``; ``last_ok``: its last good
    run, if any."""

    signal: str
    failures: int
    since: datetime
    latest: datetime
    error: str
    last_ok: datetime | None


class Store:
    """One connection to the store. Use as a context manager, or ``close()`` it."""

    def __init__(self, conn: Any, clock: Clock, url: StoreURL, dialect: Dialect) -> None:
        self._conn = conn
        self._clock = clock
        self._dialect = dialect
        self.url = url  # where it lives (``str(url)`` is safe to print: no password)
        self.path = url.path  # the SQLite file (None in memory, or for PostgreSQL)
        self._tables: frozenset[str] | None = None
        self._open_transaction = False  # a write transaction is open (``_transaction``)
        self._current = False  # the schema is known to be up to date (``open``)
        self._version: int | None = None  # the schema's version, once known

    @classmethod
    def open(
        cls,
        target: str | Path | StoreURL,
        *,
        clock: Clock,
        migrate: bool = True,
        current: bool = False,
    ) -> Store:
        """Open the store at ``target`` (a store URL, see ``sigwatch.store.connection``, or a
        SQLite file's path; a new file and its folder are created) and bring its schema up to
        date.

        ``clock`` is what ``now()`` answers (acknowledgements, silences, calibrations and
        migrations are stamped with it): the composition root passes the wall clock or the
        time given with ``--at``; the store never reads the wall clock itself. ``current``: the
        caller knows the schema is up to date (it migrated it on an earlier connection), so
        every table of the migrations is there without asking.
        """
        url = target if isinstance(target, StoreURL) else StoreURL.parse(target)
        conn, dialect = connect(url)
        store = cls(conn, clock, url, dialect)
        store._current = current
        if migrate:
            try:
                store.migrate()
            except BaseException:
                conn.close()
                raise
        return store

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._dialect.name

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

        The whole run is one write transaction, which holds the store's write lock
        (``Dialect.begin``), so two processes starting at once apply each migration once. A
        store already up to date is only read (every scheduled job opens the store: it must not
        queue behind the write lock for nothing).
        """
        ordered = sorted(migrations, key=lambda mig: mig.version)
        versions = [mig.version for mig in ordered]
        if len(set(versions)) != len(versions):
            raise ValueError(f"migration versions repeat: {versions}")
        self._version = self.schema_version
        if versions and self._version >= versions[-1]:
            return []
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
                    self._conn.execute(self._dialect.ddl(statement))
                for statement in mig.sqlite_only if self.dialect == SQLITE else mig.postgres_only:
                    self._conn.execute(statement)
                self._conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (mig.version, mig.name, to_epoch(self._clock.now())),
                )
                applied.append(mig.version)
        self._version = max([current, *applied])
        return applied

    def _kept_by_database(self) -> bool:
        """Whether the database keeps ``slo_latest`` and ``run_totals`` itself (the triggers
        of migration 16); a store opened without migrating may be older."""
        if self._current:
            return True
        if self._version is None:
            self._version = self.schema_version
        return self._version >= KEPT_BY_TRIGGERS

    # --- measurements -----------------------------------------------------------------------

    def put_measurements(self, rows: Iterable[Measurement]) -> int:
        """Insert or replace measurements by (signal, slo, window), a group's by (signal, slo,
        group, window); return how many were written."""
        plain, grouped = [], []
        for r in rows:
            values = (
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
                _json(codec.measurement_details(r)),
                to_epoch(r.evaluated_at),
            )
            if r.group is None:
                plain.append(values)
            else:
                grouped.append((*values, group_key(r.group)))
        updates = """
                    sli = excluded.sli, good = excluded.good, total = excluded.total,
                    value = excluded.value, ci_low = excluded.ci_low, ci_high = excluded.ci_high,
                    samples = excluded.samples, details = excluded.details,
                    evaluated_at = excluded.evaluated_at"""
        columns = """signal, slo, window_start, window_end, sli, good, total,
                    value, ci_low, ci_high, samples, details, evaluated_at"""
        with self._transaction():
            if plain:
                self._conn.executemany(
                    f"INSERT INTO measurements ({columns}) VALUES ({', '.join('?' * 13)})"
                    f" ON CONFLICT (signal, slo, window_start, window_end) DO UPDATE SET{updates}",
                    plain,
                )
            if grouped:
                self._conn.executemany(
                    f"INSERT INTO group_measurements ({columns}, grp)"
                    f" VALUES ({', '.join('?' * 14)}) ON CONFLICT"
                    f" (signal, slo, grp, window_start, window_end) DO UPDATE SET{updates}",
                    grouped,
                )
        return len(plain) + len(grouped)

    def measurements(
        self,
        signal: str,
        slo: str | None,
        start: datetime | None = None,
        end: datetime | None = None,
        group: dict[str, str] | None = None,
    ) -> list[Measurement]:
        """Measurements of one SLO (of one of its groups; of every SLO of the signal when
        ``slo`` is None) whose windows lie within ``[start, end)``, oldest first."""
        table = "measurements" if group is None else "group_measurements"
        sql = f"SELECT * FROM {table} WHERE signal = ?"
        args: list[Any] = [signal]
        if slo is not None:
            sql += " AND slo = ?"
            args.append(slo)
        if group is not None:
            sql += " AND grp = ?"
            args.append(group_key(group))
        if start is not None:
            sql += " AND window_start >= ?"
            args.append(to_epoch(start))
        if end is not None:
            sql += " AND window_end <= ?"
            args.append(to_epoch(end))
        return self._measurement_rows(sql + " ORDER BY window_start, window_end", args)

    def latest_measurement(
        self, signal: str, slo: str, group: dict[str, str] | None = None
    ) -> Measurement | None:
        """The measurement of the latest slice of one SLO (of one of its groups), if any."""
        table, args = "measurements", [signal, slo]
        if group is not None:
            table, args = "group_measurements", [signal, slo, group_key(group)]
        where = "signal = ? AND slo = ?" + (" AND grp = ?" if group is not None else "")
        found = self._measurement_rows(
            f"SELECT * FROM {table} WHERE {where} ORDER BY window_start DESC, window_end DESC"
            " LIMIT 1",
            args,
        )
        return found[0] if found else None

    def group_measurements(
        self, signal: str, slo: str, start: datetime, end: datetime
    ) -> list[Measurement]:
        """Every group's measurements of a grouped SLO whose windows start in
        ``[start, end)``, by window then group."""
        if not self._has_table("group_measurements"):
            return []
        return self._measurement_rows(
            "SELECT * FROM group_measurements WHERE signal = ? AND slo = ?"
            " AND window_start >= ? AND window_start < ? ORDER BY window_start, grp",
            [signal, slo, to_epoch(start), to_epoch(end)],
        )

    def _measurement_rows(self, sql: str, args: list[Any]) -> list[Measurement]:
        cursor = self._conn.execute(sql, args)
        names = [d[0] for d in cursor.description]
        return [_measurement(dict(zip(names, row, strict=True))) for row in cursor]

    # --- SLO status --------------------------------------------------------------------------

    def put_status(self, rows: Iterable[SloStatus]) -> int:
        """Insert or replace statuses by (signal, slo, at), a group's by (signal, slo, at,
        group)."""
        plain, grouped = [], []
        for r in rows:
            values = (
                r.signal,
                r.slo,
                to_epoch(r.at),
                r.sli,
                r.state,
                r.value,
                r.target,
                r.objective,
                r.ci_low,
                r.ci_high,
                r.samples,
                r.budget_remaining,
                json.dumps(r.burn_rates, sort_keys=True),
                json.dumps([codec.fired_json(f) for f in r.fired]),
                to_epoch(r.window_end),
                to_epoch(r.evaluated_at),
                _json(codec.status_details(r)),
            )
            if r.group is None:
                plain.append(values)
            else:
                grouped.append((*values, group_key(r.group)))
        columns = """signal, slo, at, sli, state, value, target, objective,
                    ci_low, ci_high, samples, budget_remaining, burn_rates, fired, window_end,
                    evaluated_at, details"""
        updates = """
                    sli = excluded.sli, state = excluded.state, value = excluded.value,
                    target = excluded.target, objective = excluded.objective,
                    ci_low = excluded.ci_low, ci_high = excluded.ci_high,
                    samples = excluded.samples, budget_remaining = excluded.budget_remaining,
                    burn_rates = excluded.burn_rates, fired = excluded.fired,
                    window_end = excluded.window_end, evaluated_at = excluded.evaluated_at,
                    details = excluded.details"""
        latest: dict[tuple[str, str], tuple[datetime, datetime]] = {}  # the batch's, per SLO
        for r in rows:
            if r.group is None:
                at, evaluated = latest.get((r.signal, r.slo), (r.at, r.evaluated_at))
                latest[(r.signal, r.slo)] = (max(at, r.at), max(evaluated, r.evaluated_at))
        with self._transaction():
            if plain:
                self._conn.executemany(
                    f"INSERT INTO slo_status ({columns}) VALUES ({', '.join('?' * 17)})"
                    f" ON CONFLICT (signal, slo, at) DO UPDATE SET{updates}",
                    plain,
                )
            # (a store older than migration 16 keeps it here; older than 14 has none)
            if plain and not self._kept_by_database() and self._has_table("slo_latest"):
                self._conn.executemany(
                    "INSERT INTO slo_latest (signal, slo, at, evaluated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (signal, slo) DO UPDATE SET"
                    " at = CASE WHEN excluded.at > slo_latest.at THEN excluded.at"
                    " ELSE slo_latest.at END,"
                    " evaluated_at = CASE WHEN excluded.evaluated_at > slo_latest.evaluated_at"
                    " THEN excluded.evaluated_at ELSE slo_latest.evaluated_at END",
                    [
                        (signal, slo, to_epoch(at), to_epoch(evaluated))
                        for (signal, slo), (at, evaluated) in latest.items()
                    ],
                )
            if grouped:
                self._conn.executemany(
                    f"INSERT INTO group_status ({columns}, grp) VALUES ({', '.join('?' * 18)})"
                    f" ON CONFLICT (signal, slo, at, grp) DO UPDATE SET{updates}",
                    grouped,
                )
        return len(plain) + len(grouped)

    def latest_status(
        self, signal: str | None = None, as_of: datetime | None = None
    ) -> list[SloStatus]:
        """The most recent status of every SLO (of one signal), ordered by signal and SLO;
        with ``as_of``, the most recent evaluated at or before that time."""
        if as_of is None and self._has_table("slo_latest"):  # kept as statuses are written
            latest = "SELECT signal, slo, at FROM slo_latest"
        else:
            bound = "" if as_of is None else " WHERE at <= ?"
            latest = f"SELECT signal, slo, MAX(at) FROM slo_status{bound} GROUP BY signal, slo"
        # row values IN the latest: each SLO's row found by its key (as a join, SQLite's planner
        # may scan the whole history)
        sql = f"SELECT s.* FROM slo_status s WHERE (s.signal, s.slo, s.at) IN ({latest})"
        args: list[Any] = [] if as_of is None else [to_epoch(as_of)]
        if signal is not None:
            sql += " AND s.signal = ?"
            args.append(signal)
        return self._status_rows(sql + " ORDER BY s.signal, s.slo", args)

    def status_before(self, signal: str, slo: str, at: datetime) -> SloStatus | None:
        """The SLO's latest status evaluated before ``at``, or None."""
        rows = self._status_rows(
            "SELECT * FROM slo_status WHERE signal = ? AND slo = ? AND at < ?"
            " ORDER BY at DESC LIMIT 1",
            [signal, slo, to_epoch(at)],
        )
        return rows[0] if rows else None

    def statuses_before(self, signal: str, slos: Iterable[str], at: datetime) -> dict:
        """Each of ``slos``' latest status evaluated before ``at`` (absent: none), by SLO name:
        one read of the latest statuses when they are all older than ``at`` (a run at a new
        time), and one read per SLO for those that are not (a time evaluated again)."""
        found: dict[str, SloStatus] = {}
        if self._has_table("slo_latest"):
            rows = self._status_rows(
                "SELECT s.* FROM slo_status s JOIN slo_latest l ON s.signal = l.signal"
                " AND s.slo = l.slo AND s.at = l.at WHERE l.signal = ? AND l.at < ?",
                [signal, to_epoch(at)],
            )
            found = {r.slo: r for r in rows}
        for slo in slos:  # evaluated at ``at`` or after (or never): looked up one by one
            if slo not in found and (status := self.status_before(signal, slo, at)) is not None:
                found[slo] = status
        return found

    def status_history(
        self, signal: str, slo: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[SloStatus]:
        sql = "SELECT * FROM slo_status WHERE signal = ? AND slo = ?"
        args: list[Any] = [signal, slo]
        if start is not None:
            sql += " AND at >= ?"
            args.append(to_epoch(start))
        if end is not None:
            sql += " AND at <= ?"
            args.append(to_epoch(end))
        return self._status_rows(sql + " ORDER BY at", args)

    def group_statuses(
        self, signal: str, slo: str, start: datetime, end: datetime | None = None
    ) -> list[SloStatus]:
        """The statuses of a grouped SLO's groups evaluated in ``[start, end]`` (at ``start``
        alone when ``end`` is None): by time, then the largest group first, a pooled
        ``(other)`` last. None in a store not yet migrated to grouped SLOs."""
        if not self._has_table("group_status"):
            return []
        rows = self._status_rows(
            "SELECT * FROM group_status WHERE signal = ? AND slo = ? AND at >= ? AND at <= ?",
            [signal, slo, to_epoch(start), to_epoch(end or start)],
        )
        return sorted(
            rows, key=lambda r: (r.at, OTHER in (r.group or {}).values(), -(r.samples or 0))
        )

    def _status_rows(self, sql: str, args: list[Any]) -> list[SloStatus]:
        cursor = self._conn.execute(sql, args)
        names = [d[0] for d in cursor.description]
        out = []
        for values in cursor:
            r = dict(zip(names, values, strict=True))
            out.append(
                SloStatus(
                    signal=r["signal"],
                    slo=r["slo"],
                    at=from_epoch(r["at"]),
                    sli=r["sli"],
                    state=SloState(r["state"]),
                    objective=r["objective"],
                    evaluated_at=from_epoch(r["evaluated_at"]),
                    window_end=from_epoch(r["window_end"]),
                    value=r["value"],
                    target=r["target"],
                    ci_low=r["ci_low"],
                    ci_high=r["ci_high"],
                    samples=r["samples"],
                    budget_remaining=r["budget_remaining"],
                    burn_rates=json.loads(r["burn_rates"]),
                    fired=[codec.fired_from(f) for f in json.loads(r["fired"])],
                    group=json.loads(r["grp"]) if r.get("grp") else None,
                    **codec.status_fields(json.loads(r["details"]) if r["details"] else {}),
                )
            )
        return out

    # --- runs ---------------------------------------------------------------------------------

    def record_run(self, run: Run) -> None:
        with self._transaction():
            # (a store older than migration 16 counts here; older than 15 has no totals)
            if not self._kept_by_database() and self._has_table("run_totals"):
                self._conn.execute(
                    "INSERT INTO run_totals (signal, outcome, total, last_started)"
                    " VALUES (?, ?, 1, ?) ON CONFLICT (signal, outcome) DO UPDATE SET"
                    " total = run_totals.total + 1, last_started = CASE WHEN"
                    " excluded.last_started > run_totals.last_started THEN excluded.last_started"
                    " ELSE run_totals.last_started END",
                    (run.signal, run.status, to_epoch(run.started)),
                )
            self._conn.execute(
                "INSERT INTO runs (signal, at, started, duration_ms, status, error)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (signal, at, started) DO UPDATE SET"
                " duration_ms = excluded.duration_ms, status = excluded.status,"
                " error = excluded.error",
                (
                    run.signal,
                    to_epoch(run.at),
                    to_epoch(run.started),
                    run.duration_ms,
                    run.status,
                    run.error,
                ),
            )

    def failing(self, signal: str, as_of: datetime | None = None) -> Failing | None:
        """The failed runs of ``signal`` since its last good one, of the runs started by
        ``as_of`` (default: all): how many evaluation times failed (two schedulers that both
        failed one time count it once), the first, and the latest error. None when its latest
        run was good, or it never ran."""
        until = to_epoch(as_of) if as_of is not None else 2**62
        row = self._conn.execute(
            "SELECT COUNT(DISTINCT at), MIN(started), MAX(started) FROM runs WHERE signal = ?"
            " AND status = 'error' AND started <= ? AND started > COALESCE((SELECT MAX(started)"
            " FROM runs WHERE signal = ? AND status = 'ok' AND started <= ?), -1)",
            (signal, until, signal, until),
        ).fetchone()
        count, first, latest = row
        if not count:
            return None
        error = self._conn.execute(
            "SELECT error FROM runs WHERE signal = ? AND started = ? AND status = 'error'",
            (signal, latest),
        ).fetchone()[0]
        last_ok = self._conn.execute(
            "SELECT MAX(started) FROM runs WHERE signal = ? AND status = 'ok' AND started <= ?",
            (signal, until),
        ).fetchone()[0]
        return Failing(
            signal,
            int(count),
            from_epoch(first),
            from_epoch(latest),
            error or "",
            from_epoch(last_ok) if last_ok is not None else None,
        )

    def run_totals(self) -> list[tuple[str, str, int, datetime]]:
        """Every signal's runs counted by outcome (``ok``, ``error``) since the store began,
        with the latest of each: (signal, outcome, total, last started)."""
        if not self._has_table("run_totals"):
            return []
        rows = self._conn.execute(
            "SELECT signal, outcome, total, last_started FROM run_totals ORDER BY signal, outcome"
        )
        return [(s, o, int(n), from_epoch(last)) for s, o, n, last in rows]

    def runs(self, signal: str | None = None, limit: int = 100) -> list[Run]:
        """The latest runs, newest first."""
        sql = "SELECT signal, at, started, duration_ms, status, error FROM runs"
        args: list[Any] = []
        if signal is not None:
            sql += " WHERE signal = ?"
            args.append(signal)
        rows = self._conn.execute(sql + " ORDER BY started DESC, at DESC LIMIT ?", [*args, limit])
        return [
            Run(s, from_epoch(a), from_epoch(st), d, status, error)
            for s, a, st, d, status, error in rows
        ]

    # --- the query modules of other table families ------------------------------------------

    @property
    def alerts(self) -> AlertTables:
        """Alerts, their events, silences, the outbox and Slack channel ids."""
        from sigwatch.store.alerts import AlertTables

        return AlertTables(self)

    @property
    def retention(self) -> RetentionQueries:
        """Deleting what is older than the store keeps."""
        from sigwatch.store.retention import RetentionQueries

        return RetentionQueries(self)

    @property
    def history(self) -> HistoryQueries:
        """Statuses and measurements summed per bucket of time."""
        from sigwatch.store.history import HistoryQueries

        return HistoryQueries(self)

    @property
    def judge(self) -> JudgeTables:
        """The LLM judge's labels and calibrations."""
        from sigwatch.store.judge import JudgeTables

        return JudgeTables(self)

    # --- helpers -------------------------------------------------------------------------

    def tables(self) -> list[str]:
        """Names of the store's tables, sorted (for diagnostics and tests)."""
        return [name for (name,) in self._conn.execute(self._dialect.tables)]

    def _has_table(self, name: str) -> bool:
        if self._current:  # every table of the migrations is there
            return True
        if self._tables is None or name not in self._tables:
            self._tables = frozenset(self.tables())  # a table appears by a migration only
        return name in self._tables

    # --- writes that go together ---------------------------------------------------------

    def transaction(self) -> _Transaction:
        """``with store.transaction():`` groups statements into one atomic write."""
        return _Transaction(self)

    def now(self) -> datetime:
        return self._clock.now()

    @contextmanager
    def exclusive(self, name: str, wait: float = 0.0) -> Iterator[bool]:
        """``with store.exclusive("evaluate:content_type") as mine:`` — whether this connection
        holds the named lock, waiting up to ``wait`` seconds for it; released at the end (or
        when the process dies: the server drops a lost connection's locks).

        On PostgreSQL, several schedulers share one store and this is what keeps a signal's
        evaluation, or a flush of the outbox, to one of them at a time. A SQLite store has one
        scheduler (``serve`` holds ``<data>/serve.lock``), so it is always held there."""
        if self.dialect != POSTGRES:
            yield True
            return
        key = lock_key(name)
        deadline = time.monotonic() + wait
        while True:
            (held,) = self._conn.execute("SELECT pg_try_advisory_lock(?)", (key,)).fetchone()
            if held or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        try:
            yield bool(held)
        finally:
            if held:
                self._conn.execute("SELECT pg_advisory_unlock(?)", (key,))

    def evaluated(self, signal: str, at: datetime) -> bool:
        """Whether a run evaluated ``signal`` at ``at`` and succeeded (so a second scheduler
        that fires for the same time has nothing to do)."""
        row = self._conn.execute(
            "SELECT 1 FROM runs WHERE signal = ? AND at = ? AND status = 'ok' LIMIT 1",
            (signal, to_epoch(at)),
        ).fetchone()
        return row is not None

    def ran_at(self, at: datetime) -> set[str]:
        """The signals with a run (good or failed) for the evaluation time ``at``."""
        rows = self._conn.execute("SELECT DISTINCT signal FROM runs WHERE at = ?", (to_epoch(at),))
        return {signal for (signal,) in rows}

    def _transaction(self) -> _Transaction:
        """A write transaction; inside one already open, that one (its writes commit together)."""
        return _Transaction(self)

    def put_evaluation(
        self,
        statuses: Iterable[SloStatus],
        measurements: Iterable[Measurement],
        run: Run | None = None,
    ) -> None:
        """Store a run's measurements and statuses (and the run's record) in one write
        transaction."""
        with self._transaction():
            self.put_measurements(measurements)
            self.put_status(statuses)
            if run is not None:
                self.record_run(run)


class _Transaction:
    """``BEGIN`` and the write lock (``Dialect.begin``) ... ``COMMIT``, rolled back on any
    exception; nothing of its own inside a transaction already open."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._outer = False

    def __enter__(self) -> None:
        if self._store._open_transaction:
            return
        for statement in self._store._dialect.begin:
            self._store._conn.execute(statement)
        self._outer = self._store._open_transaction = True

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if not self._outer:
            return
        self._store._open_transaction = False
        self._store._conn.execute("ROLLBACK" if exc_type else "COMMIT")


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
        group=json.loads(row["grp"]) if row.get("grp") else None,
        **codec.measurement_fields(json.loads(row["details"]) if row["details"] else {}),
    )


def _json(details: dict[str, Any]) -> str | None:
    return json.dumps(details, sort_keys=True, default=str) if details else None
