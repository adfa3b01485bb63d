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
