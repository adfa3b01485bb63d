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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from monitors.evaluate import (
    occurrence_series,
    occurrence_status,
    timeslice_status,
)
from monitors.partials import BUCKET, RECOMPUTE, Engine, PolarsEngine, ServingTables
from monitors.slis.base import Context
from monitors.sources import LogsSource, ServingSource
from sigwatch.clock import Clock, floor_time
from sigwatch.model import Budgeting, Registry, Signal
from sigwatch.store import Run, SloStatus, Store

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RETRY_SOURCE = timedelta(hours=6)  # how far back a bucket the source failed is read again


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
        self.reports_dir = reports_dir if reports_dir is not None else data_dir / "reports"

    def context(self, signal: Signal) -> Context:
        return Context(self.data_dir, self.store, signal, self.seed, self.reports_dir, self.tables)

    # --- one evaluation time ----------------------------------------------------------------

    def run(
        self, at: datetime | None = None, signals: Iterable[str] | None = None
    ) -> list[Outcome]:
        at = floor_time(at or self.clock.now(), BUCKET)
        chosen = [self.registry.get(n) for n in signals] if signals else list(self.registry)
        return [self.run_signal(signal, at) for signal in chosen]

    def run_signal(self, signal: Signal, at: datetime) -> Outcome:
        return self._recorded(signal, at, lambda: self._evaluate_at(signal, at))

    def _evaluate_at(self, signal: Signal, at: datetime) -> list[SloStatus]:
        table, _, fresh = self._update_partials(signal, at)
        ctx = self.context(signal)  # after the update: its cache must see the new buckets
        if fresh:  # nothing was stored before: the table just computed is all there is
            ctx.prime(table, EPOCH, floor_time(at, BUCKET))
        return self._evaluate(ctx, [at], [at])

    def _evaluate(
        self, ctx: Context, times: list[datetime], slice_times: list[datetime]
    ) -> list[SloStatus]:
        """The one evaluation of a signal's SLOs, for a run (one time) and a backfill (many):
        occurrence SLOs at each of ``times``, timeslice SLOs at each of ``slice_times``, both
        ascending; every status is stored and returned."""
        evaluated_at = self.clock.now()
        statuses: list[SloStatus] = []
        for slo in ctx.signal.slos:
            if slo.objective.budgeting is Budgeting.OCCURRENCES:
                series = occurrence_series(ctx, slo, times[0] - slo.objective.window, times[-1])
                statuses += [occurrence_status(ctx, slo, series, t, evaluated_at) for t in times]
            else:
                statuses += [timeslice_status(ctx, slo, t, evaluated_at) for t in slice_times]
        self.store.put_status(statuses)
        return statuses

    def _update_partials(
        self, signal: Signal, at: datetime, start: datetime | None = None
    ) -> tuple[pl.DataFrame, datetime, bool]:
        """Compute and store the serving table from ``start`` (by default: where the stored
        table ends, less the buckets late logs can still change) to ``at``. Returns the table,
        the start it was computed from (its buckets are all of ``[start, at)``), and whether
        nothing was stored before."""
        end = floor_time(at, BUCKET)
        last = self.tables.end(signal, self.source.name)
        if start is None:
            start = last - RECOMPUTE if last else self._first_bucket(signal, end)
        start = floor_time(start, BUCKET)
        # Buckets the serving source could not fill lately are read again (retried each run).
        recent = self.tables.read(signal, end - RETRY_SOURCE, end, ["bucket", "source_error"])
        failed = recent.filter(pl.col("source_error").is_not_null())["bucket"]
        if len(failed):
            start = min(start, failed.min())
        if start >= end:
            return self.tables.read(signal, end, end), end, last is None
        table = self.source.fill(signal, self.engine.serving(self.data_dir, signal, start, end))
        self.tables.write(signal.name, table)
        return table, start, last is None

    def _first_bucket(self, signal: Signal, end: datetime) -> datetime:
        window = max(slo.objective.window for slo in signal.slos)
        folder = self.data_dir / "predictions" / f"signal={signal.name}"
        dates = sorted(p.name[5:] for p in folder.glob("date=*")) if folder.exists() else []
        first = datetime.fromisoformat(dates[0]).replace(tzinfo=UTC) if dates else end
        return max(end - window, first)

    def _recorded(
        self, signal: Signal, at: datetime, work: Callable[[], list[SloStatus]]
    ) -> Outcome:
        started = self.clock.now()
        t0 = time.perf_counter()
        try:
            statuses = work()
        except Exception as exc:  # one signal's failure never stops the others
            error = f"{type(exc).__name__}: {exc}"
            self.store.record_run(
                Run(signal.name, at, started, (time.perf_counter() - t0) * 1000, "error", error)
            )
            return Outcome(signal.name, at, False, [], error + "\n" + traceback.format_exc(limit=3))
        self.store.record_run(
            Run(signal.name, at, started, (time.perf_counter() - t0) * 1000, "ok")
        )
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
                    signal, end, lambda s=signal: self._backfill_signal(s, start, end, slice_step)
                )
            )
        if progress:
            progress("done", len(chosen), len(chosen))
        return outcomes

    def _backfill_signal(
        self, signal: Signal, start: datetime, end: datetime, slice_step: timedelta
    ) -> list[SloStatus]:
        window = max(slo.objective.window for slo in signal.slos)
        first = max(start - window, self._first_bucket(signal, end))
        table, since, _ = self._update_partials(signal, end, start=first)
        ctx = self.context(signal)
        ctx.prime(table, since, end)  # every bucket the evaluation needs, just computed
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
        statuses = self._evaluate(ctx, times, slice_times)
        return [s for s in statuses if s.at == end]
