"""Replay: 10M prediction-log rows across the five signals (target < 60 s, memory bounded),
beside a baseline that writes the same number of rows of plain random columns with Polars."""

from __future__ import annotations

import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from sigwatch.registry import load_registry
from sigwatch.settings import Settings
from simulator.corpus import load_corpus
from simulator.run import simulate

ROWS = 10_000_000
DAYS = 20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    settings = Settings.from_env()
    registry = load_registry(settings.definitions_dir)
    cache = settings.data_dir / "cache"
    load_corpus(registry, cache)  # built once per machine; not part of the figure
    rate = ROWS / DAYS / len(registry)
    end = datetime(2026, 11, 26, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="sigwatch-bench-") as tmp:
        before = _peak_mb()
        started = time.perf_counter()
        result = simulate(
            registry, Path(tmp) / "sim", days=DAYS, seed=1, end=end, rate=rate, cache_dir=cache
        )
        seconds = time.perf_counter() - started
        rows = sum(result.rows.values())
        peak = _peak_mb()
        base = _baseline(Path(tmp) / "baseline", rows)
    verdict = "ok" if seconds < 60 else "OVER TARGET"
    print(f"replay: {rows:,} rows in {seconds:.1f} s = {rows / seconds / 1e6:.2f} M rows/s")
    print(f"  target 10M rows in < 60 s: {verdict}")
    print(f"  peak RSS of the process: {peak:.0f} MB (before the replay: {before:.0f} MB)")
    print(f"  baseline, Polars writing {rows:,} random rows in day-sized files: {base:.1f} s")
    print(f"  ratio: replay costs {seconds / base:.1f}x a bare write")


def _baseline(folder: Path, rows: int) -> float:
    rng = np.random.default_rng(0)
    per_file = rows // (DAYS * 5)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    for k in range(DAYS * 5):
        frame = pl.DataFrame(
            {
                "event_time": np.sort(rng.integers(0, 86_400_000_000, per_file)).astype(
                    "datetime64[us]"
                ),
                "item_id": pl.int_range(per_file, eager=True).cast(pl.Utf8),
                "status": rng.choice(["ok", "abstain", "error"], per_file),
                "score": rng.random(per_file).astype(np.float32),
                "latency_ms": rng.random(per_file).astype(np.float32),
                "cost_usd": rng.random(per_file),
            }
        )
        frame.write_parquet(folder / f"part-{k}.parquet")
    return time.perf_counter() - started
