"""Live mode: keep appending prediction logs in near real time and serve the serving fleet's
metrics on ``/metrics`` (prometheus_client) for a Prometheus server to scrape.

Each ``tick(now)`` generates the traffic of ``[cursor, now)`` for every signal (split at UTC
midnight so each file lands in its day's partition), appends one Parquet file per signal and
day, updates the exported counters and histograms, and writes the human labels that have
"arrived" by ``now`` (later ones wait in memory). Time comes from the caller, so tests drive it
with a fixed clock. The cursor is saved in ``<data>/live.json`` after every tick, so a restart
carries on where the last run stopped (labels still waiting in memory are dropped).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from prometheus_client import CollectorRegistry, Counter, Histogram

from sigwatch.clock import Clock
from sigwatch.kinds import LatencySLI
from sigwatch.model import Registry
from simulator.metrics import COST, LABELS, LATENCY, REQUESTS, latency_buckets
from simulator.scenario import Incident
from simulator.traffic import Replay

STATE_FILE = "live.json"


class LiveSimulator:
    def __init__(
        self,
        registry: Registry,
        data_dir: Path,
        corpus: pl.DataFrame,
        *,
        seed: int,
        rate: float,
        start: datetime,
        incidents: list[Incident] | None = None,
        label_rate: float = 0.05,
        metrics: CollectorRegistry | None = None,
    ) -> None:
        self.data_dir, self.rate, self.label_rate = data_dir, rate, label_rate
        self.incidents = incidents or []
        self.replays = {s.name: Replay(corpus, s, seed) for s in registry}
        self.judged = {s.name for s in registry if s.judge is not None}
        self.cursor = start
        self.pending: dict[str, list[pl.DataFrame]] = {s.name: [] for s in registry}
        self.metrics = metrics or CollectorRegistry()
        thresholds = [s.sli.threshold_ms for s in registry.slos if isinstance(s.sli, LatencySLI)]
        self.latency = Histogram(
            LATENCY,
            "Inference latency.",
            LABELS[LATENCY],
            buckets=latency_buckets(thresholds),
            registry=self.metrics,
        )
        # prometheus_client appends _total to counters: these export the contract's names.
        self.requests = Counter(
            REQUESTS, "Inference requests by status.", LABELS[REQUESTS], registry=self.metrics
        )
        self.cost = Counter(
            COST, "Inference cost in US dollars.", LABELS[COST], registry=self.metrics
        )
        self.rows = 0

    def tick(self, now: datetime) -> int:
        """Generate and write everything between the last tick and ``now``; return the rows."""
        written = 0
        while self.cursor < now:
            midnight = datetime(
                self.cursor.year, self.cursor.month, self.cursor.day, tzinfo=UTC
            ) + timedelta(days=1)
            end = min(now, midnight)
            for name, replay in self.replays.items():
                frame, idx = replay.span(self.cursor, end, self.rate, self.incidents)
                if frame.is_empty():
                    continue
                part = (
                    self.data_dir
                    / "predictions"
                    / f"signal={name}"
                    / f"date={self.cursor:%Y-%m-%d}"
                )
                part.mkdir(parents=True, exist_ok=True)
                stamp = int(self.cursor.timestamp() * 1000)
                _write(frame, part / f"part-live-{stamp}.parquet")
                if name in self.judged:
                    texts = self.data_dir / "content" / f"signal={name}" / part.name
                    texts.mkdir(parents=True, exist_ok=True)
                    _write(replay.content(frame, idx), texts / f"part-live-{stamp}.parquet")
                self._observe(name, frame)
                self.pending[name].append(
                    replay.labels(frame, idx, datetime.max.replace(tzinfo=UTC), self.label_rate)
                )
                written += len(frame)
            self.cursor = end
        self._flush_labels(now)
        self.rows += written
        state = self.data_dir / STATE_FILE
        state.write_text(json.dumps({"cursor": self.cursor.isoformat()}) + "\n")
        return written

    @staticmethod
    def resume_point(data_dir: Path, default: datetime) -> datetime:
        """Where a restarted live run carries on: after the last tick, else after the history."""
        for name, key in ((STATE_FILE, "cursor"), ("incidents.json", "end")):
            path = data_dir / name
            if path.exists():
                return datetime.fromisoformat(json.loads(path.read_text())[key])
        return default

    def _observe(self, signal: str, frame: pl.DataFrame) -> None:
        for row in frame.select(
            "status", "served_by", "model_version", "latency_ms", "cost_usd"
        ).iter_rows():
            status, served_by, version, latency_ms, cost = row
            self.requests.labels(signal, status).inc()
            self.cost.labels(signal, served_by).inc(cost)
            self.latency.labels(signal, version).observe(latency_ms / 1000)

    def _flush_labels(self, now: datetime) -> None:
        for name, frames in self.pending.items():
            if not frames:
                continue
            waiting = pl.concat(frames)
            arrived = waiting.filter(pl.col("labeled_at") <= now)
            self.pending[name] = [waiting.filter(pl.col("labeled_at") > now)]
            if not arrived.is_empty():
                folder = self.data_dir / "labels" / f"signal={name}"
                folder.mkdir(parents=True, exist_ok=True)
                _write(arrived, folder / f"part-live-{int(now.timestamp() * 1000)}.parquet")


def _write(frame: pl.DataFrame, path: Path) -> None:
    # Write then rename, so a reader never sees half a file.
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)


def run_live(
    simulator: LiveSimulator,
    clock: Clock,
    interval: float,
    stop: threading.Event,
    on_tick=None,
) -> None:
    """Tick every ``interval`` seconds until ``stop`` is set."""
    while not stop.is_set():
        rows = simulator.tick(clock.now())
        if on_tick:
            on_tick(rows)
        stop.wait(interval)
