"""The engine seam: "compute these partial tables for this signal and this time range from the
logs". ``PolarsEngine`` is the embedded default; a Spark engine is another class with the same
method, and nothing after the seam (evaluation, alerts, the console) knows which one ran.

The contract of ``Engine.partials(data_dir, signal, start, end, versions)``:

- ``start`` and ``end`` are bucket boundaries (``monitors.partials.BUCKET``); the result holds
  the tables of exactly the buckets of ``[start, end)``, with the schemas of
  ``monitors.partials`` (``serving_schema``, ``quality_schema``): a serving row for every
  bucket, zeros where there were no logs; quality rows only where labelled predictions are.
- ``versions`` is the signal's label versions (``label_versions``), or None when no SLO of the
  signal reads human labels: then ``quality`` is None.
- It is idempotent: the same logs and labels give equal tables, so any bucket may be asked
  again. The runner asks again for the buckets that can still change: the last ``RECOMPUTE``
  before the latest computed bucket (logs written late), buckets whose serving source failed,
  and, when a label file changed, the buckets of the slices late labels still change.
- It reads the logs through ``monitors.logs`` (the data contract) and needs no state of its
  own. The runner asks for at most ``monitors.runner.CHUNK`` (a week) at a time, so a
  backfill's memory follows a week of logs whatever its length; within that, memory should
  follow the tables returned, not the rows read (``PolarsEngine`` streams its plans).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from monitors.logs import label_files, scan_label_rows, scan_logs
from monitors.partials import (
    BINS_PER_DECADE,
    BUCKET,
    HIST,
    MAX_BIN,
    grouped_schema,
    groupings,
    latency_thresholds,
    le_column,
    quality_dims,
    quality_schema,
    serving_schema,
)
from sigwatch.model import NONE, Signal

STEP = f"{int(BUCKET.total_seconds())}s"
SERVING_COLUMNS = ["status", "score", "latency_ms", "cost_usd", "served_by"]
SEPARATE_SCANS = pl.QueryOptFlags(comm_subplan_elim=False)
STREAM_FROM = timedelta(hours=6)
ITEM_SEED = 20261130  # item ids hashed to filter the rows of labelled items
LABELS_PER_PART = 50_000  # label rows sorted at once by ``label_versions``
VERSIONS = pl.Schema(
    {
        "item_id": pl.Utf8,
        "known": pl.Datetime("us", "UTC"),
        "until": pl.Datetime("us", "UTC"),
        "truth": pl.Utf8,
        "truths": pl.List(pl.Utf8),
    }
)


@dataclass(frozen=True)
class Partials:
    """The partial tables of one signal over a range of buckets."""

    serving: pl.DataFrame
    quality: pl.DataFrame | None = None
    grouped: dict[tuple[str, ...], pl.DataFrame] = field(default_factory=dict)  # by group_by


class Engine(Protocol):
    """Computes partial tables from the logs; see the module docstring for the contract."""

    def partials(
        self,
        data_dir: Path,
        signal: Signal,
        start: datetime,
        end: datetime,
        versions: pl.DataFrame | None,
    ) -> Partials: ...

    def first_day(self, data_dir: Path, signal: Signal) -> date | None:
        """The first UTC day of the signal's logs (a first backfill starts there), or None."""
        ...


def make_engine(settings, choice: str | None = None) -> Engine:
    """The engine ``choice`` names (a command's ``--engine``), else ``SIGWATCH_ENGINE``'s:
    ``polars`` or ``spark`` (``monitors.spark_engine``; pyspark is imported when it runs)."""
    name = choice or settings.engine
    if name == "polars":
        return PolarsEngine()
    if name == "spark":
        from monitors.spark_engine import SparkEngine

        return SparkEngine.from_settings(settings)
    raise ValueError(f"engine {name!r} is not known; allowed: polars, spark")


def buckets(start: datetime, end: datetime) -> pl.Series:
    """The bucket starts of ``[start, end)`` (both on bucket boundaries)."""
    return pl.datetime_range(
        start, end - BUCKET, BUCKET, closed="both", time_unit="us", time_zone="UTC", eager=True
    ).alias("bucket")


def _ceil(column: str) -> pl.Expr:
    """A time rounded up to a bucket end (a label known at 10:02 is known at 10:05)."""
    return (pl.col(column) - timedelta(microseconds=1)).dt.truncate(STEP) + BUCKET


def label_fingerprint(data_dir: Path, signal: Signal) -> str:
    """Names, sizes and modification times of the signal's label files: a change means labels
    arrived (or were corrected)."""
    return ";".join(
        f"{p.name}:{s.st_size}:{s.st_mtime_ns}"
        for p in label_files(data_dir, signal)
        for s in [p.stat()]
    )


