"""CBPE's pieces against independent references: scikit-learn's isotonic regression and
metrics, hand-computed counts, and the simulator's truth (labels drawn from the calibrated
probabilities, so the estimates must hold the realized values)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import StratifiedShuffleSplit

from sigwatch import cbpe


def calibrated_data(seed: int, n: int, classes: int = 3):
    """Rows whose true class is drawn from their probability vector: calibrated by design."""
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(classes, 0.6), size=n)
    truth = np.array([rng.choice(classes, p=p) for p in proba])
    return truth, proba


def test_the_calibrator_predicts_as_sklearns_isotonic_regression():
    rng = np.random.default_rng(1)
    scores = rng.uniform(size=500)
    truth = (rng.uniform(size=500) < scores**3).astype(int)
    reference = IsotonicRegression(out_of_bounds="clip").fit(scores, truth)
    probe = np.r_[-0.5, rng.uniform(size=200), 1.5]  # beyond both ends: clipped
    np.testing.assert_allclose(
        cbpe.Calibrator.fit(scores, truth)(probe), reference.predict(probe), atol=1e-12
    )
    assert cbpe.Calibrator()(probe).tolist() == probe.tolist()  # the identity


def reference_rows(seed: int):
    """Seeded reference rows of the shapes a log holds: continuous scores, scores rounded to
    two places (many ties), float32 scores, a rare positive class, and a small window; scores
    calibrated already (every third seed: isotonic seldom helps) or not."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(40, 20_000)) if seed % 5 else 60
    scores = rng.beta(2, 2, n)
    if seed % 4 == 1:
        scores = scores.round(2)
    if seed % 4 == 2:
        scores = scores.astype(np.float32).astype(float)
    power = 1.0 if seed % 3 == 0 else rng.uniform(0.3, 3)
    truth = (rng.uniform(size=n) < scores**power).astype(int)
    if seed % 4 == 3:
        truth = (rng.uniform(size=n) < 0.03).astype(int)
        truth[:2] = 1  # two at least: folds can be stratified
    return truth, scores


def sklearn_needs_calibration(truth, scores) -> bool:
    """The decision made with scikit-learn's own splitter, isotonic fit and AUC."""
    if roc_auc_score(truth, scores) > 0.999:
        return False
    folds = StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)
    kept, raw, calibrated = [], [], []
    for train, test in folds.split(scores, truth):
        fitted = IsotonicRegression(out_of_bounds="clip").fit(scores[train], truth[train])
        kept.append(truth[test])
        raw.append(scores[test])
        calibrated.append(fitted.predict(scores[test]))
    truth = np.concatenate(kept)
    before = cbpe.expected_calibration_error(truth, np.concatenate(raw))
    return before > cbpe.expected_calibration_error(truth, np.concatenate(calibrated))


@pytest.mark.parametrize("seed", range(12))
def test_the_folds_the_fit_and_the_decision_are_sklearns_exactly(seed):
    truth, scores = reference_rows(seed)
    folds = StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)
    ours = cbpe.stratified_splits(truth, 10, 0.1, seed=42)
    theirs = folds.split(scores, truth)
    for (train, test), (their_train, their_test) in zip(ours, theirs, strict=True):
        assert np.array_equal(train, their_train)
        assert np.array_equal(test, their_test)  # the same rows, in the same order
    fitted = IsotonicRegression(out_of_bounds="clip").fit(scores, truth)
    calibrator = cbpe.Calibrator.fit(scores, truth)
    assert np.array_equal(calibrator.x, fitted.X_thresholds_)
    assert np.array_equal(calibrator.y, fitted.y_thresholds_)
    assert cbpe.needs_calibration(truth, scores) == sklearn_needs_calibration(truth, scores)


def test_near_tied_scores_are_pooled_as_sklearn_pools_them():
    # steps below float64's resolution: sklearn takes a run of them as one value
    scores = np.r_[np.linspace(0.1, 0.9, 200), 1e-17 * np.arange(1, 6)]
    truth = (np.arange(205) % 3 == 0).astype(int)
    fitted = IsotonicRegression(out_of_bounds="clip").fit(scores, truth)
    calibrator = cbpe.Calibrator.fit(scores, truth)
    assert np.array_equal(calibrator.x, fitted.X_thresholds_)
    assert np.array_equal(calibrator.y, fitted.y_thresholds_)


def test_the_ece_is_the_weighted_gap_of_equal_count_bins():
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    truth = np.array([0, 0, 1, 0, 1, 1, 0, 1])
    # two bins of four: |0.25 - 0.25| and |0.75 - 0.75| -> 0; four bins of two:
    assert cbpe.expected_calibration_error(truth, scores, bins=2) == pytest.approx(0.0)
    four = (abs(0.15 - 0) + abs(0.35 - 0.5) + abs(0.65 - 1) + abs(0.85 - 0.5)) / 4
    # 8 rows are not more than 2 x 4 bins: NannyML halves the bins to 4
    assert cbpe.expected_calibration_error(truth, scores, bins=4) == pytest.approx(four)
    with pytest.raises(ValueError, match="at least 2 calibration bins"):
        cbpe.expected_calibration_error(truth[:3], scores[:3], bins=4)


