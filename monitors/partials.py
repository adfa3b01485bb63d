"""Serving partials as a table: one row per 5-minute bucket of a signal's logs, with a declared
schema, computed by one Polars plan and kept as Parquet.

Summing rows gives any window (5 minutes, 1 hour, 28 days) without reading a log again. A
computed bucket with no rows is stored as zeros, which is what tells "no data" apart from "not
computed yet". The columns (``serving_schema``):

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

Counts of items come from the logs always; the latency and cost columns come from the
signal's serving source (``monitors.sources``): the logs, or the fleet's Prometheus.

The engine seam (``Engine``): ``serving(data_dir, signal, start, end)`` returns this table
with one row for every bucket of ``[start, end)``. It must be idempotent (the same logs give
the same table) and may be asked again for buckets it computed before: a bucket can still
change while logs for it may arrive (the last ``RECOMPUTE`` before the latest computed bucket)
and while its serving source failed for it. ``PolarsEngine`` is the embedded default; another
engine (Spark) returns an equal table and nothing after the seam knows which ran.
"""

from __future__ import annotations

import math
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from monitors.logs import scan_logs
from sigwatch.model import LatencySLI, Signal

BUCKET = timedelta(minutes=5)
RECOMPUTE = 3 * BUCKET  # the last buckets are recounted each run, for logs written late
# Latency histogram: bin k holds latencies in [10^(k/20), 10^((k+1)/20)) ms (12% wide), 0..5 s.
BINS_PER_DECADE = 20
MAX_BIN = 74
HIST = [f"hist_{k}" for k in range(MAX_BIN + 1)]
COUNTS = ("total", "ok", "abstain", "error", "timeout", "served", "external")


def latency_thresholds(signal: Signal) -> list[float]:
    return sorted({slo.sli.threshold_ms for slo in signal.slos if isinstance(slo.sli, LatencySLI)})


def le_column(threshold_ms: float) -> str:
    return f"le_{threshold_ms:g}"


