"""sigwatch's PPI and PPI++ intervals equal ppi-python's ``ppi_mean_ci`` (λ = 1 and λ tuned) to
1e-9 on seeded cases, from a judge nearly as good as people to one barely better than a coin,
and on a stratified sample with its weights.
The golden file is ppi-python's own output (``make peer``; peer/ppi_reference.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from peer import ppi_data
from sigwatch.calibration import rogan_gladen
from sigwatch.ppi import ppi_mean, ppi_ratio, tuned_lambda
from tests.conftest import ROOT

GOLDEN = json.loads((ROOT / "tests" / "fixtures" / "peer" / "ppi.json").read_text())


@pytest.mark.parametrize("row", GOLDEN["cases"], ids=lambda r: f"case{r['case'][0]}")
def test_ppi_intervals_equal_ppi_pythons(row):
    y, yhat, unlabeled = ppi_data.case(*row["case"])
    for name, lam in (("ppi", 1.0), ("ppi++", None)):
        for alpha in (0.05, 0.1):
            got = ppi_mean(y, yhat, unlabeled, lam=lam, alpha=alpha)
            assert [got.lower, got.upper] == pytest.approx(row[f"{name}@{alpha}"], abs=1e-9)
            assert got.value == pytest.approx(row[f"{name}@value"], abs=1e-9)


@pytest.mark.parametrize("row", GOLDEN["weighted"], ids=lambda r: f"case{r['case'][0]}")
def test_weighted_ppi_equals_ppi_pythons_on_a_stratified_sample(row):
    """The judge's daily sample is stratified: each item weighs its stratum's served items over
    its sampled ones, in the estimate, in λ and in the interval, as ppi-python weighs them."""
    y, yhat, unlabeled, w, w_unlabeled = ppi_data.weighted_case(*row["case"])
    for name, lam in (("ppi", 1.0), ("ppi++", None)):
        got = ppi_mean(y, yhat, unlabeled, lam=lam, w=w, w_unlabeled=w_unlabeled)
        assert [got.lower, got.upper] == pytest.approx(row[name], abs=1e-9)
        assert got.value == pytest.approx(row[f"{name}@value"], abs=1e-9)
    unweighted = ppi_mean(y, yhat, unlabeled, lam=None)
    assert abs(unweighted.value - got.value) > 0.02  # the weights matter here


def test_a_judge_like_a_coin_gets_no_weight_and_a_good_one_narrows_the_interval():
    y, yhat, unlabeled = ppi_data.case(4, 3000, 40, 0.50, 0.55)
    assert tuned_lambda(y, yhat, unlabeled) < 0.3
    y, yhat, unlabeled = ppi_data.case(2, 5000, 60, 0.64, 0.95)
    tuned = ppi_mean(y, yhat, unlabeled, lam=None)
    classical = ppi_mean(y, yhat, unlabeled, lam=0.0)  # the gold labels alone
    low, high = proportion_confint(int(y.sum()), len(y), alpha=0.05, method="normal")
    assert (classical.lower, classical.upper) == pytest.approx((low, high), abs=1e-12)
    assert tuned.upper - tuned.lower < 0.6 * (classical.upper - classical.lower)
    assert tuned.lam > 0.8


def test_ppi_refuses_what_it_cannot_estimate():
    with pytest.raises(ValueError, match="3 gold labels but 2 judge labels"):
        ppi_mean(np.ones(3), np.ones(2), np.ones(5))
    with pytest.raises(ValueError, match="needs gold-labelled items"):
        ppi_mean(np.ones(3), np.ones(3), np.array([]))
    assert tuned_lambda(np.array([1.0, 0.0]), np.ones(2), np.ones(4)) == 0.0
    with pytest.raises(ValueError, match="2 weights for 3 items"):
        ppi_mean(np.ones(3), np.ones(3), np.ones(5), w=np.ones(2))


@pytest.mark.parametrize("row", GOLDEN["ratios"], ids=lambda r: f"case{r['case'][0]}")
def test_recall_intervals_are_within_a_hundredth_of_ppboots(row):
    """A ratio from the rectified bootstrap: our draws are not ppi-python's (another
    generator), so the percentile bounds agree to Monte Carlo error, here within 0.01."""
    y, yhat, unlabeled = ppi_data.recall_case(*row["case"])
    for name, lam in (("ppboot", 1.0), ("ppboot++", None)):
        got = ppi_ratio(
            (y[:, 0], y[:, 1]),
            (yhat[:, 0], yhat[:, 1]),
            (unlabeled[:, 0], unlabeled[:, 1]),
            lam=lam,
            resamples=10000,
            tuning_draws=1000,  # as the golden file's ppboot: a steady λ
            seed=7,
        )
        assert [got.lower, got.upper] == pytest.approx(row[name], abs=0.01), name
        assert got.lower < got.value < got.upper


@pytest.mark.parametrize("row", GOLDEN["label_shift"], ids=lambda r: f"case{r['case'][0]}")
def test_rogan_gladen_is_the_label_shift_estimator_at_two_classes(row):
    """On a gold set that is not a random sample, the judge's share is corrected by its
    sensitivity and specificity (Rogan-Gladen); ppi-python's label-shift estimator, which
    inverts the judge's confusion matrix, gives the same share at K = 2."""
    y, yhat, unlabeled = ppi_data.case(*row["case"])
    sensitivity = float(yhat[y == 1].mean())
    specificity = float(1 - yhat[y == 0].mean())
    assert sensitivity + specificity > 1  # better than chance, or Rogan-Gladen refuses it
    shared = rogan_gladen(float(unlabeled.mean()), sensitivity, specificity)
    assert shared == pytest.approx(min(1.0, max(0.0, row["share"])), abs=1e-9)
