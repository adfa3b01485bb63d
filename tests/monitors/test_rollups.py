"""Day rollups of the serving table: a run reads the full days of a long window as one row
each, and every status it computes equals the one computed from the buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from monitors.engine import buckets
from monitors.evaluate import occurrence_series, occurrence_status
from monitors.partials import ServingTables, serving_schema
from monitors.slis.base import Context
from sigwatch.clock import FixedClock
from sigwatch.model import Budgeting
from sigwatch.store import Store

END = datetime(2026, 11, 26, 13, 35, tzinfo=UTC)
START = datetime(2026, 11, 14, tzinfo=UTC)


def _table(signal) -> pl.DataFrame:
    """Twelve days of buckets with random counts (every column of the schema)."""
    rng = np.random.default_rng(5)
    times = buckets(START, END + timedelta(hours=3))
    columns = {"bucket": times}
    for name, dtype in serving_schema(signal).items():
        if name == "bucket":
            continue
        if dtype == pl.Utf8:
            columns[name] = ["logs"] * len(times) if name == "source" else [None] * len(times)
        else:
            columns[name] = rng.integers(0, 50, len(times))
    table = pl.DataFrame(columns).with_columns(
        (pl.col("ok") + pl.col("abstain") + pl.col("error") + pl.col("timeout")).alias("total")
    )
    consistent = [pl.col("total").alias(c) for c in ("latency_total", "requests")]
    consistent += [
        pl.min_horizontal(c, "ok" if c == "served" else "total").alias(c)
        for c in table.columns
        if c == "served" or c.startswith("le_")
    ]
    table = table.with_columns(consistent)
    return table.select([pl.col(c).cast(t) for c, t in serving_schema(signal).items()])


def test_statuses_from_rolled_up_days_equal_those_from_buckets(registry, tmp_path):
    signal = registry.get("content_type")
    table = _table(signal)
    ServingTables(tmp_path).write(signal.name, table)
    assert (tmp_path / "partials" / "serving" / "signal=content_type" / "days.parquet").exists()
    with Store.open(tmp_path / "s.db", clock=FixedClock(END)) as store:
        full = Context(tmp_path, store, signal)
        full.prime(START, END + timedelta(hours=3), table)
        compared = 0
        for at in (END, END - timedelta(days=2, minutes=5)):
            compact = Context(tmp_path, store, signal, compact=True)  # a run at one time
            for slo in signal.slos:
                if slo.objective.budgeting is not Budgeting.OCCURRENCES:
                    continue
                start = at - slo.objective.window
                got = occurrence_status(
                    compact, slo, occurrence_series(compact, slo, start, at), at, END
                )
                want = occurrence_status(
                    full, slo, occurrence_series(full, slo, start, at), at, END
                )
                assert got == want, slo.name
                compared += 1
        assert compared >= 4
        assert compact._serving.compacted, "the long window was read with rolled-up days"
        assert len(compact._serving.table) < len(table) / 3
        # a slice starting inside a rolled-up day reads that day in buckets again: still exact
        odd = END - timedelta(days=8, minutes=35)
        assert odd.date() in compact._serving.compacted
        counts = pl.selectors.numeric()
        got = compact.serving(odd, END)
        assert got.select(counts.sum()).equals(full.serving(odd, END).select(counts.sum()))
        assert got["bucket"][0] == odd and odd.date() not in compact._serving.compacted
        # and a sum over a series with a start inside a rolled-up day is refused, not wrong
        slo = signal.slo("coverage")
        rolled = Context(tmp_path, store, signal, compact=True)
        series = occurrence_series(rolled, slo, END - slo.objective.window, END)
        with pytest.raises(ValueError, match="inside a rolled-up day"):
            series.between(END - timedelta(days=9, minutes=5), END)


def test_rewriting_a_day_updates_its_rollup(registry, tmp_path):
    signal = registry.get("content_type")
    table = _table(signal)
    tables = ServingTables(tmp_path)
    tables.write(signal.name, table)
    day = datetime(2026, 11, 20, tzinfo=UTC)
    recount = table.filter(pl.col("bucket").dt.date() == day.date()).with_columns(
        pl.lit(1, pl.Int64).alias("total")
    )
    tables.write(signal.name, recount)
    rolled, compacted = tables.read_compact(signal, START, END, set())
    assert day.date() in compacted
    assert rolled.filter(pl.col("bucket") == day)["total"].to_list() == [288]
