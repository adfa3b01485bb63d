"""sigwatch's PPI and PPI++ intervals equal ppi-python's ``ppi_mean_ci`` (λ = 1 and λ tuned) to
1e-9 on seeded cases, from a judge nearly as good as people to one barely better than a coin.
The golden file is ppi-python's own output (``make peer``; peer/ppi_reference.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from peer import ppi_data
from sigwatch.ppi import ppi_mean, tuned_lambda
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
