"""The Spark engine on a real standalone cluster (a master and two workers on 127.0.0.1, see
``tests/spark.py``) and through Spark Connect: the same partial tables as Polars' on the default
scenario, per group too; the same ``status --json``; a worker killed mid-job; a master that is
not there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.conftest import DEFINITIONS, ROOT, SCENARIO_END
from tests.postgres import free_port
from tests.spark import APP_CONF

END = datetime.fromisoformat(SCENARIO_END)
COPIES = 8  # of each day's log file, for a job long enough to kill a worker in
SPARK_CONF = ";".join(f"{k}={v}" for k, v in APP_CONF.items())


@pytest.fixture(scope="module")
def engine(spark_cluster):
    """The tests' own driver on the cluster (classic PySpark)."""
    from monitors.spark_engine import SparkEngine

    engine = SparkEngine(spark_cluster.master, conf=APP_CONF).connect()
    yield engine
    engine.stop()


def _folder(tmp: Path, scenario: Path) -> Path:
    """A data folder reading the scenario's logs and labels, with nothing computed."""
    tmp.mkdir(parents=True, exist_ok=True)
    for part in ("predictions", "labels"):
        (tmp / part).symlink_to(scenario / part)
    return tmp


def _cli(args: list[str], data: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sigwatch.cli", *args, "--data", str(data)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        env={**os.environ, "SIGWATCH_DEFINITIONS": str(DEFINITIONS), "COLUMNS": "200", **env},
    )


def _backfill(data: Path, **env: str) -> subprocess.CompletedProcess:
    """``sigwatch monitor`` over the scenario's 7 days, as the scenario's fixture ran Polars."""
    at = END.isoformat()
    return _cli(["monitor", "--at", at, "--backfill", "7d", "--slice-step", "3h"], data, **env)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(pl.all(), nulls_last=True)


def assert_same_partials(expected: Path, got: Path) -> dict[str, int]:
    """Every partial table file of ``expected`` is in ``got`` with the same rows: counts and
    keys exactly, float sums within 1e-9 relative (Spark adds in another order). Returns the
    rows compared per kind of table."""
    files = sorted(p.relative_to(expected) for p in (expected / "partials").rglob("*.parquet"))
    assert files, "no partial tables to compare"
    assert files == sorted(p.relative_to(got) for p in (got / "partials").rglob("*.parquet"))
    rows: dict[str, int] = {}
    for name in files:
        left, right = pl.read_parquet(expected / name), pl.read_parquet(got / name)
        assert left.schema == right.schema, name
        left, right = _sorted(left), _sorted(right)
        floats = [c for c, t in left.schema.items() if t.is_float()]
        exact = [c for c in left.columns if c not in floats]
        assert_frame_equal(left.select(exact), right.select(exact), check_exact=True)
        assert_frame_equal(left.select(floats), right.select(floats), rel_tol=1e-9, abs_tol=0)
        kind = name.parts[1]
        rows[kind] = rows.get(kind, 0) + len(left)
    return rows


def _status(data: Path) -> list[dict]:
    run = _cli(["status", "--json", "--groups"], data)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def assert_same_status(expected: list[dict], got: list[dict]) -> None:
    """Field by field: numbers within 1e-9 relative, everything else equal."""
    assert len(expected) == len(got) > 0

    def same(a, b, where: str) -> None:
        if isinstance(a, float) or isinstance(b, float):
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
        elif isinstance(a, dict):
            assert a.keys() == b.keys(), where
            for key in a:
                same(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list):
            assert len(a) == len(b), where
            for k, (x, y) in enumerate(zip(a, b, strict=True)):
                same(x, y, f"{where}[{k}]")
        else:
            assert a == b, where

    for left, right in zip(expected, got, strict=True):
        name = f"{left['signal']}/{left['slo']}/{left.get('group')}"
        same(left, right, name)


@pytest.fixture(scope="module")
def polars_run(default_scenario, tmp_path_factory):
    """The scenario backfilled by ``sigwatch monitor`` with the Polars engine."""
    result, path = default_scenario
    assert result.start == END - timedelta(days=7)
    data = _folder(tmp_path_factory.mktemp("polars-run"), path.parent)
    run = _backfill(data, SIGWATCH_ENGINE="polars")
    assert run.returncode == 0, run.stderr[-3000:]
    return data


