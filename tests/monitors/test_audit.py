"""The audit of estimates against the labels that land later (``monitors.audit``): a band
holds when the labels' value is inside it; the share, the mean absolute error, and a warning
under 80% over at least five slices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitors.audit import HOLD_SHARE, audit, slice_row
from sigwatch.states import SliceEstimate, Verdict, VerdictFrom
from sigwatch.store import Measurement

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def measured(k: int, realized: float | None, estimate: float | None, labels: int = 120):
    start = DAY + timedelta(days=k)
    est = None
    if estimate is not None:
        band = (estimate - 0.03, estimate + 0.03)
        est = SliceEstimate("cbpe", estimate, *band, 5000, verdict=Verdict.GOOD)
    return Measurement(
        signal="content_type",
        slo="review-precision",
        start=start,
        end=start + timedelta(days=1),
        sli="precision",
        evaluated_at=start + timedelta(days=2),
        value=realized,
        ci_low=None if realized is None else realized - 0.05,
        ci_high=None if realized is None else realized + 0.05,
        samples=labels,
        verdict=Verdict.INSUFFICIENT_LABELS if realized is None else Verdict.GOOD,
        estimated=est,
    )


def test_a_band_holds_when_the_labels_value_is_inside_it():
    held = slice_row(measured(0, 0.90, 0.91))
    missed = slice_row(measured(1, 0.90, 0.80))
    waiting = slice_row(measured(2, None, 0.88, labels=12))
    assert (held.band_held, missed.band_held, waiting.band_held) == (True, False, None)
    assert held.verdict_from is VerdictFrom.LABELS and waiting.verdict_from is VerdictFrom.CBPE
    assert waiting.realized is None and waiting.to_json()["estimated"]["value"] == 0.88
    assert missed.to_json()["realized"] == {
        "value": 0.90,
        "lower": 0.85,
        "upper": pytest.approx(0.95),
    }


def test_the_audit_warns_when_fewer_than_80_percent_of_bands_held():
    rows = [slice_row(measured(k, 0.90, 0.91 if k < 3 else 0.80)) for k in range(6)]
    checked = audit(rows)
    assert (checked.audited, checked.held) == (6, 3) and checked.share == 0.5 < HOLD_SHARE
    assert checked.mae == pytest.approx((3 * 0.01 + 3 * 0.10) / 6)
    assert "held the labels' value on 3 of the 6 slices (50% < 80%)" in checked.warning


def test_a_shift_in_the_latest_slices_warns_before_it_fills_the_window():
    """A concept shift two slices long in a window of twelve: 10 of 12 bands held (83%), but
    only 5 of the latest 7 (71%) — the audit warns from the latest slices."""
    missed = {8, 9}
    rows = [slice_row(measured(k, 0.90, 0.80 if k in missed else 0.91)) for k in range(12)]
    checked = audit(rows)
    assert (checked.held, checked.audited) == (10, 12) and checked.share > HOLD_SHARE
    assert (checked.recent_held, checked.recent) == (5, 7)
    assert "held the labels' value on 5 of the 7 latest slices (71% < 80%)" in checked.warning
    assert checked.to_json()["recent"] == 7
    healed = audit(rows + [slice_row(measured(k, 0.90, 0.91)) for k in range(12, 16)])
    assert healed.recent_held == 6 and healed.warning is None  # 6 of the 7 latest, 14 of 16


def test_too_few_audited_slices_say_nothing_yet():
    rows = [slice_row(measured(k, 0.90, 0.70)) for k in range(4)]
    rows.append(slice_row(measured(4, None, 0.70)))
    checked = audit(rows)
    assert checked.audited == 4 and checked.share == 0.0 and checked.warning is None
    assert audit([]).share is None


def test_the_band_is_widened_by_the_labels_own_sampling_error():
    """A right estimate of 20,000 predictions (band ±0.03) against a hundred labels' value
    (95% interval ±0.05): 0.06 apart is within their joint error, 0.10 is not."""
    assert slice_row(measured(0, 0.90, 0.84)).band_held is True
    assert slice_row(measured(0, 0.90, 0.80)).band_held is False
