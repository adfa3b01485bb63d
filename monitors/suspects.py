"""Where a breach comes from: for an alerting SLO, the slices (one value of one dimension
column of the logs) whose share of the bad events most exceeds their share of the traffic,
over the alert's longest firing window (occurrences) or its bad slice (quality).

"78% of the bad events come from model_version=2026.12-rc1, which serves 9% of traffic": no
grouping needs to be configured. A kind's calculation (``monitors.slis.base``) says what a bad
event is at the row level: an occurrence kind with ``bad_rows(sli, signal) -> (bad, counted)``
(Polars expressions over log columns; the serving tables' counts are the same events summed
per bucket, so both agree), a kind judged against labels with ``bad_labelled(sli, signal)``
over ``predicted`` and ``truth`` (a wrong labelled prediction among those the SLI counts;
None, the default, where it cannot say).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import polars as pl

from monitors.logs import scan_labels, scan_logs
from monitors.slis import calculation
from monitors.slis.base import OccurrenceCalculation
from sigwatch.model import DIMENSIONS, NONE, SLO, Signal
from sigwatch.states import Suspect

TOP = 3
MIN_BAD = 10  # fewer bad events than this explain nothing
MIN_EXCESS = 0.05  # a slice must carry at least 5 points more of the bad than of the traffic
Z = 3.0  # ... and be worse than the rest beyond chance (one-sided, p < 0.0014)


def explainable(slo: SLO, signal: Signal) -> bool:
    """Whether the kind can say where its bad events come from: an occurrence kind always
    can (``bad_rows``); a timeslice kind when its ``bad_labelled`` says (not None)."""
    kind = calculation(slo.sli)
    if isinstance(kind, OccurrenceCalculation):
        return True
    return kind.bad_labelled(slo.sli, signal) is not None


def suspects(
    data_dir: Path, signal: Signal, slo: SLO, start: datetime, end: datetime, known_at=None
) -> tuple[Suspect, ...]:
    """The top ``TOP`` slices of ``[start, end)`` by excess share of the bad events, most
    first. For a kind judged against labels, the events are the served predictions labelled by
    ``known_at`` that the SLI counts, and the bad ones those it counts wrong."""
    kind = calculation(slo.sli)
    if isinstance(kind, OccurrenceCalculation):
        bad, counted = kind.bad_rows(slo.sli, signal)
        logs = scan_logs(data_dir, signal, start, end, [*DIMENSIONS, *_columns(bad, counted)])
    else:
        bad, counted = kind.bad_labelled(slo.sli, signal)
        logs = _labelled(data_dir, signal, start, end, known_at or end)
    if logs is None:
        return ()
    cells = (
        logs.filter(counted)
        .group_by(*[pl.col(d).fill_null(NONE) for d in DIMENSIONS])
        .agg(pl.len().alias("events"), bad.sum().cast(pl.Int64).alias("bad"))
        .collect()
    )
    total_bad, total = int(cells["bad"].sum() or 0), int(cells["events"].sum() or 0)
    if total_bad < MIN_BAD or total == 0:
        return ()
    found = []
    for dimension in DIMENSIONS:
        per_value = cells.group_by(dimension).agg(pl.col("events", "bad").sum())
        if len(per_value) < 2:  # one value serves everything: it explains nothing
            continue
        for value, events, n_bad in per_value.iter_rows():
            bad_share, traffic_share = n_bad / total_bad, events / total
            excess = bad_share - traffic_share
            if (
                n_bad >= MIN_BAD
                and excess >= MIN_EXCESS
                and _z(n_bad, events, total_bad, total) >= Z
            ):
                found.append(
                    Suspect(dimension, value, bad_share, traffic_share, int(n_bad), int(events))
                )
    found.sort(key=lambda s: (-s.excess, s.dimension, s.value))
    return tuple(found[:TOP])


def _labelled(
    data_dir: Path, signal: Signal, start: datetime, end: datetime, known_at: datetime
) -> pl.LazyFrame | None:
    """Served predictions of ``[start, end)`` with the label known at ``known_at``:
    ``predicted`` and ``truth`` beside the dimensions."""
    logs = scan_logs(data_dir, signal, start, end, [*DIMENSIONS, "status", "item_id", "label"])
    labels = scan_labels(data_dir, signal, known_at)
    if logs is None or labels is None:
        return None
    return (
        logs.filter(pl.col("status") == "ok")
        .rename({"label": "predicted"})
        .join(labels.select("item_id", pl.col("label").alias("truth")), on="item_id")
    )


def _z(bad: int, events: int, total_bad: int, total: int) -> float:
    """One-sided two-proportion z of the slice's bad ratio against the rest's (pooled): a
    slice of 31 labelled items with 11 wrong is not a lead, a canary with 80 of 100 is."""
    rest = total - events
    if rest <= 0:
        return 0.0
    pooled = total_bad / total
    se = math.sqrt(pooled * (1 - pooled) * (1 / events + 1 / rest))
    if se == 0:
        return 0.0
    return (bad / events - (total_bad - bad) / rest) / se


def _columns(*exprs: pl.Expr) -> list[str]:
    return sorted({name for e in exprs for name in e.meta.root_names()})
