"""Partials as tables: what the monitors keep of a signal's logs and labels, per 5-minute
bucket, with declared schemas, stored as Parquet; windows are sums over their rows.

Two tables per signal, computed by the engine (``monitors.engine``):

**serving** — one row per bucket (``serving_schema``). A computed bucket with no rows is stored
as zeros, which is what tells "no data" apart from "not computed yet".

| column | type | meaning |
| --- | --- | --- |
| ``bucket`` | ``Datetime(us, UTC)`` | the bucket's start |
| ``total``, ``ok``, ``abstain``, ``error``, ``timeout`` | ``Int64`` | eligible items by status |
| ``served`` | ``Int64`` | ``ok`` and score at or above the serving threshold |
| ``external`` | ``Int64`` | items served by the external API |
| ``latency_total`` | ``Float64`` | the latency SLOs' denominator (logs: ``total``) |
| ``le_<ms>`` | ``Float64`` | answers at or under each latency SLO threshold |
| ``hist_<k>`` | ``Int64`` | latency histogram: bin k holds [10^(k/20), 10^((k+1)/20)) ms |
| ``requests`` | ``Float64`` | the cost SLIs' denominator (logs: ``total``) |
| ``cost``, ``cost_external`` | ``Float64`` | US dollars, all and the external API's |
| ``source`` | ``Utf8`` | where latency and cost came from: ``logs`` or ``prometheus`` |
| ``source_error`` | ``Utf8`` | why that source could not fill the bucket (null when it did) |

**quality** — labelled predictions served (status ``ok``), counted by the bucket of their
``event_time`` and by the span of evaluation times at which their label is the item's latest:
``known`` (the label's ``labeled_at``, rounded up to a bucket end) and ``until`` (when a newer
label of the item became known, rounded up the same way; null while none has). The counts
with the labels known at an evaluation time ``at`` (on a bucket boundary, as every evaluation
is) are the rows with ``known <= at`` and ``until`` null or ``> at``: late labels and relabels
are exact without keeping a copy per evaluation time. The rest of the columns depend on the
task (``quality_schema``): ``predicted``, ``truth``, ``n`` (multiclass: a confusion matrix);
``score``, ``truth``, ``n`` (score signals, score rounded to 4 places); ``cls``, ``tp``,
``fp``, ``fn``, ``n`` (entities: per entity type, and a row with a null ``cls`` whose ``n``
counts the labelled items).

**serving by group** — for each ``group_by`` of the signal's grouped occurrence SLOs, the
serving counts per bucket and group (``grouped_schema``): ``bucket``, the group's dimension
columns, then the serving table's counts without the histogram. Only (bucket, group) pairs
with rows are stored; a missing pair is zeros. Latency and cost are always the logs' (a
serving source such as Prometheus knows no community). Stored under
``<data>/partials/serving-by-<columns>/``.

The quality table carries the dimension columns its grouped quality SLOs need
(``quality_dims``) between ``bucket`` and ``known``: a row per bucket, group and span, and
every sum over it stays a sum. A null dimension value is stored as ``(none)``.

Storage: ``<data>/partials/<part>/signal=<name>/date=<YYYY-MM-DD>.parquet``, a file per UTC
day of buckets, rewritten whole (atomically) when buckets of that day are computed again.
Parquet files rather than a table in the SQLite store: a reader reads only the columns it
needs (the console's counts skip the 75 histogram columns) with no JSON to decode, a day is
replaced by one file rename, and it is the format a Spark engine writes too.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from monitors.logs import days_touched
from sigwatch.kinds import LatencySLI
from sigwatch.model import DIMENSIONS, Budgeting, Signal

BUCKET = timedelta(minutes=5)
log = logging.getLogger(__name__)
KEEP_WRITES_UP_TO = timedelta(hours=6)  # a write this short is a run's: its files are kept
RECOMPUTE = 3 * BUCKET  # the last buckets are recounted each run, for logs written late
# Latency histogram: bin k holds latencies in [10^(k/20), 10^((k+1)/20)) ms (12% wide), 0..5 s.
BINS_PER_DECADE = 20
MAX_BIN = 74
HIST = [f"hist_{k}" for k in range(MAX_BIN + 1)]
COUNTS = ("total", "ok", "abstain", "error", "timeout", "served", "external")
TIME = pl.Datetime("us", "UTC")


def latency_thresholds(signal: Signal) -> list[float]:
    return sorted({slo.sli.threshold_ms for slo in signal.slos if isinstance(slo.sli, LatencySLI)})


def le_column(threshold_ms: float) -> str:
    return f"le_{threshold_ms:g}"


def groupings(signal: Signal) -> list[tuple[str, ...]]:
    """The ``group_by`` columns, each once, of the signal's grouped SLOs that read serving
    counts per group: occurrence kinds (good/total), cost (spend and requests) and drift
    (served events, to rank its groups). Labelled kinds rank theirs by labelled predictions."""
    found = [
        slo.grouping.by
        for slo in signal.slos
        if slo.grouping is not None and reads_serving_by_group(slo)
    ]
    return list(dict.fromkeys(found))


def reads_serving_by_group(slo) -> bool:
    """Whether a grouped SLO's groups are measured or ranked from a serving-by-group table."""
    return slo.objective.budgeting is Budgeting.OCCURRENCES or not slo.sli.labelled


