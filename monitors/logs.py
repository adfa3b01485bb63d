"""Reading prediction logs and labels with Polars: lazy scans of only the partitions a time
range touches (partition pruning), only the columns asked for (projection), every file's
schema checked first so a bad file fails with its name and column, not deep in a query."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

# The data contract (DESIGN.md): column -> the dtype a reader can rely on.
LOG_COLUMNS: dict[str, pl.DataType] = {
    "event_time": pl.Datetime("us", "UTC"),
    "item_id": pl.Utf8(),
    "item_kind": pl.Utf8(),
    "community": pl.Utf8(),
    "language": pl.Utf8(),
    "text_len": pl.Int32(),
    "model_version": pl.Utf8(),
    "status": pl.Utf8(),
    "label": pl.Utf8(),
    "labels": pl.List(pl.Utf8()),
    "score": pl.Float32(),
    "latency_ms": pl.Float32(),
    "cost_usd": pl.Float64(),
    "served_by": pl.Utf8(),
}
LABEL_COLUMNS: dict[str, pl.DataType] = {
    "item_id": pl.Utf8(),
    "label": pl.Utf8(),
    "labels": pl.List(pl.Utf8()),
    "source": pl.Utf8(),
    "labeled_at": pl.Datetime("us", "UTC"),
}


class LogError(Exception):
    """A log or label file that cannot be read as the contract says; names file and column."""


def _days(start: datetime, end: datetime) -> list[date]:
    last = (end - timedelta(microseconds=1)).date()
    out, day = [], start.date()
    while day <= last:
        out.append(day)
        day += timedelta(days=1)
    return out


def log_files(data_dir: Path, signal: str, start: datetime, end: datetime) -> list[Path]:
    folder = data_dir / "predictions" / f"signal={signal}"
    return [
        path
        for day in _days(start, end)
        for path in sorted((folder / f"date={day.isoformat()}").glob("*.parquet"))
    ]


def check_schema(path: Path, columns: dict[str, pl.DataType]) -> None:
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # polars raises several kinds for a damaged file
        raise LogError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})"
        ) from None
    for column, dtype in columns.items():
        if column not in schema:
            raise LogError(f"{path}: column {column!r} is missing; expected {dtype}")
        if schema[column] != dtype:
            raise LogError(f"{path}: column {column!r} is {schema[column]}, expected {dtype}")


def scan_logs(
    data_dir: Path, signal: str, start: datetime, end: datetime, columns: list[str]
) -> pl.LazyFrame | None:
    """Rows of ``[start, end)`` with ``columns`` (plus event_time), or None if no file exists."""
    files = log_files(data_dir, signal, start, end)
    if not files:
        return None
    wanted = {c: LOG_COLUMNS[c] for c in dict.fromkeys(["event_time", *columns])}
    for path in files:
        check_schema(path, wanted)
    return (
        pl.scan_parquet(files, hive_partitioning=False)
        .select(list(wanted))
        .filter(pl.col("event_time").is_between(start, end, closed="left"))
    )


def scan_labels(data_dir: Path, signal: str, known_at: datetime) -> pl.LazyFrame | None:
    """Human labels known at ``known_at``, one per item: the latest label wins."""
    folder = data_dir / "labels" / f"signal={signal}"
    files = sorted(folder.glob("*.parquet")) if folder.exists() else []
    if not files:
        return None
    for path in files:
        check_schema(path, LABEL_COLUMNS)
    return (
        pl.scan_parquet(files, hive_partitioning=False)
        .select(list(LABEL_COLUMNS))
        .filter((pl.col("labeled_at") <= known_at) & (pl.col("source") == "human"))
        .sort("labeled_at")
        .group_by("item_id")
        .agg(pl.col("label").last(), pl.col("labels").last())
    )
