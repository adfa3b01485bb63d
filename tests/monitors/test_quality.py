"""Quality SLIs against scikit-learn, the independent reference."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from monitors.slis.quality import metric_from_confusion
from sigwatch.stats import roc_auc

CLASSES = ["review", "question", "other", "comparison"]


@pytest.fixture
def labelled():
    rng = np.random.default_rng(11)
    truth = rng.choice(CLASSES[:3], 500, p=[0.5, 0.3, 0.2])  # "comparison" never true
    predicted = np.where(rng.random(500) < 0.35, rng.choice(CLASSES, 500), truth)
    matrix = np.zeros((4, 4))
    for p, t in zip(predicted, truth, strict=True):
        matrix[CLASSES.index(p), CLASSES.index(t)] += 1
    return truth, predicted, matrix


@pytest.mark.parametrize(
    ("metric", "reference"),
    [("precision", precision_score), ("recall", recall_score), ("f1", f1_score)],
)
def test_per_class_and_macro_match_sklearn(labelled, metric, reference):
    truth, predicted, matrix = labelled
    for k, cls in enumerate(CLASSES):
        expected = reference(truth, predicted, labels=[cls], average=None, zero_division=0)[0]
        assert metric_from_confusion(matrix, metric, k) == pytest.approx(expected)
    expected = reference(truth, predicted, average="macro", zero_division=0)
    assert metric_from_confusion(matrix, metric, None) == pytest.approx(expected)


def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(5)
    positive = rng.random(300) < 0.4
    scores = np.round(rng.random(300) * 0.7 + positive * 0.25, 2)
    assert roc_auc(positive, scores) == pytest.approx(roc_auc_score(positive, scores))
