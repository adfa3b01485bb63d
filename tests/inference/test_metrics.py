"""Card metrics against scikit-learn, the independent reference."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from inference.metrics import auc, classification_report, macro_f1, score_report

CLASSES = ("a", "b", "c")


@pytest.fixture
def labels():
    rng = np.random.default_rng(7)
    truth = rng.choice(CLASSES, 300, p=[0.5, 0.3, 0.2])
    noisy = np.where(rng.random(300) < 0.3, rng.choice(CLASSES, 300), truth)
    return truth, noisy


def test_macro_f1_matches_sklearn(labels):
    truth, predicted = labels
    expected = f1_score(truth, predicted, average="macro", labels=list(CLASSES))
    assert macro_f1(truth, predicted, CLASSES) == pytest.approx(expected)


def test_per_class_precision_and_recall_match_sklearn(labels):
    truth, predicted = labels
    report = classification_report(truth, predicted, CLASSES, seed=1)
    for cls in CLASSES:
        p = precision_score(truth, predicted, labels=[cls], average=None)[0]
        r = recall_score(truth, predicted, labels=[cls], average=None)[0]
        assert report.per_class[cls]["precision"].value == pytest.approx(p)
        assert report.per_class[cls]["recall"].value == pytest.approx(r)
    f1 = report.macro_f1
    assert f1.low < f1.value < f1.high
    assert report.baseline_class == "a"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_sklearn_including_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) * 0.6 + y * 0.3, 1)  # rounding makes ties
    assert auc(y, scores) == pytest.approx(roc_auc_score(y, scores))
    report = score_report(y, scores, seed=seed)
    assert report.auc.low <= report.auc.value <= report.auc.high


def test_bootstrap_intervals_are_reproducible(labels):
    truth, predicted = labels
    one = classification_report(truth, predicted, CLASSES, seed=3).macro_f1
    two = classification_report(truth, predicted, CLASSES, seed=3).macro_f1
    assert one == two
