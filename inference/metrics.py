"""Held-out metrics with 95% intervals for model cards: Wilson for proportions, a seeded
percentile bootstrap for macro-F1 and AUC (no closed form worth trusting at these sizes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from sigwatch.stats import roc_auc, wilson_interval

BOOTSTRAP = 1000


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}] (n={self.n})"


def proportion(successes: int, trials: int) -> Estimate:
    low, high = wilson_interval(successes, trials)
    return Estimate(successes / trials if trials else float("nan"), low, high, trials)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> float:
    scores = []
    for cls in classes:
        tp = np.sum((y_pred == cls) & (y_true == cls))
        fp = np.sum((y_pred == cls) & (y_true != cls))
        fn = np.sum((y_pred != cls) & (y_true == cls))
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of 0/1 labels (see ``sigwatch.stats.roc_auc``)."""
    return roc_auc(np.asarray(y_true) == 1, scores)


def _bootstrap(stat, n: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = [stat(rng.integers(0, n, n)) for _ in range(BOOTSTRAP)]
    values = [v for v in values if not np.isnan(v)]
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


@dataclass(frozen=True)
class ClassificationReport:
    accuracy: Estimate
    macro_f1: Estimate
    per_class: dict[str, dict[str, Estimate]]
    baseline_accuracy: float
    baseline_macro_f1: float
    baseline_class: str

    def to_dict(self) -> dict:
        return asdict(self)


def classification_report(
    y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str], seed: int = 0
) -> ClassificationReport:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    n = len(t)
    f1 = macro_f1(t, p, classes)
    low, high = _bootstrap(lambda idx: macro_f1(t[idx], p[idx], classes), n, seed)
    per_class = {}
    for cls in classes:
        predicted, actual = p == cls, t == cls
        per_class[cls] = {
            "precision": proportion(int(np.sum(predicted & actual)), int(predicted.sum())),
            "recall": proportion(int(np.sum(predicted & actual)), int(actual.sum())),
        }
    majority = Counter(y_true).most_common(1)[0][0]
    base = np.full(n, majority)
    return ClassificationReport(
        accuracy=proportion(int(np.sum(t == p)), n),
        macro_f1=Estimate(f1, low, high, n),
        per_class=per_class,
        baseline_accuracy=float(np.mean(t == majority)),
        baseline_macro_f1=macro_f1(t, base, classes),
        baseline_class=str(majority),
    )


@dataclass(frozen=True)
class ScoreReport:
    auc: Estimate
    accuracy_at_half: Estimate
    baseline_accuracy: float
    positives: int

    def to_dict(self) -> dict:
        return asdict(self)


def score_report(y_true: Sequence[int], scores: Sequence[float], seed: int = 0) -> ScoreReport:
    t, s = np.asarray(y_true), np.asarray(scores, dtype=float)
    value = auc(t, s)
    low, high = _bootstrap(lambda idx: auc(t[idx], s[idx]), len(t), seed)
    majority = int(np.mean(t) >= 0.5)
    return ScoreReport(
        auc=Estimate(value, low, high, len(t)),
        accuracy_at_half=proportion(int(np.sum((s >= 0.5).astype(int) == t)), len(t)),
        baseline_accuracy=float(np.mean(t == majority)),
        positives=int(t.sum()),
    )
