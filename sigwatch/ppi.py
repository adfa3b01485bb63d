"""Prediction-powered inference (PPI, PPI++): a mean estimated from many cheap labels (the
LLM judge's) rectified by a few gold ones (people's), with a valid confidence interval.

For a proportion such as one class's precision, ``y`` is 1 where a person says the prediction
is right, ``yhat`` the judge's verdict on the same items, and ``yhat_unlabeled`` the judge's
verdicts on the items no person labelled:

    estimate = λ · mean(yhat_unlabeled) + mean(y - λ · yhat)
    variance = λ² · var(yhat_unlabeled) / N + var(y - λ · yhat) / n

λ = 1 is PPI (Angelopoulos et al., 2023); PPI++ tunes λ to the variance's minimum,
cov(y, yhat) / ((1 + n/N) · var(yhat over all items)), clipped to [0, 1] (λ = 0 is the classical
interval from the gold labels alone). The numbers are ppi-python 0.2's (``ppi_mean_ci``);
``make peer`` compares the two (peer/ppi_reference.py, tests/test_ppi_peer.py).

PPI assumes the gold items are a random sample of the items estimated over. Where they are not
(a fixed gold set), the Rogan-Gladen correction of ``sigwatch.calibration`` applies instead; at
two classes it is the label-shift estimator of ppi-python (tests/test_ppi_peer.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True)
class PpiEstimate:
    value: float
    lower: float
    upper: float
    lam: float  # the weight of the judge's labels: 1 for PPI, tuned for PPI++
    n: int  # gold labels
    unlabeled: int  # items only the judge labelled


def _weights(w: np.ndarray | None, n: int) -> np.ndarray:
    """Sample weights scaled to a mean of 1 (ones without them), as ppi-python scales them."""
    if w is None:
        return np.ones(n)
    w = np.asarray(w, dtype=float)
    if len(w) != n or not np.all(w > 0):
        raise ValueError(f"{len(w)} weights for {n} items; each must be positive")
    return w / w.sum() * n


def tuned_lambda(
    y: np.ndarray,
    yhat: np.ndarray,
    yhat_unlabeled: np.ndarray,
    w: np.ndarray | None = None,
    w_unlabeled: np.ndarray | None = None,
) -> float:
    """PPI++'s λ for a mean: the covariance of gold and judge labels (weighted, centred on the
    PPI estimate) over the variance of the judge's labels on every item, scaled by 2(1 + n/N)
    for its two sources, clipped to [0, 1]."""
    y, yhat, unlabeled = (np.asarray(a, dtype=float) for a in (y, yhat, yhat_unlabeled))
    n, big_n = len(y), len(unlabeled)
    w, w_unlabeled = _weights(w, n), _weights(w_unlabeled, big_n)
    centre = float((w_unlabeled * unlabeled).mean() + (w * (y - yhat)).mean())
    gold, judged = w * (y - centre), w * (yhat - centre)
    covariance = 2 * float((gold - gold.mean()) @ (judged - judged.mean())) / n
    variance = float(np.var(np.concatenate([judged, w_unlabeled * (unlabeled - centre)]), ddof=1))
    if variance == 0:
        return 0.0  # the judge says the same of every item: it carries nothing
    return float(np.clip(covariance / (2 * (1 + n / big_n) * variance), 0.0, 1.0))


def ppi_mean(
    y: np.ndarray,
    yhat: np.ndarray,
    yhat_unlabeled: np.ndarray,
    *,
    lam: float | None = 1.0,
    alpha: float = 0.05,
    w: np.ndarray | None = None,
    w_unlabeled: np.ndarray | None = None,
) -> PpiEstimate:
    """The prediction-powered mean and its two-sided ``1 - alpha`` interval (``lam`` None:
    PPI++'s tuned λ). ``w`` and ``w_unlabeled`` weigh the gold and the judge-only items (a
    stratified sample's weights), each scaled to a mean of 1 as ppi-python does."""
    y, yhat, unlabeled = (np.asarray(a, dtype=float) for a in (y, yhat, yhat_unlabeled))
    if len(y) != len(yhat):
        raise ValueError(f"{len(y)} gold labels but {len(yhat)} judge labels on them")
    if not len(y) or not len(unlabeled):
        raise ValueError("PPI needs gold-labelled items and items only the judge labelled")
    w, w_unlabeled = _weights(w, len(y)), _weights(w_unlabeled, len(unlabeled))
    if lam is None:
        lam = tuned_lambda(y, yhat, unlabeled, w, w_unlabeled)
    imputed = w_unlabeled * lam * unlabeled
    rectifier = w * (y - lam * yhat)
    value = float(imputed.mean() + rectifier.mean())
    spread = math.sqrt(
        float(np.std(imputed)) ** 2 / len(unlabeled) + float(np.std(rectifier)) ** 2 / len(y)
    )
    half = float(norm.ppf(1 - alpha / 2)) * spread
    return PpiEstimate(value, value - half, value + half, float(lam), len(y), len(unlabeled))


def _ratio(num: np.ndarray, den: np.ndarray) -> float:
    total = float(den.sum())
    return float(num.sum()) / total if total else math.nan


def ppi_ratio(
    gold: tuple[np.ndarray, np.ndarray],
    judged: tuple[np.ndarray, np.ndarray],
    unlabeled: tuple[np.ndarray, np.ndarray],
    *,
    lam: float | None = 1.0,
    alpha: float = 0.05,
    resamples: int = 2000,
    tuning_draws: int = 500,
    seed: int = 0,
) -> PpiEstimate:
    """A ratio of two means (recall: the right predictions of a class over the items of that
    class; F1: twice those over the predicted plus the true) from PPI's rectified bootstrap:

        estimate = λ · R(unlabeled) + R(gold) - λ · R(judged on the gold items)

    each pair ``(numerator, denominator)`` per item, R = Σ numerator / Σ denominator. The
    interval is the percentile interval of ``resamples`` draws (gold and judged items drawn
    together, the judge-only items apart), from ``seed``; ``lam`` None tunes λ as ppi-python's
    ``ppboot`` does, cov(R(gold), R(judged)) / (var R(judged) + var R(unlabeled)) over
    ``tuning_draws`` draws (ppboot takes 50, whose λ varies by ±0.1 from seed to seed), clipped
    to [0, 1]."""
    g_num, g_den = (np.asarray(a, dtype=float) for a in gold)
    j_num, j_den = (np.asarray(a, dtype=float) for a in judged)
    u_num, u_den = (np.asarray(a, dtype=float) for a in unlabeled)
    n, big_n = len(g_num), len(u_num)
    if not n or not big_n or len(j_num) != n:
        raise ValueError("a PPI ratio needs gold items with the judge's labels, and more")
    rng = np.random.default_rng(seed)

    def draws(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        gold_rows = rng.integers(0, n, size=(count, n))
        judge_rows = rng.integers(0, big_n, size=(count, big_n))
        per_gold = g_num[gold_rows].sum(1) / g_den[gold_rows].sum(1)
        per_judged = j_num[gold_rows].sum(1) / j_den[gold_rows].sum(1)
        per_unlabeled = u_num[judge_rows].sum(1) / u_den[judge_rows].sum(1)
        return per_gold, per_judged, per_unlabeled

    if lam is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            r_gold, r_judged, r_unlabeled = draws(tuning_draws)
        spread = float(np.var(r_judged) + np.var(r_unlabeled))
        covariance = float(np.cov(r_gold, r_judged)[0, 1])
        lam = float(np.clip(covariance / spread, 0.0, 1.0)) if spread > 0 else 0.0
    value = lam * _ratio(u_num, u_den) + _ratio(g_num, g_den) - lam * _ratio(j_num, j_den)
    samples = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, resamples, 250):  # in blocks: a draw of every row at once
            r_gold, r_judged, r_unlabeled = draws(min(250, resamples - start))
            samples.append(lam * r_unlabeled + r_gold - lam * r_judged)
    drawn = np.concatenate(samples)
    drawn = drawn[np.isfinite(drawn)]
    lower, upper = np.quantile(drawn, [alpha / 2, 1 - alpha / 2])
    return PpiEstimate(float(value), float(lower), float(upper), float(lam), n, big_n)