def quality_dims(signal: Signal) -> tuple[str, ...]:
    """The dimension columns the quality table keeps: those its grouped quality SLOs group by."""
    wanted = {
        column
        for slo in signal.slos
        if slo.grouping is not None and slo.sli.reads_human_labels
        for column in slo.grouping.by
    }
    return tuple(d for d in DIMENSIONS if d in wanted)


def grouped_schema(signal: Signal, by: tuple[str, ...]) -> pl.Schema:
    """The serving-by-group table's columns: the serving counts without the histogram."""
    serving = serving_schema(signal)
    counts = {
        name: kind
        for name, kind in serving.items()
        if name not in ("bucket", "source", "source_error") and not name.startswith("hist_")
    }
    return pl.Schema({"bucket": TIME, **{column: pl.Utf8() for column in by}, **counts})


def serving_schema(signal: Signal) -> pl.Schema:
    """The serving table's columns for this signal (one ``le_`` column per latency threshold)."""
    return pl.Schema(
        {
            "bucket": TIME,
            **{name: pl.Int64() for name in COUNTS},
            "latency_total": pl.Float64(),
            **{le_column(t): pl.Float64() for t in latency_thresholds(signal)},
            **{name: pl.Int64() for name in HIST},
            "requests": pl.Float64(),
            "cost": pl.Float64(),
            "cost_external": pl.Float64(),
            "source": pl.Utf8(),
            "source_error": pl.Utf8(),
        }
    )


def quality_schema(signal: Signal) -> pl.Schema:
    """The quality table's columns for this signal's task (see the module docstring)."""
    if signal.task == "entities":
        counts = {"cls": pl.Utf8(), "tp": pl.Int64(), "fp": pl.Int64(), "fn": pl.Int64()}
    elif signal.task == "score":
        counts = {"score": pl.Float64(), "truth": pl.Utf8()}
    else:
        counts = {"predicted": pl.Utf8(), "truth": pl.Utf8()}
    dims = {column: pl.Utf8() for column in quality_dims(signal)}
    return pl.Schema(
        {"bucket": TIME, **dims, "known": TIME, "until": TIME, **counts, "n": pl.Int64()}
    )


def writer() -> str:
    """Who writes a temporary file: host and process (hosts that share the data folder on a
    volume can have the same process ids)."""
    return f"{socket.gethostname()}.{os.getpid()}"


