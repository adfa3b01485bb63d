"""Spark: rows per second of the partial computation (one signal's serving, grouped and quality
tables over 7 days: ``Engine.partials`` as the runner calls it) on a standalone cluster of 1
and of 2 workers with one core each, started on this machine, beside Polars on the same rows;
and the bytes each run brought back to the driver, per 5-minute bucket.

The logs: ``content_type`` of the monitor bench's 7-day simulation (``var/bench``, made once),
read once and four times over (each day's file linked four times). Each Spark figure is the
faster of two runs after a warm-up run (the JVM compiles as it goes), as a long-running
``serve`` would see it; the session's start is printed apart.

One machine with 2 cores cannot show what a cluster gains: its two "workers" share the same two
cores and disk with the driver and each other. What the figures show is Spark's fixed cost per
run, its rows/s per core, how that scales from 1 to 2 workers here, and that what comes back
is the size of the tables, whatever the rows."""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.monitor_bench import END, _data

SIGNAL = "content_type"
DAYS = 7
TIMES = (1, 4)  # each day's file linked this many times


def _copies(source: Path, target: Path, times: int) -> int:
    """``target`` reads the signal's logs ``times`` over; returns the rows."""
    import polars as pl

    rows = 0
    for day in sorted((source / "predictions" / f"signal={SIGNAL}").glob("date=*")):
        folder = target / "predictions" / f"signal={SIGNAL}" / day.name
        folder.mkdir(parents=True)
        for path in sorted(day.glob("*.parquet")):
            n = pl.scan_parquet(path).select(pl.len()).collect().item()
            for k in range(times):
                (folder / f"{k}-{path.name}").symlink_to(path.resolve())
                rows += n
    (target / "labels").mkdir()
    (target / "labels" / f"signal={SIGNAL}").symlink_to(
        (source / "labels" / f"signal={SIGNAL}").resolve()
    )
    return rows


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    from monitors.engine import PolarsEngine, label_versions
    from monitors.partials import BUCKET
    from monitors.spark_engine import SparkEngine
    from sigwatch.registry import load_registry
    from sigwatch.settings import Settings
    from tests.spark import APP_CONF, SparkCluster

    settings = Settings.from_env()
    signal = load_registry(settings.definitions_dir).get(SIGNAL)
    source, _ = _data(settings.data_dir / "bench", DAYS, DAYS * 1_000_000)
    end = END
    start = end - timedelta(days=DAYS)
    buckets = int((end - start) / BUCKET)
    with tempfile.TemporaryDirectory(prefix="sigwatch-spark-bench-") as tmp:
        folders = {}
        for times in TIMES:
            folders[times] = Path(tmp) / f"x{times}"
            rows = _copies(source, folders[times], times)
            folders[times] = (folders[times], rows)
        versions = label_versions(folders[1][0], signal)
        print(f"{SIGNAL}: {DAYS} days, {buckets:,} buckets; labels {len(versions):,}")
        results: dict[str, dict[int, float]] = {"polars": {}}
        polars = PolarsEngine()
        for times, (folder, rows) in folders.items():
            seconds = min(
                _timed(lambda f=folder: polars.partials(f, signal, start, end, versions))
                for _ in range(2)
            )
            results["polars"][times] = seconds
            print(
                f"  Polars (this process): {rows:,} rows in {seconds:.2f} s = "
                f"{rows / seconds / 1e6:.2f}M rows/s"
            )
        returned: dict[int, dict[str, int]] = {}
        for workers in (1, 2):
            cluster = SparkCluster(workers=workers, cores=1).start()
            try:
                conf = {**APP_CONF, "spark.cores.max": str(workers), "spark.executor.memory": "1g"}
                engine = SparkEngine(cluster.master, conf=conf)
                opened = _timed(engine.connect)
                name = f"spark x{workers}"
                results[name] = {}
                for times, (folder, rows) in folders.items():
                    engine.partials(folder, signal, start, end, versions)  # warm-up
                    engine.returned = {}
                    seconds = _timed(
                        lambda f=folder, e=engine: e.partials(f, signal, start, end, versions)
                    )
                    returned[times] = dict(engine.returned)
                    seconds = min(
                        seconds,
                        _timed(
                            lambda f=folder, e=engine: e.partials(f, signal, start, end, versions)
                        ),
                    )
                    results[name][times] = seconds
                    back = sum(returned[times].values())
                    print(
                        f"  Spark, {workers} worker(s) of 1 core (session {opened:.1f} s): "
                        f"{rows:,} rows in {seconds:.2f} s = {rows / seconds / 1e6:.2f}M rows/s "
                        f"({seconds / results['polars'][times]:.1f}x Polars's time); "
                        f"{back / 1e3:,.0f} kB back to the driver"
                    )
                engine.stop()
            finally:
                cluster.stop()
        _summary(results, folders, returned, buckets)


