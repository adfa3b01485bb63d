"""Calibration maths against hand computation and references: Cohen's kappa (by hand and
scikit-learn), per-class TPR/TNR, Rogan-Gladen on a known example, and its interval."""

from __future__ import annotations

import pytest
from sklearn.metrics import cohen_kappa_score

from sigwatch.calibration import (
    CalibrationError,
    ClassRates,
    class_rates,
    cohen_kappa,
    corrected_share,
    rogan_gladen,
)


def test_kappa_by_hand():
    # 2x2 table: both yes 20, both no 15, human yes/judge no 5, human no/judge yes 10 (n=50).
    truth = ["yes"] * 25 + ["no"] * 25
    judged = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    # p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2/0.5 = 0.4
    assert cohen_kappa(truth, judged) == pytest.approx(0.4)


def test_kappa_matches_scikit_learn_on_three_classes():
    truth = list("aaaabbbbccccaabbcc")
    judged = list("aaabbbbcccccabbbca")
    assert cohen_kappa(truth, judged) == pytest.approx(cohen_kappa_score(truth, judged))


def test_class_rates_count_one_vs_rest():
    truth = ["review", "review", "question", "other", "question"]
    judged = ["review", "question", "question", "question", "other"]
    rates = class_rates(truth, judged, ["review", "question", "other"])
    assert rates["question"] == ClassRates("question", tp=1, fn=1, tn=1, fp=2)
    assert rates["question"].tpr == 0.5 and rates["question"].tnr == pytest.approx(1 / 3)


def test_rogan_gladen_known_example():
    # apparent 20% with Se 0.9, Sp 0.95: (0.20 + 0.95 - 1) / (0.9 + 0.95 - 1) = 0.15 / 0.85
    assert rogan_gladen(0.20, 0.90, 0.95) == pytest.approx(0.15 / 0.85)
    assert rogan_gladen(0.01, 0.90, 0.95) == 0.0  # clipped
    with pytest.raises(CalibrationError, match="no better than chance"):
        rogan_gladen(0.3, 0.5, 0.5)


def test_corrected_interval_holds_the_value_and_narrows_with_more_calibration():
    few = ClassRates("review", tp=18, fn=2, tn=38, fp=2)
    many = ClassRates("review", tp=180, fn=20, tn=380, fp=20)
    small = corrected_share(160, 200, few)
    large = corrected_share(160, 200, many)
    assert small.value == pytest.approx(large.value)
    assert small.apparent == 0.8
    assert small.ci_low <= small.value <= small.ci_high
    assert large.ci_high - large.ci_low < small.ci_high - small.ci_low


def test_a_class_missing_from_the_gold_set_cannot_correct():
    with pytest.raises(CalibrationError, match="no positives or no negatives"):
        corrected_share(5, 10, ClassRates("x", tp=0, fn=0, tn=10, fp=0))
