"""An occurrence SLO's good and total events over time, read from the serving tables: what the
console charts and sums (SLI over time, sparklines, weekly and monthly compliance). Nothing is
stored per SLO and bucket: a kind's ``good_total`` over the table's columns is the one place an
SLI is counted, for the monitors and for the console alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from monitors.partials import HIST, GroupedTables, ServingTables, serving_schema
from monitors.slis import calculation
from sigwatch.model import OTHER, SLO, Signal, group_label

DAY = timedelta(days=1)
SCHEMA = {"slo": pl.Utf8, "t": pl.Datetime("us", "UTC"), "good": pl.Float64, "total": pl.Float64}


def occurrence_counts(
    data_dir: Path,
    signal: Signal,
    slos: list[SLO],
    start: datetime,
    end: datetime,
    every: timedelta,
) -> pl.DataFrame:
    """``slo``, ``t`` (the start of each ``every`` with events), ``good`` and ``total`` of each
    of the signal's occurrence ``slos`` over ``[start, end)``: one read of the table for all."""
    counted = [c for c in serving_schema(signal) if c not in HIST]  # no histogram needed
    tables = ServingTables(data_dir)
    if every >= DAY and not every % DAY:
        # whole days as their rollups: old months whose 5-minute buckets were pruned still count
        first = tables.first_day(signal.name)
        if first is None:
            return pl.DataFrame(schema=SCHEMA)
        start = max(start, datetime.combine(first, datetime.min.time(), start.tzinfo))
        table = tables.read_compact(signal, start, end, set())[0].select(counted)
    else:
        table = tables.read(signal, start, end, counted)
    if table.is_empty() or not slos:
        return pl.DataFrame(schema=SCHEMA)
    step = f"{int(every.total_seconds())}s"
    frames = []
    for slo in slos:
        good, total = calculation(slo.sli).good_total(slo.sli, signal, table)
        frames.append(
            pl.DataFrame({"t": table["bucket"], "good": good, "total": total}).with_columns(
                pl.lit(slo.name).alias("slo")
            )
        )
    return (
        pl.concat(frames, how="vertical_relaxed")
        .with_columns(pl.col("t").dt.truncate(step))
        .group_by("slo", "t")
        .agg(pl.col("good").sum(), pl.col("total").sum())
        .filter(pl.col("total") > 0)
        .sort("slo", "t")
        .select(list(SCHEMA))
        .cast(SCHEMA)
    )


GROUP_SCHEMA = {
    "group": pl.Utf8,
    "t": pl.Datetime("us", "UTC"),
    "good": pl.Float64,
    "total": pl.Float64,
}


def group_counts(
    data_dir: Path,
    signal: Signal,
    slo: SLO,
    shown: list[dict[str, str]],
    start: datetime,
    end: datetime,
    every: timedelta,
) -> pl.DataFrame:
    """A grouped occurrence SLO's ``good`` and ``total`` per ``group`` (its label, e.g.
    ``community=cars``) and ``t`` (each ``every``) over ``[start, end)``, from the serving-by-group
    table. The groups in ``shown`` keep their label; with a ``top`` grouping every other value
    is pooled as ``(other)``, with ``only`` it is left out."""
    grouping = slo.grouping
    assert grouping is not None
    table = GroupedTables(data_dir, grouping.by).read(signal, start, end)
    if table.is_empty():
        return pl.DataFrame(schema=GROUP_SCHEMA)
    good, total = calculation(slo.sli).good_total(slo.sli, signal, table)
    by = list(grouping.by)
    labels = pl.DataFrame(
        {**{c: [g[c] for g in shown] for c in by}, "group": [group_label(g) for g in shown]},
        schema={**{c: pl.Utf8 for c in by}, "group": pl.Utf8},
    )
    pooled = None if grouping.only else group_label(grouping.key(tuple(OTHER for _ in by)))
    named = table.select(by).join(labels, on=by, how="left", maintain_order="left")["group"]
    if pooled is not None:
        named = named.fill_null(pooled)
    return (
        pl.DataFrame({"group": named, "t": table["bucket"], "good": good, "total": total})
        .drop_nulls("group")
        .with_columns(pl.col("t").dt.truncate(f"{int(every.total_seconds())}s"))
        .group_by("group", "t")
        .agg(pl.col("good").sum(), pl.col("total").sum())
        .filter(pl.col("total") > 0)
        .sort("group", "t")
        .cast(GROUP_SCHEMA)
    )
