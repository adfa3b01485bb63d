"""Day rollups of the serving tables: a run reads the full days of a long window as one row
each (per group), and every status it computes equals the one computed from the buckets. The
rollups are a cache of the day files, summed on first read and again after a day changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from monitors.engine import buckets
from monitors.evaluate import occurrence_series, occurrence_status
from monitors.groups import GroupMatrix, evaluate_grouped
from monitors.partials import GroupedTables, ServingTables, grouped_schema, serving_schema
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
    days = tmp_path / "partials" / "serving" / "signal=content_type" / "days.parquet"
    assert not days.exists()  # writing does not sum days: the first compact read does
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
        assert days.exists()
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
    before, _ = tables.read_compact(signal, START, END, set())  # sums every day and keeps it
    tables.write(signal.name, recount)
    rolled, compacted = tables.read_compact(signal, START, END, set())
    assert day.date() in compacted
    assert rolled.filter(pl.col("bucket") == day)["total"].to_list() == [288]
    assert before.filter(pl.col("bucket") == day)["total"].item() > 288
    # the other days came from the kept rollups: the same rows as the first read
    others = pl.col("bucket") != day
    assert rolled.filter(others).equals(before.filter(others))
    kept = pl.read_parquet(tables.folder(signal.name) / "days.parquet")
    assert kept.filter(pl.col("bucket") == day)["total"].to_list() == [288]


def test_the_rollup_cache_sums_a_day_again_only_when_its_file_changed(registry, tmp_path):
    signal = registry.get("content_type")
    tables = ServingTables(tmp_path)
    tables.write(signal.name, _table(signal))
    tables.read_compact(signal, START, END, set())
    days = tables.folder(signal.name) / "days.parquet"
    first = days.stat().st_mtime_ns
    tables.read_compact(signal, START, END, set())
    assert days.stat().st_mtime_ns == first  # nothing changed: nothing summed or written
    # a day file replaced by another process with the same rows is summed again (new stamp)
    day = tables.days(signal.name)[3]
    pl.read_parquet(day).write_parquet(day.with_name("tmp.parquet"))
    day.with_name("tmp.parquet").replace(day)
    table, _ = tables.read_compact(signal, START, END, set())
    assert days.stat().st_mtime_ns != first
    full = tables.read(signal, START, END)
    numeric = pl.selectors.numeric()
    assert table.select(numeric.sum()).equals(full.select(numeric.sum()))


def _grouped(signal, by: tuple[str, ...]) -> pl.DataFrame:
    """The serving table's twelve days spread over four communities (one joins late), as the
    serving-by-group table keeps them: rows only where a group had events."""
    table = _table(signal).drop(
        "source",
        "source_error",
        *pl.selectors.expand_selector(_table(signal), pl.selectors.starts_with("hist_")),
    )
    rng = np.random.default_rng(9)
    parts = []
    for k, community in enumerate(("cars", "movies", "headphones", "late")):
        rows = table.with_columns(pl.lit(community).alias(by[0]))
        if community == "late":
            rows = rows.filter(pl.col("bucket") >= END - timedelta(days=2))
        keep = rng.random(len(rows)) < (0.9 - 0.2 * k)
        parts.append(rows.filter(pl.Series(keep)))
    return pl.concat(parts).select(grouped_schema(signal, by).names()).sort("bucket", *by)


def test_group_statuses_from_rolled_up_days_equal_those_from_buckets(registry, tmp_path):
    signal = registry.get("content_type")
    slo = signal.slo("coverage-by-community")
    table = _grouped(signal, slo.grouping.by)
    tables = GroupedTables(tmp_path, slo.grouping.by)
    tables.write(signal.name, table)
    with Store.open(tmp_path / "s.db", clock=FixedClock(END)) as store:
        for at in (END, END - timedelta(days=2, minutes=5)):
            compact = Context(tmp_path, store, signal, compact=True)  # a run at one time
            full = Context(tmp_path, store, signal)
            [(got, got_groups)] = evaluate_grouped(compact, slo, [at], END)
            [(want, want_groups)] = evaluate_grouped(full, slo, [at], END)
            assert got == want and got_groups == want_groups
            late = {"late"} if at == END else set()  # it joins two days before END
            assert {g.group["community"] for g in got_groups} == {
                "cars",
                "movies",
                "headphones",
            } | late
            assert compact.rolled_days(slo.grouping.by), "older days were read rolled up"
            assert (
                len(compact.grouped(slo.grouping.by, at - timedelta(days=28), at)) < len(table) / 2
            )
        # a sum over the matrix starting inside a rolled-up day is refused, not wrong
        compact = Context(tmp_path, store, signal, compact=True)
        lo = END - slo.objective.window
        matrix = GroupMatrix(slo, compact, compact.grouped(slo.grouping.by, lo, END), lo, END)
        with pytest.raises(ValueError, match="inside a rolled-up day"):
            matrix.sums(END - timedelta(days=9, minutes=5), END)
        # a row per bucket read (a rolled-up day is one), not per 5 minutes of the 28 days
        assert len(matrix.good) == len(matrix.steps) + 1 < 28 * 288 / 4


def test_a_group_silent_for_three_days_is_no_data_and_does_not_set_the_slos_budget(
    registry, tmp_path
):
    """A canary version retired four days ago: its budget, spent while it served, stays in
    its own row; the SLO's row is the worst group still serving."""
    signal = registry.get("content_type")
    slo = signal.slo("coverage-by-community")
    table = _grouped(signal, slo.grouping.by)
    retired = table.filter(
        pl.col("community") == "cars", pl.col("bucket") < END - timedelta(days=4)
    ).with_columns(
        pl.lit("retired").alias("community"), pl.lit(0, pl.Int64).alias("served")
    )  # every event bad
    GroupedTables(tmp_path, slo.grouping.by).write(signal.name, pl.concat([table, retired]))
    with Store.open(tmp_path / "s.db", clock=FixedClock(END)) as store:
        ctx = Context(tmp_path, store, signal, compact=True)
        [(row, groups)] = evaluate_grouped(ctx, slo, [END], END)
    got = {g.group["community"]: g for g in groups}
    assert got["retired"].state == "no_data" and got["retired"].budget_remaining < 0
    assert not got["retired"].fired
    worst = row.grouped.worst["community"]
    assert worst != "retired" and row.budget_remaining == got[worst].budget_remaining
    assert "retired" not in [a.group["community"] for a in row.grouped.alerting]
    assert row.grouped.counts["no_data"] == 1


