"""Choosing the engine: settings, the CLI's --engine, and what is said when Spark cannot run
(no cluster needed; the cluster's tests are in test_spark_engine.py)."""

from __future__ import annotations

import builtins

import pytest
from typer.testing import CliRunner

from monitors.engine import PolarsEngine, make_engine
from monitors.spark_engine import SparkEngine, SparkUnavailable, open_session, shown
from sigwatch.cli import app
from sigwatch.settings import Settings
from tests.conftest import DEFINITIONS
from tests.postgres import free_port


def test_the_engine_is_polars_unless_spark_is_chosen():
    settings = Settings.from_env({})
    assert settings.engine == "polars" and settings.spark_master is None
    assert isinstance(make_engine(settings), PolarsEngine)
    spark = Settings.from_env(
        {
            "SIGWATCH_ENGINE": "spark",
            "SIGWATCH_SPARK_MASTER": "spark://10.0.0.5:7077",
            "SIGWATCH_SPARK_LOGS": "s3a://lake/predictions",
            "SIGWATCH_SPARK_CONF": "spark.executor.memory=8g; spark.hadoop.fs.s3a.secret.key=K1",
        }
    )
    engine = make_engine(spark)
    assert isinstance(engine, SparkEngine)  # made, not connected: pyspark is not imported yet
    assert engine.master == "spark://10.0.0.5:7077"
    assert engine.conf == {"spark.executor.memory": "8g", "spark.hadoop.fs.s3a.secret.key": "K1"}
    assert engine.root(DEFINITIONS) == "s3a://lake/predictions"
    assert "K1" not in repr(spark)
    assert isinstance(make_engine(spark, "polars"), PolarsEngine)  # --engine wins


def test_the_default_logs_root_is_the_data_folder_as_a_file_uri(tmp_path):
    engine = SparkEngine("local[1]")
    assert engine.root(tmp_path) == (tmp_path.resolve() / "predictions").as_uri()
    assert engine.root(tmp_path).startswith("file:///")


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"SIGWATCH_ENGINE": "duckdb"}, "SIGWATCH_ENGINE: 'duckdb'; allowed: polars, spark"),
        (
            {"SIGWATCH_SPARK_CONF": "spark.a=1;executor.memory=SECRETVALUE"},
            "SIGWATCH_SPARK_CONF: item 2 is not spark.<name>=<value>",
        ),
        ({"SIGWATCH_SPARK_CONF": "spark.a"}, "item 1 is not spark.<name>=<value>"),
    ],
)
def test_bad_engine_settings_name_the_variable_and_what_is_allowed(environ, says):
    with pytest.raises(ValueError, match="environment variable") as error:
        Settings.from_env(environ)
    assert says in str(error.value)
    assert "SECRETVALUE" not in str(error.value)


def test_a_spark_connect_token_is_never_shown():
    url = "sc://dbc-1.cloud.databricks.com:443/;token=dapiSECRET;x-databricks-cluster-id=0123"
    assert (
        shown(url) == "sc://dbc-1.cloud.databricks.com:443/;token=***;x-databricks-cluster-id=***"
    )
    assert shown("spark://127.0.0.1:7077") == "spark://127.0.0.1:7077"
    assert "spark-submit" in shown(None)


def test_an_unreachable_master_is_named_at_once():
    master = f"spark://127.0.0.1:{free_port()}"
    with pytest.raises(SparkUnavailable, match=f"cannot reach the Spark master at {master}"):
        open_session(master)
    url = f"sc://127.0.0.1:{free_port()}/;token=dapiSECRET"
    with pytest.raises(SparkUnavailable) as error:
        open_session(url)
    assert "token=***" in str(error.value) and "dapiSECRET" not in str(error.value)


def test_without_pyspark_choosing_spark_says_what_to_install(monkeypatch):
    real = builtins.__import__

    def no_pyspark(name, *args, **kwargs):
        if name.split(".")[0] == "pyspark":
            raise ImportError(f"No module named {name!r}", name=name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    with pytest.raises(SparkUnavailable, match=r"pip install 'sigwatch\[spark\]'"):
        SparkEngine("local[1]").connect()


def test_the_cli_refuses_an_unknown_engine_before_any_work(tmp_path):
    result = CliRunner().invoke(
        app,
        ["monitor", "--engine", "duckdb", "--data", str(tmp_path), "-d", str(DEFINITIONS)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 2
    assert "engine 'duckdb' is not known; allowed: polars, spark" in " ".join(result.output.split())
    assert not (tmp_path / "sigwatch.db").exists()


def test_a_scheduled_run_on_an_unreachable_cluster_is_a_recorded_failure(tmp_path):
    """``serve``'s job with the Spark engine and no master answering: each signal's run is
    recorded as failed, naming the master, and nothing is computed; the scheduler goes on."""
    from datetime import UTC, datetime

    from monitors.scheduler import monitor_signal
    from sigwatch.clock import FixedClock
    from sigwatch.runtime import Runtime

    master = f"spark://127.0.0.1:{free_port()}"
    environ = {"SIGWATCH_ENGINE": "spark", "SIGWATCH_SPARK_MASTER": master}
    runtime = Runtime.from_env(
        data=tmp_path,
        definitions=DEFINITIONS,
        clock=FixedClock(datetime(2026, 11, 26, tzinfo=UTC)),
        settings=Settings.from_env(environ),
    )
    with runtime.open_store() as store:
        outcomes = monitor_signal(runtime, store, "sentiment")
        runs = store.runs("sentiment")
    assert [o.ok for o in outcomes] == [False]
    assert f"cannot reach the Spark master at {master}" in outcomes[0].error
    first_line = outcomes[0].error.splitlines()[0]
    assert first_line == f"SparkUnavailable: cannot reach the Spark master at {master}: " + (
        "[Errno 111] Connection refused"
    )
    assert [(r.status, r.error.splitlines()[0]) for r in runs] == [("error", first_line)]
    assert not (tmp_path / "partials").exists()
