"""SLI kinds, one module each, registered here by their ``kind`` name (sigwatch.model).

Occurrence kinds count good events in a serving partial: ``good_total(sli, signal, payload)``.
Timeslice kinds measure one slice: ``measure(ctx, slo, start, end, at) -> SliValue``.
Adding a kind is its module, a line below, its test and an example SLO.
"""

from __future__ import annotations

from monitors.slis import auc, cost, coverage, drift, error_rate, latency, quality

OCCURRENCE = {
    "coverage": coverage,
    "error_rate": error_rate,
    "latency": latency,
}
TIMESLICE = {
    "precision": quality,
    "recall": quality,
    "f1": quality,
    "auc": auc,
    "drift": drift,
    "cost_per_1k": cost,
    "daily_spend": cost,
}
