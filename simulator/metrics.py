"""The serving fleet's Prometheus metrics, accumulated from simulated logs and written as an
OpenMetrics file that ``promtool tsdb create-blocks-from openmetrics`` turns into history.

Families (docs/data-contracts.md): ``sigwatch_inference_latency_seconds`` (histogram; ``signal``,
``model_version``), ``sigwatch_inference_requests_total`` (``signal``, ``status``) and
``sigwatch_inference_cost_usd_total`` (``signal``, ``served_by``). promtool wants timestamps in
seconds, each family's samples together, time increasing within a series, and a final ``# EOF``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

LATENCY = "sigwatch_inference_latency_seconds"
REQUESTS = "sigwatch_inference_requests"
COST = "sigwatch_inference_cost_usd"
BASE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Each family's labels, as the serving fleet exports them (the README's Prometheus table).
LABELS = {
    LATENCY: ("signal", "model_version"),
    REQUESTS: ("signal", "status"),
    COST: ("signal", "served_by"),
}


def latency_buckets(thresholds_ms: list[float]) -> tuple[float, ...]:
    """Histogram bounds in seconds: a base set plus every latency SLO threshold, so the share
    of requests under a threshold is read off a bucket exactly (no interpolation)."""
    return tuple(sorted({*BASE_BUCKETS, *(t / 1000 for t in thresholds_ms)}))


class MetricsAccumulator:
    """Per-step increments of every series; cumulative values are written at the end."""

    def __init__(self, start: datetime, end: datetime, step: timedelta, buckets: tuple[float, ...]):
        self.start, self.step, self.buckets = start, step, np.array(buckets)
        self.steps = int((end - start) / step)
        self.series: dict[tuple[str, tuple], np.ndarray] = defaultdict(lambda: np.zeros(self.steps))
        self.hist: dict[tuple, np.ndarray] = {}

    def add(self, signal: str, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        seconds = frame["event_time"].dt.epoch("s").to_numpy() - int(self.start.timestamp())
        step = np.clip(seconds // int(self.step.total_seconds()), 0, self.steps - 1)
        for column, family in (("status", REQUESTS), ("served_by", COST)):
            values = frame[column].to_numpy()
            weights = None if family == REQUESTS else frame["cost_usd"].to_numpy()
            for value in np.unique(values):
                sel = values == value
                key = (family, (("signal", signal), (column, str(value))))
                w = None if weights is None else weights[sel]
                self.series[key] += np.bincount(step[sel], weights=w, minlength=self.steps)
        latency = frame["latency_ms"].to_numpy().astype(np.float64) / 1000
        versions = frame["model_version"].to_numpy()
        nb = len(self.buckets)
        for version in np.unique(versions):
            sel = versions == version
            key = (("signal", signal), ("model_version", str(version)))
            if key not in self.hist:
                self.hist[key] = np.zeros((self.steps, nb + 2))  # buckets..., count, sum
            which = np.searchsorted(self.buckets, latency[sel], side="left")  # first bound >= x
            grid = np.zeros((self.steps, nb + 1))
            np.add.at(grid, (step[sel], which), 1)
            hist = self.hist[key]
            hist[:, :nb] += np.cumsum(grid[:, :nb], axis=1)  # cumulative over le
            hist[:, nb] += grid.sum(axis=1)
            hist[:, nb + 1] += np.bincount(step[sel], weights=latency[sel], minlength=self.steps)

    def write(self, path: Path) -> int:
        """Write the OpenMetrics file; return the number of samples."""
        times = int(self.start.timestamp()) + (np.arange(self.steps) + 1) * int(
            self.step.total_seconds()
        )
        samples = 0
        with path.open("w", encoding="utf-8") as out:
            out.write(f"# HELP {LATENCY} Inference latency.\n# TYPE {LATENCY} histogram\n")
            out.write(f"# UNIT {LATENCY} seconds\n")
            for labels, hist in sorted(self.hist.items()):
                first = _first_nonzero(hist[:, -2])
                if first is None:
                    continue
                cumulative = np.cumsum(hist, axis=0)
                bounds = [*(f"{b:g}" for b in self.buckets), "+Inf"]
                for k, bound in enumerate(bounds):
                    column = cumulative[:, k] if bound != "+Inf" else cumulative[:, -2]
                    samples += _series(
                        out, f"{LATENCY}_bucket", (*labels, ("le", bound)), times, column, first
                    )
                samples += _series(out, f"{LATENCY}_count", labels, times, cumulative[:, -2], first)
                samples += _series(out, f"{LATENCY}_sum", labels, times, cumulative[:, -1], first)
            for family, help_text in (
                (REQUESTS, "Inference requests by status."),
                (COST, "Inference cost in US dollars."),
            ):
                out.write(f"# HELP {family} {help_text}\n# TYPE {family} counter\n")
                for (fam, labels), increments in sorted(self.series.items()):
                    if fam != family:
                        continue
                    first = _first_nonzero(increments)
                    if first is not None:
                        samples += _series(
                            out, f"{family}_total", labels, times, np.cumsum(increments), first
                        )
            out.write("# EOF\n")
        return samples


def _first_nonzero(values: np.ndarray) -> int | None:
    nonzero = np.flatnonzero(values)
    return int(nonzero[0]) if len(nonzero) else None


def _series(
    out, name: str, labels: tuple, times: np.ndarray, values: np.ndarray, first: int
) -> int:
    label_text = ",".join(f'{k}="{v}"' for k, v in labels)
    prefix = f"{name}{{{label_text}}} "
    out.writelines(
        f"{prefix}{v:.10g} {t}\n" for t, v in zip(times[first:], values[first:], strict=True)
    )
    return len(times) - first
