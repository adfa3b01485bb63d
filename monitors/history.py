"""An occurrence SLO's good and total events over time, read from the serving tables: what the
console charts and sums (SLI over time, sparklines, weekly and monthly compliance). Nothing is
stored per SLO and bucket: a kind's ``good_total`` over the table's columns is the one place an
SLI is counted, for the monitors and for the console alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from monitors import slis
from monitors.partials import ServingTables
from sigwatch.model import SLO, Signal

SCHEMA = {"t": pl.Datetime("us", "UTC"), "good": pl.Float64, "total": pl.Float64}


def occurrence_counts(
    data_dir: Path, signal: Signal, slo: SLO, start: datetime, end: datetime, every: timedelta
) -> pl.DataFrame:
    """``t`` (the start of each ``every`` with events), ``good`` and ``total`` of ``slo`` over
    ``[start, end)``."""
    table = ServingTables(data_dir).read(signal, start, end)
    if table.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    good, total = slis.OCCURRENCE[slo.sli.kind].good_total(slo.sli, signal, table)
    step = f"{int(every.total_seconds())}s"
    return (
        pl.DataFrame({"t": table["bucket"], "good": good, "total": total})
        .with_columns(pl.col("t").dt.truncate(step))
        .group_by("t")
        .agg(pl.col("good").sum(), pl.col("total").sum())
        .filter(pl.col("total") > 0)
        .sort("t")
        .cast(SCHEMA)
    )