def test_every_partial_table_and_the_status_equal_polars_after_a_spark_backfill(
    spark_cluster, polars_run, default_scenario, tmp_path
):
    _, path = default_scenario
    data = _folder(tmp_path / "spark", path.parent)
    env = {"SIGWATCH_SPARK_MASTER": spark_cluster.master, "SIGWATCH_SPARK_CONF": SPARK_CONF}
    run = _backfill(data, SIGWATCH_ENGINE="spark", **env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"computing the partial tables with Spark on {spark_cluster.master}" in run.stderr
    rows = assert_same_partials(polars_run, data)
    # serving, quality and a table per group_by of the definitions (content_type: community,
    # model_version; sentiment: language, ...): each compared group by group
    assert {"serving", "quality", "serving-by-community", "serving-by-language"} <= set(rows)
    assert rows["serving"] == 5 * 7 * 288
    assert rows["serving-by-community"] > 7 * 288  # several communities a bucket
    assert_same_status(_status(polars_run), _status(data))
    grouped = [s for s in _status(data) if s.get("group")]
    assert {s["signal"] for s in grouped} == {"content_type", "sentiment"}


def test_the_same_tables_through_spark_connect(
    spark_cluster, polars_run, default_scenario, tmp_path
):
    _, path = default_scenario
    url = spark_cluster.start_connect()
    try:
        data = _folder(tmp_path / "connect", path.parent)
        run = _backfill(data, SIGWATCH_ENGINE="spark", SIGWATCH_SPARK_MASTER=url)
        assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-3000:]
        assert f"Spark on {url}" in run.stderr
        assert_same_partials(polars_run, data)
        assert_same_status(_status(polars_run), _status(data))
    finally:
        spark_cluster.stop_connect()


def test_the_latency_bins_are_the_same_at_every_edge(engine):
    """Polars and Spark put every float32 latency within 3,000 steps of each of the 74 bin
    edges (and null, NaN, zero, negative, huge) in the same bin."""
    from monitors.engine import LATENCY_EDGES, latency_bin
    from monitors.spark_engine import spark_latency_bin

    around = LATENCY_EDGES.view(np.int32)[:, None] + np.arange(-3000, 3000, dtype=np.int32)
    special = np.array([np.nan, 0.0, -1.0, 0.5, 1.0, 1e9, np.inf], dtype=np.float32)
    values = np.concatenate([around.ravel().view(np.float32), special])
    frame = pl.DataFrame(
        {"i": np.arange(len(values) + 1), "latency_ms": [*values.tolist(), None]},
        schema={"i": pl.Int64, "latency_ms": pl.Float32},
    )
    ours = frame.select("i", latency_bin().alias("polars"))
    theirs = engine.spark.createDataFrame(frame.to_arrow()).select(
        "i", spark_latency_bin().alias("spark")
    )
    both = ours.join(pl.from_arrow(theirs.toArrow()), on="i")
    assert len(both) == len(frame) == 74 * 6000 + 8
    assert both.filter(pl.col("polars") != pl.col("spark")).is_empty()
    assert both["polars"].n_unique() == 76  # bins 0..74, and 75: without a latency
    assert both.filter(pl.col("i") == len(values))["spark"].item() == 75  # null
    edges = pl.Series(LATENCY_EDGES).cast(pl.Float64)
    assert (edges >= pl.Series([10 ** (k / 20) for k in range(1, 75)])).all()


def test_ranges_without_logs_and_with_few_are_what_polars_gives(engine, default_scenario, registry):
    """Before the first log (no ``date=`` partition in the range), an empty range, a signal
    without any log folder, and a single bucket: the same tables as Polars'."""
    from monitors.engine import PolarsEngine, label_versions

    _, path = default_scenario
    data = path.parent
    polars = PolarsEngine()
    signal = registry.get("sentiment")
    versions = label_versions(data, signal)
    first = END - timedelta(days=7)
    for start, end in [
        (first - timedelta(days=2), first - timedelta(days=1)),  # no partition
        (first - timedelta(hours=1), first + timedelta(hours=1)),  # half before the logs
        (END - timedelta(minutes=5), END),  # one bucket
        (END, END),  # nothing asked
    ]:
        expected = polars.partials(data, signal, start, end, versions)
        got = engine.partials(data, signal, start, end, versions)
        assert_frame_equal(expected.serving, got.serving, rel_tol=1e-9, abs_tol=0)
        assert_frame_equal(_sorted(expected.quality), _sorted(got.quality))
        assert expected.grouped.keys() == got.grouped.keys()
        for by, table in expected.grouped.items():
            assert_frame_equal(table, got.grouped[by], rel_tol=1e-9, abs_tol=0)
    assert engine.first_day(data, signal) == first.date()
    nothing = registry.get("content_type")
    assert engine.first_day(data / "labels", nothing) is None  # no logs under that root
    empty = engine.partials(data / "labels", nothing, END - timedelta(hours=1), END, None)
    assert empty.serving["total"].sum() == 0 and len(empty.serving) == 12


