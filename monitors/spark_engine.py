"""The Spark engine: the partial tables of ``monitors.engine`` computed by Spark DataFrame
aggregations on a cluster (a standalone master, ``local[N]``, or Spark Connect ``sc://``), for
logs that outgrow one machine. Only the aggregates come back to this process: per chunk, one
row per (bucket, latency bin) with the serving counts, one per (bucket, group) for each
``group_by``, and the served rows of labelled items (labels are a sample); from these the same
code as ``PolarsEngine``'s builds the tables, so nothing after the seam can tell them apart.

The logs are read where they live: ``SIGWATCH_SPARK_LOGS`` is any root Spark reads (``file://``,
``s3a://``, ``gs://``, ``abfss://``) laid out as the data contract says
(``signal=<name>/date=<day>/*.parquet``); only the ``date=`` partitions of the range are
listed and read. Labels are read on this host (``label_versions``), as for Polars: they are
small, and the served rows are joined with them by a broadcast of the labelled items' ids.

Every expression mirrors ``PolarsEngine``'s to the bit where counts are concerned: the latency
bin is computed in float32 as Polars computes it on the float32 column, and thresholds compare
in float32 too (Polars casts a literal to the column's type; Spark would widen the column).

``pyspark`` is imported only when the engine is made (the ``spark`` extra)."""

from __future__ import annotations

import os
import shutil
import socket
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import polars as pl

from monitors.engine import (
    BINS,
    LATENCY_EDGES,
    Partials,
    _grouped_table,
    _predicted_column,
    _serving_table,
    log_columns,
    no_logs,
    quality_table,
    serving_counts,
)
from monitors.logs import LOG_CONTRACT, LogError, days_touched
from monitors.partials import (
    BUCKET,
    groupings,
    quality_dims,
)
from sigwatch.model import NONE, Signal

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

INSTALL = "pip install 'sigwatch[spark]' (pyspark with Spark Connect's client; Java 17+ as well)"
CONNECT_TIMEOUT_S = 5.0
_BUCKET_US = int(BUCKET.total_seconds() * 1_000_000)
# the data contract's types as Spark names them (a file's schema is checked against these)
SPARK_TYPES = {
    pl.Datetime("us", "UTC"): "timestamp",
    pl.Utf8(): "string",
    pl.Int32(): "int",
    pl.Float32(): "float",
    pl.Float64(): "double",
    pl.List(pl.Utf8()): "array<string>",
}


class SparkUnavailable(RuntimeError):
    """The Spark engine cannot run here: pyspark or Java missing, or the master unreachable."""


def shown(master: str | None) -> str:
    """The master URL as it may be printed: a Spark Connect URL's parameters (``;token=...``
    for Databricks) are hidden."""
    if master is None:
        return "the master spark-submit gave (else local[*])"
    base, _, params = master.partition(";")
    if not params:
        return master
    names = [item.partition("=")[0] for item in params.split(";") if item]
    return base + "".join(f";{name}=***" for name in names)


def reachable(master: str | None) -> None:
    """Fail fast, naming the URL, when no master answers: Spark's own client retries for a
    minute before it gives up, with a message about executors."""
    if master is None or not master.startswith(("spark://", "sc://")):
        return  # local[N], yarn, k8s://...: Spark checks them itself
    for hostport in urlparse(master.partition(";")[0]).netloc.split(","):  # a:7077,b:7077
        host, _, port = hostport.rpartition(":")
        host = host.split("@")[-1] or "localhost"
        try:
            default = 15002 if master.startswith("sc://") else 7077
            with socket.create_connection((host, int(port or default)), CONNECT_TIMEOUT_S):
                return
        except (OSError, ValueError) as exc:
            error = exc
    raise SparkUnavailable(f"cannot reach the Spark master at {shown(master)}: {error}")


def _loopback(master: str | None) -> bool:
    if master is None:
        return False
    if master.startswith("local"):
        return True
    hosts = [h.rpartition(":")[0] for h in urlparse(master).netloc.split(",")]
    return all(h in ("127.0.0.1", "localhost", "::1", "[::1]") for h in hosts)


