"""auc: ROC AUC of a score signal against binary human labels (``"1"`` positive), with the
Hanley-McNeil (1982) interval. The labelled (score, label) pairs of a slice are the partial."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime

import numpy as np

from monitors.slis import quality
from monitors.slis.base import Context, SliValue
from sigwatch.kinds import AucSLI
from sigwatch.states import Verdict
from sigwatch.stats import Z_95, roc_auc


class Auc(quality.Labelled):
    sli = AucSLI

    def measure(self, ctx: Context, slo, start: datetime, end: datetime, at: datetime) -> SliValue:
        realized = self._realized(ctx, slo, start, end, at)
        return replace(realized, estimated=quality.estimated(ctx, slo, start, end, at))

    def _realized(
        self, ctx: Context, slo, start: datetime, end: datetime, at: datetime
    ) -> SliValue:
        payload = quality.counts(ctx, start, end, at)
        pairs = payload.get("pairs", [])
        scores = np.array([s for s, _ in pairs], dtype=float)
        truth = np.array([t == "1" for _, t in pairs], dtype=bool)
        n_pos, n_neg = int(truth.sum()), int((~truth).sum())
        report = quality.class_report(ctx.signal, payload)  # what the signal page shows
        details = {"positives": n_pos, "negatives": n_neg, "report": report}
        if len(pairs) < slo.sli.min_labels or not n_pos or not n_neg:
            return SliValue(
                samples=len(pairs), unknown=Verdict.INSUFFICIENT_LABELS, details=details
            )
        value = roc_auc(truth, scores)
        q1, q2 = value / (2 - value), 2 * value * value / (1 + value)
        var = (
            value * (1 - value) + (n_pos - 1) * (q1 - value**2) + (n_neg - 1) * (q2 - value**2)
        ) / (n_pos * n_neg)
        half = Z_95 * math.sqrt(max(var, 0.0))
        return SliValue(
            value=value,
            ci_low=max(0.0, value - half),
            ci_high=min(1.0, value + half),
            samples=len(pairs),
            details=details,
        )
