"""Live mode: appends in near real time, resumes where it stopped, serves /metrics."""

from __future__ import annotations

import socket
import urllib.request
from datetime import timedelta

import polars as pl
from prometheus_client import start_http_server

from sigwatch.clock import FixedClock
from simulator.corpus import load_corpus
from simulator.live import LiveSimulator
from tests.simulator.conftest import END


def make(registry, corpus_cache, data, start):
    corpus = load_corpus(registry, corpus_cache)
    return LiveSimulator(registry, data, corpus, seed=3, rate=200_000, start=start)


def rows(data) -> pl.DataFrame:
    return pl.read_parquet(data / "predictions" / "**" / "*.parquet", hive_partitioning=True)


def test_ticks_append_new_rows_in_their_day_partitions(registry, corpus_cache, tmp_path):
    clock = FixedClock(END - timedelta(minutes=3))
    sim = make(registry, corpus_cache, tmp_path, clock.now())
    assert sim.tick(clock.now()) == 0
    first = sim.tick(clock.advance(timedelta(minutes=2)))
    second = sim.tick(clock.advance(timedelta(minutes=2)))  # crosses midnight
    assert first > 0 and second > 0
    frame = rows(tmp_path)
    assert len(frame) == first + second
    assert frame["event_time"].min() >= END - timedelta(minutes=3)
    assert frame["event_time"].max() < clock.now()
    assert (frame["event_time"].dt.date() == frame["date"]).all()
    assert {str(d) for d in frame["date"].unique()} == {"2026-11-25", "2026-11-26"}
    assert set(frame["signal"].unique()) == set(registry.names)


def test_metrics_count_every_row_written(registry, corpus_cache, tmp_path):
    clock = FixedClock(END)
    sim = make(registry, corpus_cache, tmp_path, clock.now())
    written = sim.tick(clock.advance(timedelta(minutes=5)))
    total = 0.0
    for signal in registry.names:
        for status in ("ok", "abstain", "error", "timeout"):
            total += (
                sim.metrics.get_sample_value(
                    "sigwatch_inference_requests_total", {"signal": signal, "status": status}
                )
                or 0.0
            )
    assert total == written
    count = sim.metrics.get_sample_value(
        "sigwatch_inference_latency_seconds_count",
        {"signal": "sentiment", "model_version": "2026.11"},
    )
    assert count == len(rows(tmp_path).filter(pl.col("signal") == "sentiment"))


def test_labels_are_written_only_once_they_have_arrived(registry, corpus_cache, tmp_path):
    clock = FixedClock(END)
    sim = make(registry, corpus_cache, tmp_path, clock.now())
    sim.tick(clock.advance(timedelta(minutes=30)))
    assert not (tmp_path / "labels").exists()  # the fastest label takes an hour
    sim.tick(clock.advance(timedelta(days=4)))
    labels = pl.read_parquet(tmp_path / "labels" / "**" / "*.parquet")
    assert len(labels) > 0
    assert (labels["labeled_at"] <= clock.now()).all()


def test_a_restart_resumes_after_the_last_tick(registry, corpus_cache, tmp_path):
    clock = FixedClock(END)
    sim = make(registry, corpus_cache, tmp_path, clock.now())
    sim.tick(clock.advance(timedelta(minutes=5)))
    resumed = LiveSimulator.resume_point(tmp_path, default=END + timedelta(days=9))
    assert resumed == clock.now()
    again = make(registry, corpus_cache, tmp_path, resumed)
    again.tick(clock.advance(timedelta(minutes=5)))
    frame = rows(tmp_path)
    assert frame.group_by("signal", "item_id").len()["len"].max() == 1, "no item written twice"


def test_metrics_are_served_over_http(registry, corpus_cache, tmp_path):
    clock = FixedClock(END)
    sim = make(registry, corpus_cache, tmp_path, clock.now())
    sim.tick(clock.advance(timedelta(minutes=5)))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server, thread = start_http_server(port, addr="127.0.0.1", registry=sim.metrics)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            body = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert 'sigwatch_inference_requests_total{signal="content_type",status="ok"}' in body
    assert 'sigwatch_inference_latency_seconds_bucket{le="0.15"' in body
    assert 'sigwatch_inference_cost_usd_total{served_by="in_house",signal="sentiment"}' in body
