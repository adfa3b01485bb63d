"""Seeded data for the CBPE comparison, shared by the peer script (NumPy only: it runs in
``.venv-peer``) and the test. ``RandomState`` is NumPy's legacy generator, whose streams are
frozen across versions, so both virtualenvs draw the same rows."""

from __future__ import annotations

import numpy as np

CHUNK = 1000  # rows per slice, as sigwatch's daily slices are compared
CLASSES = ("comparison", "question", "review")  # sorted, as NannyML orders them


def binary(seed: int = 20261207) -> dict[str, np.ndarray]:
    """A score signal whose scores are overconfident (truth ~ Bernoulli(p^1.6)): a reference of
    5,000 rows, then five slices, the last two with more high scores."""
    rng = np.random.RandomState(seed)
    reference = rng.beta(2.0, 2.0, size=5000)
    analysis = np.concatenate(
        [rng.beta(2.0, 2.0, size=3 * CHUNK), rng.beta(3.0, 1.5, size=2 * CHUNK)]
    )
    scores = np.concatenate([reference, analysis])
    truth = (rng.uniform(size=len(scores)) < scores**1.6).astype(int)
    return {
        "score": scores,
        "truth": truth,
        "predicted": (scores >= 0.5).astype(int),
        "reference_rows": np.array(5000),
    }


def multiclass(seed: int = 20261210) -> dict[str, np.ndarray]:
    """A three-class signal whose truth is drawn from its probability rows (Dirichlet), with
    the scores of "question" overconfident (p^0.6, the rows no longer summing to 1) and the
    others as they are: a reference of 6,000 rows and five slices."""
    rng = np.random.RandomState(seed)
    proba = rng.dirichlet([0.7, 0.9, 1.2], size=6000 + 5 * CHUNK)
    draw = rng.uniform(size=len(proba))[:, None]
    truth = (draw > proba.cumsum(axis=1)).sum(axis=1)
    scores = proba.copy()
    scores[:, 1] = scores[:, 1] ** 0.6
    return {
        "proba": scores,
        "truth": truth,
        "predicted": scores.argmax(axis=1),
        "reference_rows": np.array(6000),
    }
