"""Estimates held to account: each past quality slice with both an estimate and a value from
its labels, and whether the labels' value fell inside the estimate's band, widened by the
labels' own sampling error (``band_holds``; docs/estimates.md).

``slice_rows`` gives one row per timeslice of an SLO's window, as ``sigwatch slices`` prints
it; ``audit`` sums them per SLO: the share of bands that held, the mean absolute error, and a
warning when fewer than ``HOLD_SHARE`` held over the window or over its latest ``RECENT``
slices with both (the estimate no longer explains quality: a
concept shift the model's confidence cannot see). ``status --json``, the signal page and the
weekly review show it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from monitors.evaluate import judged_by, verdict_of
from sigwatch.model import SLO
from sigwatch.states import SliceEstimate, Verdict, VerdictFrom
from sigwatch.stats import Z_95
from sigwatch.store import Measurement, Store

HOLD_SHARE = 0.8  # fewer bands than this holding the labels' value: the estimate is not trusted
MIN_AUDITED = 5  # slices with both before a share says anything
# The latest slices with both, audited on their own as well: a shift that began days ago is a
# small share of a 28-day window (2 of 12 slices) but most of the last week's.
RECENT = 7


@dataclass(frozen=True)
class Realized:
    """A slice's value from its labels, with its 95% interval."""

    value: float
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class SliceRow:
    """One timeslice of a quality SLO: its labels' value (``realized``, when they judge it),
    its estimate, its verdict and what gave it, and whether the band held the labels' value
    (None unless both are there)."""

    start: datetime
    end: datetime
    labels: int | None
    realized: Realized | None
    estimated: SliceEstimate | None
    verdict: Verdict
    verdict_from: VerdictFrom | None
    band_held: bool | None

    def to_json(self) -> dict:
        e = self.estimated
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "labels": self.labels,
            "realized": None
            if self.realized is None
            else {
                "value": self.realized.value,
                "lower": self.realized.lower,
                "upper": self.realized.upper,
            },
            "estimated": None
            if e is None or e.value is None
            else {
                "method": e.method,
                "value": e.value,
                "lower": e.lower,
                "upper": e.upper,
                "how": e.how,
            },
            "verdict": self.verdict.value,
            "verdict_from": self.verdict_from.value if self.verdict_from else None,
            "band_held": self.band_held,
        }


@dataclass(frozen=True)
class Audit:
    """An SLO's estimates over its window against its labels: ``audited`` slices with both,
    ``held`` of them inside the band, ``share`` and ``mae`` (None without any), and
    ``warning`` when the share is under ``HOLD_SHARE`` over at least ``MIN_AUDITED``."""

    audited: int
    held: int
    share: float | None
    mae: float | None
    warning: str | None
    recent: int = 0  # the latest slices with both (up to RECENT) ...
    recent_held: int = 0  # ... and those whose band held

    def to_json(self) -> dict:
        return {
            "audited": self.audited,
            "held": self.held,
            "share": self.share,
            "mae": self.mae,
            "recent": self.recent,
            "recent_held": self.recent_held,
            "warning": self.warning,
        }


def slice_row(m: Measurement) -> SliceRow:
    verdict, by = judged_by(m)
    realized = None
    if verdict_of(m).judged and m.value is not None:
        realized = Realized(m.value, m.ci_low, m.ci_high)
    e = m.estimated
    held = None
    if realized is not None and e is not None and e.value is not None:
        held = band_holds(realized, e)
    return SliceRow(m.start, m.end, m.samples, realized, e, verdict, by, held)


def band_holds(realized: Realized, estimated: SliceEstimate) -> bool:
    """Whether the labels' value is inside the estimate's band widened by the labels' own
    sampling error: within 3 joint standard errors of the estimate. The band (±3 sampling
    errors) is of the slice's every prediction; the labels' value is measured on a sample of
    them (NannyML's realized performance uses every row), so it scatters by its own 95%
    interval too — without it a right estimate would miss a hundred labels' value on most
    days. Each spread is taken on the side facing the other (a clipped band, a Wilson
    interval near 1 are lopsided)."""
    assert estimated.value is not None and estimated.lower is not None
    assert estimated.upper is not None
    below = estimated.value < realized.value  # each spread on the side facing the other
    band = (estimated.upper - estimated.value if below else estimated.value - estimated.lower) / 3
    labels = 0.0
    if realized.lower is not None and realized.upper is not None:
        # a Wilson interval near 0 or 1 is lopsided: its side towards the estimate counts
        labels = realized.value - realized.lower if below else realized.upper - realized.value
        labels /= Z_95
    return abs(realized.value - estimated.value) <= 3 * math.hypot(band, labels)


def slice_rows(store: Store, slo: SLO, at: datetime) -> list[SliceRow]:
    """The SLO's timeslices of its window ending at ``at``, oldest first."""
    start = at - slo.objective.window
    found = store.measurements(slo.signal, slo.name, start, None)
    return [slice_row(m) for m in found if m.start < at]


def audit(rows: list[SliceRow]) -> Audit:
    both = [r for r in rows if r.band_held is not None]
    if not both:
        return Audit(0, 0, None, None, None)
    held = sum(r.band_held for r in both)
    share = held / len(both)
    mae = sum(
        abs(r.estimated.value - r.realized.value)  # type: ignore[union-attr,operator]
        for r in both
    ) / len(both)
    recent = both[-RECENT:]
    recent_held = sum(r.band_held for r in recent)
    warning = None
    if len(both) >= MIN_AUDITED and share < HOLD_SHARE:
        warning = _warning(held, len(both), "slices")
    elif len(recent) >= MIN_AUDITED and recent_held / len(recent) < HOLD_SHARE:
        warning = _warning(recent_held, len(recent), "latest slices")
    return Audit(len(both), held, share, mae, warning, len(recent), recent_held)


def _warning(held: int, audited: int, which: str) -> str:
    return (
        f"the estimate's band held the labels' value on {held} of the {audited} {which} "
        f"({held / audited:.0%} < {HOLD_SHARE:.0%}): it no longer explains quality — a shift "
        "the model's confidence does not see; trust the labels and the judge, not this estimate"
    )
