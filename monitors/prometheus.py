"""Latency and cost from Prometheus, when ``SIGWATCH_PROMETHEUS_URL`` is set
(prometheus-api-client).

Per 5-minute bucket: requests answered within an SLO threshold = the increase of the histogram
bucket ``le=<threshold>`` over the bucket, over the increase of ``_count``. The counters are
read as raw cumulative values at bucket ends (a range query with a 5-minute step) and
differenced here, which is exact for any scrape interval up to 5 minutes and needs no
extrapolation; a drop is a counter reset and counts from zero. A threshold that is not a
bucket bound of the histogram is an error (no interpolation): the serving fleet's buckets must
include every latency SLO threshold (the simulator's do). Cost per bucket is the increase of
``sigwatch_inference_cost_usd_total`` (all, and ``served_by="external_api"``) over the increase
of ``sigwatch_inference_requests_total``.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import numpy as np

LATENCY = "sigwatch_inference_latency_seconds"
COST = "sigwatch_inference_cost_usd_total"
REQUESTS = "sigwatch_inference_requests_total"
STEP = timedelta(minutes=5)


class PrometheusError(Exception):
    pass


class PrometheusSource:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        from prometheus_api_client import PrometheusConnect

        self.url = url
        self.client = PrometheusConnect(url=url, disable_ssl=True)
        self.timeout = timeout

    def _range(self, query: str, start: datetime, end: datetime) -> dict[int, float]:
        try:
            result = self.client.custom_query_range(
                query,
                start_time=start,
                end_time=end,
                step=str(int(STEP.total_seconds())),
                params={"timeout": f"{self.timeout:g}s"},
            )
        except Exception as exc:  # connection refused, timeouts, bad responses
            raise PrometheusError(
                f"Prometheus at {self.url} failed: {type(exc).__name__}: {exc}"
            ) from None
        if not result:
            return {}
        return {int(float(t)): float(v) for t, v in result[0]["values"]}

    def latency_counts(
        self, signal: str, thresholds_ms: list[float], start: datetime, end: datetime
    ) -> dict[datetime, dict]:
        """Per bucket in ``[start, end)``: ``{start: {"total": n, "le": {"150": n, ...}}}``."""
        selector = f'signal="{signal}"'
        totals = self._range(f"sum({LATENCY}_count{{{selector}}})", start, end)
        if not totals:
            return {}
        per_threshold = {}
        for t in thresholds_ms:
            le = f"{t / 1000:g}"
            values = self._range(f'sum({LATENCY}_bucket{{{selector},le="{le}"}})', start, end)
            if not values:
                raise PrometheusError(
                    f'{LATENCY} of signal {signal!r} has no bucket le="{le}" for the {t:g} ms '
                    "latency SLO; allowed: thresholds that are bucket bounds of the histogram"
                )
            per_threshold[f"{t:g}"] = values
        out = {}
        edges = sorted(totals)
        for before, after in itertools.pairwise(edges):
            if after - before != int(STEP.total_seconds()):
                continue
            bucket = datetime.fromtimestamp(before, start.tzinfo)
            out[bucket] = {
                "total": _delta(totals, before, after),
                "le": {k: _delta(v, before, after) for k, v in per_threshold.items()},
            }
        return out

    def cost_counts(self, signal: str, start: datetime, end: datetime) -> dict[datetime, dict]:
        """Per bucket in ``[start, end)``: requests, cost and external-API cost (US dollars)."""
        selector = f'signal="{signal}"'
        series = {
            "requests": self._range(f"sum({REQUESTS}{{{selector}}})", start, end),
            "cost": self._range(f"sum({COST}{{{selector}}})", start, end),
            "cost_external": self._range(
                f'sum({COST}{{{selector},served_by="external_api"}})', start, end
            ),
        }
        out = {}
        edges = sorted(series["requests"])
        for before, after in itertools.pairwise(edges):
            if after - before == int(STEP.total_seconds()):
                bucket = datetime.fromtimestamp(before, start.tzinfo)
                out[bucket] = {k: _delta(v, before, after) for k, v in series.items()}
        return out


def _delta(values: dict[int, float], before: int, after: int) -> float:
    if before not in values or after not in values:
        return 0.0
    change = values[after] - values[before]
    return float(values[after] if change < 0 else np.round(change, 6))  # reset: count from 0