def serving_schema(signal: Signal) -> pl.Schema:
    """The serving table's columns for this signal (one ``le_`` column per latency threshold)."""
    return pl.Schema(
        {
            "bucket": pl.Datetime("us", "UTC"),
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


def buckets(start: datetime, end: datetime) -> pl.Series:
    """The bucket starts of ``[start, end)`` (both on bucket boundaries)."""
    return pl.datetime_range(
        start, end - BUCKET, BUCKET, closed="both", time_unit="us", time_zone="UTC", eager=True
    ).alias("bucket")


class Engine(Protocol):
    """Computes partial tables from the logs; see the module docstring for the contract."""

    def serving(
        self, data_dir: Path, signal: Signal, start: datetime, end: datetime
    ) -> pl.DataFrame:
        """The serving table of ``[start, end)``: a row for every bucket, ordered by bucket."""
        ...


class PolarsEngine:
    """The embedded engine: one lazy Polars plan over the partitions the range touches."""

    def serving(
        self, data_dir: Path, signal: Signal, start: datetime, end: datetime
    ) -> pl.DataFrame:
        schema = serving_schema(signal)
        frame = pl.DataFrame({"bucket": buckets(start, end)})
        logs = scan_logs(
            data_dir, signal, start, end, ["status", "score", "latency_ms", "cost_usd", "served_by"]
        )
        if logs is not None:
            frame = frame.join(_aggregate(logs, signal), on="bucket", how="left")
        return _complete(frame, schema)


def _aggregate(logs: pl.LazyFrame, signal: Signal) -> pl.DataFrame:
    status = pl.col("status")
    external = pl.col("served_by") == "external_api"
    latency = pl.col("latency_ms")
    step = f"{int(BUCKET.total_seconds())}s"
    binned = (
        (latency.clip(lower_bound=1.0).log10() * BINS_PER_DECADE).floor().clip(0, MAX_BIN)
    ).cast(pl.Int32)
    return (
        logs.with_columns(
            pl.col("event_time").dt.truncate(step).alias("bucket"), binned.alias("bin")
        )
        .group_by("bucket")
        .agg(
            pl.len().cast(pl.Int64).alias("total"),
            *[
                (status == s).sum().cast(pl.Int64).alias(s)
                for s in ("ok", "abstain", "error", "timeout")
            ],
            ((status == "ok") & (pl.col("score") >= signal.serving_threshold))
            .sum()
            .cast(pl.Int64)
            .alias("served"),
            external.sum().cast(pl.Int64).alias("external"),
            *[
                (latency <= t).sum().cast(pl.Float64).alias(le_column(t))
                for t in latency_thresholds(signal)
            ],
            *[(pl.col("bin") == k).sum().cast(pl.Int64).alias(HIST[k]) for k in range(MAX_BIN + 1)],
            pl.col("cost_usd").sum().alias("cost"),
            pl.col("cost_usd").filter(external).sum().alias("cost_external"),
        )
        .collect()
    )


def _complete(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Every column of ``schema``: a bucket without logs counts zeros; latency and cost are the
    logs' (a serving source may replace them)."""
    have = set(frame.columns)

    def column(name: str) -> pl.Expr:
        if name == "bucket":
            return pl.col("bucket")
        if name in ("latency_total", "requests"):
            return pl.col("total").fill_null(0) if "total" in have else pl.lit(0)
        if name == "source":
            return pl.lit("logs")
        if name == "source_error":
            return pl.lit(None, pl.Utf8)
        return pl.col(name).fill_null(0) if name in have else pl.lit(0)

    return frame.select([column(name).cast(dtype).alias(name) for name, dtype in schema.items()])


class ServingTables:
    """The serving tables of a data folder: ``<data>/partials/serving/signal=<name>/
    date=<YYYY-MM-DD>.parquet``, a file per UTC day, rewritten whole (atomically) when buckets
    of that day are computed again."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "partials" / "serving"

    def _folder(self, signal: str) -> Path:
        return self.root / f"signal={signal}"

    def _file(self, signal: str, day: date) -> Path:
        return self._folder(signal) / f"date={day.isoformat()}.parquet"

    def write(self, signal: str, table: pl.DataFrame) -> None:
        """Store ``table``'s buckets, replacing those already stored."""
        if table.is_empty():
            return
        self._folder(signal).mkdir(parents=True, exist_ok=True)
        for (day,), rows in table.group_by(pl.col("bucket").dt.date(), maintain_order=True):
            path = self._file(signal, day)
            if path.exists():
                kept = pl.read_parquet(path).filter(
                    ~pl.col("bucket").is_in(rows["bucket"].implode())
                )
                rows = (
                    pl.concat([kept, rows.select(kept.columns)], how="vertical")
                    if not kept.is_empty()
                    else rows
                )
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            rows.sort("bucket").write_parquet(tmp)
            tmp.replace(path)

    def read(
        self, signal: Signal, start: datetime, end: datetime, columns: list[str] | None = None
    ) -> pl.DataFrame:
        """Stored buckets of ``[start, end)``, oldest first, with this signal's schema (only
        ``columns`` of it when given: a reader that only counts skips the histogram)."""
        schema = serving_schema(signal)
        if columns is not None:
            schema = pl.Schema({c: schema[c] for c in columns})
        first, last = f"date={start.date()}", f"date={(end - timedelta(microseconds=1)).date()}"
        folder = self._folder(signal.name)
        stored = sorted(folder.glob("date=*.parquet")) if folder.exists() else []
        files = [path for path in stored if first <= path.stem <= last]
        if not files:
            return pl.DataFrame(schema=schema)
        return (
            pl.scan_parquet(files, extra_columns="ignore", missing_columns="insert")
            .filter(pl.col("bucket").is_between(start, end, closed="left"))
            .select([pl.col(c).cast(t) for c, t in schema.items()])
            .collect()
        )

    def end(self, signal: Signal, source: str) -> datetime | None:
        """The end of the latest stored bucket (where the next computation starts); None when
        nothing is stored, or when the signal's columns (a new latency threshold) or its
        serving source changed since: then every bucket is computed again."""
        folder = self._folder(signal.name)
        days = sorted(folder.glob("date=*.parquet")) if folder.exists() else []
        if not days:
            return None
        stored = pl.read_parquet_schema(days[-1])
        if stored != dict(serving_schema(signal)):
            return None
        latest = pl.read_parquet(days[-1], columns=["bucket", "source"]).tail(1)
        if latest.is_empty() or latest["source"][0] != source:
            return None
        return latest["bucket"][0] + BUCKET


def latency_quantile(hist: np.ndarray, q: float) -> float | None:
    """The q-quantile (0..1) of a latency histogram (counts per bin), at the upper edge of its
    bin (ms)."""
    total = float(hist.sum())
    if not total:
        return None
    k = int(np.searchsorted(np.cumsum(hist), q * total, side="left"))
    return math.pow(10, (min(k, MAX_BIN) + 1) / BINS_PER_DECADE)