def open_session(master: str | None, conf: dict[str, str] | None = None) -> SparkSession:
    """A Spark session on ``master`` (``sc://`` for Spark Connect; None: what spark-submit
    gave, else local[*]): UTC, no web UI of the driver's own; on a loopback cluster the driver
    binds 127.0.0.1. ``conf`` overrides."""
    reachable(master)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(f"the Spark engine needs pyspark: {INSTALL}") from None
    if master is not None and master.startswith("sc://"):
        try:
            import pyspark.sql.connect.session  # noqa: F401  (grpc and its friends)
        except ImportError as exc:
            raise SparkUnavailable(
                f"Spark Connect needs its client libraries ({exc.name} is missing): {INSTALL}"
            ) from None
        builder = SparkSession.builder.remote(master)
        settings = {"spark.sql.session.timeZone": "UTC", **(conf or {})}
    else:
        if not shutil.which("java") and not _java_home():
            raise SparkUnavailable(
                "the Spark engine needs Java 17 or later on this host (Debian: "
                "apt install openjdk-17-jre-headless), or JAVA_HOME set"
            )
        builder = SparkSession.builder.appName("sigwatch monitors")
        if master is not None:
            builder = builder.master(master)
        settings = {
            "spark.sql.session.timeZone": "UTC",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",  # stage bars would garble the CLI's output
            **(
                {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
                if _loopback(master)
                else {}
            ),
            **(conf or {}),
        }
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # py4j and grpc raise their own kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SparkUnavailable(
            f"cannot start a Spark session on {shown(master)}: {first}"
        ) from None


def _java_home() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(home) and (Path(home) / "bin" / "java").exists()


