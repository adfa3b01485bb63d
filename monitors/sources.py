"""Where a signal's latency and cost come from: the seam between the serving table's counts of
items (always the logs) and its latency and cost columns.

A ``ServingSource`` fills ``latency_total``, the ``le_<ms>`` columns, ``requests``, ``cost``,
``cost_external``, ``source`` and ``source_error`` of a serving table (``monitors.partials``);
it is chosen once, where the monitor is composed, and no SLI module knows which one ran.

- ``LogsSource``: the logs' own values (what the engine computed): the embedded default.
- ``PrometheusServing``: the serving fleet's Prometheus histogram and counters, per 5 minutes.
  A failed read marks its buckets with ``source_error`` and zeros: the latency and cost SLOs
  say ``no_data`` with the error, and the next run reads those buckets again.
"""

from __future__ import annotations

from typing import Protocol

import polars as pl

from monitors.partials import BUCKET, latency_thresholds, le_column
from monitors.prometheus import PrometheusError, PrometheusSource
from sigwatch.model import Signal
from sigwatch.settings import Settings


class ServingSource(Protocol):
    name: str

    def fill(self, signal: Signal, table: pl.DataFrame) -> pl.DataFrame:
        """``table`` with its latency and cost columns from this source."""
        ...


class LogsSource:
    name = "logs"

    def fill(self, signal: Signal, table: pl.DataFrame) -> pl.DataFrame:
        return table


class PrometheusServing:
    name = "prometheus"

    def __init__(self, client: PrometheusSource) -> None:
        self.client = client

    def fill(self, signal: Signal, table: pl.DataFrame) -> pl.DataFrame:
        if table.is_empty():
            return table
        start, end = table["bucket"].min(), table["bucket"].max() + BUCKET
        thresholds = latency_thresholds(signal)
        sourced = [
            "latency_total",
            *map(le_column, thresholds),
            "requests",
            "cost",
            "cost_external",
        ]
        try:
            latency = self.client.latency_counts(signal.name, thresholds, start, end)
            cost = self.client.cost_counts(signal.name, start, end)
        except PrometheusError as exc:
            return table.with_columns(
                *[pl.lit(0.0).alias(c) for c in sourced],
                pl.lit(self.name).alias("source"),
                pl.lit(str(exc)).alias("source_error"),
            )
        rows = {
            "bucket": list(table["bucket"]),
            "latency_total": [],
            **{le_column(t): [] for t in thresholds},
            "requests": [],
            "cost": [],
            "cost_external": [],
        }
        for bucket in rows["bucket"]:
            counts = latency.get(bucket, {"total": 0.0, "le": {}})
            rows["latency_total"].append(counts["total"])
            for t in thresholds:
                rows[le_column(t)].append(counts["le"].get(f"{t:g}", 0.0))
            spent = cost.get(bucket, {})
            for column in ("requests", "cost", "cost_external"):
                rows[column].append(spent.get(column, 0.0))
        filled = pl.DataFrame(rows, schema_overrides={"bucket": table.schema["bucket"]})
        return (
            table.drop(sourced)
            .join(filled.cast({c: pl.Float64 for c in sourced}), on="bucket", how="left")
            .with_columns(
                pl.lit(self.name).alias("source"), pl.lit(None, pl.Utf8).alias("source_error")
            )
            .select(table.columns)
        )


def serving_source(settings: Settings) -> PrometheusServing | None:
    """Prometheus as the serving metrics' source when ``SIGWATCH_PROMETHEUS_URL`` is set;
    None: latency and cost come from the logs."""
    if not settings.prometheus_url:
        return None
    return PrometheusServing(PrometheusSource(settings.prometheus_url))