def write_atomic(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as Parquet under a temporary name, then rename it: a
    concurrent reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{writer()}.tmp")
    frame.write_parquet(tmp, compression="lz4", statistics=False)
    tmp.replace(path)


def stamp(path: Path) -> str | None:
    """What identifies a file's content: a rewrite (``write_atomic``) changes it. None when
    there is no file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


class FileCache:
    """The partial tables' files this process read or wrote, by path and ``stamp``: a run of
    a long-lived scheduler (``sigwatch serve``) reads a window's days again every few minutes,
    and all but today's are unchanged. A file changed by anyone since is read again; the
    least recently used go past ``max_bytes``."""

    def __init__(self, max_bytes: int = 128 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._files: OrderedDict[Path, tuple[str, pl.DataFrame, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def read(self, path: Path, keep: bool = True) -> pl.DataFrame:
        """The file's rows (FileNotFoundError when there is none), kept for the next read
        when ``keep`` (a backfill, reading each day once, does not)."""
        now = stamp(path)
        if now is None:
            raise FileNotFoundError(path)
        with self._lock:
            found = self._files.get(path)
            if found is not None and found[0] == now:
                self._files.move_to_end(path)
                return found[1]
        frame = pl.read_parquet(path)
        if keep:
            self._keep(path, now, frame)
        return frame

    def write(self, frame: pl.DataFrame, path: Path, keep: bool = True) -> None:
        """``write_atomic``, keeping the rows as the file's (``keep``), or forgetting the file
        (a backfill writes every day once: keeping them would only grow the process)."""
        write_atomic(frame, path)
        now = stamp(path)
        if now is not None and keep:
            self._keep(path, now, frame)
        else:
            self.forget(path)

    def holds(self, path: Path) -> bool:
        """Whether this process read or wrote the file as it is now (so it is readable)."""
        now = stamp(path)
        with self._lock:
            found = self._files.get(path)
            return now is not None and found is not None and found[0] == now

    def forget(self, path: Path) -> None:
        with self._lock:
            old = self._files.pop(path, None)
            if old is not None:
                self._bytes -= old[2]

    def _keep(self, path: Path, now: str, frame: pl.DataFrame) -> None:
        size = frame.estimated_size()
        self.forget(path)
        with self._lock:
            if size > self.max_bytes:
                return
            self._files[path] = (now, frame, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, _, dropped) = self._files.popitem(last=False)
                self._bytes -= dropped


FILES = FileCache()


def _midnight(day: date, like: datetime, days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=days), datetime.min.time(), like.tzinfo)


def known_at(table: pl.DataFrame, at: datetime) -> pl.DataFrame:
    """The quality rows whose label is the item's latest known at ``at``."""
    return table.filter(
        (pl.col("known") <= at) & (pl.col("until").is_null() | (pl.col("until") > at))
    )


def _conform(frames: list[pl.DataFrame], schema: pl.Schema) -> pl.DataFrame:
    """Stored files' rows with ``schema``'s columns: a column missing from a file (written
    before it was added) is null, one no longer in the schema is left out."""
    if not frames:
        return pl.DataFrame(schema=schema)
    if all(frame.schema == schema for frame in frames):
        return pl.concat(frames, rechunk=False)
    return pl.concat(
        [
            frame.select(
                [
                    pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
                    for c, t in schema.items()
                ]
            )
            for frame in frames
        ]
    )


def readable(path: Path, schema: pl.Schema) -> str | None:
    """Why a stored table cannot be read as one with ``schema`` (a full disk cut it short, a
    writer was killed, something else was written there); None when it can. Reads the
    Parquet footer only, and nothing for a file this process already read as it is now."""
    if FILES.holds(path):
        return None
    try:
        found = pl.read_parquet_schema(path)
    except FileNotFoundError:
        return None  # replaced or removed since listed: nothing to heal
    except Exception as exc:  # polars raises several kinds for a damaged file
        return f"not a Parquet file ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"
    if "bucket" not in found:
        return "no bucket column: not a partial table"
    wrong = [c for c, t in found.items() if c in schema and t != schema[c]]
    if wrong:
        return f"column {wrong[0]!r} is {found[wrong[0]]}, expected {schema[wrong[0]]}"
    # a file written before a column was added lacks it (read as nulls); one that shares not
    # even half of the columns is another table
    if 2 * len(set(found) & set(schema)) < len(schema):
        return f"another table's columns ({', '.join(list(found)[:4])}, ...)"
    return None


def quarantine(data_dir: Path, path: Path, why: str) -> Path:
    """Move a damaged file of the partial tables aside, to ``partials/quarantine/`` under its
    own relative path and its modification time, for whoever wants to see what happened to
    it, and say so in the log (once: the file is gone from where it was); returns where it
    went. Whoever calls it computes the file's content again."""
    root = data_dir / "partials"
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%S")
    target = root / "quarantine" / path.relative_to(root).parent / f"{path.name}.{mtime}"
    target.parent.mkdir(parents=True, exist_ok=True)
    FILES.forget(path)
    path.replace(target)
    log.warning("%s: %s; moved to %s and computed again from the logs", path, why, target)
    return target


class Tables:
    """One part's tables in a data folder, a Parquet file per signal and UTC day."""

    def __init__(self, data_dir: Path, part: str) -> None:
        self.data_dir = data_dir
        self.root = data_dir / "partials" / part

    def damaged(self, signal: str, schema: pl.Schema) -> list[tuple[Path, date | None, str]]:
        """The signal's stored files that cannot be read as tables of ``schema``: (path, its
        day or None for the day rollups, why)."""
        found = []
        for path in self.days(signal):
            why = readable(path, schema)
            if why is not None:
                found.append((path, date.fromisoformat(path.stem[5:]), why))
        rollups = self.folder(signal) / "days.parquet"
        if rollups.exists() and (why := readable(rollups, schema)) is not None:
            found.append((rollups, None, why))
        return found

    def folder(self, signal: str) -> Path:
        return self.root / f"signal={signal}"

    def _file(self, signal: str, day: date) -> Path:
        return self.folder(signal) / f"date={day.isoformat()}.parquet"

    def days(self, signal: str) -> list[Path]:
        folder = self.folder(signal)
        return sorted(folder.glob("date=*.parquet")) if folder.exists() else []

    def write(
        self,
        signal: str,
        table: pl.DataFrame,
        start: datetime | None = None,
        end: datetime | None = None,
        keep: bool | None = None,
    ) -> dict[date, pl.DataFrame]:
        """Store ``table`` as the rows of the buckets ``[start, end)`` (by default: from its
        first bucket to the end of its last), replacing whatever was stored for them (a
        recomputed bucket with no rows left is emptied). Returns each day's rows as stored.
        The process keeps the files written in memory (``FILES``) when ``keep``, by default
        when the span is a run's few new buckets, not a backfill's days."""
        written: dict[date, pl.DataFrame] = {}
        if start is None or end is None:
            if table.is_empty():
                return written
            start, end = table["bucket"].min(), table["bucket"].max() + BUCKET
        if keep is None:
            keep = end - start <= KEEP_WRITES_UP_TO
        self.folder(signal).mkdir(parents=True, exist_ok=True)
        by_day = {
            key[0]: rows
            for key, rows in table.filter(pl.col("bucket").is_between(start, end, closed="left"))
            .sort("bucket")
            .group_by(pl.col("bucket").dt.date(), maintain_order=True)
        }
        for day in days_touched(start, end):
            lo, hi = max(start, _midnight(day, start)), min(end, _midnight(day, start, 1))
            rows = by_day.get(day, table.clear())
            path = self._file(signal, day)
            exists = path.exists()
            if exists:
                kept = FILES.read(path, keep).filter(
                    ~pl.col("bucket").is_between(lo, hi, closed="left")
                )
                if not kept.is_empty():
                    rows = pl.concat([kept, rows.select(kept.columns)]).sort("bucket")
            if not rows.is_empty() or exists:
                FILES.write(rows, path, keep)
                written[day] = rows
        return written

    def _rollup(self, stored: pl.DataFrame) -> pl.DataFrame:
        """Each day of ``stored`` summed into a row (per group) at its midnight."""
        raise NotImplementedError(f"{type(self).__name__} does not roll up")

    def _read_compact(
        self, signal: str, schema: pl.Schema, start: datetime, end: datetime, fine: set[date]
    ) -> tuple[pl.DataFrame, set[date]]:
        """The buckets of ``[start, end)`` with each full day not in ``fine`` as its rollup:
        a 28-day window is a few days of buckets and a row (per group) for each other day,
        however long the tables are. Returns the table and the days it holds rolled up; a sum
        between two times on bucket boundaries outside those days equals the sum over the
        buckets.

        The rollups are a cache kept in ``days.parquet``: each row carries the ``stamp`` of
        the day file it summed (inode, modification time and size), and a day whose file has
        changed since, or was never rolled up, is summed from its buckets here and kept. So
        writing (every run appends to today's file) never pays for it, and a day is summed
        once after its last change."""
        whole = {
            d
            for d in days_touched(start, end)
            if d not in fine and _midnight(d, start) >= start and _midnight(d, start, 1) <= end
        }
        stamps = {d: now for d in whole if (now := stamp(self._file(signal, d))) is not None}
        path = self.folder(signal) / "days.parquet"
        cached = pl.DataFrame(schema={**schema, "stamp": pl.Utf8()})
        if whole and path.exists():
            kept = FILES.read(path)
            if kept.schema == cached.schema:
                cached = kept
        current = pl.DataFrame(
            {"day": list(stamps), "stamp": list(stamps.values())},
            schema={"day": pl.Date(), "stamp": pl.Utf8()},
        )
        fresh = cached.join(
            current, left_on=[pl.col("bucket").dt.date(), "stamp"], right_on=["day", "stamp"]
        ).select(cached.columns)
        # a day whose file was pruned (``prune_days``): its rollup is all that is left of it
        pruned = sorted(whole - set(stamps))
        if pruned:
            fresh = pl.concat([fresh, cached.filter(pl.col("bucket").dt.date().is_in(pruned))])
        stale = set(stamps) - set(fresh["bucket"].dt.date().to_list())
        if stale:
            summed = self._rollup(self._days(signal, schema, sorted(stale)))
            day = pl.col("bucket").dt.date()
            summed = summed.with_columns(
                day.replace_strict(stamps, return_dtype=pl.Utf8).alias("stamp")
            ).select(cached.columns)
            fresh = pl.concat([fresh, summed])
            kept = cached.filter(~day.is_in(sorted(stale)))
            FILES.write(pl.concat([kept, summed]).sort("bucket"), path)
        compacted = set(stamps) | set(fresh["bucket"].dt.date().to_list())
        buckets = Tables.read(self, signal, schema, start, end, skip=compacted)
        table = pl.concat([fresh.select(buckets.columns), buckets]).sort("bucket")
        return table, compacted

    def first_day(self, signal: str) -> date | None:
        """The first day stored, as a day file or (once pruned) as a rollup."""
        files = self.days(signal)
        first = [date.fromisoformat(files[0].stem[5:])] if files else []
        path = self.folder(signal) / "days.parquet"
        if path.exists():
            rolled = FILES.read(path)["bucket"].min()
            if rolled is not None:
                first.append(rolled.date())
        return min(first) if first else None

    def prune_days(
        self, signal: str, schema: pl.Schema, before: date, *, rolled: bool, dry_run: bool = False
    ) -> int:
        """Delete the day files of days before ``before``; with ``rolled``, each day's rollup is
        made first (kept in ``days.parquet``: compliance over old months reads it). The number
        of files that go."""
        old = [p for p in self.days(signal) if date.fromisoformat(p.stem[5:]) < before]
        if dry_run or not old:
            return len(old)
        if rolled:
            first = date.fromisoformat(old[0].stem[5:])
            start = datetime.combine(first, datetime.min.time(), UTC)
            end = datetime.combine(before, datetime.min.time(), UTC)
            self._read_compact(signal, schema, start, end, set())
        for path in old:
            FILES.forget(path)
            path.unlink(missing_ok=True)
        return len(old)

    def _days(self, signal: str, schema: pl.Schema, days: list[date]) -> pl.DataFrame:
        """Every stored row of these days."""
        return _conform([FILES.read(self._file(signal, d)) for d in days], schema)

    def read(
        self,
        signal: str,
        schema: pl.Schema,
        start: datetime,
        end: datetime,
        skip: set[date] = frozenset(),
        keep: bool = True,
    ) -> pl.DataFrame:
        """Stored rows of the buckets of ``[start, end)``, by bucket, with ``schema``'s columns
        (the files of the days in ``skip`` are not read; those read are kept in memory for
        the next read when ``keep``)."""
        wanted = {f"date={day}" for day in days_touched(start, end) if day not in skip}
        files = [path for path in self.days(signal) if path.stem in wanted]
        frames = []
        for path in files:
            try:
                frames.append(FILES.read(path, keep))
            except FileNotFoundError:  # replaced or removed since listed
                continue
        table = _conform(frames, schema)
        return table.filter(pl.col("bucket").is_between(start, end, closed="left"))


class ServingTables(Tables):
    """The serving tables of a data folder: a row for every computed bucket."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, "serving")

    def read(  # type: ignore[override]
        self,
        signal: Signal,
        start: datetime,
        end: datetime,
        columns: list[str] | None = None,
        keep: bool = True,
    ) -> pl.DataFrame:
        """Stored buckets of ``[start, end)``, oldest first, with this signal's schema (only
        ``columns`` of it when given: a reader that only counts skips the histogram)."""
        schema = serving_schema(signal)
        if columns is not None:
            schema = pl.Schema({c: schema[c] for c in columns})
        return super().read(signal.name, schema, start, end, keep=keep)

    def _rollup(self, stored: pl.DataFrame) -> pl.DataFrame:
        """A day's buckets summed; a source error stays on the day's buckets, whose latency
        and cost the source left at zero."""
        numeric = [c for c, t in stored.schema.items() if t.is_numeric()]
        return (
            stored.group_by(pl.col("bucket").dt.truncate("1d"), maintain_order=True)
            .agg(
                *[pl.col(c).sum() for c in numeric],
                pl.col("source").last(),
                pl.lit(None, pl.Utf8).alias("source_error"),
            )
            .select(stored.columns)
        )

    def read_compact(
        self, signal: Signal, start: datetime, end: datetime, fine: set[date]
    ) -> tuple[pl.DataFrame, set[date]]:
        """``[start, end)`` with its full days outside ``fine`` a row each (``_read_compact``)."""
        return self._read_compact(signal.name, serving_schema(signal), start, end, fine)

    def end(self, signal: Signal, source: str) -> datetime | None:
        """The end of the latest stored bucket (where the next computation starts); None when
        nothing is stored, or when the signal's columns (a new latency threshold) or its
        serving source changed since: then every bucket is computed again."""
        days = self.days(signal.name)
        if not days:
            return None
        stored = FILES.read(days[-1])
        if stored.schema != serving_schema(signal):
            return None
        latest = stored.select("bucket", "source").tail(1)
        if latest.is_empty() or latest["source"][0] != source:
            return None
        return latest["bucket"][0] + BUCKET


class GroupedTables(Tables):
    """The serving-by-group tables of one ``group_by`` in a data folder: a row per bucket and
    group with events."""

    def __init__(self, data_dir: Path, by: tuple[str, ...]) -> None:
        super().__init__(data_dir, "serving-by-" + "+".join(by))
        self.by = by

    def read(  # type: ignore[override]
        self, signal: Signal, start: datetime, end: datetime, keep: bool = True
    ) -> pl.DataFrame:
        return super().read(signal.name, grouped_schema(signal, self.by), start, end, keep=keep)

    def _rollup(self, stored: pl.DataFrame) -> pl.DataFrame:
        """A day's rows summed per group."""
        numeric = [c for c, t in stored.schema.items() if t.is_numeric()]
        return (
            stored.group_by(pl.col("bucket").dt.truncate("1d"), *self.by, maintain_order=True)
            .agg(pl.col(numeric).sum())
            .select(stored.columns)
            .sort("bucket", *self.by)
        )

    def read_compact(
        self, signal: Signal, start: datetime, end: datetime, fine: set[date]
    ) -> tuple[pl.DataFrame, set[date]]:
        """``[start, end)`` with its full days outside ``fine`` a row per group each
        (``_read_compact``)."""
        schema = grouped_schema(signal, self.by)
        return self._read_compact(signal.name, schema, start, end, fine)

    def end(self, signal: Signal) -> datetime | None:
        """The end of the latest stored bucket; None when nothing is stored or the columns
        changed since (then every bucket is computed again)."""
        days = self.days(signal.name)
        stored = FILES.read(days[-1]) if days else None
        if stored is None or stored.schema != grouped_schema(signal, self.by):
            return None
        # Only buckets with rows are stored: after a quiet spell this is earlier than where the
        # computation ended, and those buckets are computed again (no harm: it is idempotent).
        latest = stored["bucket"].max()
        return latest + BUCKET if latest is not None else None


