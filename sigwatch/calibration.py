"""How far to trust the judge, and what its labels say once its errors are accounted for.

- Agreement with humans on a gold set: Cohen's kappa (chance-corrected agreement) and, per
  class, the judge's TPR (sensitivity: of the items humans put in the class, the share the
  judge puts there) and TNR (specificity: of the items humans put elsewhere, the share the
  judge also puts elsewhere).
- Rogan-Gladen: a judge with sensitivity Se and specificity Sp that calls a share p_a of items
  positive implies a true share p = (p_a + Sp - 1) / (Se + Sp - 1), clipped to [0, 1]. A
  model's precision for class c measured by the judge is such a share (of the items the model
  predicted c, how many truly are c), so it is corrected the same way.
- Honest intervals: the corrected value's 95% interval takes the Wilson interval of p_a and the
  Wilson intervals of Se and Sp from the calibration counts, and reports the widest
  combination (the correction is monotone in each, so the extremes are at the corners). Few
  calibration items therefore widen the interval instead of hiding behind a point estimate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import product

from sigwatch.stats import wilson_interval
from sigwatch.store import from_epoch


class CalibrationError(ValueError):
    """The judge cannot be used to correct anything (no better than chance on a class)."""


def cohen_kappa(truth: Sequence[str], judged: Sequence[str]) -> float:
    if len(truth) != len(judged) or not truth:
        raise ValueError("truth and judged must be non-empty and of the same length")
    n = len(truth)
    labels = sorted(set(truth) | set(judged))
    observed = sum(t == j for t, j in zip(truth, judged, strict=True)) / n
    expected = sum((truth.count(c) / n) * (list(judged).count(c) / n) for c in labels)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class ClassRates:
    """The judge against humans for one class (one-vs-rest counts)."""

    cls: str
    tp: int  # humans: cls, judge: cls
    fn: int  # humans: cls, judge: other
    tn: int  # humans: other, judge: other
    fp: int  # humans: other, judge: cls

    @property
    def tpr(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def tnr(self) -> float | None:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else None


def class_rates(truth: Sequence[str], judged: Sequence[str], classes: Sequence[str]):
    out = {}
    for c in classes:
        tp = sum(t == c and j == c for t, j in zip(truth, judged, strict=True))
        fn = sum(t == c and j != c for t, j in zip(truth, judged, strict=True))
        fp = sum(t != c and j == c for t, j in zip(truth, judged, strict=True))
        tn = len(truth) - tp - fn - fp
        out[c] = ClassRates(c, tp, fn, tn, fp)
    return out


def rogan_gladen(apparent: float, sensitivity: float, specificity: float) -> float:
    youden = sensitivity + specificity - 1
    if youden <= 0:
        raise CalibrationError(
            f"the judge is no better than chance here (sensitivity {sensitivity:.2f} + "
            f"specificity {specificity:.2f} <= 1); its labels cannot be corrected"
        )
    return min(1.0, max(0.0, (apparent + specificity - 1) / youden))


@dataclass(frozen=True)
class Corrected:
    value: float
    ci_low: float
    ci_high: float
    apparent: float
    n: int


def corrected_share(positive: int, n: int, rates: ClassRates) -> Corrected:
    """The true share of class ``rates.cls`` among ``n`` items of which the judge called
    ``positive`` in the class, corrected for the judge's measured TPR/TNR, with the interval
    described in the module docstring."""
    if n == 0:
        raise ValueError("no judged items")
    if rates.tpr is None or rates.tnr is None:
        raise CalibrationError(
            f"class {rates.cls!r} has no positives or no negatives in the gold set"
        )
    apparent = positive / n
    value = rogan_gladen(apparent, rates.tpr, rates.tnr)
    p_lo, p_hi = wilson_interval(positive, n)
    se_lo, se_hi = wilson_interval(rates.tp, rates.tp + rates.fn)
    sp_lo, sp_hi = wilson_interval(rates.tn, rates.tn + rates.fp)
    corners = []
    for p, se, sp in product((p_lo, p_hi), (se_lo, se_hi), (sp_lo, sp_hi)):
        if se + sp - 1 <= 0:
            corners += [0.0, 1.0]  # at this corner the judge could be at chance: anything goes
        else:
            corners.append(rogan_gladen(p, se, sp))
    return Corrected(value, min(corners), max(corners), apparent, n)


def weighted_share(hits: Sequence[bool], weights: Sequence[float], rates: ClassRates) -> Corrected:
    """``corrected_share`` for a weighted (stratified) sample: the apparent share is weighted,
    and its interval uses Kish's effective sample size (sum w)^2 / sum w^2 (``Corrected.n``)."""
    if not hits or len(hits) != len(weights):
        raise ValueError("hits and weights must be non-empty and of the same length")
    total = sum(weights)
    apparent = sum(w for h, w in zip(hits, weights, strict=True) if h) / total
    n_eff = total**2 / sum(w * w for w in weights)
    return corrected_share(apparent * n_eff, n_eff, rates)


@dataclass(frozen=True)
class StoredCalibration:
    """A row of ``judge_calibrations``: the judge measured on a signal's gold set."""

    model: str
    prompt_version: str
    at: datetime
    n: int
    errors: int
    kappa: float | None
    rates: dict[str, ClassRates]
    cost_usd: float


def latest_calibration(store, signal: str, at: datetime | None = None) -> StoredCalibration | None:
    """The signal's most recent calibration (known at ``at``, when given), or None."""
    row = store.judge.latest_calibration(signal, at)
    if row is None:
        return None
    rates = {c: ClassRates(**r) for c, r in json.loads(row.per_class).items()}
    return StoredCalibration(
        row.model,
        row.prompt_version,
        from_epoch(row.at),
        row.n,
        row.errors,
        row.kappa,
        rates,
        row.cost_usd,
    )
