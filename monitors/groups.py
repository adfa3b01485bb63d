"""Grouped SLOs (``group_by``): each group of a dimension column's values is an SLO instance
of its own — value, interval, budget, burn rates, state — and the SLO's own row is its worst
group with the count of groups in each state.

    serving-by-group table ──► GroupMatrix (buckets x groups, cumulative) ──► a status per group
    serving-by-group, quality table (dims), logs, judge sample
                           ──► a Context per group ──► timeslice_status      ──► a status per group
                                                                         └──► summary: the SLO row

Which groups: at each evaluation time, the ``top`` N by volume over the SLO window (events;
labelled predictions for labelled kinds), the rest pooled as ``(other)``; or ``only`` the values
listed (a value with no events is ``no_data``). A group of a kind without labels (occurrences,
cost, drift) with fewer than ``min_events`` events over the window is ``insufficient_data`` and
never fires: a burn rate of a community with 12 posts is noise. An occurrence group with no
events over the last ``GONE_AFTER`` is ``no_data`` and does not set the SLO row's budget.
Labelled kinds use their SLI's ``min_labels`` per slice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from monitors.evaluate import (
    NO_DATA_AFTER,
    NoDataRule,
    occurrence_judged,
    timeslice_status,
)
from monitors.partials import BUCKET
from monitors.slis import calculation
from monitors.slis.base import Context
from monitors.windows import WINDOWS
from sigwatch.model import OTHER, SLO, Budgeting, Grouping
from sigwatch.states import (
    AlertingGroup,
    Fired,
    Gap,
    GapSide,
    GroupSummary,
    Severity,
    SloState,
)
from sigwatch.stats import newcombe_interval
from sigwatch.store import SloStatus, to_epoch

ALERTING = (SloState.BREACH, SloState.WARNING)
DAY = timedelta(days=1)
# An occurrence group with no events over the longest alerting window is ``no_data``: a canary
# version retired days ago keeps its spent budget in its own row, but no longer sets the SLO's.
GONE_AFTER = max(WINDOWS)
# The SLO row's state: the first of these any group is in.
PRECEDENCE = (
    SloState.BREACH,
    SloState.WARNING,
    SloState.OK,
    SloState.INSUFFICIENT_LABELS,
    SloState.INSUFFICIENT_DATA,
    SloState.NO_DATA,
)


class GroupMatrix:
    """One grouped occurrence SLO's good and total events per bucket and group over
    ``[start, end)``, cumulative along time: a window's sums for every group are two rows
    found by bisection."""

    def __init__(
        self, slo: SLO, ctx: Context, table: pl.DataFrame, start: datetime, end: datetime
    ) -> None:
        grouping = slo.grouping
        assert grouping is not None
        self.start, self.by = start, grouping.by
        good, total = calculation(slo.sli).good_total(slo.sli, ctx.signal, table)
        self.groups, bucket, column = _layout(table, grouping.by, start)
        # a row per bucket that has events (a rolled-up day is one), not per bucket of the
        # range: a run's 28 days read compact are about 900 rows, whatever the group count
        self.steps = np.unique(bucket)
        row = np.searchsorted(self.steps, bucket)
        shape = (len(self.steps) + 1, max(1, len(self.groups)))
        self.good, self.total = np.zeros(shape), np.zeros(shape)
        np.add.at(self.good, (row + 1, column), good)
        np.add.at(self.total, (row + 1, column), total)
        self.good, self.total = self.good.cumsum(axis=0), self.total.cumsum(axis=0)
        # a day read rolled up (a run's compact read) sits on its midnight's row: no window
        # may start or end inside it
        self.rolled = [(start_of, start_of + DAY) for start_of in ctx.rolled_days(grouping.by)]

    def sums(self, lo: datetime, hi: datetime) -> tuple[np.ndarray, np.ndarray]:
        """Good and total events of every group over ``[lo, hi)``."""
        for t in (lo, hi):
            if any(a < t < b for a, b in self.rolled):
                raise ValueError(f"{t} falls inside a rolled-up day of the serving-by-group table")
        # the rows of buckets before lo, and before hi
        a, b = np.searchsorted(self.steps, [(t - self.start) // BUCKET for t in (lo, hi)])
        return self.good[b] - self.good[a], self.total[b] - self.total[a]


def _layout(
    table: pl.DataFrame, by: tuple[str, ...], start: datetime
) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray]:
    """The groups of a serving-by-group table (sorted), and each row's bucket index from
    ``start`` and group index."""
    keys = table.select(by).unique().sort(by).with_row_index("column")
    column = table.select(by).join(keys, on=list(by), how="left", maintain_order="left")
    since = table["bucket"].dt.epoch("s").to_numpy() - to_epoch(start)
    bucket = (since // int(BUCKET.total_seconds())).astype(int)
    return keys.select(by).rows(), bucket, column["column"].to_numpy().astype(int)


def chosen(grouping: Grouping, groups: list[tuple[str, ...]], volume: np.ndarray) -> list:
    """The groups evaluated, as (group values, column indices): the ``top`` by ``volume``
    (most first, then by name) with the rest that had any volume pooled as ``OTHER``; or the
    ``only`` values in their listed order (no column when a value never occurred)."""
    if grouping.only is not None:
        position = {g: k for k, g in enumerate(groups)}
        return [((v,), [position[(v,)]] if (v,) in position else []) for v in grouping.only]
    order = sorted(
        (k for k in range(len(groups)) if volume[k] > 0), key=lambda k: (-volume[k], groups[k])
    )
    picked = [(groups[k], [k]) for k in order[: grouping.top]]
    rest = order[grouping.top :]
    if rest:
        picked.append((tuple(OTHER for _ in grouping.by), rest))
    return picked


def occurrence_groups(
    ctx: Context, slo: SLO, matrix: GroupMatrix, at: datetime, evaluated_at: datetime
) -> list[SloStatus]:
    """A status per group of a grouped occurrence SLO at ``at`` (``occurrence_judged``, with
    a group's no-data rule: none over the longest alerting window is a retired group, fewer
    than ``min_events`` over the SLO's window cannot be judged)."""
    grouping, objective = slo.grouping, slo.objective
    assert grouping is not None
    rule = NoDataRule(
        quiet=GONE_AFTER, min_events=grouping.min_events, keep_fired=False, sure_short=True
    )
    window_good, window_total = matrix.sums(at - objective.window, at)
    sums = {w: matrix.sums(at - w, at) for w in WINDOWS}
    out = []
    for values, columns in chosen(grouping, matrix.groups, window_total):
        window = (float(window_good[columns].sum()), float(window_total[columns].sum()))
        mine = {w: (float(g[columns].sum()), float(t[columns].sum())) for w, (g, t) in sums.items()}
        out.append(
            occurrence_judged(slo, at, evaluated_at, window, mine, rule, group=grouping.key(values))
        )
    return out


def _status(slo: SLO, at: datetime, evaluated_at: datetime, state: SloState, **facts):
    return SloStatus(
        signal=slo.signal,
        slo=slo.name,
        at=at,
        sli=slo.sli.kind,
        state=state,
        objective=slo.objective.ratio,
        evaluated_at=evaluated_at,
        window_end=at,
        **facts,
    )


def timeslice_groups(
    ctx: Context, slo: SLO, at: datetime, evaluated_at: datetime
) -> list[SloStatus]:
    """A status per group of a grouped timeslice SLO at ``at``: each group's slices measured
    from its own rows (``Context.for_group``), with its own history of slices. A group of a
    kind without labels (cost, drift) with fewer than ``min_events`` events over the window is
    ``insufficient_data`` and is not measured."""
    grouping = slo.grouping
    assert grouping is not None
    by = list(grouping.by)
    volumes = _volumes(ctx, slo, at)
    groups = volumes.select(by).rows()
    volume = volumes["n"].to_numpy()
    out = []
    for values, columns in chosen(grouping, groups, volume):
        if values[0] == OTHER and grouping.only is None:
            others = [groups[k] for k in columns]
            match = pl.any_horizontal([_is(by, g) for g in others])
        else:
            match = _is(by, values)
        group = grouping.key(values)
        events = float(volume[columns].sum())
        if not slo.sli.labelled and events < grouping.min_events:
            state = SloState.NO_DATA if events == 0 else SloState.INSUFFICIENT_DATA
            details = {"events": events, "min_events": grouping.min_events}
            target = str(slo.objective.target)
            out.append(
                _status(
                    slo,
                    at,
                    evaluated_at,
                    state,
                    samples=int(events),
                    target=target,
                    details=details,
                    group=group,
                )
            )
            continue
        out.append(timeslice_status(ctx.for_group(group, match), slo, at, evaluated_at))
    return out


def _volumes(ctx: Context, slo: SLO, at: datetime) -> pl.DataFrame:
    """Each group's volume over the SLO's window (columns: the group's, and ``n``), sorted by
    group, as the kind counts it (``group_volume``: labelled predictions, judged ones, served
    events)."""
    by = list(slo.grouping.by)
    rows = calculation(slo.sli).group_volume(ctx, slo, at - slo.objective.window, at)
    return rows.group_by(by).agg(pl.col("n").sum()).sort(by)


def _is(by: list[str], values: tuple[str, ...]) -> pl.Expr:
    return pl.all_horizontal([pl.col(c) == v for c, v in zip(by, values, strict=True)])


def summary(slo: SLO, groups: list[SloStatus], at: datetime, evaluated_at: datetime) -> SloStatus:
    """The SLO's own row: the worst group's value, budget and burn rates; the state of the
    worst group (``PRECEDENCE``); every firing rule (each at its fastest group's burn, so an
    alert's severity is the worst group's); the count of groups per state, and the groups
    alerting with their severity and burn (the alert lists them)."""
    objective = slo.objective
    states = Counter(g.state for g in groups)
    state = next((s for s in PRECEDENCE if states[s]), SloState.NO_DATA)
    alerting = sorted(
        (g for g in groups if g.state in ALERTING),
        key=lambda g: (PRECEDENCE.index(g.state), -_burn(g)),
    )
    judged = sorted(
        (
            g
            for g in groups
            if g.budget_remaining is not None and g.state not in (*ALERTING, SloState.NO_DATA)
        ),
        key=lambda g: g.budget_remaining,
    )
    worst = (alerting or judged or groups or [None])[0]
    fired: dict[str, Fired] = {}
    for g in groups:
        for f in g.fired:
            if f.rule not in fired or f.long_burn > fired[f.rule].long_burn:
                fired[f.rule] = f
    unknown = tuple(
        g.group for g in groups if g.state in (SloState.INSUFFICIENT_LABELS, SloState.NO_DATA)
    )
    summary = GroupSummary(
        by=tuple(slo.grouping.by),
        counts=dict(states),
        alerting=tuple(
            AlertingGroup(
                group=g.group,
                state=g.state,
                severity=_severity(g),
                burn=_burn(g) or None,
                value=g.value,
                slice=g.slice,
            )
            for g in alerting
        ),
        unknown=unknown if slo.sli.labelled else None,
    )
    row = _status(
        slo,
        at,
        evaluated_at,
        state,
        target=str(objective.target) if objective.target else None,
        fired=list(fired.values()),
    )
    if worst is None:
        return replace(row, grouped=summary)
    summary = replace(
        summary, worst=worst.group, gap=_gap(slo, groups) if slo.sli.labelled else None
    )
    return replace(
        row,
        value=worst.value,
        ci_low=worst.ci_low,
        ci_high=worst.ci_high,
        samples=worst.samples,
        budget_remaining=worst.budget_remaining,
        burn_rates=worst.burn_rates,
        slice=worst.slice if worst.state in ALERTING else None,
        grouped=summary,
    )


def _gap(slo: SLO, groups: list[SloStatus]) -> Gap | None:
    """The best and the worst judged group of a quality SLO's latest slices, and the gap
    between them: the team's bias view of the SLI by language or community. For one class's
    precision or recall (a proportion per group) the gap has Newcombe's interval for a
    difference of proportions; for macro averages and F1 only the difference is given."""
    judged = [
        g for g in groups if g.value is not None and g.group and OTHER not in g.group.values()
    ]
    if len(judged) < 2:
        return None
    best = max(judged, key=lambda g: (g.value, g.samples or 0))
    worst = min(judged, key=lambda g: (g.value, -(g.samples or 0)))
    gap = Gap(best=_side(best), worst=_side(worst), difference=best.value - worst.value)
    if slo.sli.proportion and best.samples and worst.samples:
        low, high = newcombe_interval(
            round(best.value * best.samples),
            best.samples,
            round(worst.value * worst.samples),
            worst.samples,
        )
        gap = replace(gap, ci_low=low, ci_high=high, method="newcombe")
    return gap


def _side(g: SloStatus) -> GapSide:
    assert g.group is not None and g.value is not None
    return GapSide(
        group=g.group,
        value=g.value,
        ci_low=g.ci_low,
        ci_high=g.ci_high,
        samples=g.samples,
        slice=g.slice,
    )


def _burn(status: SloStatus) -> float:
    return max((f.long_burn for f in status.fired), default=0.0)


def _severity(status: SloStatus) -> Severity:
    if any(f.severity is Severity.PAGE for f in status.fired) or (status.state is SloState.BREACH):
        return Severity.PAGE
    return Severity.TICKET


def evaluate_grouped(
    ctx: Context,
    slo: SLO,
    times: list[datetime],
    evaluated_at: datetime,
    keep_groups: set[datetime] | None = None,
) -> Iterator[tuple[SloStatus, list[SloStatus]]]:
    """The SLO row and its groups' statuses at each of ``times`` (ascending). The groups are
    returned only at the times in ``keep_groups`` (all when None): a backfill keeps them at
    its slice times, not at every 5-minute bucket."""
    grouping = slo.grouping
    assert grouping is not None
    occurrences = slo.objective.budgeting is Budgeting.OCCURRENCES
    matrix = None
    if occurrences:
        lo, hi = times[0] - slo.objective.window, times[-1]
        matrix = GroupMatrix(slo, ctx, ctx.grouped(grouping.by, lo, hi), lo, hi)
    for at in times:
        if matrix is not None:
            groups = occurrence_groups(ctx, slo, matrix, at, evaluated_at)
            row = summary(slo, groups, at, evaluated_at)
            if not matrix.sums(at - NO_DATA_AFTER, at)[1].sum():  # as an ungrouped SLO says
                row = replace(row, state=SloState.NO_DATA)
        else:
            groups = timeslice_groups(ctx, slo, at, evaluated_at)
            row = summary(slo, groups, at, evaluated_at)
        yield row, groups if keep_groups is None or at in keep_groups else []
