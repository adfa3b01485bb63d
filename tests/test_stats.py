"""Wilson intervals against statsmodels, the independent reference."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import proportion_confint

from sigwatch.stats import wilson_interval


@pytest.mark.parametrize(
    ("successes", "trials"),
    [(0, 1), (1, 1), (0, 10), (10, 10), (7, 10), (85, 100), (3, 250), (990, 1000), (12345, 20000)],
)
def test_wilson_matches_statsmodels(successes, trials):
    low, high = wilson_interval(successes, trials)
    ref_low, ref_high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)


def test_no_trials_says_nothing_is_known():
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("successes", "trials"), [(-1, 10), (11, 10), (1, -1)])
def test_impossible_counts_are_refused(successes, trials):
    with pytest.raises(ValueError):
        wilson_interval(successes, trials)