def test_calibration_is_kept_only_where_it_helps():
    rng = np.random.default_rng(7)
    p = rng.uniform(size=4000)
    truth = (rng.uniform(size=4000) < p).astype(int)
    assert cbpe.needs_calibration(truth, p**4)  # overconfident the wrong way: it helps
    assert not cbpe.needs_calibration(truth, truth.astype(float))  # separates the classes
    assert not cbpe.needs_calibration(np.ones(100, int), p[:100])  # one class only


def test_the_expected_counts_are_the_probabilities_summed():
    predicted = np.array([1, 1, 0, 0, 1], bool)
    proba = np.array([0.9, 0.6, 0.3, 0.1, 0.8])
    assert cbpe.expected_counts(predicted, proba) == pytest.approx((2.3, 0.7, 0.4))
    assert cbpe.estimate("precision", predicted, proba) == pytest.approx(2.3 / 3)
    assert cbpe.estimate("recall", predicted, proba) == pytest.approx(2.3 / 2.7)
    assert cbpe.estimate("f1", predicted, proba) == pytest.approx(2.3 / (2.3 + 0.55))
    assert cbpe.estimate("precision", np.zeros(5, bool), proba) == 0.0


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_on_calibrated_rows_the_band_holds_the_realized_value(seed):
    """Truth drawn from the probabilities: each class's estimate is within its band of what
    scikit-learn computes from the truth, slice after slice."""
    truth, proba = calibrated_data(seed, 6000)
    reference, current = slice(0, 3000), slice(3000, 6000)
    calibrators = cbpe.fit_calibrators(truth[reference], proba[reference])
    calibrated = cbpe.calibrate(calibrators, proba[current])
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0)
    predicted = proba.argmax(axis=1)
    realized = {
        "precision": precision_score(truth[current], predicted[current], average=None),
        "recall": recall_score(truth[current], predicted[current], average=None),
        "f1": f1_score(truth[current], predicted[current], average=None),
    }
    for metric in cbpe.METRICS:
        for k in range(3):
            value = cbpe.estimate(metric, predicted[current] == k, calibrated[:, k])
            component = cbpe.error_component(
                metric, truth[reference] == k, predicted[reference] == k
            )
            low, high = cbpe.band(value, component.error(3000))
            assert low <= realized[metric][k] <= high, (metric, k, value, realized[metric][k])
            assert high - low < 0.12  # and the band is narrow enough to say something


def test_a_sampling_error_shrinks_with_the_square_root_of_the_slice():
    component = cbpe.ErrorComponent(std=0.4, fraction=0.25)
    assert component.error(100) == pytest.approx(0.4 / 5)
    assert component.error(400) == pytest.approx(component.error(100) / 2)
    assert math.isnan(component.error(0))
    assert math.isnan(cbpe.ErrorComponent(math.nan, 0.5).error(10))
    macro = cbpe.macro_error([component, cbpe.ErrorComponent(0.3, 0.5)], 100)
    assert macro == pytest.approx(math.sqrt(0.16 / 25 + 0.09 / 50) / 2)


def test_the_observation_level_values_of_each_metric():
    truth = np.array([1, 1, 0, 0, 1, 0], bool)
    predicted = np.array([1, 0, 1, 0, 1, 0], bool)  # TP 2, FP 1, FN 1
    precision = cbpe.error_component("precision", truth, predicted)
    assert (precision.std, precision.fraction) == pytest.approx((np.std([1, 1, 0]), 0.5))
    recall = cbpe.error_component("recall", truth, predicted)
    assert (recall.std, recall.fraction) == pytest.approx((np.std([1, 1, 0]), 0.5))
    f1 = cbpe.error_component("f1", truth, predicted)
    factor = 4 / (2 * 0.5 + 2)
    assert (f1.std, f1.fraction) == pytest.approx((np.std([factor, factor, 0, 0]), 4 / 6))
    with pytest.raises(ValueError, match="allowed: precision, recall, f1"):
        cbpe.error_component("accuracy", truth, predicted)


def test_the_auc_estimate_of_calibrated_scores_is_near_the_realized_auc():
    rng = np.random.default_rng(11)
    p = rng.beta(2, 2, size=20000)
    truth = (rng.uniform(size=20000) < p).astype(int)
    estimated = cbpe.estimate_auc(p, p)
    realized = roc_auc_score(truth, p)
    low, high = cbpe.band(estimated, cbpe.auc_component(truth, p).error(20000))
    assert low <= realized <= high and high - low < 0.05


def test_the_band_is_three_sampling_errors_clipped_to_the_unit_interval():
    assert cbpe.band(0.5, 0.1) == pytest.approx((0.2, 0.8))
    assert cbpe.band(0.95, 0.05) == pytest.approx((0.8, 1.0))
    assert all(math.isnan(v) for v in cbpe.band(0.5, math.nan))


def test_a_class_of_one_row_keeps_its_raw_scores():
    """Folds cannot be stratified on a class of one row (nannyml raises there): the column is
    left uncalibrated, as for a single class."""
    rng = np.random.default_rng(0)
    scores = rng.random(500)
    truth = np.zeros(500, int)
    truth[7] = 1
    assert cbpe.needs_calibration(truth, scores) is False
    assert cbpe.fit_calibrator(truth, scores)(np.array([0.2, 0.9])).tolist() == [0.2, 0.9]
