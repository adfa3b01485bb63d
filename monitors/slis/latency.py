"""latency: good = answered within ``threshold_ms`` (at or under it, like a Prometheus ``le``
bucket, so logs and Prometheus agree), out of ``latency_total``: both from the signal's serving
source. A bucket the source could not fill counts nothing, so the SLO shows ``no_data`` (with
the source's error) rather than silently falling back. Beside the SLO it shows p50/p95/p99 over
the last hour of the logs' histogram (``display``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from monitors.partials import HIST, latency_quantile, le_column
from monitors.slis.base import OccurrenceCalculation
from monitors.windows import label
from sigwatch.kinds import LatencySLI

QUANTILES_OVER = timedelta(hours=1)


class Latency(OccurrenceCalculation):
    sli = LatencySLI

    def good_total(self, sli, signal, table: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per row of a serving table (or a serving-by-group table, which is always the logs'
        and has no ``source_error``)."""
        if "source_error" in table.columns:
            failed = table["source_error"].is_not_null().to_numpy()
        else:
            failed = np.zeros(len(table), dtype=bool)
        good = np.where(failed, 0.0, table[le_column(sli.threshold_ms)].to_numpy())
        return good, np.where(failed, 0.0, table["latency_total"].to_numpy())

    def bad_rows(self, sli, signal) -> tuple[pl.Expr, pl.Expr]:
        """Not answered within the threshold (no latency counts as not), of all rows, as the
        serving table counts them."""
        within = (pl.col("latency_ms") <= sli.threshold_ms).fill_null(False)
        return ~within, pl.lit(True)

    def errors(self, table: pl.DataFrame) -> list[str]:
        """The source's errors over the buckets read (the last three)."""
        return sorted(table["source_error"].drop_nulls().unique())[-3:]

    def display(self, ctx, at: datetime) -> dict:
        """p50/p95/p99 latency (ms) over the hour before ``at``, from the logs' histogram."""
        hist = ctx.sums(tuple(HIST), at - QUANTILES_OVER, at)
        return {f"p{q}_ms": latency_quantile(hist, q / 100) for q in (50, 95, 99)} | {
            "quantiles_over": label(QUANTILES_OVER)
        }