def test_pruned_buckets_leave_their_day_totals_and_compliance_unchanged(registry, tmp_path):
    """`SIGWATCH_BUCKET_RETENTION`: old day files go, each summed into its rollup first; daily
    counts (weekly and monthly compliance) read the same before and after, hourly ones no
    longer reach the pruned days."""
    from monitors.history import occurrence_counts
    from monitors.partials import prune_partials
    from sigwatch.model import Registry

    signal = registry.get("content_type")
    only = Registry((signal,))
    ServingTables(tmp_path).write(signal.name, _table(signal))
    slo = signal.slo("coverage-by-community")
    GroupedTables(tmp_path, slo.grouping.by).write(signal.name, _grouped(signal, slo.grouping.by))
    occurrence = [s for s in signal.slos if s.objective.budgeting is Budgeting.OCCURRENCES]
    daily = occurrence_counts(tmp_path, signal, occurrence, START, END, timedelta(days=1))
    cut = (END - timedelta(days=5)).date()
    files = prune_partials(tmp_path, only, cut, dry_run=True)
    assert files["serving"] == files["serving-by-group"] == (cut - START.date()).days
    assert ServingTables(tmp_path).days(signal.name)[0].stem == f"date={START.date()}"
    assert prune_partials(tmp_path, only, cut) == files
    left = ServingTables(tmp_path).days(signal.name)
    assert left[0].stem == f"date={cut}"  # the older day files are gone
    after = occurrence_counts(tmp_path, signal, occurrence, START, END, timedelta(days=1))
    assert after.equals(daily)
    hourly = occurrence_counts(tmp_path, signal, occurrence, START, END, timedelta(hours=1))
    assert hourly["t"].min() >= datetime.combine(cut, datetime.min.time(), UTC)
    # a run's compact read still sums a window across the pruned days from their rollups
    with Store.open(tmp_path / "s.db", clock=FixedClock(END)) as store:
        compact = Context(tmp_path, store, signal, compact=True)
        series = occurrence_series(compact, signal.slo("coverage"), START, END)
    whole = _table(signal).filter(pl.col("bucket") < END)
    assert series.between(START, END)[1] == pytest.approx(float(whole["total"].sum()))
