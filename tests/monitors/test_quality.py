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


def test_entity_f1_and_its_interval():
    """Each entity decision as a (true, predicted) pair: tp (1,1), fp (0,1), miss (1,0).
    scikit-learn's F1 over those pairs is the point value; the bootstrap interval holds it,
    is reproducible by seed and narrows with ten times the decisions."""
    from monitors.slis.quality import entity_f1_interval

    tp, fp, fn = 60, 25, 40
    y_true = [1] * tp + [0] * fp + [1] * fn
    y_pred = [1] * tp + [1] * fp + [0] * fn
    value = 2 * tp / (2 * tp + fp + fn)
    assert value == pytest.approx(f1_score(y_true, y_pred))
    low, high = entity_f1_interval(tp, fp, fn, seed=3)
    assert 0 < low < value < high < 1
    assert (low, high) == entity_f1_interval(tp, fp, fn, seed=3)
    low10, high10 = entity_f1_interval(10 * tp, 10 * fp, 10 * fn, seed=3)
    assert high10 - low10 < (high - low) / 2


def test_the_class_report_kept_for_the_console_matches_sklearn_and_statsmodels(registry):
    """Per-class precision and recall of a slice's labels, with Wilson intervals: what the
    signal page shows, computed once by the monitors."""
    from statsmodels.stats.proportion import proportion_confint

    from monitors.slis.quality import SEP, class_report

    signal = registry.get("content_type")
    rng = np.random.default_rng(3)
    truth = rng.choice(signal.classes, 400)
    predicted = np.where(rng.random(400) < 0.7, truth, rng.choice(signal.classes, 400))
    confusion: dict[str, int] = {}
    for p, t in zip(predicted, truth, strict=True):
        confusion[f"{p}{SEP}{t}"] = confusion.get(f"{p}{SEP}{t}", 0) + 1
    report = class_report(signal, {"labelled": 400, "confusion": confusion})
    assert report["labelled"] == 400 and sum(n for *_, n in report["confusion"]) == 400
    classes = list(signal.classes)
    precision = precision_score(truth, predicted, labels=classes, average=None, zero_division=0)
    recall = recall_score(truth, predicted, labels=classes, average=None, zero_division=0)
    rows = {(r["class"], r["metric"]): r for r in report["classes"]}
    for k, cls in enumerate(classes):
        for metric, expected, n in (
            ("precision", precision[k], (predicted == cls).sum()),
            ("recall", recall[k], (truth == cls).sum()),
        ):
            row = rows[(cls, metric)]
            assert row["n"] == n and row["value"] == pytest.approx(expected, abs=1e-12)
            low, high = proportion_confint(round(expected * n), n, alpha=0.05, method="wilson")
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=1e-9)