def label_versions(data_dir: Path, signal: Signal) -> pl.DataFrame:
    """Every human label of the signal with the span of evaluation times at which it is the
    item's latest: ``item_id``, ``known``, ``until`` (see ``monitors.partials``), ``truth``
    (single-label tasks) and ``truths`` (label sets). Of two labels of an item with the same
    ``labeled_at``, the one later in the files wins; a label overtaken before its bucket end
    is never the latest at an evaluation time and is left out.

    The labels are sorted by item in parts of at most ``LABELS_PER_PART`` (by a hash of the
    item, so an item's labels share a part): sorting a long history at once is what made a
    backfill's memory grow with its window."""
    rows = scan_label_rows(data_dir, signal)
    if rows is None:
        return pl.DataFrame(schema=VERSIONS)
    n = rows.select(pl.len()).collect().item()
    parts = max(1, -(-n // LABELS_PER_PART))
    if parts == 1:
        return _versions(rows)
    part = pl.col("item_id").hash(ITEM_SEED) % parts
    return pl.concat([_versions(rows.filter(part == k)) for k in range(parts)])


def _versions(rows: pl.LazyFrame) -> pl.DataFrame:
    same_item = pl.col("item_id") == pl.col("item_id").shift(-1)
    same_time = same_item & (pl.col("labeled_at") == pl.col("labeled_at").shift(-1))
    return (
        rows.sort("item_id", "labeled_at", maintain_order=True)
        .filter(~same_time.fill_null(False))  # of labels at the same instant, the last stays
        .with_columns(pl.when(same_item).then(pl.col("labeled_at").shift(-1)).alias("next"))
        .with_columns(_ceil("labeled_at").alias("known"), _ceil("next").alias("until"))
        .filter(pl.col("until").is_null() | (pl.col("until") > pl.col("known")))
        .select("item_id", "known", "until", truth="label", truths="labels")
        .collect(engine="streaming")
        .cast(VERSIONS)
    )


class PolarsEngine:
    """The embedded engine: lazy plans over the partitions the range touches, run together by
    Polars' streaming engine. The serving counts and the latency histogram come from one
    aggregation keyed by (bucket, latency bin); the quality table from the served, labelled
    rows joined with the label versions."""

    def __init__(self) -> None:
        self._versions: pl.DataFrame | None = None
        self._hashes = pl.Series(dtype=pl.List(pl.UInt64))

    def partials(
        self,
        data_dir: Path,
        signal: Signal,
        start: datetime,
        end: datetime,
        versions: pl.DataFrame | None,
    ) -> Partials:
        by_columns = groupings(signal)
        logs = scan_logs(data_dir, signal, start, end, log_columns(signal, versions is not None))
        if logs is None or start >= end:
            return no_logs(signal, start, end, versions)
        # A long range streams (memory follows the aggregates); a run's few new buckets go
        # through the in-memory engine, whose start-up is cheaper, from one read of the logs:
        # each plan scanning them again would decode their row groups again (a day's file may
        # be a few row groups, of which the new minutes are a sliver).
        long = end - start > STREAM_FROM
        if not long:
            logs = logs.collect().lazy()
        plans = [_counts(logs, signal, start)]
        plans += [_grouped_counts(logs, signal, start, by) for by in by_columns]
        if versions is not None:
            rows = logs.with_columns(pl.col("event_time").dt.truncate(STEP).alias("bucket"))
            predicted, hashes = _predicted_column(signal), self._labelled(versions)
            plans.append(_served_labelled(rows, predicted, hashes, quality_dims(signal)))
        if long:
            # Each plan streams its own scan: sharing one (common subplan elimination) caches
            # the columns read, and memory would follow the rows, not the tables.
            counts, *rest = pl.collect_all(plans, engine="streaming", optimizations=SEPARATE_SCANS)
        else:
            # One after the other: collect_all on the in-memory engine was seen to hang (a
            # full test run under libfaketime, in Polars' thread pool).
            counts, *rest = [plan.collect() for plan in plans]
        grouped = {
            by: _grouped_table(rest[k], signal, start, by) for k, by in enumerate(by_columns)
        }
        rest = rest[len(by_columns) :]
        quality = quality_table(rest[0], versions, signal) if rest else None
        return Partials(_serving_table(counts, signal, start, end), quality, grouped)

    def _labelled(self, versions: pl.DataFrame) -> pl.Series:
        """The labelled items' hashes (the runner asks chunk after chunk with the same
        versions): a set of integers, not of strings, filters the logs' rows."""
        if self._versions is not versions:
            hashes = versions["item_id"].hash(ITEM_SEED).unique().implode()
            self._versions, self._hashes = versions, hashes
        return self._hashes

    def serving(
        self, data_dir: Path, signal: Signal, start: datetime, end: datetime
    ) -> pl.DataFrame:
        """The serving table alone."""
        return self.partials(data_dir, signal, start, end, None).serving

    def first_day(self, data_dir: Path, signal: Signal) -> date | None:
        """The first UTC day the signal has logs for (its first ``date=`` partition)."""
        return first_log_day(data_dir, signal)


def first_log_day(data_dir: Path, signal: Signal) -> date | None:
    folder = data_dir / "predictions" / f"signal={signal.name}"
    days = sorted(p.name[5:] for p in folder.glob("date=*")) if folder.exists() else []
    return date.fromisoformat(days[0]) if days else None


def log_columns(signal: Signal, labelled: bool) -> list[str]:
    """The log columns a signal's partials read (``labelled``: its quality table too)."""
    predicted = _predicted_column(signal)
    return list(
        dict.fromkeys(
            [
                *SERVING_COLUMNS,
                *(column for by in groupings(signal) for column in by),
                *(["item_id", predicted, *quality_dims(signal)] if labelled else []),
            ]
        )
    )


def no_logs(
    signal: Signal, start: datetime, end: datetime, versions: pl.DataFrame | None
) -> Partials:
    """The partials of a range without logs: zero buckets, empty quality and grouped tables."""
    quality = pl.DataFrame(schema=quality_schema(signal)) if versions is not None else None
    grouped = {by: pl.DataFrame(schema=grouped_schema(signal, by)) for by in groupings(signal)}
    return Partials(_serving_table(None, signal, start, end), quality, grouped)


def quality_table(served: pl.DataFrame, versions: pl.DataFrame, signal: Signal) -> pl.DataFrame:
    """The quality table of the served, labelled rows, in the order it is stored."""
    dims = quality_dims(signal)
    return _quality(served, versions, signal).sort(
        "bucket", *dims, "known", "until", nulls_last=True
    )


def _predicted_column(signal: Signal) -> str:
    if signal.task == "entities":
        return "labels"
    return "score" if signal.task == "score" else "label"


BINS = MAX_BIN + 2  # the histogram's bins, and one for answers without a latency
TIME = pl.Datetime("us", "UTC")
_BUCKET_US = int(BUCKET.total_seconds() * 1_000_000)


def _bucket_index(start: datetime) -> pl.Expr:
    since = pl.col("event_time").dt.epoch("us") - int(start.timestamp() * 1_000_000)
    return since // int(BUCKET.total_seconds() * 1_000_000)


def _bin_edges() -> np.ndarray:
    """The lower edges of latency bins 1..MAX_BIN as float32: the least float32 at or above
    10^(k / BINS_PER_DECADE) ms, so ``x >= edge`` is ``x >= 10^(k/20)`` exactly for any
    float32 latency (bin 0 is everything below the first edge)."""
    edges = []
    for k in range(1, MAX_BIN + 1):
        exact = 10 ** (k / BINS_PER_DECADE)
        edge = np.float32(exact)
        if float(edge) < exact:
            edge = np.nextafter(edge, np.float32(np.inf))
        edges.append(edge)
    return np.array(edges, dtype=np.float32)


LATENCY_EDGES = _bin_edges()


def latency_bin() -> pl.Expr:
    """A row's latency histogram bin: ``BINS_PER_DECADE`` a decade from 1 ms, ``BINS - 1``
    without a latency (null or NaN). Found by comparisons with ``LATENCY_EDGES``, not by a
    logarithm: Spark's log and Polars' float32 one round differently near the edges, and both
    engines must put every row in the same bin."""
    latency = pl.col("latency_ms").fill_nan(None)
    edges = pl.lit(pl.Series("edges", LATENCY_EDGES))
    return (
        pl.when(latency.is_null())
        .then(BINS - 1)
        .otherwise(edges.search_sorted(latency, side="right"))
        .cast(pl.Int64)
    )


def _counts(logs: pl.LazyFrame, signal: Signal, start: datetime) -> pl.LazyFrame:
    """Counts per (bucket, latency bin), keyed by one integer: bucket index x BINS + bin."""
    key = _bucket_index(start) * BINS + latency_bin()
    return logs.group_by(key.alias("key")).agg(*_count_columns(signal))


def _grouped_counts(
    logs: pl.LazyFrame, signal: Signal, start: datetime, by: tuple[str, ...]
) -> pl.LazyFrame:
    """The same counts per (bucket index, group), without the histogram."""
    groups = [pl.col(column).fill_null(NONE) for column in by]
    return logs.group_by(_bucket_index(start).alias("index"), *groups).agg(*_count_columns(signal))


def _grouped_table(
    counts: pl.DataFrame, signal: Signal, start: datetime, by: tuple[str, ...]
) -> pl.DataFrame:
    schema = grouped_schema(signal, by)
    table = counts.with_columns(
        (pl.lit(start, TIME) + pl.duration(microseconds=pl.col("index") * _BUCKET_US)).alias(
            "bucket"
        ),
        *[pl.col("total").alias(name) for name in ("latency_total", "requests")],
    )
    return table.select([pl.col(c).cast(t) for c, t in schema.items()]).sort("bucket", *by)


def served(signal: Signal, col=pl.col, lit=lambda value: value):
    """The one definition of a *served* prediction (coverage's good event, the serving table's
    ``served`` count, a suspect slice's bad row when it is not): answered (status ``ok``) with a
    score at or over the signal's ``serving_threshold``. ``col`` and ``lit`` build a column and
    a literal in the engine's own expressions (Polars' by default, where a plain number takes
    the score's float32 type; the Spark engine casts its literal so), so both engines count the
    same rows."""
    return (col("status") == "ok") & (col("score") >= lit(signal.serving_threshold))


@dataclass(frozen=True)
class Count:
    """One column of the serving counts of a group of log rows, in either engine's terms:
    the rows where ``where(col, num)`` holds (every row when it is None), or the sum of column
    ``of`` over them. ``col`` builds a column and ``num`` a number literal in the engine's
    expressions (``served``); ``real`` counts are kept as floats (the latency buckets: a
    Prometheus histogram's are)."""

    name: str
    where: Callable | None = None
    of: str | None = None
    real: bool = False


def serving_counts(signal: Signal) -> list[Count]:
    """The one list of the serving counts both engines compute (``_serving_table`` names the
    rest): a new serving column is added here."""
    external = lambda col, num: col("served_by") == "external_api"  # noqa: E731
    return [
        Count("total"),
        *[
            Count(s, lambda col, num, s=s: col("status") == s)
            for s in ("ok", "abstain", "error", "timeout")
        ],
        Count("served", lambda col, num: served(signal, col, num)),
        Count("external", external),
        *[
            Count(le_column(t), lambda col, num, t=t: col("latency_ms") <= num(t), real=True)
            for t in latency_thresholds(signal)
        ],
        Count("cost", of="cost_usd"),
        Count("cost_external", external, of="cost_usd"),
    ]


def _count_columns(signal: Signal) -> list[pl.Expr]:
    """``serving_counts`` as Polars aggregations (a null condition is not counted)."""
    out = []
    for count in serving_counts(signal):
        where = None if count.where is None else count.where(pl.col, lambda v: v)
        if count.of is not None:
            column = pl.col(count.of)
            out.append((column if where is None else column.filter(where)).sum())
        elif where is None:
            out.append(pl.len().cast(pl.Int64))
        else:
            out.append(where.sum().cast(pl.Float64 if count.real else pl.Int64))
        out[-1] = out[-1].alias(count.name)
    return out


def _serving_table(
    counts: pl.DataFrame | None,
    signal: Signal,
    start: datetime,
    end: datetime,
    hist: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The serving table of ``[start, end)`` from the keyed counts: a row for every bucket
    (zeros where there were no logs), the histogram spread into its ``hist_<k>`` columns;
    latency and cost are the logs' (a serving source may replace them). With ``hist`` (its
    ``key`` and ``total``), ``counts`` holds one row per bucket ``index`` instead."""
    schema = serving_schema(signal)
    n = max(0, int((end - start) / BUCKET))
    columns: dict[str, object] = {"bucket": buckets(start, end) if n else []}
    if counts is None:
        index = keys = np.zeros(0, np.int64)
    elif hist is not None:
        index, keys = counts["index"].to_numpy(), hist["key"].to_numpy()
    else:
        keys = counts["key"].to_numpy()
        index, hist = keys // BINS, counts
    binned = keys % BINS
    for name in schema.names():
        if name in ("bucket", "source", "source_error") or name.startswith("hist_"):
            continue
        source = "total" if name in ("latency_total", "requests") else name
        weights = counts[source].to_numpy() if counts is not None else None
        columns[name] = np.bincount(index, weights=weights, minlength=n)[:n]
    spread = np.zeros((n, BINS), dtype=np.int64)
    if hist is not None:
        np.add.at(spread, (keys // BINS, binned), hist["total"].to_numpy())
    for k, name in enumerate(HIST):
        columns[name] = spread[:, k]
    columns["source"] = ["logs"] * n
    columns["source_error"] = [None] * n
    return pl.DataFrame(columns).select([pl.col(c).cast(t) for c, t in schema.items()])


def _served_labelled(
    rows: pl.LazyFrame, predicted: str, hashes: pl.Series, dims: tuple[str, ...]
) -> pl.LazyFrame:
    """The plan of the served rows whose item may be labelled (its hash is a labelled item's):
    ``bucket``, the ``dims`` columns, ``item_id``, ``predicted``. Few (labels are a sample), so
    a chunk collects them and joins them with its items' label versions only."""
    maybe = pl.col("item_id").hash(ITEM_SEED).is_in(hashes)
    return rows.filter((pl.col("status") == "ok") & maybe).select(
        "bucket",
        *[pl.col(d).fill_null(NONE) for d in dims],
        "item_id",
        pl.col(predicted).alias("predicted"),
    )


def _quality(served: pl.DataFrame, versions: pl.DataFrame, signal: Signal) -> pl.DataFrame:
    """The quality table from the served, possibly labelled rows: each joined to every version
    of its item's label (only the versions of these items are looked at: memory follows the
    chunk's labels, not all of them), counted per bucket and ``known``/``until`` span."""
    items = served["item_id"].unique().implode()
    mine = versions.filter(pl.col("item_id").is_in(items))
    joined = served.lazy().join(mine.lazy(), on="item_id")
    span = ["bucket", *quality_dims(signal), "known", "until"]
    if signal.task == "entities":
        counts = _entity_counts(joined, signal, span)
    elif signal.task == "score":
        counts = (
            joined.select(
                *span, score=pl.col("predicted").cast(pl.Float64).round(4), truth=pl.col("truth")
            )
            .drop_nulls(["score", "truth"])
            .group_by(*span, "score", "truth")
            .agg(pl.len().alias("n"))
        )
    else:
        counts = (
            joined.select(*span, "predicted", "truth")
            .drop_nulls(["predicted", "truth"])
            .group_by(*span, "predicted", "truth")
            .agg(pl.len().alias("n"))
        )
    schema = quality_schema(signal)
    return counts.select([pl.col(c).cast(t) for c, t in schema.items()]).collect()


def _entity_counts(joined: pl.LazyFrame, signal: Signal, span: list[str]) -> pl.LazyFrame:
    """Per entity type: an entity predicted and true is a true positive, predicted only a false
    positive, true only a miss; an item's set counts each entity once."""
    # The labelled predictions are few (labels are a sample): they are collected here, so each
    # item's row number is fixed before the sets are exploded and joined back.
    items = joined.collect(engine="streaming").with_row_index("row").lazy()
    kind = pl.col("entity").str.extract(r"^([^:]*):", 1)

    def side(column: str, flag: str) -> pl.LazyFrame:
        return (
            items.select("row", pl.col(column).alias("entity"))
            .explode("entity")
            .drop_nulls("entity")
            .unique(["row", "entity"])
            .with_columns(pl.lit(True).alias(flag))
        )

    both = side("predicted", "in_p").join(
        side("truths", "in_t"), on=["row", "entity"], how="full", coalesce=True
    )
    both = both.join(items.select("row", *span), on="row")  # each item's bucket and span
    per_class = (
        both.with_columns(
            kind.alias("cls"), pl.col("in_p").fill_null(False), pl.col("in_t").fill_null(False)
        )
        .filter(pl.col("cls").is_in(list(signal.classes)))
        .group_by(*span, "cls")
        .agg(
            (pl.col("in_p") & pl.col("in_t")).sum().alias("tp"),
            (pl.col("in_p") & ~pl.col("in_t")).sum().alias("fp"),
            (~pl.col("in_p") & pl.col("in_t")).sum().alias("fn"),
            pl.lit(0).alias("n"),
        )
    )
    labelled = items.group_by(*span).agg(
        pl.lit(None, pl.Utf8).alias("cls"),
        *[pl.lit(0).alias(c) for c in ("tp", "fp", "fn")],
        pl.len().alias("n"),
    )
    schema = quality_schema(signal)
    cast = [pl.col(c).cast(t) for c, t in schema.items()]
    return pl.concat([per_class.select(cast), labelled.select(cast)])