def test_a_master_that_is_not_there_fails_the_run_and_writes_nothing(default_scenario, tmp_path):
    _, path = default_scenario
    data = _folder(tmp_path / "data", path.parent)
    master = f"spark://127.0.0.1:{free_port()}"
    args = ["monitor", "--at", END.isoformat(), "--signal", "content_type", "--engine", "spark"]
    started = time.monotonic()
    run = _cli(args, data, SIGWATCH_SPARK_MASTER=master)
    assert run.returncode == 2
    message = " ".join(run.stderr.split())
    assert f"cannot reach the Spark master at {master}" in message, run.stderr
    assert time.monotonic() - started < 60  # not Spark's own minute of retries
    assert not (data / "partials").exists()
    assert not (data / "sigwatch.db").exists()
    # the next run, with Polars, is unaffected
    run = _cli(args[:-2], data)
    assert run.returncode == 0, run.stderr
    assert (data / "partials" / "serving").exists()


def test_a_worker_killed_mid_job_gives_the_same_tables(
    spark_cluster, engine, default_scenario, registry, tmp_path
):
    """The logs of one signal copied into 8 files a day, read in small splits (hundreds of
    tasks a stage): a worker and its executor are killed (SIGKILL) while both executors run a
    task of a stage; Spark runs the lost work again on the other worker (here it was seen to
    re-attempt the stage whose map outputs were lost) and the tables equal Polars'."""
    from monitors.engine import PolarsEngine, label_versions

    _, path = default_scenario
    signal = registry.get("content_type")
    data = tmp_path / "data"
    (data / "labels").mkdir(parents=True)
    (data / "labels" / f"signal={signal.name}").symlink_to(
        path.parent / "labels" / f"signal={signal.name}"
    )
    days = sorted((path.parent / "predictions" / f"signal={signal.name}").glob("date=*"))
    for day in days:
        folder = data / "predictions" / f"signal={signal.name}" / day.name
        folder.mkdir(parents=True)
        for k in range(COPIES):
            (folder / f"part-{k:02d}.parquet").symlink_to(next(day.glob("*.parquet")))
    start, end = END - timedelta(days=7), END
    versions = label_versions(data, signal)
    spark = engine.spark
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(16 * 1024))
    tracker = spark.sparkContext.statusTracker()
    result: dict = {}

    def work() -> None:
        try:
            result["partials"] = engine.partials(data, signal, start, end, versions)
        except Exception as exc:  # shown by the assertion below
            result["error"] = exc

    thread = threading.Thread(target=work)
    killed_in = None
    try:
        thread.start()
        while thread.is_alive() and killed_in is None:
            for stage in tracker.getActiveStageIds():
                info = tracker.getStageInfo(stage)
                running = info and info.numTasks >= 64 and info.numActiveTasks >= 2
                if running and info.numCompletedTasks >= 4:
                    spark_cluster.kill_worker("worker-2")
                    killed_in = stage
                    break
            time.sleep(0.01)
        thread.join(timeout=600)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
        if "worker-2" not in spark_cluster.workers:
            spark_cluster.start_worker("worker-2")
    assert killed_in is not None, "the job ended before a worker could be killed in it"
    assert "error" not in result, result.get("error")
    info = tracker.getStageInfo(killed_in)  # its last attempt, run to the end
    assert info is not None and info.numCompletedTasks == info.numTasks > 0
    got = result["partials"]
    expected = PolarsEngine().partials(data, signal, start, end, versions)
    once = PolarsEngine().serving(path.parent, signal, start, end)["total"].sum()
    assert got.serving["total"].sum() == COPIES * once > 0
    assert_frame_equal(expected.serving, got.serving, rel_tol=1e-9, abs_tol=0)
    assert_frame_equal(_sorted(expected.quality), _sorted(got.quality))
    for by, table in expected.grouped.items():
        assert_frame_equal(table, got.grouped[by], rel_tol=1e-9, abs_tol=0)
