"""Mergeable partial aggregates of a signal's logs per evaluation bucket (default 5 minutes).

``serving`` partials hold counts by status, the served count (ok and at or above the serving
threshold), the count at or under each latency SLO threshold, a log-binned latency histogram
(for p50/p95/p99), and cost sums. Summing partials gives any window — 5 minutes, 1 hour, 28
days — without reading a log again. A computed bucket with no rows is stored as zeros, which
is what lets "no data" be told apart from "not computed yet".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from monitors.logs import scan_logs
from sigwatch.model import LatencySLI, Signal
from sigwatch.store import Partial

BUCKET = timedelta(minutes=5)
SERVING = "serving"
# Latency histogram: bin k holds latencies in [10^(k/20), 10^((k+1)/20)) ms (12% wide), 0..5 s.
BINS_PER_DECADE = 20
MAX_BIN = 74


def latency_thresholds(signal: Signal) -> list[float]:
    return sorted({slo.sli.threshold_ms for slo in signal.slos if isinstance(slo.sli, LatencySLI)})


def serving_partials(
    data_dir: Path, signal: Signal, start: datetime, end: datetime, computed_at: datetime
) -> list[Partial]:
    """One serving partial per bucket in ``[start, end)`` (both on bucket boundaries)."""
    starts = []
    cursor = start
    while cursor < end:
        starts.append(cursor)
        cursor += BUCKET
    empty = {s: _zero(signal) for s in starts}
    frame = scan_logs(
        data_dir,
        signal,
        start,
        end,
        ["status", "score", "latency_ms", "cost_usd", "served_by"],
    )
    if frame is not None:
        for bucket, payload in _aggregate(frame, signal):
            empty[bucket] = payload
    return [Partial(signal.name, SERVING, s, s + BUCKET, empty[s], computed_at) for s in starts]


def _zero(signal: Signal) -> dict:
    return {
        "total": 0, "ok": 0, "abstain": 0, "error": 0, "timeout": 0, "served": 0,
        "latency_le": {f"{t:g}": 0 for t in latency_thresholds(signal)},
        "latency_hist": {}, "latency_sum_ms": 0.0,
        "cost": 0.0, "cost_external": 0.0, "external": 0,
    }  # fmt: skip


def _aggregate(frame: pl.LazyFrame, signal: Signal) -> Iterable[tuple[datetime, dict]]:
    status = pl.col("status")
    external = pl.col("served_by") == "external_api"
    thresholds = latency_thresholds(signal)
    bucket = pl.col("event_time").dt.truncate(f"{int(BUCKET.total_seconds())}s").alias("bucket")
    counts_query = (
        frame.with_columns(bucket)
        .group_by("bucket")
        .agg(
            pl.len().alias("total"),
            (status == "ok").sum().alias("ok"),
            (status == "abstain").sum().alias("abstain"),
            (status == "error").sum().alias("error"),
            (status == "timeout").sum().alias("timeout"),
            ((status == "ok") & (pl.col("score") >= signal.serving_threshold))
            .sum()
            .alias("served"),
            *[(pl.col("latency_ms") <= t).sum().alias(f"le_{t:g}") for t in thresholds],
            pl.col("latency_ms").cast(pl.Float64).sum().alias("latency_sum_ms"),
            pl.col("cost_usd").sum().alias("cost"),
            pl.col("cost_usd").filter(external).sum().alias("cost_external"),
            external.sum().alias("external"),
        )
    )
    hist_query = (
        frame.with_columns(
            bucket,
            (pl.col("latency_ms").clip(lower_bound=1.0).log10() * BINS_PER_DECADE)
            .floor()
            .clip(0, MAX_BIN)
            .cast(pl.Int32)
            .alias("bin"),
        )
        .group_by("bucket", "bin")
        .len()
        .group_by("bucket")
        .agg(pl.col("bin").cast(pl.Utf8), pl.col("len"))
    )
    # One pass over the files for both (Polars shares the common scan).
    counts, hist = pl.collect_all([counts_query, hist_query])
    bins = {b: dict(zip(keys, lens, strict=True)) for b, keys, lens in hist.iter_rows()}
    for row in counts.iter_rows(named=True):
        yield row["bucket"], {
            "total": row["total"], "ok": row["ok"], "abstain": row["abstain"],
            "error": row["error"], "timeout": row["timeout"], "served": row["served"],
            "latency_le": {f"{t:g}": row[f"le_{t:g}"] for t in thresholds},
            "latency_hist": bins.get(row["bucket"], {}),
            "latency_sum_ms": row["latency_sum_ms"] or 0.0,
            "cost": row["cost"] or 0.0, "cost_external": row["cost_external"] or 0.0,
            "external": row["external"],
        }  # fmt: skip


def merge(payloads: Iterable[dict]) -> dict:
    """Sum partial payloads (numbers add, nested dicts merge by key)."""
    out: dict = {}
    for payload in payloads:
        _add(out, payload)
    return out


def _add(into: dict, other: dict) -> None:
    for key, value in other.items():
        if isinstance(value, dict):
            _add(into.setdefault(key, {}), value)
        elif isinstance(value, str):  # annotations such as a source error: keep the latest
            into[key] = value
        else:
            into[key] = into.get(key, 0) + value


def latency_quantile(hist: dict[str, int], q: float) -> float | None:
    """The q-quantile (0..1) of a merged latency histogram, at the upper edge of its bin (ms)."""
    total = sum(hist.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for k in sorted(hist, key=int):
        seen += hist[k]
        if seen >= rank:
            return math.pow(10, (int(k) + 1) / BINS_PER_DECADE)
    return math.pow(10, (MAX_BIN + 1) / BINS_PER_DECADE)
