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
(a fixed gold set), the Rogan-Gladen correction of ``evaluation.calibrate`` applies instead.
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


def tuned_lambda(y: np.ndarray, yhat: np.ndarray, yhat_unlabeled: np.ndarray) -> float:
    """PPI++'s λ for a mean: the covariance of gold and judge labels over the variance of the
    judge's labels on every item, scaled by 2(1 + n/N) for its two sources, clipped to [0, 1]."""
    y, yhat, unlabeled = (np.asarray(a, dtype=float) for a in (y, yhat, yhat_unlabeled))
    n, big_n = len(y), len(unlabeled)
    centred_y, centred_hat = y - y.mean(), yhat - yhat.mean()
    covariance = 2 * float(centred_y @ centred_hat) / n
    variance = float(np.var(np.concatenate([yhat, unlabeled]), ddof=1))
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
) -> PpiEstimate:
    """The prediction-powered mean and its two-sided ``1 - alpha`` interval (``lam`` None:
    PPI++'s tuned λ)."""
    y, yhat, unlabeled = (np.asarray(a, dtype=float) for a in (y, yhat, yhat_unlabeled))
    if len(y) != len(yhat):
        raise ValueError(f"{len(y)} gold labels but {len(yhat)} judge labels on them")
    if not len(y) or not len(unlabeled):
        raise ValueError("PPI needs gold-labelled items and items only the judge labelled")
    if lam is None:
        lam = tuned_lambda(y, yhat, unlabeled)
    rectifier = y - lam * yhat
    value = float(lam * unlabeled.mean() + rectifier.mean())
    spread = math.sqrt(
        float(np.std(lam * unlabeled)) ** 2 / len(unlabeled)
        + float(np.std(rectifier)) ** 2 / len(y)
    )
    half = float(norm.ppf(1 - alpha / 2)) * spread
    return PpiEstimate(value, value - half, value + half, float(lam), len(y), len(unlabeled))
