"""Monitors: one cold monitor cycle (every signal, every SLO) over 10M log rows, beside
(a) a bare Polars scan of the same columns: every log and label scan the cycle made (same
files, columns and time range, recorded while it ran), replayed with nothing but a cheap
aggregate that reads every value, and (b) Evidently's ClassificationPreset + DataDriftPreset
over a 200k-row subset, scaled linearly to the same rows (Evidently's cost grows about linearly;
the full 10M would take most of an hour). Targets: the cycle within 3x of (a), at least 20x
faster than (b). Each measurement runs in its own process for its own peak RSS; the cycle's
process imports Evidently before the clock starts, as ``sigwatch serve`` does once."""

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
    """This process's peak RSS. Not getrusage's ru_maxrss: Linux carries it over fork and exec,
    so a child would report its parent's peak (the simulation's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
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
        scans = _record_scans()
        started = time.perf_counter()
        registry = load_registry(Settings.from_env().definitions_dir)
        with Store.open(folder / "bench.db", clock=FixedClock(END)) as store:
            outcomes = Monitor(registry, folder, store, FixedClock(END)).run(END)
        assert all(o.ok for o in outcomes), [o.error for o in outcomes]
        (folder / "scans.json").write_text(json.dumps(scans))
        extra = {"slos": sum(len(o.statuses) for o in outcomes), "scans": len(scans)}
    elif kind == "scan":
        import polars as pl

        from monitors.logs import scan_labels, scan_logs
        from sigwatch.registry import load_registry
        from sigwatch.settings import Settings

        registry = load_registry(Settings.from_env().definitions_dir)
        rows = 0
        for scan in json.loads((folder / "scans.json").read_text()):
            signal = registry.get(scan["signal"])
            if scan["kind"] == "logs":
                start, end = (datetime.fromisoformat(scan[k]) for k in ("start", "end"))
                frame = scan_logs(folder, signal, start, end, scan["columns"])
            else:
                frame = scan_labels(folder, signal, datetime.fromisoformat(scan["at"]))
            if frame is None:
                continue
            schema = frame.collect_schema()
            out = frame.select(
                pl.len(), *[_touch(pl.col(name), dtype) for name, dtype in schema.items()]
            ).collect()
            rows += int(out[0, 0])
        extra = {"rows": rows}
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


def _touch(column, dtype):
    """A cheap aggregate that still reads every value of ``column``."""
    import polars as pl

    if dtype == pl.Utf8:
        return column.str.len_bytes().sum()
    if isinstance(dtype, pl.List):
        return column.list.len().sum()
    if isinstance(dtype, pl.Datetime):
        return column.max()
    return column.sum()


def _record_scans() -> list[dict]:
    """Wrap the monitors' log and label scans to record each one the cycle makes."""
    from monitors import partials
    from monitors.slis import drift, quality

    scans: list[dict] = []

    def logs(original):
        def scan(data_dir, signal, start, end, columns):
            scans.append({"kind": "logs", "signal": signal.name, "start": start.isoformat(),
                          "end": end.isoformat(), "columns": list(columns)})  # fmt: skip
            return original(data_dir, signal, start, end, columns)

        return scan

    def labels(original):
        def scan(data_dir, signal, known_at):
            scans.append({"kind": "labels", "signal": signal.name, "at": known_at.isoformat()})
            return original(data_dir, signal, known_at)

        return scan

    for module in (partials, drift, quality):
        module.scan_logs = logs(module.scan_logs)
    quality.scan_labels = labels(quality.scan_labels)
    return scans


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
    print(f"  (a) bare Polars scan of the same columns ({cycle['scans']} scans, "
          f"{scan['rows']:,} rows read): {scan['seconds']:.1f} s, "
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
