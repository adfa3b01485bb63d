"""Latency from a real Prometheus (Debian's package, on 127.0.0.1) over history backfilled with
promtool from the simulator's OpenMetrics file: the same counts as the logs; an unreachable
server makes latency no_data with the error recorded, and the other SLOs go on."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from monitors.engine import PolarsEngine
from monitors.partials import le_column
from monitors.prometheus import PrometheusSource
from monitors.runner import Monitor
from monitors.sources import PrometheusServing
from sigwatch.clock import FixedClock
from sigwatch.store import Store
from simulator.run import simulate

END = datetime(2026, 11, 26, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def history(registry, corpus_cache, tmp_path_factory):
    data = tmp_path_factory.mktemp("prom-data")
    simulate(
        registry, data, days=1, seed=4, end=END, rate=4000, scenario="none", cache_dir=corpus_cache
    )
    return data


@pytest.fixture(scope="module")
def prometheus(history, tmp_path_factory):
    binary, promtool = shutil.which("prometheus"), shutil.which("promtool")
    assert binary and promtool, "`make test` installs Debian's prometheus package"
    tsdb = tmp_path_factory.mktemp("tsdb")
    openmetrics = history / "metrics" / "sigwatch.om"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(openmetrics), str(tsdb)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    config = tsdb / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tsdb}",
            "--storage.tsdb.retention.time=3650d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def evaluate(registry, history, db, prometheus):
    """A first run at END over the history's logs, in a data folder of its own (the serving
    tables it computes are kept in the data folder)."""
    data = db.with_suffix("")
    data.mkdir()
    for part in ("predictions", "labels"):
        (data / part).symlink_to(history / part)
    store = Store.open(db, clock=FixedClock(END))
    source = PrometheusServing(prometheus) if prometheus else None
    monitor = Monitor(registry, data, store, FixedClock(END), source=source)
    return store, {o.signal: o for o in monitor.run(END)}


def test_latency_from_prometheus_equals_the_logs(registry, history, prometheus, tmp_path):
    source = PrometheusSource(prometheus)
    counts = source.latency_counts("sentiment", [100.0], END - timedelta(hours=6), END)
    assert len(counts) == 72  # every 5-minute bucket of the 6 hours
    logs_store, from_logs = evaluate(registry, history, tmp_path / "logs.db", None)
    prom_store, from_prom = evaluate(registry, history, tmp_path / "prom.db", source)
    for signal in registry:
        logs = {s.slo: s for s in from_logs[signal.name].statuses}
        prom = {s.slo: s for s in from_prom[signal.name].statuses}
        latency = next(s.name for s in signal.slos if s.sli.kind == "latency")
        # The last 5 minutes before END are not in the counters' history yet (their sample
        # lands at END), so compare the full hour before, bucket by bucket.
        a = PolarsEngine().serving(
            history, signal, END - timedelta(hours=2), END - timedelta(hours=1)
        )
        b = PrometheusServing(source).fill(signal, a)
        le = le_column(signal.slo(latency).sli.threshold_ms)
        assert b["source"].unique().to_list() == ["prometheus"]
        assert b["latency_total"].to_list() == a["total"].cast(float).to_list()
        assert b[le].to_list() == a[le].to_list()
        assert prom[latency].state == logs[latency].state
        cost = next(s.name for s in signal.slos if s.sli.kind == "cost_per_1k")
        assert prom_store.latest_measurement(signal.name, cost).cost.source == "prometheus"
        assert logs_store.latest_measurement(signal.name, cost).cost.source == "logs"
        # The counters hold every request and dollar up to the last sample before END.
        assert prom[cost].value == pytest.approx(logs[cost].value, rel=0.02)


def test_an_unreachable_prometheus_is_no_data_with_the_error_recorded(registry, history, tmp_path):
    down = PrometheusSource(f"http://127.0.0.1:{free_port()}", timeout=2)
    _, outcomes = evaluate(registry, history, tmp_path / "down.db", down)
    statuses = {s.slo: s for s in outcomes["content_type"].statuses}
    assert statuses["latency"].state == "no_data"
    assert "Prometheus at http://127.0.0.1:" in statuses["latency"].details["errors"][0]
    assert statuses["cost"].state == "no_data"
    assert "Prometheus at http://127.0.0.1:" in statuses["cost"].details["errors"][0]
    assert statuses["coverage"].state == "ok"  # the logs' SLOs go on
