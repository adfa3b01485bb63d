"""``sigwatch simulate``: write prediction logs, late labels, an OpenMetrics history and the
incident manifest for a span of days, in the data contract of docs/data-contracts.md.

Everything is written under a temporary folder inside the data folder and moved into place
only when complete, so a failed or interrupted run leaves the previous data as it was.
Generation goes one (signal, UTC day) at a time, so memory stays flat at any volume.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from sigwatch.clock import floor_time
from sigwatch.kinds import LatencySLI
from sigwatch.model import Registry
from simulator.corpus import load_corpus
from simulator.metrics import MetricsAccumulator, latency_buckets
from simulator.scenario import Incident, ScenarioError, default_scenario, load_scenario, manifest
from simulator.traffic import STEP, Replay

OUTPUTS = ("predictions", "labels", "content", "metrics", "incidents.json", "live.json")


class SimulationError(Exception):
    """A simulation could not start: bad arguments, scenario or data folder."""


@dataclass
class SimulationResult:
    data_dir: Path
    start: datetime
    end: datetime
    rows: dict[str, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    incidents: list[dict] = field(default_factory=list)
    metric_samples: int = 0


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise SimulationError(
            f"data folder {folder} is not writable ({exc.strerror}); allowed: a folder you can "
            "write to (--data or SIGWATCH_DATA)"
        ) from None


def plan_incidents(
    scenario: Path | str | None, start: datetime, end: datetime, days: int, registry: Registry
) -> list[Incident]:
    if scenario in (None, "default"):
        return default_scenario(start, days, registry)
    if scenario == "none":
        return []
    path = Path(scenario)
    if not path.exists():
        raise ScenarioError(
            [f"{path}: no such scenario file; allowed: a YAML file, 'default' or 'none'"]
        )
    return load_scenario(path, start, end, registry)


def simulate(
    registry: Registry,
    data_dir: Path,
    *,
    days: int,
    seed: int,
    end: datetime,
    rate: float = 20_000,
    scenario: Path | str | None = None,
    label_rate: float = 0.05,
    metrics_step: timedelta = STEP,
    cache_dir: Path | None = None,
    judged: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> SimulationResult:
    """Simulate ``days`` of traffic ending at ``end`` (floored to 5 minutes) into ``data_dir``.

    The scored corpus is cached in ``cache_dir`` (default ``<data_dir>/cache``), which is kept
    across runs; everything else the run writes replaces the previous run's output. ``judged``:
    the simulated judge will label the history (``sigwatch demo``), so ``incidents.json``
    expects the judge-based SLOs to break too.
    """
    if days < 1:
        raise SimulationError(f"--days must be at least 1, got {days}")
    if rate <= 0:
        raise SimulationError(f"--rate must be positive, got {rate}")
    if not 0 <= label_rate <= 1:
        raise SimulationError(f"--label-rate must be in [0, 1], got {label_rate}")
    end = floor_time(end, STEP)
    start = end - timedelta(days=days)
    incidents = plan_incidents(scenario, start, end, days, registry)
    check_writable(data_dir)
    corpus = load_corpus(
        registry,
        cache_dir or data_dir / "cache",
        progress=(lambda m: progress(m, 0, 0)) if progress else None,
    )
    thresholds = [slo.sli.threshold_ms for slo in registry.slos if isinstance(slo.sli, LatencySLI)]
    acc = MetricsAccumulator(start, end, metrics_step, latency_buckets(thresholds))
    result = SimulationResult(data_dir, start, end, incidents=manifest(incidents, registry, judged))
    tmp = Path(tempfile.mkdtemp(prefix=".simulate-", dir=data_dir))
    try:
        days_list = _days(start, end)
        total = len(days_list) * len(registry)
        done = 0
        for signal in registry:
            replay = Replay(corpus, signal, seed)
            label_frames = []
            for day_start, day_end in days_list:
                frame, idx = replay.span(day_start, day_end, rate, incidents)
                part = tmp / "predictions" / f"signal={signal.name}" / f"date={day_start:%Y-%m-%d}"
                part.mkdir(parents=True, exist_ok=True)
                frame.write_parquet(part / "part-0.parquet")
                if signal.judge is not None:
                    texts = tmp / "content" / f"signal={signal.name}" / f"date={day_start:%Y-%m-%d}"
                    texts.mkdir(parents=True, exist_ok=True)
                    replay.content(frame, idx, incidents).write_parquet(texts / "part-0.parquet")
                acc.add(signal.name, frame)
                label_frames.append(replay.labels(frame, idx, end, label_rate, incidents=incidents))
                result.rows[signal.name] = result.rows.get(signal.name, 0) + len(frame)
                done += 1
                if progress:
                    progress(f"{signal.name} {day_start:%Y-%m-%d}", done, total)
            labels = pl.concat(label_frames) if label_frames else pl.DataFrame()
            folder = tmp / "labels" / f"signal={signal.name}"
            folder.mkdir(parents=True, exist_ok=True)
            labels.write_parquet(folder / "part-0.parquet")
            result.labels[signal.name] = len(labels)
        (tmp / "metrics").mkdir()
        result.metric_samples = acc.write(tmp / "metrics" / "sigwatch.om")
        (tmp / "incidents.json").write_text(
            json.dumps(
                {
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "seed": seed,
                    "rate_per_day": rate,
                    "judged": judged,
                    "incidents": result.incidents,
                },
                indent=2,
            )
            + "\n"
        )
        _swap_in(tmp, data_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _days(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    spans, cursor = [], start
    while cursor < end:
        midnight = datetime(cursor.year, cursor.month, cursor.day, tzinfo=UTC) + timedelta(days=1)
        spans.append((cursor, min(midnight, end)))
        cursor = spans[-1][1]
    return spans


def _swap_in(tmp: Path, data_dir: Path) -> None:
    """Replace the outputs of a previous run with this one's (renames within one folder)."""
    old = tmp / ".previous"
    old.mkdir()
    for name in OUTPUTS:
        if (data_dir / name).exists():
            os.replace(data_dir / name, old / name)
    for name in OUTPUTS:
        if (tmp / name).exists():
            os.replace(tmp / name, data_dir / name)
