"""Seeded data for the PPI comparison (NumPy only; ``RandomState``'s streams are frozen across
versions, so ``.venv-peer`` and the test draw the same rows): a day's predictions of one class,
right with probability ``precision``; people label a random ``n`` of them, the judge all of
them, agreeing with the truth with probability ``agreement``."""

from __future__ import annotations

import numpy as np

CASES = (
    # seed, items, gold, precision, judge agreement
    (1, 2000, 150, 0.82, 0.85),
    (2, 5000, 60, 0.64, 0.95),
    (3, 800, 300, 0.91, 0.70),  # a noisy judge: PPI++ leans on the gold labels
    (4, 3000, 40, 0.50, 0.55),  # a judge barely better than a coin: λ near 0
)


def case(seed: int, items: int, gold: int, precision: float, agreement: float):
    """``(y, yhat, yhat_unlabeled)``: gold labels and the judge's on the same items, then the
    judge's on the rest."""
    rng = np.random.RandomState(seed)
    truth = (rng.uniform(size=items) < precision).astype(float)
    agrees = rng.uniform(size=items) < agreement
    judge = np.where(agrees, truth, 1 - truth)
    labelled = np.zeros(items, bool)
    labelled[rng.permutation(items)[:gold]] = True
    return truth[labelled], judge[labelled], judge[~labelled]


RATIO_CASES = (
    # seed, items, gold, share of the class, recall, judge agreement
    (5, 3000, 200, 0.3, 0.75, 0.9),
    (6, 4000, 120, 0.2, 0.6, 0.8),
)


def recall_case(seed: int, items: int, gold: int, share: float, recall: float, agreement: float):
    """A day's predictions of every class, judged: per item the pair (right prediction of the
    class, item of the class) from the truth for the gold items, from the judge for all.
    Returns ``(y, yhat, yhat_unlabeled)``, each an ``(items, 2)`` array."""
    rng = np.random.RandomState(seed)
    of_class = rng.uniform(size=items) < share
    predicted = np.where(of_class, rng.uniform(size=items) < recall, rng.uniform(size=items) < 0.1)
    agrees = rng.uniform(size=items) < agreement
    judged = np.where(agrees, of_class, ~of_class)
    labelled = np.zeros(items, bool)
    labelled[rng.permutation(items)[:gold]] = True

    def pairs(truth: np.ndarray) -> np.ndarray:
        return np.column_stack([(predicted & truth).astype(float), truth.astype(float)])

    return pairs(of_class)[labelled], pairs(judged)[labelled], pairs(judged)[~labelled]


WEIGHTED_CASES = (
    # seed, items judged, gold among them, judge agreement
    (7, 1200, 120, 0.85),
    (8, 600, 50, 0.75),
)
# the strata of a day's predictions of one class (confidence bands): items served, precision
STRATA = ((6000, 0.95), (2500, 0.75), (900, 0.45))


def weighted_case(seed: int, judged: int, gold: int, agreement: float):
    """The judge's stratified sample of a day (an equal share per stratum, each item weighing
    its stratum's served items over its sampled ones), people labelling a random ``gold`` of
    it: ``(y, yhat, yhat_unlabeled, w, w_unlabeled)``."""
    rng = np.random.RandomState(seed)
    share = judged // len(STRATA)
    truth = np.concatenate([rng.uniform(size=share) < p for _, p in STRATA]).astype(float)
    weight = np.concatenate([np.full(share, served / share) for served, _ in STRATA])
    agrees = rng.uniform(size=len(truth)) < agreement
    judge = np.where(agrees, truth, 1 - truth)
    labelled = np.zeros(len(truth), bool)
    labelled[rng.permutation(len(truth))[:gold]] = True
    return (
        truth[labelled],
        judge[labelled],
        judge[~labelled],
        weight[labelled],
        weight[~labelled],
    )