def _summary(results, folders, returned, buckets) -> None:
    """Fixed cost and rows/s of each engine from the two sizes; the crossover."""
    (small, (_, r1)), (large, (_, r2)) = sorted(folders.items())
    print("  per engine, from the two sizes (seconds = fixed + rows / rate):")
    fits = {}
    for name, times in results.items():
        t1, t2 = times[small], times[large]
        rate = (r2 - r1) / max(t2 - t1, 1e-9)
        fixed = max(0.0, t1 - r1 / rate)
        fits[name] = (fixed, rate)
        print(f"    {name}: fixed {fixed:.2f} s a run, {rate / 1e6:.2f}M rows/s")
    fixed_p, rate_p = fits["polars"]
    rate_1 = fits["spark x1"][1]
    fixed_2, rate_2 = fits["spark x2"]
    scaling = rate_2 / rate_1
    print(
        f"  1 -> 2 workers here: {scaling:.2f}x the rows/s (same 2 cores shared with the "
        f"driver: a cluster's workers each bring their own)"
    )
    per_worker = rate_1
    needed = rate_p / per_worker
    print(
        f"  Polars on this machine (2 cores) does {rate_p / 1e6:.2f}M rows/s; a Spark worker "
        f"core {per_worker / 1e6:.2f}M rows/s: about {needed:.1f} worker cores match this "
        f"machine, and a cluster of N cores does about N x {per_worker / 1e6:.2f}M rows/s "
        f"past Spark's fixed {fixed_2:.1f} s a run"
    )
    if rate_2 > rate_p:
        crossover = (fixed_2 - fixed_p) / (1 / rate_p - 1 / rate_2)
        print(f"  crossover here: Spark (2 workers) is faster past {crossover / 1e6:.1f}M rows")
    else:
        print(
            "  crossover here: none; on this machine Polars is faster at every size (Spark "
            "pays its fixed cost and the JVM's per-row cost on the same two cores)"
        )
    for cores in (16, 64, 256):  # a prediction: the rate per core measured here, times N
        rate_n = cores * per_worker
        if rate_n > rate_p:
            rows = fixed_2 / (1 / rate_p - 1 / rate_n)
            day, here = fixed_2 + 1e9 / rate_n, 1e9 / rate_p
            print(
                f"  predicted, a cluster of {cores} such cores: faster than Polars here past "
                f"{rows / 1e6:,.0f}M rows a run; 1B rows in {day:,.0f} s (here {here:,.0f} s)"
            )
    print("  back to the driver (Arrow bytes), by what it is:")
    for times, kinds in sorted(returned.items()):
        rows = folders[times][1]
        parts = ", ".join(
            f"{kind} {b / 1e3:,.0f} kB ({b / buckets:,.0f} B a bucket)" for kind, b in kinds.items()
        )
        print(f"    {rows:,} rows: {parts}")
    print("  serving and groups follow the buckets and groups, not the rows; labelled follows")
    print("  the labelled predictions read (here each is read once per copy of the logs)")