@dataclass(frozen=True)
class QualityState:
    """How far a signal's quality table is computed, and from which labels."""

    end: datetime
    labels: str  # the label files' fingerprint (names, sizes, modification times)
    schema: str


class QualityTables(Tables):
    """The quality tables of a data folder, with what they were computed from
    (``state.json``) and the signal's label versions (``labels.parquet``: one row per human
    label with its ``known``/``until`` span, rebuilt when a label file changes)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, "quality")

    def read(  # type: ignore[override]
        self, signal: Signal, start: datetime, end: datetime, keep: bool = True
    ) -> pl.DataFrame:
        return super().read(signal.name, quality_schema(signal), start, end, keep=keep)

    def state(self, signal: Signal) -> QualityState | None:
        """What is stored, or None when nothing is or the task's schema changed since."""
        path = self.folder(signal.name) / "state.json"
        if not path.exists():
            return None
        try:
            raw = json.loads(path.read_text())
            end = datetime.fromisoformat(raw["end"])
            state = QualityState(end, raw["labels"], raw["schema"])
        except (ValueError, KeyError, TypeError):  # damaged: computed again, as if new
            quarantine(self.data_dir, path, "not a readable state file")
            return None
        return state if state.schema == str(quality_schema(signal)) else None

    def save_state(self, signal: Signal, end: datetime, labels: str) -> None:
        folder = self.folder(signal.name)
        folder.mkdir(parents=True, exist_ok=True)
        raw = {"end": end.isoformat(), "labels": labels, "schema": str(quality_schema(signal))}
        tmp = folder / f".state.{writer()}.tmp"
        tmp.write_text(json.dumps(raw))
        tmp.replace(folder / "state.json")

    def versions_path(self, signal: Signal) -> Path:
        return self.folder(signal.name) / "labels.parquet"


