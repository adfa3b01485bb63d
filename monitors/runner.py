"""Monitor runs: bring a signal's partials up to date, evaluate its SLOs, record the run.

``run`` evaluates every signal at one time (the scheduler and ``sigwatch monitor``);
``backfill`` evaluates a span of past times in one pass per signal: serving partials once, then
occurrence SLOs at every 5-minute bucket end and timeslice SLOs every ``slice_step``. A signal
whose run fails (a bad log file, a broken report) is recorded with its error, and the others go
on. Re-running the same times replaces rows; it never duplicates them.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from monitors.engine import Engine, Partials, PolarsEngine, label_fingerprint, label_versions
from monitors.estimates import Calibration
from monitors.evaluate import (
    occurrence_series,
    occurrence_status,
    slice_starts,
    stored_span,
    timeslice_status,
)
from monitors.groups import evaluate_grouped
from monitors.partials import (
    BUCKET,
    FILES,
    RECOMPUTE,
    GroupedTables,
    QualityTables,
    ServingTables,
    Tables,
    grouped_schema,
    groupings,
    quality_schema,
    quarantine,
    serving_schema,
)
from monitors.slis.base import Context
from monitors.sources import LogsSource, ServingSource
from monitors.suspects import explainable, suspects
from monitors.windows import RULES
from sigwatch.clock import Clock, floor_time
from sigwatch.model import Budgeting, Registry, Signal
from sigwatch.states import SloState, VerdictFrom
from sigwatch.store import Measurement, Run, SloStatus, Store
from sigwatch.store.connection import StoreUnavailable

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RETRY_SOURCE = timedelta(hours=6)  # how far back a bucket the source failed is read again
STATUS_BATCH = 5000  # statuses written at a time by a backfill
CHUNK = timedelta(days=7)  # the longest range the engine is asked for at once
LONG_WINDOW = {rule.name: rule.long for rule in RULES}


Finish = Callable[[list[SloStatus], list[Measurement]], None]
"""Stores a run's last statuses and measurements with the run's record (``Monitor._recorded``)."""


class PartialsLost(RuntimeError):
    """A stored table was damaged and the logs to compute it again are gone."""


def _midnight(day) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


@dataclass(frozen=True)
class Update:
    """The partial tables a run computed: the buckets of ``[start, end)``; ``fresh`` when
    nothing was stored before."""

    partials: Partials
    start: datetime
    end: datetime
    fresh: bool


def _alerting(status: SloStatus) -> tuple | None:
    """What an alerting status alerts on (its firing rules, or its bad slice); None when it is
    not alerting."""
    if status.fired:
        return tuple(sorted(f.rule for f in status.fired))
    if status.state in (SloState.WARNING, SloState.BREACH) and status.slice is not None:
        return ("slice", status.slice)
    return None


def _chunks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` in spans of at most ``CHUNK`` (one empty span when it is empty)."""
    spans = []
    while start < end or not spans:
        spans.append((start, min(end, start + CHUNK)))
        start = spans[-1][1]
    return spans


@dataclass(frozen=True)
class Outcome:
    signal: str
    at: datetime
    ok: bool
    statuses: list[SloStatus]
    error: str | None = None