class SparkEngine:
    """``Engine`` on a Spark cluster. ``logs`` is the prediction logs' root as Spark reads it
    (default: the data folder's ``predictions``, as a ``file://`` URI)."""

    def __init__(
        self, master: str | None, logs: str | None = None, conf: dict[str, str] | None = None
    ) -> None:
        self.master, self.logs, self.conf = master, logs, dict(conf or {})
        self._spark: SparkSession | None = None
        self._versions: pl.DataFrame | None = None
        self._items: DataFrame | None = None
        self.returned: dict[str, int] = {}  # Arrow bytes brought back to this process, by kind

    @classmethod
    def from_settings(cls, settings) -> SparkEngine:
        conf = {key: value.reveal() for key, value in settings.spark_conf}
        return cls(settings.spark_master, settings.spark_logs, conf)

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            self._spark = open_session(self.master, self.conf)
        return self._spark

    def connect(self) -> SparkEngine:
        """Open the session now (a clear error before any work when the cluster is away)."""
        _ = self.spark
        return self

    def stop(self) -> None:
        if self._spark is not None:
            self._spark.stop()
            self._spark = None

    def describe(self) -> str:
        return f"Spark on {shown(self.master)}"

    def root(self, data_dir: Path) -> str:
        if self.logs:
            return self.logs.rstrip("/")
        return (data_dir.resolve() / "predictions").as_uri()

    # --- reading -------------------------------------------------------------------------

    def _signal_logs(self, data_dir: Path, signal: Signal) -> DataFrame | None:
        """The signal's logs with ``date`` as a partition column, or None without any."""
        from pyspark.errors import AnalysisException

        folder = f"{self.root(data_dir)}/signal={signal.name}"
        try:
            frame = self.spark.read.parquet(folder)
            frame.schema  # noqa: B018  (Spark Connect analyses lazily: the error is here)
        except AnalysisException as exc:
            if "PATH_NOT_FOUND" in str(exc) or "UNABLE_TO_INFER_SCHEMA" in str(exc):
                return None
            raise
        return frame

    def _scan(
        self,
        data_dir: Path,
        signal: Signal,
        start: datetime,
        end: datetime,
        columns: list[str],
    ) -> DataFrame | None:
        """Rows of ``[start, end)`` with ``columns`` (and the bucket index), checked against
        the data contract: a column the task needs must be there with its type, one it does
        not is typed nulls."""
        from pyspark.sql import functions as F

        frame = self._signal_logs(data_dir, signal)
        if frame is None:
            return None
        types = {c.name: c.dtype for c in LOG_CONTRACT}
        needed = {c.name for c in LOG_CONTRACT if c.required_for(signal.task)}
        found = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        where = f"{self.root(data_dir)}/signal={signal.name}"
        wanted = list(dict.fromkeys(["event_time", *columns]))
        for column in wanted:
            if column not in needed:
                continue
            expected = SPARK_TYPES[types[column]]
            if column not in found:
                raise LogError(f"{where}: column {column!r} is missing; expected {expected}")
            if found[column] != expected:
                raise LogError(
                    f"{where}: column {column!r} is {found[column]}, expected {expected}"
                )
        days = days_touched(start, end)
        micros = F.unix_micros(F.col("event_time"))
        start_us = int(start.timestamp() * 1_000_000)
        selected = [
            F.col(c) if c in needed else F.lit(None).cast(SPARK_TYPES[types[c]]).alias(c)
            for c in wanted
        ]
        index = F.expr(f"(unix_micros(event_time) - {start_us}) div {_BUCKET_US}")
        in_days = F.col("date").cast("date").between(F.lit(days[0]), F.lit(days[-1]))
        return (
            frame.filter(in_days)  # partition pruning: only the range's days are read
            .filter((micros >= start_us) & (micros < int(end.timestamp() * 1_000_000)))
            .select(*selected, index.alias("index"))
        )

    def first_day(self, data_dir: Path, signal: Signal) -> date | None:
        from pyspark.sql import functions as F

        frame = self._signal_logs(data_dir, signal)
        if frame is None:
            return None
        return frame.select(F.min(F.col("date").cast("date"))).collect()[0][0]

    # --- the seam ----------------------------------------------------------------------------

    def partials(
        self,
        data_dir: Path,
        signal: Signal,
        start: datetime,
        end: datetime,
        versions: pl.DataFrame | None,
    ) -> Partials:
        from pyspark.sql import functions as F

        columns = log_columns(signal, versions is not None)
        logs = self._scan(data_dir, signal, start, end, columns) if start < end else None
        if logs is None:
            return no_logs(signal, start, end, versions)
        aggregates = _count_columns(signal)
        # Counts per (bucket, latency bin), then per bucket with the bins' totals as a list:
        # one row a bucket comes back (every count on every bin's row was most of the bytes).
        per_bin = logs.groupBy(F.col("index"), spark_latency_bin().alias("bin")).agg(*aggregates)
        sums = [F.sum(c).alias(c) for c in per_bin.columns if c not in ("index", "bin")]
        bins = F.collect_list(F.struct("bin", "total")).alias("hist")
        counts = self._collect(per_bin.groupBy("index").agg(*sums, bins), "serving")
        hist = (
            counts.select("index", "hist")
            .explode("hist")
            .unnest("hist")
            .select((pl.col("index") * BINS + pl.col("bin")).alias("key"), "total")
        )
        counts = counts.drop("hist")
        grouped = {}
        for by in groupings(signal):
            groups = [F.coalesce(F.col(c), F.lit(NONE)).alias(c) for c in by]
            table = self._collect(logs.groupBy(F.col("index"), *groups).agg(*aggregates), "groups")
            grouped[by] = _grouped_table(table, signal, start, by)
        quality = None
        if versions is not None:
            served = self._served_labelled(logs, signal, start, versions)
            quality = quality_table(served, versions, signal)
        return Partials(_serving_table(counts, signal, start, end, hist), quality, grouped)

    def _served_labelled(
        self,
        logs: DataFrame,
        signal: Signal,
        start: datetime,
        versions: pl.DataFrame,
    ) -> pl.DataFrame:
        """The served rows of labelled items, as ``PolarsEngine`` collects them: ``bucket``,
        the quality dimensions, ``item_id``, ``predicted``."""
        from pyspark.sql import functions as F

        predicted, dims = _predicted_column(signal), quality_dims(signal)
        types = {c.name: c.dtype for c in LOG_CONTRACT}
        schema = {
            "bucket": pl.Datetime("us", "UTC"),
            **dict.fromkeys(dims, pl.Utf8()),
            "item_id": pl.Utf8(),
            "predicted": types[predicted],
        }
        if versions.is_empty():
            return pl.DataFrame(schema=schema)
        rows = self._collect(
            logs.filter(F.col("status") == "ok")
            .join(F.broadcast(self._labelled(versions)), "item_id", "left_semi")
            .select(
                "index",
                *[F.coalesce(F.col(d), F.lit(NONE)).alias(d) for d in dims],
                "item_id",
                F.col(predicted).alias("predicted"),
            ),
            "labelled",
        )
        if rows.is_empty():
            return pl.DataFrame(schema=schema)
        bucket = pl.lit(start, pl.Datetime("us", "UTC")) + pl.duration(
            microseconds=pl.col("index") * _BUCKET_US
        )
        return rows.select(
            bucket.alias("bucket"), *[pl.col(c).cast(t) for c, t in schema.items() if c != "bucket"]
        )

    def _collect(self, frame: DataFrame, kind: str) -> pl.DataFrame:
        """A small aggregate, brought to this process through Arrow (its bytes counted in
        ``returned``, by kind: what the driver holds is the tables, never the logs)."""
        table = frame.toArrow()
        self.returned[kind] = self.returned.get(kind, 0) + table.nbytes
        return pl.from_arrow(table)

    def _labelled(self, versions: pl.DataFrame) -> DataFrame:
        """The labelled items' ids as a (broadcast) Spark DataFrame, made once per versions."""
        if self._versions is not versions or self._items is None:
            import pandas as pd

            ids = versions["item_id"].unique().sort()
            frame = pd.DataFrame({"item_id": ids.to_list()})
            self._items = self.spark.createDataFrame(frame, schema="item_id string")
            self._versions = versions
        return self._items


