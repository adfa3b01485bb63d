"""Monitors: one cold monitor cycle (every signal, every SLO) over 10M log rows, beside
(a) a bare Polars scan of the same columns and (b) Evidently's ClassificationPreset +
DataDriftPreset over a 200k-row subset, scaled linearly to the same rows (Evidently's cost grows
about linearly; the full 10M would take most of an hour). Targets: the cycle within 3x of (a),
at least 20x faster than (b). Each measurement runs in its own process for its own peak RSS;
the cycle's process imports Evidently before the clock starts, as ``sigwatch serve`` does once."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

ROWS = 10_000_000
DAYS = 20
EVIDENTLY_ROWS = 200_000
END = datetime(2026, 11, 26, tzinfo=UTC)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, data: str) -> dict:
    folder = Path(data)
    started = time.perf_counter()
    if kind == "cycle":
        from monitors.runner import Monitor
        from monitors.slis.drift import _import_evidently
        from sigwatch.clock import FixedClock
        from sigwatch.registry import load_registry
        from sigwatch.settings import Settings
        from sigwatch.store import Store

        _import_evidently()  # paid once per process (about 5 s), not per cycle
        started = time.perf_counter()
        registry = load_registry(Settings.from_env().definitions_dir)
        with Store.open(folder / "bench.db", clock=FixedClock(END)) as store:
            outcomes = Monitor(registry, folder, store, FixedClock(END)).run(END)
        assert all(o.ok for o in outcomes), [o.error for o in outcomes]
        extra = {"slos": sum(len(o.statuses) for o in outcomes)}
    elif kind == "scan":
        import polars as pl

        files = sorted((folder / "predictions").rglob("*.parquet"))
        columns = ["event_time", "status", "score", "latency_ms", "cost_usd", "served_by", "label"]
        out = pl.scan_parquet(files).select(columns).select(
            pl.len(), pl.col("score").sum(), pl.col("latency_ms").sum(), pl.col("cost_usd").sum(),
            pl.col("status").n_unique(), pl.col("served_by").n_unique(), pl.col("label").n_unique(),
        ).collect()  # fmt: skip
        extra = {"rows": int(out[0, 0])}
    else:
        import polars as pl

        files = sorted((folder / "predictions" / "signal=content_type").rglob("*.parquet"))
        frame = (
            pl.scan_parquet(files)
            .filter(pl.col("status") == "ok")
            .select("label", "community", "text_len", "item_kind")
            .head(EVIDENTLY_ROWS)
            .collect()
        )
        rng_labels = frame["label"].shuffle(seed=1)  # a stand-in target column
        frame = frame.with_columns(rng_labels.alias("target"))
        half = len(frame) // 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from evidently import DataDefinition, Dataset, MulticlassClassification, Report
            from evidently.presets import ClassificationPreset, DataDriftPreset

            definition = DataDefinition(
                classification=[
                    MulticlassClassification(target="target", prediction_labels="label")
                ],
                categorical_columns=["community", "item_kind", "label", "target"],
                numerical_columns=["text_len"],
            )
            started = time.perf_counter()
            Report([ClassificationPreset(), DataDriftPreset()]).run(
                current_data=Dataset.from_pandas(
                    frame[:half].to_pandas(), data_definition=definition
                ),
                reference_data=Dataset.from_pandas(
                    frame[half:].to_pandas(), data_definition=definition
                ),
            )
        extra = {"rows": len(frame)}
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(), **extra}


def _run_child(kind: str, data: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.monitor_bench", kind, str(data)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from sigwatch.registry import load_registry
    from sigwatch.settings import Settings
    from simulator.corpus import load_corpus
    from simulator.run import simulate

    settings = Settings.from_env()
    registry = load_registry(settings.definitions_dir)
    cache = settings.data_dir / "cache"
    load_corpus(registry, cache)
    with tempfile.TemporaryDirectory(prefix="sigwatch-monitor-bench-") as tmp:
        data = Path(tmp)
        result = simulate(registry, data, days=DAYS, seed=1, end=END,
                          rate=ROWS / DAYS / len(registry), cache_dir=cache)  # fmt: skip
        rows = sum(result.rows.values())
        cycle = _run_child("cycle", data)
        scan = _run_child("scan", data)
        evidently = _run_child("evidently", data)
    scaled = evidently["seconds"] * rows / evidently["rows"]
    print(f"monitor cycle over {rows:,} rows, {cycle['slos']} SLOs: {cycle['seconds']:.1f} s, "
          f"peak RSS {cycle['peak_mb']:.0f} MB")  # fmt: skip
    print(f"  (a) bare Polars scan of the same columns: {scan['seconds']:.1f} s, "
          f"peak RSS {scan['peak_mb']:.0f} MB")  # fmt: skip
    ratio_a = cycle["seconds"] / scan["seconds"]
    print(
        f"  ratio cycle / scan: {ratio_a:.1f}x (target <= 3x: {'ok' if ratio_a <= 3 else 'OVER'})"
    )
    print(f"  (b) Evidently ClassificationPreset + DataDriftPreset on {evidently['rows']:,} rows: "
          f"{evidently['seconds']:.1f} s, peak RSS {evidently['peak_mb']:.0f} MB; "
          f"scaled to {rows:,} rows: {scaled:.0f} s")  # fmt: skip
    ratio_b = scaled / cycle["seconds"]
    verdict = "ok" if ratio_b >= 20 else "UNDER"
    print(f"  ratio Evidently / cycle: {ratio_b:.0f}x (target >= 20x: {verdict})")


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
