"""SLO evaluation: SLI values, error budgets, burn rates and a state per SLO at a time ``at``.

Occurrence SLOs (coverage, error_rate, latency) sum good/total from the stored 5-minute serving
partials: the window's compliance, the budget left, burn rates over every alerting window, the
SRE workbook rules that fire (``monitors.windows``). Timeslice SLOs measure the current slice
(and the previous one when late labels can still change it, or when it was never measured and
the current slice cannot be judged), record each slice's verdict, and count bad slices against
the budget. States:

- ``breach``: a page rule fires (occurrences), or a bad slice with the budget spent (timeslices);
- ``warning``: a ticket rule fires, or the latest judged slice is bad;
- ``no_data``: no eligible item in the last 30 minutes / no slice could be measured;
- ``insufficient_labels``: quality slices with fewer labels than ``min_labels``;
- ``ok``: none of these.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from monitors.slis import calculation
from monitors.slis.base import Context, SliValue, keep_artifacts, report_folder
from monitors.windows import WINDOWS, budget_remaining, burn_rate, fired_rules, label
from sigwatch.clock import floor_time
from sigwatch.model import SLO
from sigwatch.states import (
    LabelledSlice,
    Severity,
    SliceEstimate,
    SloState,
    Verdict,
    VerdictFrom,
)
from sigwatch.store import Measurement, SloStatus, to_epoch

NO_DATA_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class Series:
    """Good/total per bucket of one occurrence SLO, as cumulative sums for window queries."""

    starts: np.ndarray  # epoch seconds of row starts (a bucket, or a rolled-up day), ascending
    good: np.ndarray  # cumulative, length len(starts) + 1
    total: np.ndarray
    errors: list[str]  # source errors (an unreachable Prometheus) of the buckets read
    ends: np.ndarray  # epoch seconds of row ends

    def between(self, start: datetime, end: datetime) -> tuple[float, float]:
        lo, hi = self._row(to_epoch(start)), self._row(to_epoch(end))
        return float(self.good[hi] - self.good[lo]), float(self.total[hi] - self.total[lo])

    def _row(self, at: int) -> int:
        """The first row starting at or after ``at``, which must not fall inside a row."""
        k = int(np.searchsorted(self.starts, at, side="left"))
        if k > 0 and self.ends[k - 1] > at:
            raise ValueError(f"{at} falls inside a rolled-up day of the serving table")
        return k


def occurrence_series(ctx: Context, slo: SLO, start: datetime, end: datetime) -> Series:
    kind = calculation(slo.sli)
    table = ctx.serving(start, end)
    good, total = kind.good_total(slo.sli, ctx.signal, table)
    return Series(
        table["bucket"].dt.epoch("s").to_numpy(),
        np.concatenate([[0.0], np.cumsum(good, dtype=np.float64)]),
        np.concatenate([[0.0], np.cumsum(total, dtype=np.float64)]),
        kind.errors(table),
        ctx.row_ends(table),
    )


@dataclass(frozen=True)
class NoDataRule:
    """When an occurrence SLO (or one group of it) has no data to judge: no event over the
    last ``quiet`` or over the whole window, or fewer than ``min_events`` over the
    window (``insufficient_data``). ``keep_fired``: the rules that fire stay on a no-data
    status (the signal's: its windows still burn while its traffic has stopped, and the
    stale-data page says so), or not (a group's: a retired canary's spent windows set
    nothing). ``sure_short``: the ticket rules' short windows must also be sure
    (``monitors.windows.fired_rules``)."""

    quiet: timedelta
    min_events: int = 0
    keep_fired: bool = True
    sure_short: bool = False


SIGNAL_RULE = NoDataRule(quiet=NO_DATA_AFTER)


def occurrence_status(
    ctx: Context, slo: SLO, series: Series, at: datetime, evaluated_at: datetime
) -> SloStatus:
    """The SLO's status at ``at`` from its series, with what the kind shows beside it
    (``display``: latency's quantiles) in the details."""
    sums = {w: series.between(at - w, at) for w in (*WINDOWS, NO_DATA_AFTER)}
    status = occurrence_judged(
        slo, at, evaluated_at, series.between(at - slo.objective.window, at), sums, SIGNAL_RULE
    )
    extra = {"errors": series.errors} if series.errors else {}
    details = {**status.details, **extra, **calculation(slo.sli).display(ctx, at)}
    return replace(status, details=details)


def occurrence_judged(
    slo: SLO,
    at: datetime,
    evaluated_at: datetime,
    window: tuple[float, float],
    sums: dict[timedelta, tuple[float, float]],
    rule: NoDataRule,
    group: dict[str, str] | None = None,
) -> SloStatus:
    """The one status builder of occurrence SLOs, for the whole signal and for each group:
    ``window`` is the (good, total) over the SLO's window, ``sums`` the same over every
    alerting window and over ``rule.quiet``; ``rule`` says when there is no data to judge."""
    objective = slo.objective
    good, total = window
    rates, counts = window_rates({w: sums[w] for w in WINDOWS}, objective)
    fired = fired_rules(
        rates, objective.window, counts, objective.error_budget, sure_short=rule.sure_short
    )
    if total == 0 or sums[rule.quiet][1] == 0:  # none over the window, or none lately
        state = SloState.NO_DATA
    elif total < rule.min_events:
        state = SloState.INSUFFICIENT_DATA
    else:
        state = fired_state(fired)
    if state in (SloState.NO_DATA, SloState.INSUFFICIENT_DATA) and not rule.keep_fired:
        fired = []
    return SloStatus(
        signal=slo.signal,
        slo=slo.name,
        at=at,
        sli=slo.sli.kind,
        state=state,
        objective=objective.ratio,
        evaluated_at=evaluated_at,
        window_end=at,
        value=good / total if total else None,
        samples=int(total),
        budget_remaining=budget_remaining(total - good, total, objective.ratio),
        burn_rates={label(w): r for w, r in rates.items()},
        fired=fired,
        details={"good": good, "total": total, "window": label(objective.window)},
        group=group,
    )


def window_rates(
    sums: dict[timedelta, tuple[float, float]], objective
) -> tuple[dict[timedelta, float | None], dict[timedelta, tuple[float, float]]]:
    """Burn rates and (bad, total) counts per alerting window, from its (good, total)."""
    rates = {w: burn_rate(t - g, t, objective.ratio) for w, (g, t) in sums.items()}
    return rates, {w: (t - g, t) for w, (g, t) in sums.items()}


def fired_state(fired: list) -> SloState:
    """An occurrence SLO's state from the rules that fire: a page is a breach."""
    if any(f.severity is Severity.PAGE for f in fired):
        return SloState.BREACH
    return SloState.WARNING if fired else SloState.OK


def slice_verdict(slo: SLO, value: SliValue) -> Verdict:
    """Good, bad, or the reason the slice cannot be judged."""
    if value.unknown:
        return value.unknown
    target = slo.objective.target
    assert target is not None and value.value is not None
    if value.ci_low is not None and value.ci_high is not None:
        # A slice is bad only when its whole interval is on the wrong side of the target.
        bad = target.violated_by(value.ci_low, value.ci_high)
    else:
        bad = not target.holds(value.value)
    return Verdict.BAD if bad else Verdict.GOOD


def estimate_verdict(slo: SLO, estimated: SliceEstimate | None) -> SliceEstimate | None:
    """The estimate with its slice's verdict by the same rule as the labels' (bad only when
    the whole band is on the wrong side of the target); as it is without a value."""
    if estimated is None or estimated.value is None:
        return estimated
    probe = SliValue(value=estimated.value, ci_low=estimated.lower, ci_high=estimated.upper)
    return replace(estimated, verdict=slice_verdict(slo, probe))


def judged_by(measurement: Measurement) -> tuple[Verdict, VerdictFrom | None]:
    """A quality slice's verdict and what gave it: its labels when they judge it, else its
    estimate's when that does (``VerdictFrom.CBPE`` or ``JUDGE``), else the labels' reason
    (too few, no data). Other kinds: their verdict, from nothing named."""
    verdict = verdict_of(measurement)
    estimated = measurement.estimated
    if verdict.judged or estimated is None:
        return verdict, VerdictFrom.LABELS if estimated is not None and verdict.judged else None
    if estimated.verdict is not None and estimated.verdict.judged:
        return estimated.verdict, VerdictFrom(estimated.method)
    return verdict, None


def _estimated(by: VerdictFrom | None) -> bool:
    return by is not None and by.estimate


def verdict_of(measurement: Measurement) -> Verdict:
    """The verdict stored with a slice's measurement (a slice measured before verdicts were
    stored counts as not measurable)."""
    return measurement.verdict or Verdict.NO_DATA


def measure_slice(ctx: Context, slo: SLO, start: datetime, at: datetime) -> Measurement:
    """Measure the slice starting at ``start`` as known at ``at``: the measurement is recorded
    in the context (the runner stores it with the statuses), its artifacts are kept in the
    SLO's report folder."""
    timeslice = slo.objective.timeslice
    assert timeslice is not None
    value = calculation(slo.sli).measure(ctx, slo, start, start + timeslice, at)
    if value.artifacts and ctx.reports_dir is not None:
        folder = report_folder(ctx.reports_dir, ctx.signal.name, slo.name, ctx.group)
        keep_artifacts(folder, value.artifacts)
    verdict = slice_verdict(slo, value)
    measurement = Measurement(
        signal=slo.signal,
        slo=slo.name,
        start=start,
        end=start + timeslice,
        sli=slo.sli.kind,
        evaluated_at=at,
        value=value.value,
        ci_low=value.ci_low,
        ci_high=value.ci_high,
        samples=value.samples,
        verdict=verdict,
        cost=value.cost,
        estimated=estimate_verdict(slo, value.estimated),
        details={**value.details, "measured_until": min(at, start + timeslice).isoformat()},
        group=ctx.group,
    )
    ctx.record(measurement)
    return measurement


def stored_span(signal, at: datetime) -> tuple[datetime, datetime]:
    """The span of stored slices the timeslice SLOs of ``signal`` read at ``at`` (the runner
    reads them in one query): each one's window and slice, and the rolling reference of an
    estimate (whose bad slices it leaves out) of its previous slice."""
    lo, hi = at, at
    for slo in signal.slos:
        timeslice = slo.objective.timeslice
        if timeslice is None:
            continue
        lo = min(lo, at - slo.objective.window - timeslice)
        hi = max(hi, at + timeslice)
        wanted = getattr(slo.sli, "estimate", None)
        reference = wanted and wanted.reference  # CBPE's; the judge's estimate has none
        if reference is not None and reference.previous is not None:
            lo = min(lo, floor_time(at, timeslice) - 2 * timeslice - reference.previous)
    return lo, hi


def slice_starts(slo: SLO, at: datetime) -> tuple[datetime, datetime]:
    """The starts of the current slice at ``at`` (at a boundary: the slice just done) and of
    the one before: the two a cycle measures."""
    timeslice = slo.objective.timeslice
    assert timeslice is not None
    floor = floor_time(at, timeslice)
    current = floor if at > floor else at - timeslice
    return current, current - timeslice


def timeslice_status(ctx: Context, slo: SLO, at: datetime, evaluated_at: datetime) -> SloStatus:
    objective = slo.objective
    timeslice = objective.timeslice
    assert timeslice is not None
    current_start, previous_start = slice_starts(slo, at)
    current = measure_slice(ctx, slo, current_start, at)
    stored = ctx.measurements(slo.name, previous_start, current_start)
    current_judged = verdict_of(current).judged
    if slo.sli.labelled or (not stored and not current_judged):  # late labels change it
        previous = measure_slice(ctx, slo, previous_start, at)
    else:
        previous = stored[-1] if stored else None
    history = ctx.measurements(slo.name, at - objective.window, at + timeslice)
    verdicts = {m.start: verdict_of(m) for m in history}
    slots = int(objective.window / timeslice)
    bad = sum(1 for v in verdicts.values() if v is Verdict.BAD)
    rates = {}
    for count in sorted({1, min(7, slots), slots}):
        recent = [verdicts.get(current_start - k * timeslice) for k in range(count)]
        rates[label(count * timeslice)] = (
            sum(v is Verdict.BAD for v in recent) / count
        ) / objective.error_budget
    remaining = 1.0 - (bad / slots) / objective.error_budget
    recent = [m for m in (current, previous) if m]
    judged = next((m for m in recent if verdict_of(m).judged), None)
    # A slice without enough labels is judged by its estimate; a bad one warns (a ticket, never
    # a page: its budget counts only the labels' verdicts), and never hides a bad labelled one.
    guessed = next((m for m in recent if _estimated(judged_by(m)[1])), None)
    if (
        guessed is not None
        and judged is not None
        and (verdict_of(judged) is Verdict.BAD or guessed.start < judged.start)
    ):
        guessed = None
    verdict_from = None
    if guessed is not None:
        shown, verdict_from = guessed, judged_by(guessed)[1]
        state = SloState.WARNING if judged_by(guessed)[0] is Verdict.BAD else SloState.OK
    elif judged is None:
        reasons = {verdict_of(m) for m in recent}
        state = (
            SloState.INSUFFICIENT_LABELS
            if Verdict.INSUFFICIENT_LABELS in reasons
            else SloState.NO_DATA
        )
        shown = current
    elif verdict_of(judged) is Verdict.BAD:
        shown = judged
        state = SloState.BREACH if remaining <= 0 and slo.alerting.page else SloState.WARNING
    else:
        shown, state = judged, SloState.OK
    if verdict_from is None and shown.estimated is not None and verdict_of(shown).judged:
        verdict_from = VerdictFrom.LABELS
    estimated = shown.estimated
    value, ci_low, ci_high, samples = shown.value, shown.ci_low, shown.ci_high, shown.samples
    if _estimated(verdict_from):
        assert estimated is not None
        value, ci_low, ci_high, samples = (
            estimated.value,
            estimated.lower,
            estimated.upper,
            estimated.n,
        )
    labelled = ()
    if getattr(slo.sli, "estimate", None) is not None:  # what settles an estimate's alert
        labelled = tuple(
            LabelledSlice(m.start, verdict_of(m), m.value, m.ci_low, m.ci_high, m.samples)
            for m in recent
            if verdict_of(m).judged
        )
    return SloStatus(
        signal=slo.signal,
        slo=slo.name,
        at=at,
        sli=slo.sli.kind,
        state=state,
        objective=objective.ratio,
        evaluated_at=evaluated_at,
        window_end=at,
        value=value,
        target=str(objective.target),
        ci_low=ci_low,
        ci_high=ci_high,
        samples=samples,
        budget_remaining=remaining,
        burn_rates=rates,
        fired=[],
        slice=shown.start,
        verdict_from=verdict_from,
        estimated=estimated,
        labelled=labelled,
        details={
            "verdict": shown.verdict,
            "bad_slices": bad,
            "slices_in_window": slots,
            **shown.details,
        },
        group=ctx.group,
    )