def spark_latency_bin() -> Column:
    """``monitors.engine.latency_bin`` in Spark: the number of ``LATENCY_EDGES`` at or below
    the latency (a binary search of float32 comparisons), ``BINS - 1`` without a latency."""
    from pyspark.sql import functions as F

    latency = F.nanvl(F.col("latency_ms"), F.lit(None).cast("float"))

    def search(lo: int, hi: int) -> Column:  # the bin, knowing edges[:lo] <= x < edges[hi:]
        if lo == hi:
            return F.lit(lo)
        mid = (lo + hi) // 2
        edge = F.lit(float(LATENCY_EDGES[mid])).cast("float")
        return F.when(latency < edge, search(lo, mid)).otherwise(search(mid + 1, hi))

    found = search(0, len(LATENCY_EDGES))
    return F.when(latency.isNull(), F.lit(BINS - 1)).otherwise(found).cast("long")


def _count_columns(signal: Signal) -> list[Column]:
    """``monitors.engine.serving_counts`` in Spark: the same counts, null rows counted as
    Polars counts them (a null condition is not counted; a sum of nothing is 0), numbers
    compared as floats (the score's and the latency's type: Polars compares them so)."""
    from pyspark.sql import functions as F

    def num(value: float) -> Column:
        return F.lit(float(value)).cast("float")

    out = []
    for count in serving_counts(signal):
        where = None if count.where is None else count.where(F.col, num)
        if count.of is not None:
            summed = F.col(count.of) if where is None else F.when(where, F.col(count.of))
            out.append(F.coalesce(F.sum(summed), F.lit(0.0)))
        elif where is None:
            out.append(F.count(F.lit(1)).cast("long"))
        else:
            counted = F.sum(F.when(where, 1).otherwise(0)).cast("long")
            out.append(counted.cast("double") if count.real else counted)
        out[-1] = out[-1].alias(count.name)
    return out