def latency_quantile(hist: np.ndarray, q: float) -> float | None:
    """The q-quantile (0..1) of a latency histogram (counts per bin), at the upper edge of its
    bin (ms)."""
    total = float(hist.sum())
    if not total:
        return None
    k = int(np.searchsorted(np.cumsum(hist), q * total, side="left"))
    return math.pow(10, (min(k, MAX_BIN) + 1) / BINS_PER_DECADE)


def prune_partials(data_dir: Path, registry, before: date, *, dry_run: bool = False) -> dict:
    """Delete the partial tables' day files of days before ``before`` (``SIGWATCH_BUCKET_
    RETENTION``): the 5-minute buckets of the serving and serving-by-group tables, summed into
    their day rollups first (weekly and monthly compliance read those), and the quality tables'
    rows (every quality slice is measured and stored long before). Files per table kind."""
    counts: dict[str, int] = {}

    def add(part: str, n: int) -> None:
        counts[part] = counts.get(part, 0) + n

    for signal in registry:
        serving = ServingTables(data_dir)
        add(
            "serving",
            serving.prune_days(
                signal.name, serving_schema(signal), before, rolled=True, dry_run=dry_run
            ),
        )
        for folder in sorted((data_dir / "partials").glob("serving-by-*")):
            by = tuple(folder.name.removeprefix("serving-by-").split("+"))
            if not set(by) <= set(DIMENSIONS):
                continue
            grouped = GroupedTables(data_dir, by)
            schema = grouped_schema(signal, by)
            add(
                "serving-by-group",
                grouped.prune_days(signal.name, schema, before, rolled=True, dry_run=dry_run),
            )
        quality = QualityTables(data_dir)
        add(
            "quality",
            quality.prune_days(
                signal.name, quality_schema(signal), before, rolled=False, dry_run=dry_run
            ),
        )
    return counts
