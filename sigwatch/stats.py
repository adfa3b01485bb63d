"""Small statistics shared by model cards and monitors: confidence intervals for proportions.

The Wilson score interval is the default for precision, recall and accuracy: unlike the normal
("Wald") interval it stays inside [0, 1] and keeps close to its nominal coverage for small
counts and proportions near 0 or 1, which is exactly where quality SLIs live.
"""

from __future__ import annotations

import math

Z_95 = 1.959963984540054  # two-sided 95%: the 0.975 quantile of the standard normal


def wilson_interval(successes: float, trials: float, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``trials`` (``(0, 1)`` when no trials).

    centre = (p + z²/2n) / (1 + z²/n); half-width = z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    z2 = z * z
    denom = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(
    x1: float, n1: float, x2: float, n2: float, z: float = Z_95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (his method 10) for the difference of two proportions
    ``x1/n1 - x2/n2``, from each one's Wilson interval (l, u):

    lower = d - sqrt((p1 - l1)² + (u2 - p2)²); upper = d + sqrt((u1 - p1)² + (p2 - l2)²)
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError(f"need trials on both sides, got {n1} and {n2}")
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


def roc_auc(positive, scores) -> float:
    """ROC AUC as the Mann-Whitney probability that a positive outscores a negative, ties
    counted half (average ranks); NaN without both classes. Arrays of equal length."""
    import numpy as np

    positive = np.asarray(positive, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    n_pos = int(positive.sum())
    n_neg = len(scores) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ordered = scores[order]
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
