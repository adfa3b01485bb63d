"""The serving table: its declared schema, a row for every bucket, its Parquet storage
(replace by bucket, read by range, where the next computation starts) and the serving-source
seam that fills its latency and cost columns."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import polars as pl
import pytest

from monitors.engine import PolarsEngine
from monitors.partials import BUCKET, ServingTables, serving_schema
from monitors.prometheus import PrometheusError
from monitors.sources import LogsSource, PrometheusServing
from tests.monitors.test_runner import DAY, TEN, content_type_hour, write_logs


@pytest.fixture
def signal(registry):
    return registry.get("content_type")


def test_the_engine_returns_every_bucket_with_the_declared_schema(signal, tmp_path):
    write_logs(tmp_path, "content_type", content_type_hour())
    table = PolarsEngine().serving(tmp_path, signal, TEN - timedelta(minutes=10), TEN + BUCKET)
    assert table.schema == serving_schema(signal)
    assert table["bucket"].to_list() == [TEN - 2 * BUCKET, TEN - BUCKET, TEN]
    assert table["total"].to_list() == [0, 0, 84]  # 3.6 s apart: 84 items in the first bucket
    assert table["source"].to_list() == ["logs"] * 3
    assert table["latency_total"].to_list() == [0.0, 0.0, 84.0]


def test_a_range_without_any_log_file_is_all_zero_buckets(signal, tmp_path):
    """Logs stopped (or their pipeline did): the buckets are computed, with nothing in them,
    so the SLOs read no data instead of the run failing."""
    table = PolarsEngine().serving(tmp_path, signal, TEN, TEN + 2 * BUCKET)
    assert table.schema == serving_schema(signal)
    assert table["total"].to_list() == [0, 0] and table["latency_total"].to_list() == [0.0, 0.0]


def test_tables_replace_buckets_read_ranges_and_know_where_to_go_on(signal, tmp_path):
    write_logs(tmp_path, "content_type", content_type_hour())
    tables, engine = ServingTables(tmp_path), PolarsEngine()
    hour = engine.serving(tmp_path, signal, TEN, TEN + timedelta(hours=1))
    tables.write("content_type", hour)
    assert tables.end(signal, "logs") == TEN + timedelta(hours=1)
    again = hour.tail(2).with_columns(pl.lit(7, pl.Int64).alias("total"))
    tables.write("content_type", again)  # a recount of the last two buckets replaces them
    read = tables.read(signal, TEN, TEN + timedelta(hours=1))
    assert read["bucket"].to_list() == hour["bucket"].to_list()
    assert read["total"].to_list() == [*hour["total"].to_list()[:-2], 7, 7]
    assert tables.read(signal, TEN, TEN + BUCKET)["bucket"].to_list() == [TEN]
    # another serving source, or a new latency threshold: everything is computed again
    assert tables.end(signal, "prometheus") is None
    latency = next(s for s in signal.slos if s.sli.kind == "latency")
    faster = dataclasses.replace(latency, sli=dataclasses.replace(latency.sli, threshold_ms=90))
    changed = dataclasses.replace(signal, slos=(*signal.slos, faster))
    assert tables.end(changed, "logs") is None


class DownPrometheus:
    def latency_counts(self, *args):
        raise PrometheusError("Prometheus at http://127.0.0.1:9 failed: refused")

    cost_counts = latency_counts


class FakePrometheus:
    """The counts a fleet's Prometheus would give, in memory."""

    def latency_counts(self, signal, thresholds, start, end):
        return {start: {"total": 10.0, "le": {f"{t:g}": 9.0 for t in thresholds}}}

    def cost_counts(self, signal, start, end):
        return {start: {"requests": 10.0, "cost": 0.5, "cost_external": 0.1}}


def test_a_serving_source_fills_latency_and_cost_and_marks_what_it_could_not(signal, tmp_path):
    write_logs(tmp_path, "content_type", content_type_hour())
    table = PolarsEngine().serving(tmp_path, signal, TEN, TEN + 2 * BUCKET)
    assert LogsSource().fill(signal, table).equals(table)
    filled = PrometheusServing(FakePrometheus()).fill(signal, table)
    assert filled.schema == table.schema
    assert filled["total"].to_list() == table["total"].to_list()  # items always from the logs
    assert filled["latency_total"].to_list() == [10.0, 0.0]
    assert filled["le_150"].to_list() == [9.0, 0.0]
    assert filled["cost"].to_list() == [0.5, 0.0]
    assert filled["source"].to_list() == ["prometheus"] * 2
    assert filled["source_error"].null_count() == 2
    down = PrometheusServing(DownPrometheus()).fill(signal, table)
    assert (
        down["source_error"].to_list() == ["Prometheus at http://127.0.0.1:9 failed: refused"] * 2
    )
    assert down["latency_total"].to_list() == [0.0, 0.0] and down["cost"].sum() == 0


def test_a_day_with_no_stored_buckets_reads_as_an_empty_table(signal, tmp_path):
    table = ServingTables(tmp_path).read(signal, DAY, DAY + timedelta(days=1))
    assert table.is_empty() and table.schema == serving_schema(signal)
    assert ServingTables(tmp_path).end(signal, "logs") is None


def test_the_file_cache_reads_a_file_again_once_anyone_changed_it(tmp_path):
    from monitors.partials import FileCache, write_atomic

    cache = FileCache(max_bytes=10_000)
    path = tmp_path / "date=2026-11-20.parquet"
    mine = pl.DataFrame({"n": [1, 2, 3]})
    cache.write(mine, path)
    assert cache.read(path) is mine  # what this process wrote is not read back
    # another process rewrites the file: the next read sees its rows
    write_atomic(pl.DataFrame({"n": [7]}), path)
    assert cache.read(path)["n"].to_list() == [7]
    assert cache.read(path) is cache.read(path)  # and keeps them while the file stays
    path.unlink()
    with pytest.raises(FileNotFoundError):
        cache.read(path)


def test_the_file_cache_forgets_the_least_recently_used_past_its_size(tmp_path):
    from monitors.partials import FileCache

    big = pl.DataFrame({"n": list(range(500))})  # 4,000 bytes
    cache = FileCache(max_bytes=9_000)
    paths = [tmp_path / f"{k}.parquet" for k in range(3)]
    for path in paths[:2]:
        cache.write(big, path)
    cache.read(paths[0])  # the first is now the most recently used
    cache.write(big, paths[2])
    assert cache.read(paths[0]) is big and cache.read(paths[2]) is big
    assert cache.read(paths[1]) is not big  # forgotten, read from its file
    assert cache.read(paths[1]).equals(big)