class Monitor:
    def __init__(
        self,
        registry: Registry,
        data_dir: Path,
        store: Store,
        clock: Clock,
        *,
        seed: int = 0,
        reports_dir: Path | None = None,
        engine: Engine | None = None,
        source: ServingSource | None = None,
    ) -> None:
        self.registry, self.data_dir, self.store, self.clock = registry, data_dir, store, clock
        self.seed = seed
        self.engine = engine or PolarsEngine()
        self.source = source or LogsSource()
        self.tables = ServingTables(data_dir)
        self.quality = QualityTables(data_dir)
        self.reports_dir = reports_dir if reports_dir is not None else data_dir / "reports"

    def context(self, signal: Signal, *, compact: bool = False) -> Context:
        return Context(
            self.data_dir, self.store, signal, self.seed, self.reports_dir, self.tables, compact
        )

    # --- the estimates' calibrations ---------------------------------------------------------

    def calibrate(
        self, at: datetime | None = None, signals: Iterable[str] | None = None
    ) -> list[Calibration]:
        """Fit CBPE for the slices the cycles at ``at`` estimate (each CBPE SLO's current and
        previous slice), or find the fits kept: the daily job runs it after midnight, so the
        cycles only read them. A signal that fails says why in its rows; the others go on."""
        from monitors.slis import quality

        at = floor_time(at or self.clock.now(), BUCKET)
        chosen = [self.registry.get(n) for n in signals] if signals else list(self.registry)
        done: list[Calibration] = []
        for signal in chosen:
            wanted = [
                s
                for s in signal.slos
                if s.objective.timeslice is not None
                and getattr(s.sli, "estimate", None) is not None
                and s.sli.estimate.method == VerdictFrom.CBPE.value
            ]
            if not wanted:
                continue
            ctx = self.context(signal)
            done.extend(
                quality.calibrate(ctx, slo, start, at)
                for slo in wanted
                for start in sorted(slice_starts(slo, at))
            )
        return done

    # --- one evaluation time ----------------------------------------------------------------

    def run(
        self, at: datetime | None = None, signals: Iterable[str] | None = None
    ) -> list[Outcome]:
        at = floor_time(at or self.clock.now(), BUCKET)
        chosen = [self.registry.get(n) for n in signals] if signals else list(self.registry)
        return [self.run_signal(signal, at) for signal in chosen]

    def run_signal(self, signal: Signal, at: datetime) -> Outcome:
        return self._recorded(signal, at, lambda finish: self._evaluate_at(signal, at, finish))

    def _evaluate_at(self, signal: Signal, at: datetime, finish: Finish) -> list[SloStatus]:
        update = self._update_partials(signal, at)
        ctx = self.context(signal, compact=True)
        if update.fresh:  # nothing was stored before: the tables just computed are all there is
            partials = update.partials
            ctx.prime(EPOCH, update.end, partials.serving, partials.quality, partials.grouped)
        return self._evaluate(ctx, [at], [at], finish)

    def _evaluate(
        self, ctx: Context, times: list[datetime], slice_times: list[datetime], finish: Finish
    ) -> list[SloStatus]:
        """The one evaluation of a signal's SLOs, for a run (one time) and a backfill (many):
        occurrence SLOs at each of ``times``, timeslice SLOs at each of ``slice_times``, both
        ascending. Every status is stored with the slices measured for it, in one write per
        batch (a long backfill holds one batch in memory), the last batch by ``finish`` (with
        the run's record); the statuses at the last time are returned."""
        evaluated_at = self.clock.now()
        sliced = [s for s in ctx.signal.slos if s.objective.timeslice is not None]
        if sliced:  # every slice the timeslice SLOs read, in one query
            first, _ = stored_span(ctx.signal, slice_times[0])
            _, last_end = stored_span(ctx.signal, slice_times[-1])
            ctx.read_measurements(first, last_end)
        last: list[SloStatus] = []
        batch: list[SloStatus] = []

        def keep(statuses: Iterable[SloStatus]) -> None:
            final = None
            for final in statuses:
                batch.append(final)
                if len(batch) >= STATUS_BATCH:
                    self.store.put_evaluation(batch, ctx.take_measured())
                    batch.clear()
            if final is not None:
                last.append(final)

        def with_groups(rows: Iterable[tuple[SloStatus, list[SloStatus]]]):
            for row, groups in rows:
                batch.extend(groups)  # stored with the rows; the SLO row is what alerts read
                yield row

        for slo in ctx.signal.slos:
            occurrences = slo.objective.budgeting is Budgeting.OCCURRENCES
            if slo.grouping is not None:
                at = times if occurrences else slice_times
                # a backfill keeps its groups' statuses at the slice times (the console's
                # heatmap), not at every 5-minute bucket
                kept = set(slice_times) if occurrences and len(times) > 1 else None
                rows = evaluate_grouped(ctx, slo, at, evaluated_at, kept)
                keep(self._explained(ctx, slo, with_groups(rows), at[0]))
            elif occurrences:
                series = occurrence_series(ctx, slo, times[0] - slo.objective.window, times[-1])
                statuses = (occurrence_status(ctx, slo, series, t, evaluated_at) for t in times)
                keep(self._explained(ctx, slo, statuses, times[0]))
            else:
                statuses = (timeslice_status(ctx, slo, t, evaluated_at) for t in slice_times)
                keep(self._explained(ctx, slo, statuses, slice_times[0]))
        finish(batch, ctx.take_measured())
        return last

    def _explained(
        self, ctx: Context, slo, statuses: Iterable[SloStatus], first: datetime
    ) -> Iterator[SloStatus]:
        """Alerting statuses with the slices their bad events come from (``suspects``) wherever
        what alerts changes from the time before: the set of firing rules (occurrences: over
        the longest of their windows, from the worst group's first event when it is younger:
        a canary), or the bad slice shown (timeslices: over that slice, with the labels known
        then). They read the logs, so not every time gets them; the time before ``first`` is
        read from the store, so a run and a backfill find them at the same times."""
        if not explainable(slo, ctx.signal):
            yield from statuses
            return
        before = ctx.status_before(slo.name, first)
        alerting_before = _alerting(before) if before else None
        for status in statuses:
            alerting = _alerting(status)
            if alerting is not None and alerting != alerting_before:
                if status.fired:
                    window = max(LONG_WINDOW[f.rule] for f in status.fired)
                    span = (status.at - window, status.at)
                    worst = status.grouped.worst if status.grouped else None
                    if slo.grouping is not None and worst:
                        # a group younger than the window (a canary) is read from its first
                        # event: before it, the window holds other groups' traffic only
                        seen = ctx.first_seen(slo.grouping.by, worst, *span)
                        span = (max(span[0], seen or span[0]), status.at)
                else:
                    start = status.slice
                    assert start is not None  # _alerting: a bad slice
                    span = (start, min(start + slo.objective.timeslice, status.at))
                found = suspects(self.data_dir, ctx.signal, slo, *span, known_at=status.at)
                status = replace(status, suspects=found)
            alerting_before = alerting
            yield status

    def _update_partials(
        self, signal: Signal, at: datetime, start: datetime | None = None
    ) -> Update:
        """Compute and store the signal's partial tables from ``start`` to ``at``. By default
        ``start`` is where the stored tables end, less the buckets late logs can still change,
        less the buckets whose serving source failed lately, less the slices late labels still
        change when a label file changed since the last run."""
        end = floor_time(at, BUCKET)
        healed = self._heal(signal, end)
        last = self.tables.end(signal, self.source.name)
        starts = [last - RECOMPUTE if last else self._first_bucket(signal, end)]
        if healed is not None:  # a damaged day is computed again, with every day after it
            starts.append(healed)
        versions, fingerprint = None, ""
        if signal.label_timeslice is not None:  # the signal keeps a quality table
            fingerprint = label_fingerprint(self.data_dir, signal)
            state = self.quality.state(signal)
            path = self.quality.versions_path(signal)
            if state is None or state.labels != fingerprint or not path.exists():
                versions = label_versions(self.data_dir, signal)
                path.parent.mkdir(parents=True, exist_ok=True)
                FILES.write(versions, path)
            else:
                versions = FILES.read(path)
            if state is None:
                starts.append(self._first_bucket(signal, end))
            else:
                starts.append(state.end - RECOMPUTE)
                if state.labels != fingerprint:
                    # the current and previous slice, which ``timeslice_status`` measures again
                    starts.append(end - 2 * signal.label_timeslice)
        for by in groupings(signal):  # a new group_by is computed over the whole window
            grouped_end = GroupedTables(self.data_dir, by).end(signal)
            starts.append(
                grouped_end - RECOMPUTE if grouped_end else self._first_bucket(signal, end)
            )
        if start is None:
            start = min(starts)
        start = floor_time(start, BUCKET)
        # Buckets the serving source could not fill lately are read again (retried each run).
        recent = self.tables.read(signal, end - RETRY_SOURCE, end, ["bucket", "source_error"])
        failed = recent.filter(pl.col("source_error").is_not_null())["bucket"]
        if len(failed):
            start = min(start, failed.min())
        start = min(start, end)
        serving, quality = [], []
        grouped: dict[tuple[str, ...], list[pl.DataFrame]] = {}
        for lo, hi in _chunks(start, end):  # memory follows a chunk, not the range
            part = self.engine.partials(self.data_dir, signal, lo, hi, versions)
            serving.append(self.source.fill(signal, part.serving))
            if hi > lo:
                self.tables.write(signal.name, serving[-1], lo, hi)
            for by, table in part.grouped.items():
                grouped.setdefault(by, []).append(table)
                if hi > lo:
                    GroupedTables(self.data_dir, by).write(signal.name, table, lo, hi)
            if part.quality is not None:
                quality.append(part.quality)
                if hi > lo:
                    self.quality.write(signal.name, part.quality, lo, hi)
        partials = Partials(
            pl.concat(serving),
            pl.concat(quality) if quality else None,
            {by: pl.concat(tables) for by, tables in grouped.items()},
        )
        if versions is not None:
            self.quality.save_state(signal, end, fingerprint)
        return Update(partials, start, end, last is None)

    def _heal(self, signal: Signal, end: datetime) -> datetime | None:
        """Set aside the signal's stored tables that cannot be read (truncated, empty, not
        Parquet, another table's columns: a full disk, a writer killed on another host) and
        return the first bucket to compute again (None when all are sound). A damaged day
        inside the SLO window whose logs are gone cannot be computed again: that fails the
        run (and so pages), naming the file."""
        parts: list[tuple[Tables, pl.Schema]] = [(self.tables, serving_schema(signal))]
        parts += [
            (GroupedTables(self.data_dir, by), grouped_schema(signal, by))
            for by in groupings(signal)
        ]
        if signal.label_timeslice is not None:
            parts.append((self.quality, quality_schema(signal)))
            versions = self.quality.versions_path(signal)
            if versions.exists() and not FILES.holds(versions):
                try:
                    pl.read_parquet_schema(versions)
                except Exception:  # rebuilt from the label files when missing
                    quarantine(self.data_dir, versions, "not a readable Parquet file")
        damaged = []
        for tables, schema in parts:
            for path, day, why in tables.damaged(signal.name, schema):
                quarantine(self.data_dir, path, why)
                if day is not None:
                    damaged.append((day, path, why))
        window = max(slo.objective.window for slo in signal.slos)
        needed = [d for d in damaged if _midnight(d[0]) + timedelta(days=1) > end - window]
        if not needed:
            return None
        day, path, why = min(needed)
        logs_from = self.engine.first_day(self.data_dir, signal)
        if logs_from is None or logs_from > day:
            raise PartialsLost(
                f"{path} was damaged ({why}) and cannot be computed again: the logs of "
                f"{day} are gone (they begin {logs_from or 'nowhere'}); it is in "
                f"{self.data_dir / 'partials' / 'quarantine'}"
            )
        return _midnight(day)

    def _first_bucket(self, signal: Signal, end: datetime) -> datetime:
        window = max(slo.objective.window for slo in signal.slos)
        day = self.engine.first_day(self.data_dir, signal)
        first = datetime.combine(day, datetime.min.time(), UTC) if day else end
        return max(end - window, first)

    def _recorded(
        self, signal: Signal, at: datetime, work: Callable[[Finish], list[SloStatus]]
    ) -> Outcome:
        """``work(finish)``, recorded as a run of ``signal`` at ``at``: ``finish(statuses,
        measurements)`` stores the work's last writes and the run in one transaction; a run
        that fails is recorded with its error, and the other signals go on."""
        started = self.clock.now()
        t0 = time.perf_counter()

        def run(status: str = "ok", error: str | None = None) -> Run:
            return Run(signal.name, at, started, (time.perf_counter() - t0) * 1000, status, error)

        finished = False

        def finish(statuses: list[SloStatus], measurements: list[Measurement]) -> None:
            nonlocal finished
            self.store.put_evaluation(statuses, measurements, run())
            finished = True

        try:
            statuses = work(finish)
        except StoreUnavailable:  # nothing can be recorded: the job tries again (scheduler)
            raise
        except Exception as exc:  # one signal's failure never stops the others
            error = f"{type(exc).__name__}: {exc}"
            self.store.record_run(run("error", error))
            return Outcome(signal.name, at, False, [], error + "\n" + traceback.format_exc(limit=3))
        if not finished:
            self.store.record_run(run())
        return Outcome(signal.name, at, True, statuses)

    # --- a span of past times -------------------------------------------------------------

    def backfill(
        self,
        start: datetime,
        end: datetime,
        *,
        signals: Iterable[str] | None = None,
        slice_step: timedelta = timedelta(hours=1),
        progress: Callable[[str, int, int], None] | None = None,
    ) -> list[Outcome]:
        start, end = floor_time(start, BUCKET), floor_time(end, BUCKET)
        chosen = [self.registry.get(n) for n in signals] if signals else list(self.registry)
        outcomes = []
        for k, signal in enumerate(chosen):
            if progress:
                progress(signal.name, k, len(chosen))
            outcomes.append(
                self._recorded(
                    signal,
                    end,
                    lambda finish, s=signal: self._backfill_signal(
                        s, start, end, slice_step, finish
                    ),
                )
            )
        if progress:
            progress("done", len(chosen), len(chosen))
        return outcomes

    def _backfill_signal(
        self,
        signal: Signal,
        start: datetime,
        end: datetime,
        slice_step: timedelta,
        finish: Finish,
    ) -> list[SloStatus]:
        window = max(slo.objective.window for slo in signal.slos)
        first = max(start - window, self._first_bucket(signal, end))
        update = self._update_partials(signal, end, start=first)
        ctx = self.context(signal)
        # every bucket the evaluation needs, just computed
        partials = update.partials
        ctx.prime(update.start, end, partials.serving, partials.quality, partials.grouped)
        times = []
        cursor = start + BUCKET
        while cursor <= end:
            times.append(cursor)
            cursor += BUCKET
        if not times:
            return []
        step = max(1, int(slice_step / BUCKET))
        slice_times = times[step - 1 :: step]
        if not slice_times or slice_times[-1] != times[-1]:
            slice_times.append(times[-1])
        return self._evaluate(ctx, times, slice_times, finish)
